// The front step of a release input, before validation: takes a Canary file as Flagger users keep it and makes it a
// release bundle. PURE (the cluster lookup is the caller's: src/integrations/kubernetes/flagger-refs.ts).
//
// 1. Documents of other kinds (Service, Deployment, VirtualService, …; GitOps repositories keep them beside the
//    Canary) are skipped with a notice naming each: only Canary, MetricTemplate and AlertProvider make a bundle.
// 2. `spec.provider` absent: the default provider (`--provider`, FLEDGE_DEFAULT_PROVIDER — Flagger's `-mesh-provider`)
//    is written into the Canary; without one, a Canary with `service.gatewayRefs` gets `gatewayapi:v1` (gatewayRefs
//    exist only for the Gateway API), else it stays unset (Istio, Flagger's default mesh provider).
// 3. MetricTemplates and AlertProviders the Canary references by name and the file does not hold are added from
//    what the caller read from the cluster (in the namespace Flagger looks in: the ref's namespace, else the
//    Canary's), so they are validated and compiled — pinned into the plan — with the rest. A reference found
//    nowhere is an error naming it and where Fledge looked (`describeMissing`).
//
// Every change is a notice; the documents returned are what the release records (the workflow input's
// `documents`), so `fledge retry` compiles the same bundle without the cluster.
import type { PathSegment } from './errors.js';
import type { DescribeMissing } from './checks.js';
import { flaggerApiVersion } from './schema.js';

/** What the normaliser did, for the CLI's stderr and `fledge validate` (never an error). */
export interface SpecNotice {
  /** Index of the input document (-1: the bundle as a whole). */
  doc: number;
  path: PathSegment[];
  message: string;
}

export type FlaggerRefKind = 'MetricTemplate' | 'AlertProvider';

/** A reference of the Canary to a MetricTemplate (`templateRef`) or AlertProvider (`providerRef`). */
export interface FlaggerReference {
  kind: FlaggerRefKind;
  /** The namespace Flagger looks in: the ref's `namespace`, else the Canary's (scheduler_metrics.go, events.go). */
  namespace: string;
  name: string;
}

/** What the caller's cluster lookup found for one reference. */
export type ReferenceLookup = FlaggerReference &
  (
    | { outcome: 'found'; object: unknown }
    | { outcome: 'not-found' }
    /** The read failed (403, unreachable apiserver, …): `reason` says how. */
    | { outcome: 'error'; reason: string }
  );

/** The cluster as the normaliser sees it: what was looked up, or why nothing could be. */
export type ClusterReferences = { lookups: readonly ReferenceLookup[] } | { unavailable: string };

export interface NormalizeOptions {
  /** The default router for a Canary without `spec.provider` (validated by the caller). */
  defaultProvider?: string;
  /** Where this default comes from, for the notice (e.g. `--provider`, `FLEDGE_DEFAULT_PROVIDER`). */
  defaultProviderSource?: string;
  /** References absent from the file, as looked up in the cluster (or why they could not be). */
  cluster?: ClusterReferences;
}

export interface NormalizedDocuments {
  /** The bundle's documents: the file's Canary/MetricTemplate/AlertProvider documents, then those from the cluster. */
  documents: unknown[];
  /** For each of `documents`: the index of the input document, or -1 for one read from the cluster. */
  origin: number[];
  notices: SpecNotice[];
  /** How validation explains a reference found nowhere (checks.ts). */
  describeMissing: DescribeMissing;
}

export const bundleKinds = ['Canary', 'MetricTemplate', 'AlertProvider'] as const;

/** `gatewayapi:v1`: the router a Canary with `gatewayRefs` and no provider gets when no default is set. */
export const gatewayRefsProvider = 'gatewayapi:v1';

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const isBundleKind = (kind: unknown): boolean => (bundleKinds as readonly unknown[]).includes(kind);

/** A Kubernetes object of another kind: apiVersion and kind strings, kind not one of the bundle's. */
function otherKind(doc: unknown): { kind: string; apiVersion: string; name?: string } | undefined {
  const d = obj(doc);
  const kind = str(d?.kind);
  const apiVersion = str(d?.apiVersion);
  if (!kind || !apiVersion || isBundleKind(kind)) return undefined;
  // A Flagger kind spelt wrongly is the schema's to report, not skipped silently.
  if (apiVersion.startsWith('flagger.app/')) return undefined;
  const name = str(obj(d?.metadata)?.name);
  return { kind, apiVersion, ...(name ? { name } : {}) };
}

const namespaceOf = (doc: unknown, fallback: string): string =>
  str(obj(obj(doc)?.metadata)?.namespace) ?? fallback;

const key = (r: FlaggerReference): string => `${r.kind}/${r.namespace}/${r.name}`;

/** The references of a Canary document, each once, in order (metrics first). */
export function canaryReferences(canary: unknown): FlaggerReference[] {
  const spec = obj(obj(canary)?.spec);
  const analysis = obj(spec?.analysis) ?? obj(spec?.canaryAnalysis);
  const namespace = namespaceOf(canary, 'default');
  const refs = new Map<string, FlaggerReference>();
  const add = (kind: FlaggerRefKind, ref: unknown) => {
    const name = str(obj(ref)?.name);
    if (!name) return;
    const r = { kind, namespace: str(obj(ref)?.namespace) ?? namespace, name };
    refs.set(key(r), r);
  };
  for (const m of arr(analysis?.metrics)) add('MetricTemplate', obj(m)?.templateRef);
  for (const a of arr(analysis?.alerts)) add('AlertProvider', obj(a)?.providerRef);
  return [...refs.values()];
}

/**
 * The references of the (first) Canary among `docs` that no document of `docs` satisfies: what to look up in the
 * cluster. In-file objects without a namespace are in the Canary's (as validation resolves them).
 */
export function missingReferences(docs: readonly unknown[]): FlaggerReference[] {
  const canary = docs.find((d) => obj(d)?.kind === 'Canary');
  if (canary === undefined) return [];
  const namespace = namespaceOf(canary, 'default');
  const present = new Set<string>();
  for (const d of docs) {
    const kind = obj(d)?.kind;
    const name = str(obj(obj(d)?.metadata)?.name);
    if ((kind === 'MetricTemplate' || kind === 'AlertProvider') && name)
      present.add(key({ kind, namespace: namespaceOf(d, namespace), name }));
  }
  return canaryReferences(canary).filter((r) => !present.has(key(r)));
}

/** A MetricTemplate/AlertProvider as read from the cluster → a bundle document (no status, no server fields). */
export function clusterDocument(kind: FlaggerRefKind, object: unknown): Raw {
  const o = obj(object) ?? {};
  const meta = obj(o.metadata) ?? {};
  const labels = obj(meta.labels);
  return {
    apiVersion: str(o.apiVersion) ?? flaggerApiVersion,
    kind,
    metadata: {
      name: meta.name,
      ...(str(meta.namespace) ? { namespace: meta.namespace } : {}),
      ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
    },
    spec: o.spec ?? {},
  };
}

const plural = (kind: FlaggerRefKind): string =>
  kind === 'MetricTemplate' ? 'metrictemplates.flagger.app' : 'alertproviders.flagger.app';

/** Normalises the documents of a release input (see the header). Never fails; problems are validation's. */
export function normalizeDocuments(
  docs: readonly unknown[],
  opts: NormalizeOptions = {},
): NormalizedDocuments {
  const notices: SpecNotice[] = [];
  const documents: unknown[] = [];
  const origin: number[] = [];
  const unreferenced = unreferencedObjects(docs);
  docs.forEach((doc, index) => {
    const other = otherKind(doc);
    if (other) {
      notices.push({
        doc: index,
        path: [],
        message: `skipped ${other.kind}${other.name ? ` \`${other.name}\`` : ''} (${other.apiVersion}): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual`,
      });
      return;
    }
    const spare = unreferenced.get(index);
    if (spare) {
      notices.push({
        doc: index,
        path: [],
        message: `skipped ${spare}: the Canary does not reference it (Flagger reads a MetricTemplate or AlertProvider only when a metric or alert names it)`,
      });
      return;
    }
    documents.push(withProvider(doc, index, opts, notices));
    origin.push(index);
  });

  // References absent from the file: add what the cluster holds.
  const missing = missingReferences(documents);
  const looked = new Map<string, ReferenceLookup>();
  const cluster = opts.cluster;
  if (cluster && 'lookups' in cluster) for (const l of cluster.lookups) looked.set(key(l), l);
  for (const ref of missing) {
    const found = looked.get(key(ref));
    if (found?.outcome !== 'found') continue;
    documents.push(clusterDocument(ref.kind, found.object));
    origin.push(-1);
    notices.push({
      doc: -1,
      path: [],
      message: `${ref.kind} \`${ref.namespace}/${ref.name}\` read from the cluster (${plural(ref.kind)}); pinned into this release`,
    });
  }

  const describeMissing: DescribeMissing = (kind, namespace, name) => {
    const where = `${plural(kind)} \`${name}\` in namespace \`${namespace}\``;
    if (!cluster) return 'put it in the same file (multi-document YAML)';
    if ('unavailable' in cluster)
      return `not in the file, and the cluster was not searched (${cluster.unavailable}); put it in the same file, or run where the cluster (${where}) can be read`;
    const l = looked.get(key({ kind, namespace, name }));
    if (l?.outcome === 'error')
      return `not in the file, and reading ${where} from the cluster failed: ${l.reason}`;
    return `neither in the file nor in the cluster (looked for ${where})`;
  };
  return { documents, origin, notices, describeMissing };
}

/**
 * MetricTemplate/AlertProvider documents of a file with one Canary that the Canary does not reference (index →
 * `Kind \`ns/name\``): a shared file of templates may hold some for providers Fledge does not support, which matter
 * only when referenced. With no Canary, or several, nothing (validation reports that).
 */
function unreferencedObjects(docs: readonly unknown[]): Map<number, string> {
  const out = new Map<number, string>();
  const canaries = docs.filter((d) => obj(d)?.kind === 'Canary');
  const canary = canaries[0];
  if (canaries.length !== 1 || canary === undefined) return out;
  const namespace = namespaceOf(canary, 'default');
  const wanted = new Set(canaryReferences(canary).map(key));
  docs.forEach((d, index) => {
    const kind = obj(d)?.kind;
    const name = str(obj(obj(d)?.metadata)?.name);
    if ((kind !== 'MetricTemplate' && kind !== 'AlertProvider') || !name) return;
    const ref = { kind, namespace: namespaceOf(d, namespace), name } as const;
    if (!wanted.has(key(ref))) out.set(index, `${kind} \`${ref.namespace}/${name}\``);
  });
  return out;
}

/** The Canary with the default provider applied (a copy), or the document as it is. */
function withProvider(doc: unknown, index: number, opts: NormalizeOptions, notices: SpecNotice[]): unknown {
  const d = obj(doc);
  if (d?.kind !== 'Canary') return doc;
  const spec = obj(d.spec);
  if (!spec || spec.provider !== undefined) return doc;
  let provider: string | undefined;
  if (opts.defaultProvider) {
    provider = opts.defaultProvider;
    notices.push({
      doc: index,
      path: ['spec', 'provider'],
      message: `not set: using the default provider \`${provider}\`${opts.defaultProviderSource ? ` (${opts.defaultProviderSource})` : ''}, as Flagger's -mesh-provider`,
    });
  } else if (arr(obj(spec.service)?.gatewayRefs).length > 0) {
    provider = gatewayRefsProvider;
    notices.push({
      doc: index,
      path: ['spec', 'provider'],
      message: `not set: \`${provider}\` inferred from service.gatewayRefs (only the Gateway API uses them); set spec.provider or a default provider (--provider, FLEDGE_DEFAULT_PROVIDER) to choose`,
    });
  }
  return provider === undefined ? doc : { ...d, spec: { ...spec, provider } };
}
