// Validation of a release bundle (one Canary + its MetricTemplates and AlertProviders) given as plain objects:
// what the workflow runs on its JSON input at start, and what the YAML front end runs after parsing. Both report
// the same messages; the YAML front end adds line and column. PURE.
import type { z } from 'zod';
import { issuePath, type SpecIssue, type SpecResult } from './errors.js';
import { canaryNamespaceOf, checkCanary, type BundleObject, type DescribeMissing } from './checks.js';
import {
  alertProviderSchema,
  currentProfile,
  flaggerApiVersion,
  schemasFor,
  type AlertProviderManifest,
  type ManifestProfile,
  type CanaryManifest,
  type MetricTemplateManifest,
} from './schema.js';
import { fromZodIssues, typeName } from './zod-issues.js';

/** A validated bundle. `documents` are the input documents (plain JSON), e.g. for the workflow input. */
export interface ParsedCanaryBundle {
  canary: CanaryManifest;
  metricTemplates: MetricTemplateManifest[];
  alertProviders: AlertProviderManifest[];
  documents: unknown[];
}

const bundleKinds = ['Canary', 'MetricTemplate', 'AlertProvider'] as const;
type BundleKind = (typeof bundleKinds)[number];

function schemasOf(profile: ManifestProfile): Record<BundleKind, z.ZodType> {
  const { canary, metricTemplate } = schemasFor(profile);
  return { Canary: canary, MetricTemplate: metricTemplate, AlertProvider: alertProviderSchema };
}

function field(doc: unknown, key: string): unknown {
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc)
    ? (doc as Record<string, unknown>)[key]
    : undefined;
}

/**
 * Validates documents (already without empty ones) and returns the bundle, or every issue found. Issue paths are
 * relative to their document; `doc` is the index in `docs`. `notices`: what Flagger accepts and ignores (checks.ts),
 * in either case.
 */
export function validateDocuments(
  docs: readonly unknown[],
  profile: ManifestProfile = currentProfile,
  opts: { describeMissing?: DescribeMissing } = {},
):
  | { ok: true; value: ParsedCanaryBundle; notices: SpecIssue[] }
  | { ok: false; issues: SpecIssue[]; notices: SpecIssue[] } {
  const notices: SpecIssue[] = [];
  const schemas = schemasOf(profile);
  const issues: SpecIssue[] = [];
  const parsed: Array<{ kind: BundleKind; doc: number; value: unknown }> = [];
  const canaryDocs: number[] = [];

  docs.forEach((doc, index) => {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      issues.push({
        doc: index,
        path: [],
        message: `expected a Kubernetes manifest (an object with apiVersion and kind), got ${typeName(doc)}`,
      });
      return;
    }
    const kind = field(doc, 'kind');
    if (typeof kind !== 'string' || !(bundleKinds as readonly string[]).includes(kind)) {
      const apiVersion = field(doc, 'apiVersion');
      issues.push({
        doc: index,
        path: ['kind'],
        message:
          kind === undefined
            ? `missing required field (expected Canary, MetricTemplate or AlertProvider)`
            : `${typeof kind === 'string' ? `kind \`${kind}\`${typeof apiVersion === 'string' ? ` (${apiVersion})` : ''}` : `kind of type ${typeName(kind)}`} is not part of a release bundle; expected Canary, MetricTemplate or AlertProvider (${flaggerApiVersion}); keep other manifests in another file`,
      });
      return;
    }
    const bundleKind = kind as BundleKind;
    if (bundleKind === 'Canary') canaryDocs.push(index);
    const schema = schemas[bundleKind];
    const result = schema.safeParse(doc);
    if (result.success) parsed.push({ kind: bundleKind, doc: index, value: result.data });
    else issues.push(...fromZodIssues(result.error.issues, index, doc, schema));
  });

  const firstCanary = canaryDocs[0];
  if (firstCanary === undefined) {
    issues.push({
      doc: -1,
      path: [],
      message: `no Canary found: a release bundle needs exactly one \`kind: Canary\` (${flaggerApiVersion})`,
    });
  } else {
    for (const extra of canaryDocs.slice(1)) {
      issues.push({
        doc: extra,
        path: ['kind'],
        message: `a second Canary (the first is doc[${firstCanary}]): a release bundle has exactly one Canary`,
      });
    }
  }

  // Objects the Canary may reference; namespaces default to the canary's.
  const namespace = firstCanary !== undefined ? canaryNamespaceOf(docs[firstCanary]) : 'default';
  const objects: BundleObject[] = [];
  const byIdentity = new Map<string, BundleObject>();
  docs.forEach((doc, index) => {
    const kind = field(doc, 'kind');
    if (kind !== 'MetricTemplate' && kind !== 'AlertProvider') return;
    const metadata = field(doc, 'metadata');
    const name = field(metadata, 'name');
    if (typeof name !== 'string') return;
    const ns = field(metadata, 'namespace');
    const object: BundleObject = {
      doc: index,
      kind,
      name,
      namespace: typeof ns === 'string' ? ns : namespace,
      raw: doc as Record<string, unknown>,
    };
    const identity = `${object.kind}/${object.namespace}/${object.name}`;
    const duplicate = byIdentity.get(identity);
    if (duplicate) {
      issues.push({
        doc: index,
        path: ['metadata', 'name'],
        message: `duplicate ${kind} \`${object.namespace}/${name}\` (also doc[${duplicate.doc}])`,
      });
      return;
    }
    byIdentity.set(identity, object);
    objects.push(object);
  });

  if (firstCanary !== undefined)
    issues.push(
      ...checkCanary(docs[firstCanary], firstCanary, objects, profile, opts.describeMissing, notices),
    );

  if (issues.length > 0) return { ok: false, issues, notices };
  const canary = parsed.find((p) => p.kind === 'Canary')?.value as CanaryManifest;
  return {
    ok: true,
    value: {
      canary,
      metricTemplates: parsed
        .filter((p) => p.kind === 'MetricTemplate')
        .map((p) => p.value as MetricTemplateManifest),
      alertProviders: parsed
        .filter((p) => p.kind === 'AlertProvider')
        .map((p) => p.value as AlertProviderManifest),
      documents: [...docs],
    },
    notices,
  };
}

/**
 * Validates a bundle given as plain objects (the workflow's JSON input: the documents of the YAML file, without
 * empty ones). Same rules and messages as `parseCanaryYaml`, without line numbers.
 */
export function validateCanaryBundle(
  docs: readonly unknown[],
  opts: { profile?: ManifestProfile } = {},
): SpecResult<ParsedCanaryBundle> {
  // The type says array; workflow input is untrusted JSON, so check anyway.
  if (!Array.isArray(docs))
    return {
      ok: false,
      errors: [{ path: '', message: `expected a list of documents, got ${typeName(docs)}` }],
    };
  const nonEmpty = docs.filter((d) => d !== null && d !== undefined);
  const result = validateDocuments(nonEmpty, opts.profile);
  if (result.ok) return { ok: true, value: result.value };
  return {
    ok: false,
    errors: result.issues.map((issue) => ({
      path: issuePath(issue, nonEmpty.length),
      message: issue.message,
    })),
  };
}
