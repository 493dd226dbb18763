// CI entry: connect to Temporal and start (or attach to) workflows. The `fledge start` command builds on this.
import { dataConverterFromEnv } from './codec/encryption.js';
import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import {
  compileRelease,
  formatSpecErrors,
  imageTagOrDigest,
  validateImages,
  type ParsedCanaryBundle,
  type SpecError,
  type YamlLimits,
} from './domain/manifest/index.js';
import { parseReleaseYaml, yamlDocuments } from './domain/manifest/yaml.js';
import {
  missingReferences,
  normalizeDocuments,
  type ClusterReferences,
} from './domain/manifest/normalize.js';
import type { FlaggerRefLookup } from './integrations/kubernetes/flagger-refs.js';
import type { CompiledRelease } from './domain/manifest/types.js';
import {
  fledgeLane,
  laneWorkflowId,
  submitUpdate,
  type SubmitRequest,
  type SubmitResponse,
} from './workflows/lane.js';
import { compiledReleaseInput, type CompiledReleaseInput } from './domain/compiled.js';
import type { ReleaseResult } from './domain/result.js';
import { fledgeNamespace, fledgeTarget } from './workflows/search-attributes.js';
import { staticDetails, staticSummary } from './workflows/visibility.js';
import { connectionOptions, defaultProviderProblem, loadFledgeConfig, type FledgeConfig } from './config.js';
import {
  checkReleasePolicy,
  defaultReleasePolicy,
  formatPolicyViolations,
  type PolicyViolation,
} from './policy.js';
import type { DemoShiftInput, DemoShiftStep } from './workflows/demo.js';

export async function connectClient(cfg: FledgeConfig = loadFledgeConfig()): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(cfg));
  // Payloads are encrypted when codec keys are configured (FLEDGE_CODEC_KEYS[_FILE]); see src/codec.
  const dataConverter = dataConverterFromEnv();
  return new Client({
    connection,
    namespace: cfg.temporal.namespace,
    ...(dataConverter ? { dataConverter } : {}),
  });
}

export function webUiWorkflowUrl(cfg: FledgeConfig, workflowId: string, runId?: string): string {
  const base = `${cfg.webUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(cfg.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}` : base;
}

export async function runDemoShift(
  client: Client,
  cfg: FledgeConfig,
  input: DemoShiftInput,
  workflowId: string,
): Promise<{ workflowId: string; runId: string; steps: DemoShiftStep[] }> {
  const handle = await client.workflow.start('demoTrafficShift', {
    taskQueue: cfg.taskQueue,
    workflowId,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  const steps = (await handle.result()) as DemoShiftStep[];
  return { workflowId, runId: handle.firstExecutionRunId, steps };
}

export class InvalidReleaseInput extends Error {
  /** What the front step did before validation failed (e.g. the provider it inferred), for stderr. */
  notices?: SpecError[];
  constructor(
    message: string,
    readonly errors: SpecError[],
  ) {
    super(message);
    this.name = 'InvalidReleaseInput';
  }
}

/**
 * The release policy (FLEDGE_ALLOWED_NAMESPACES, FLEDGE_ALLOWED_IMAGES, FLEDGE_WORKER_NAMESPACE; src/policy.ts)
 * refuses this release. An invalid input for the CLI (exit 5): nothing was started.
 */
export class ReleaseRefusedByPolicy extends InvalidReleaseInput {
  constructor(readonly violations: PolicyViolation[]) {
    super(
      formatPolicyViolations(violations),
      violations.map((v) => ({ path: v.path, message: v.message })),
    );
    this.name = 'ReleaseRefusedByPolicy';
  }
}

export interface SubmitOptions {
  /** Multi-document YAML (Canary + MetricTemplates + AlertProviders). */
  yaml: string;
  fileName?: string;
  images: Record<string, string>;
  initiator: string;
  /** Start a new run even if this release already ran (`fledge retry`). */
  retry?: boolean;
  /**
   * `fledge retry`: the run being retried and who retried it why. Shown in the new run's Web UI summary and
   * details (and so in `fledge history`). Absent: summary and details are exactly as for `fledge start`.
   */
  retryOf?: RetryNote;
  /** The result of `checkRelease` on `yaml`/`images` when the caller validated before connecting (`fledge start`). */
  checked?: CheckedRelease;
  /** Limits of the YAML front end (`checkRelease`); defaults `defaultYamlLimits`. */
  limits?: Partial<YamlLimits>;
  /** Without `checked`: how to read referenced MetricTemplates/AlertProviders the file lacks (`checkReleaseResolving`). */
  lookup?: ClusterLookup;
}

/**
 * A release input that passed validation: the plain JSON documents and what they compile to. The release workflow
 * receives the compiled result (`releaseInputFor`), not the documents to compile.
 */
export interface CheckedRelease {
  bundle: ParsedCanaryBundle;
  compiled: CompiledRelease;
  /**
   * What the front step did (src/domain/manifest/normalize.ts): documents of other kinds skipped, the default
   * provider applied, objects read from the cluster. For stderr / `fledge validate`; never an error.
   */
  notices?: SpecError[];
}

/** The input of `checkRelease`. */
export interface CheckReleaseOptions {
  yaml: string;
  fileName?: string;
  images: Record<string, string>;
  limits?: Partial<YamlLimits>;
  requireImages?: boolean;
  /**
   * The router of a Canary without `spec.provider` (Flagger's `-mesh-provider`). Not given (the key absent):
   * FLEDGE_DEFAULT_PROVIDER of the environment, if set. `undefined` given: none.
   */
  defaultProvider?: string | undefined;
  /** Where `defaultProvider` comes from, for the notice and errors (default: FLEDGE_DEFAULT_PROVIDER). */
  defaultProviderSource?: string;
  /** Referenced objects absent from the file as read from the cluster (`checkReleaseResolving` fills it). */
  cluster?: ClusterReferences;
}

/**
 * How a caller reads Flagger's MetricTemplates/AlertProviders from the cluster: a lookup, or why it has none. Called
 * only when the file lacks a referenced object.
 */
export type ClusterLookup = () => FlaggerRefLookup | { unavailable: string };

/**
 * THE validation of a release input, shared by `fledge validate`, `fledge start` (before it connects) and
 * `submitRelease`: the YAML front end (size, depth, alias expansion, duplicate keys → plain JSON documents), the
 * schemas and cross-field checks, and the images (`requireImages`: at least one, as `start` needs). Throws
 * `InvalidReleaseInput` with every problem.
 */
export function checkRelease(opts: CheckReleaseOptions): CheckedRelease {
  const fromEnv = !('defaultProvider' in opts);
  const defaultProvider = fromEnv ? process.env.FLEDGE_DEFAULT_PROVIDER || undefined : opts.defaultProvider;
  const source = opts.defaultProviderSource ?? 'FLEDGE_DEFAULT_PROVIDER';
  const problem = defaultProvider !== undefined ? defaultProviderProblem(defaultProvider) : undefined;
  if (problem) {
    const errors = [{ path: source, message: problem }];
    throw new InvalidReleaseInput(formatSpecErrors(errors), errors);
  }
  const { result: parsed, notices } = parseReleaseYaml(opts.yaml, {
    ...(opts.limits ? { limits: opts.limits } : {}),
    normalize: {
      ...(defaultProvider !== undefined ? { defaultProvider, defaultProviderSource: source } : {}),
      ...(opts.cluster ? { cluster: opts.cluster } : {}),
    },
  });
  const imageErrors =
    opts.requireImages === false && Object.keys(opts.images).length === 0 ? [] : validateImages(opts.images);
  if (!parsed.ok || imageErrors.length > 0) {
    const errors = [...(parsed.ok ? [] : parsed.errors), ...imageErrors];
    const invalid = new InvalidReleaseInput(formatSpecErrors(errors, opts.fileName), errors);
    if (notices.length > 0) invalid.notices = notices;
    throw invalid;
  }
  return {
    bundle: parsed.value,
    compiled: compileRelease(parsed.value, opts.images),
    ...(notices.length > 0 ? { notices } : {}),
  };
}

/**
 * `checkRelease` after reading, through `lookup`, the MetricTemplates/AlertProviders the Canary references and the
 * file lacks (in the namespace Flagger looks in: the ref's, else the Canary's). They join the bundle before
 * validation, so they are validated and compiled into the release's plan now: a later edit of a shared template
 * never changes a release in flight. The cluster is read only when something is missing; without a lookup (or when
 * it is unavailable) a missing reference is an error saying where Fledge looked.
 */
export async function checkReleaseResolving(
  opts: CheckReleaseOptions & { lookup?: ClusterLookup },
): Promise<CheckedRelease> {
  const { lookup, ...rest } = opts;
  const docs = yamlDocuments(opts.yaml, opts.limits);
  if (!docs.ok || !lookup) return checkRelease(rest);
  const missing = missingReferences(normalizeDocuments(docs.documents).documents);
  if (missing.length === 0) return checkRelease(rest);
  const how = lookup();
  const cluster: ClusterReferences =
    typeof how === 'function' ? { lookups: await how(missing) } : { unavailable: how.unavailable };
  return checkRelease({ ...rest, cluster });
}

/**
 * The release workflow's input for a checked release: the compiled plan and activity context in a versioned envelope
 * (src/domain/compiled.ts). What `submitRelease` sends, and what `fledge validate --workflow-input` prints for
 * `temporal workflow start` and the Web UI.
 */
export function releaseInputFor(
  checked: CheckedRelease,
  images: Record<string, string>,
  initiator: string,
): CompiledReleaseInput {
  const { plan } = checked.compiled;
  return compiledReleaseInput(checked, {
    images,
    initiator,
    summary: staticSummary(plan.target, images, plan.strategy.kind),
  });
}

/** Which run a retry re-runs, and who asked for it and why. */
export interface RetryNote {
  runId: string;
  /** How that run ended: its outcome, or the workflow status when it ended without one. */
  ended: string;
  actor: string;
  reason: string;
}

/**
 * `Release … (canary)` → `Release … (canary) — retry (RolledBack before) by <actor>: <reason>`, cut to fit
 * Temporal's 400-byte summary limit (the details carry the full text and the previous run's ID).
 */
export function retrySummary(summary: string, note: RetryNote, maxBytes = 380): string {
  const full = `${summary} — retry (${note.ended} before) by ${note.actor}${note.reason ? `: ${note.reason}` : ''}`;
  if (Buffer.byteLength(JSON.stringify(full)) <= maxBytes) return full;
  let cut = full;
  while (cut.length > 0 && Buffer.byteLength(JSON.stringify(`${cut}…`)) > maxBytes) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export interface Submitted {
  workflowId: string;
  disposition: SubmitResponse['disposition'];
  supersedes?: string;
  target: { namespace: string; name: string };
  link: string;
}

/** The release ID: `fledge/<namespace>/<name>/<tag-or-digest>` (several containers: their tags joined by `+`). */
export function releaseIdFor(
  target: { namespace: string; name: string },
  images: Record<string, string>,
): string {
  const tags = Object.keys(images)
    .sort()
    .map((c) => imageTagOrDigest(images[c] ?? ''));
  return `fledge/${target.namespace}/${target.name}/${[...new Set(tags)].join('+')}`;
}

/** gRPC status codes a loaded or briefly unavailable server answers with: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, UNAVAILABLE. */
const transientGrpcCodes = new Set([4, 8, 9, 10, 14]);

/**
 * Whether a lane submission failed for a transient reason: the lane cannot take updates right now (its workflow
 * task is being retried, e.g. after a worker restart; it is completing while the update arrives) or the server is
 * loaded (a gRPC status in transientGrpcCodes, anywhere in the cause chain). Exported for tests.
 */
export function isTransientSubmitError(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 5; cur = cur.cause, depth++) {
    if (/Workflow Task in failed state|workflow task.*(timed out|failed)/i.test(cur.message)) return true;
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'number' && transientGrpcCodes.has(code)) return true;
  }
  return false;
}

/**
 * Update-with-start, retried while the lane or the server cannot take it for a transient reason
 * (isTransientSubmitError): the submission is idempotent (the lane dedupes by release ID, the child by its ID).
 */
async function submitToLane<T>(call: () => Promise<T>, deadlineMs = 120_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (!isTransientSubmitError(e) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * attempt)));
    }
  }
}

/** Validates the input (nothing starts when it is invalid), then submits the release to its target's lane. */
export async function submitRelease(
  client: Client,
  cfg: FledgeConfig,
  opts: SubmitOptions,
): Promise<Submitted> {
  const checked = opts.checked ?? (await checkReleaseResolving(opts));
  const { compiled } = checked;
  const target = { namespace: compiled.plan.target.namespace, name: compiled.plan.target.name };
  // Bounded authority: refused before anything is started (the worker checks again before any write).
  const violations = checkReleasePolicy(cfg.policy ?? defaultReleasePolicy, {
    namespace: target.namespace,
    images: opts.images,
  });
  if (violations.length > 0) throw new ReleaseRefusedByPolicy(violations);
  const workflowId = releaseIdFor(target, opts.images);
  const link = webUiWorkflowUrl(cfg, workflowId);
  if (!opts.retry) {
    // A CI retry of the same tag attaches to the existing release instead of starting a second one.
    try {
      await client.workflow.getHandle(workflowId).describe();
      return { workflowId, disposition: 'attached', target, link };
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
    }
  }
  // Validated and compiled here, on the client: the workflow only checks the envelope's structure, so validation
  // rules and defaults of a newer Fledge never change a release already in flight.
  const input = releaseInputFor(checked, opts.images, opts.initiator);
  const req: SubmitRequest = {
    releaseId: workflowId,
    input,
    policy: compiled.plan.supersedePolicy ?? 'supersede',
    target,
    imageTag: workflowId.split('/').pop() ?? '',
    initiator: opts.initiator,
    summary: opts.retryOf
      ? retrySummary(staticSummary(target, opts.images, compiled.plan.strategy.kind), opts.retryOf)
      : staticSummary(target, opts.images, compiled.plan.strategy.kind),
    details: opts.retryOf
      ? `${staticDetails(compiled.plan, opts.initiator)}\n\n**Retry** of run \`${opts.retryOf.runId}\` (${opts.retryOf.ended}) by ${opts.retryOf.actor}${opts.retryOf.reason ? `: ${opts.retryOf.reason}` : ''}`
      : staticDetails(compiled.plan, opts.initiator),
    ...(opts.retry ? { retry: true } : {}),
  };
  // Serialised on the server: every starter of this target talks to the same lane workflow.
  const res = await submitToLane(() =>
    client.workflow.executeUpdateWithStart(submitUpdate, {
      args: [req],
      startWorkflowOperation: new WithStartWorkflowOperation(fledgeLane, {
        workflowTaskTimeout: '30 seconds',
        workflowId: laneWorkflowId(target.namespace, target.name),
        taskQueue: cfg.taskQueue,
        args: [{}],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: `Release lane of ${target.namespace}/${target.name}`,
        typedSearchAttributes: [
          { key: fledgeTarget, value: `${target.namespace}/${target.name}` },
          { key: fledgeNamespace, value: target.namespace },
        ],
      }),
    }),
  );
  return {
    workflowId: res.workflowId,
    disposition: res.disposition,
    ...(res.supersedes ? { supersedes: res.supersedes } : {}),
    target,
    link,
  };
}

/**
 * The release's result. A queued or superseding release exists only once the lane has started it, so a
 * not-found execution is waited for (polling `describe`) instead of failing.
 */
export async function releaseResult(
  client: Client,
  workflowId: string,
  opts: { timeoutMs?: number; pollMs?: number } = {},
): Promise<ReleaseResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? 3_600_000);
  for (;;) {
    try {
      await client.workflow.getHandle(workflowId).describe();
      break;
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
  }
  return (await client.workflow.getHandle(workflowId).result()) as ReleaseResult;
}
