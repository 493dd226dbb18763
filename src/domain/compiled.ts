// The release workflow's input: a compiled release in a versioned envelope. The client (`fledge start`,
// `submitRelease`, anything built on them) validates and compiles the Canary manifest (src/domain/manifest/); the
// workflow receives the result and only checks its structure here. So validation rules, defaults and the compiler
// are client code: changing them affects releases started afterwards, never the replay of one in flight.
//
// PURE and workflow-safe: no zod, no manifest code (only its types, and the pure, dependency-free cookie builder
// manifest/session-affinity.ts, which runs only for a spec with sessionAffinity — one the legacy path rejects). What the workflow checks here is frozen per
// envelope version — a stricter check for version 1 would fail the replay of releases started with version 1;
// change the envelope (and its check) only by adding a version.
import { fnv1a, type ReleaseContext } from './context.js';
import { routerManifests, routerNames } from '../integrations/traffic/manifests.js';
import type { CompiledRelease } from './manifest/types.js';
import { sessionAffinityRoutes } from './manifest/session-affinity.js';
import { hookTypes, type ReleasePlan } from './plan.js';
import type { ReleaseState } from './state.js';

export const compiledReleaseKind = 'fledge.dev/compiled-release';
/** The envelope version this client writes. */
export const compiledReleaseVersion = 1;
/** Envelope versions this worker's release workflow runs. */
export const supportedCompiledReleaseVersions: readonly number[] = [1];

/** Failure type (non-retryable) of a release input that is no compiled-release envelope or has the wrong shape. */
export const malformedReleaseInputType = 'MalformedReleaseInput';
/** Failure type (non-retryable) of an envelope of an unknown kind or version (e.g. written by a newer client). */
export const unsupportedReleaseInputType = 'UnsupportedReleaseInput';

/** State carried across continue-as-new (set by the workflow only). */
export interface CarriedRelease {
  state: ReleaseState;
  /** The primary's images before this release (for notifications). */
  previousImages?: Record<string, string>;
  /** Notifier key → the conversation this release lives in (Slack thread). */
  threads?: Record<string, { channel: string; ts: string }>;
}

/** The activities' context as compiled by the client; the workflow adds its own workflow ID. */
export type CompiledContext = Omit<ReleaseContext, 'workflowId'>;

/** Version 1 of the release workflow's input. Plain JSON. */
export interface CompiledReleaseInput {
  kind: typeof compiledReleaseKind;
  version: 1;
  /** The plan the decision core runs (every default applied). */
  plan: ReleasePlan;
  /** Where traffic goes, metric templates, alert routes, event webhooks. */
  ctx: CompiledContext;
  /** container name → new image reference. */
  images: Record<string, string>;
  /** Who started the release (CI job, user). */
  initiator: string;
  /** One line for people reading the input (Web UI): target, images, strategy. Not read by the workflow. */
  summary?: string;
  /**
   * The Canary/MetricTemplate/AlertProvider documents as submitted, as JSON. Never read by this workflow: for
   * `fledge retry` (which validates and compiles them again with the current rules), audit, and release workflows of
   * the previous version (which compile them themselves, so a client upgraded before its workers still works).
   */
  documents: unknown[];
  /** Set by continue-as-new only. */
  carried?: CarriedRelease;
}

/** What the client hands over: the validated documents and what they compile to. */
export interface CompiledFromSource {
  /** The plain JSON documents and the validated Canary's spec (the webhook payload checksum covers it). */
  bundle: { documents: unknown[]; canary: { spec: unknown } };
  compiled: CompiledRelease;
}

/** The activities' context of a compiled release (the same for the client and the legacy in-workflow path). */
export function releaseContextOf(
  compiled: CompiledRelease,
  canarySpec: unknown,
  images: Record<string, string>,
): CompiledContext {
  const svc = compiled.router.service;
  // The router's own context building (Istio: `service.gateways`; Gateway API: its parents; kubernetes: none).
  const gateways = routerManifests[compiled.router.provider].gateways(svc);
  const checksum = fnv1a(JSON.stringify({ spec: canarySpec, images }));
  return {
    target: { namespace: compiled.plan.target.namespace, name: compiled.plan.target.name },
    provider: compiled.plan.provider,
    service: {
      name: svc.name,
      port: svc.port,
      targetPort: svc.targetPort,
      portName: svc.portName,
      ...(svc.appProtocol ? { appProtocol: svc.appProtocol } : {}),
      hosts: svc.hosts,
      gateways,
      match: compiled.router.abMatch as ReleaseContext['service']['match'],
      options: {
        ...(svc.match.length > 0 ? { match: svc.match as Array<Record<string, unknown>> } : {}),
        ...(svc.timeout ? { timeout: svc.timeout } : {}),
        ...(svc.backendTimeout ? { backendTimeout: svc.backendTimeout } : {}),
        ...(svc.tcp ? { tcp: true } : {}),
        ...(svc.retries ? { retries: svc.retries } : {}),
        ...(svc.headers ? { headers: svc.headers } : {}),
        ...(svc.corsPolicy ? { corsPolicy: svc.corsPolicy } : {}),
        ...(svc.rewrite ? { rewrite: svc.rewrite } : {}),
        ...(svc.trafficPolicy ? { trafficPolicy: svc.trafficPolicy } : {}),
        ...(svc.gatewayRefs.length > 0 ? { gatewayRefs: svc.gatewayRefs } : {}),
        ...(svc.mirror.length > 0 ? { mirrors: svc.mirror } : {}),
        // Drop-in fields (issue 14): only when set, so contexts compiled without them are unchanged.
        ...(svc.portDiscovery ? { portDiscovery: true } : {}),
        ...(svc.delegation ? { delegation: true } : {}),
        ...(compiled.router.sessionAffinity
          ? {
              sessionAffinity: sessionAffinityRoutes(
                compiled.router.sessionAffinity.spec,
                checksum,
                compiled.router.sessionAffinity.intervalSeconds,
              ),
            }
          : {}),
      },
      metadata: { apex: svc.apex, primary: svc.primary, canary: svc.canary },
    },
    ...(compiled.autoscaler
      ? {
          autoscalerRef: {
            name: compiled.autoscaler.name,
            ...(compiled.autoscaler.primaryScalerReplicas
              ? { primaryScalerReplicas: compiled.autoscaler.primaryScalerReplicas }
              : {}),
          },
        }
      : {}),
    templates: compiled.metricTemplates,
    alerts: compiled.alerts.map((a) => ({
      name: a.name,
      severity: a.severity,
      provider: {
        type: a.provider.type,
        ...(a.provider.channel ? { channel: a.provider.channel } : {}),
        ...(a.provider.username ? { username: a.provider.username } : {}),
        ...(a.provider.address ? { address: a.provider.address } : {}),
        ...(a.provider.secretRef ? { secretName: a.provider.secretRef.name } : {}),
      },
    })),
    eventHooks: compiled.plan.hooks
      .filter((h) => h.type === 'event')
      .map((h) => ({
        name: h.name,
        url: h.url,
        timeoutMs: h.timeoutMs,
        retries: h.retries,
        metadata: h.metadata,
      })),
    checksum,
    newImages: { ...images },
  };
}

/** The release workflow's input for a validated, compiled release (client side). */
export function compiledReleaseInput(
  source: CompiledFromSource,
  opts: { images: Record<string, string>; initiator: string; summary?: string },
): CompiledReleaseInput {
  // Plain JSON (what the payload converter would make of it anyway): no undefined fields, no shared references.
  const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  return {
    kind: compiledReleaseKind,
    version: compiledReleaseVersion,
    plan: json(source.compiled.plan),
    ctx: json(releaseContextOf(source.compiled, source.bundle.canary.spec, opts.images)),
    images: { ...opts.images },
    initiator: opts.initiator,
    ...(opts.summary !== undefined ? { summary: opts.summary } : {}),
    documents: json(source.bundle.documents),
  };
}

/** Whether the input is in the previous version's format (raw documents, compiled by the workflow). */
export function isLegacyReleaseInput(input: unknown): input is { documents: unknown[] } {
  return (
    typeof input === 'object' &&
    input !== null &&
    !('kind' in input) &&
    Array.isArray((input as { documents?: unknown }).documents)
  );
}

export type InputCheck =
  { ok: true; input: CompiledReleaseInput } | { ok: false; type: string; message: string; path: string };

// ── a small structural checker (types and required fields only; the compiler's rules stay client side) ──────────
type Check = (v: unknown, path: string) => string | undefined; // a problem, at path

const fail = (path: string, what: string): string => `${path}: expected ${what}`;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v, p) => (typeof v === 'string' ? undefined : fail(p, 'a string'));
const nonEmpty: Check = (v, p) =>
  typeof v === 'string' && v.length > 0 ? undefined : fail(p, 'a non-empty string');
const num: Check = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? undefined : fail(p, 'a number'));
const bool: Check = (v, p) => (typeof v === 'boolean' ? undefined : fail(p, 'a boolean'));
const oneOf =
  (...values: readonly unknown[]): Check =>
  (v, p) =>
    values.includes(v) ? undefined : fail(p, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
const optional =
  (c: Check): Check =>
  (v, p) =>
    v === undefined ? undefined : c(v, p);
const arrayOf =
  (c: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'an array');
    for (const [i, x] of v.entries()) {
      const problem = c(x, `${p}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };
const recordOf =
  (c: Check): Check =>
  (v, p) => {
    if (!isObject(v)) return fail(p, 'an object');
    for (const [k, x] of Object.entries(v)) {
      const problem = c(x, `${p}.${JSON.stringify(k).slice(1, -1).slice(0, 64)}`);
      if (problem) return problem;
    }
    return undefined;
  };
const object =
  (fields: Record<string, Check>): Check =>
  (v, p) => {
    if (!isObject(v)) return fail(p, 'an object');
    for (const [k, c] of Object.entries(fields)) {
      const problem = c(v[k], `${p}.${k}`);
      if (problem) return problem;
    }
    return undefined;
  };
const anyObject: Check = (v, p) => (isObject(v) ? undefined : fail(p, 'an object'));
const union =
  (tag: string, variants: Record<string, Check>): Check =>
  (v, p) => {
    if (!isObject(v)) return fail(p, 'an object');
    const variant = variants[String(v[tag])];
    if (!variant) return fail(`${p}.${tag}`, `one of ${Object.keys(variants).join(', ')}`);
    return variant(v, p);
  };

const gate = oneOf('confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion');
const planCheck: Check = object({
  target: object({ kind: oneOf('Deployment'), name: nonEmpty, namespace: nonEmpty }),
  images: recordOf(str),
  provider: oneOf(...routerNames),
  intervalMs: num,
  interval: str,
  threshold: num,
  progressDeadlineMs: num,
  skipAnalysis: bool,
  primaryReadyThreshold: num,
  canaryReadyThreshold: num,
  strategy: union('kind', {
    canary: object({
      weights: arrayOf(num),
      stepWeightPromotion: num,
      mirror: bool,
      mirrorWeight: optional(num),
    }),
    'ab-testing': object({ iterations: num, match: arrayOf(anyObject) }),
    'blue-green': object({ iterations: num, mirror: bool, mirrorWeight: optional(num) }),
  }),
  metrics: arrayOf(
    object({
      name: str,
      source: union('kind', {
        builtin: object({ builtin: oneOf('request-success-rate', 'request-duration') }),
        template: object({ templateName: str, templateNamespace: str }),
        inline: object({ query: str }),
      }),
      interval: str,
      thresholdRange: object({ min: optional(num), max: optional(num) }),
      templateVariables: recordOf(str),
    }),
  ),
  hooks: arrayOf(
    object({
      name: str,
      type: oneOf(...hookTypes),
      url: str,
      timeoutMs: num,
      retries: num,
      muteAlert: bool,
      metadata: recordOf(str),
    }),
  ),
  manualGates: arrayOf(gate),
  gatePollMs: optional(num),
  infraRetry: optional(oneOf('count', 'until-deadline')),
  onInfrastructureError: oneOf('count-as-failed-check', 'hold', 'rollback'),
  supersedePolicy: optional(oneOf('supersede', 'queue')),
  approvers: optional(
    object({
      rules: recordOf(arrayOf(str)),
      identity: oneOf('verified', 'self-declared'),
    }),
  ),
  operatorChecks: optional(oneOf('strict')),
});

const labelsAndAnnotations = object({ labels: recordOf(str), annotations: recordOf(str) });
const ctxCheck: Check = object({
  target: object({ namespace: nonEmpty, name: nonEmpty }),
  provider: oneOf(...routerNames),
  service: object({
    name: nonEmpty,
    port: num,
    hosts: arrayOf(str),
    gateways: arrayOf(str),
    match: arrayOf(anyObject),
    options: anyObject,
    metadata: object({
      apex: labelsAndAnnotations,
      primary: labelsAndAnnotations,
      canary: labelsAndAnnotations,
    }),
  }),
  autoscalerRef: optional(object({ name: nonEmpty })),
  templates: arrayOf(object({ name: str, namespace: str, provider: object({ type: str }), query: str })),
  alerts: arrayOf(
    object({ name: str, severity: oneOf('info', 'warn', 'error'), provider: object({ type: str }) }),
  ),
  eventHooks: arrayOf(object({ name: str, url: str, timeoutMs: num, retries: num, metadata: recordOf(str) })),
  checksum: str,
  newImages: recordOf(nonEmpty),
});

const envelopeV1: Check = object({
  plan: planCheck,
  ctx: ctxCheck,
  images: recordOf(nonEmpty),
  initiator: str,
  summary: optional(str),
  documents: arrayOf(() => undefined),
  carried: optional(object({ state: anyObject, previousImages: optional(recordOf(str)) })),
});

const expected = `{ kind: "${compiledReleaseKind}", version: ${supportedCompiledReleaseVersions.join(' | ')}, plan, ctx, images, initiator, documents } as \`fledge start\` sends it (\`fledge validate --workflow-input\` prints one)`;

/**
 * The structural check of the release workflow's input: kind, version, and the types of every field the workflow
 * and the decision core read. Not the manifest's rules — the client applied those when it compiled the plan.
 */
export function checkCompiledReleaseInput(input: unknown): InputCheck {
  if (!isObject(input))
    return {
      ok: false,
      type: malformedReleaseInputType,
      path: 'input',
      message: `invalid release input: expected ${expected}`,
    };
  if (input.kind !== compiledReleaseKind)
    return {
      ok: false,
      type: input.kind === undefined ? malformedReleaseInputType : unsupportedReleaseInputType,
      path: 'input.kind',
      message:
        input.kind === undefined
          ? `invalid release input: no kind; expected ${expected}`
          : `unsupported release input kind ${JSON.stringify(input.kind).slice(0, 100)}; expected ${expected}`,
    };
  if (typeof input.version !== 'number' || !supportedCompiledReleaseVersions.includes(input.version))
    return {
      ok: false,
      type: unsupportedReleaseInputType,
      path: 'input.version',
      message: `unsupported compiled-release version ${JSON.stringify(input.version)?.slice(0, 100)}: this worker runs version ${supportedCompiledReleaseVersions.join(', ')} (a newer client needs a newer worker: upgrade workers before clients)`,
    };
  const problem = envelopeV1(input, 'input');
  if (problem)
    return {
      ok: false,
      type: malformedReleaseInputType,
      path: problem.slice(0, problem.lastIndexOf(': expected')),
      message: `invalid compiled release: ${problem}`.slice(0, 2000),
    };
  return { ok: true, input: input as unknown as CompiledReleaseInput };
}
