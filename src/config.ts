// Runtime configuration of the worker and the CLI, from the environment (zod-validated).
//
// Production settings have no built-in values: a worker without TEMPORAL_ADDRESS, FLEDGE_PROMETHEUS_URL or
// Kubernetes access refuses to start, naming every missing one (`loadWorkerConfig`). Defaults for unset values
// exist only where a process opts in to the embedded dev stack: it passes them (`defaults`), or registers them for
// the process (`useConfigDefaults`) — the dev commands, `npm run demo`, the CLI's client commands and the test
// support do (src/dev/stack/config.ts `devConfigDefaults`). This module imports nothing from src/dev.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  defaultReleasePolicy,
  parsePatternList,
  validatePolicyPatterns,
  type ReleasePolicy,
} from './policy.js';
import { parseOutboundAllow, type OutboundSettings } from './integrations/outbound.js';
import { identitySettingsFromEnv, type IdentitySettings } from './integrations/identity/settings.js';
import { routerNames, type RouterProvider } from './integrations/traffic/manifests.js';
import { workerConcurrency, type WorkerConcurrency } from './worker-concurrency.js';

/**
 * The default router of a Canary without `spec.provider` (Flagger's `-mesh-provider`): a registered router name.
 * Returns the problem, or undefined when `value` is fine.
 */
export function defaultProviderProblem(value: string): string | undefined {
  return (routerNames as readonly string[]).includes(value)
    ? undefined
    : `unknown provider ${JSON.stringify(value).slice(0, 100)}; supported: ${routerNames.join(', ')}`;
}

const patternList = (setting: string) =>
  z
    .string()
    .refine((v) => parsePatternList(v).length > 0, {
      message: `${setting} is empty: list at least one pattern, or unset it for the default`,
    })
    .optional();

/** A worker slot count: a whole number from 2 to 10000. */
const slotCount = z
  .string()
  .regex(/^\d+$/, 'must be a whole number')
  .refine((v) => Number(v) >= 2 && Number(v) <= 10_000, 'must be from 2 to 10000');

/** Every environment variable the configuration reads through its schema (the README's worker table lists them). */
export const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  FLEDGE_TASK_QUEUE: z.string().min(1).default('fledge'),
  // Worker slots (src/worker-concurrency.ts).
  FLEDGE_MAX_WORKFLOW_TASKS: slotCount.optional(),
  FLEDGE_MAX_LOCAL_ACTIVITIES: slotCount.optional(),
  FLEDGE_PROMETHEUS_URL: z.string().url().optional(),
  FLEDGE_WEB_UI_URL: z.string().url().optional(),
  KUBECONFIG: z.string().min(1).optional(),
  // Bounded authority (src/policy.ts, docs/security.md).
  FLEDGE_ALLOWED_NAMESPACES: patternList('FLEDGE_ALLOWED_NAMESPACES'),
  FLEDGE_ALLOWED_IMAGES: patternList('FLEDGE_ALLOWED_IMAGES'),
  FLEDGE_WORKER_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a namespace name')
    .optional(),
  // Outbound requests (src/integrations/outbound.ts, docs/security.md).
  FLEDGE_OUTBOUND_ALLOW: z.string().optional(),
  FLEDGE_WEBHOOK_SIGNING_KEY: z.string().min(16, 'use a key of at least 16 characters').optional(),
  FLEDGE_ALERT_UNSCOPED_SECRETS: z.enum(['true', 'false']).optional(),
  // Cluster mode in the worker (src/cluster/controller.ts): Canary objects in the cluster start releases.
  FLEDGE_CLUSTER_MODE: z.enum(['true', 'false']).optional(),
  // The router of Canaries without spec.provider (Flagger's -mesh-provider); CLI `--provider` overrides it.
  FLEDGE_DEFAULT_PROVIDER: z
    .string()
    .superRefine((v, ctx) => {
      const problem = defaultProviderProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
});

export interface TlsSettings {
  clientCertPair?: { crt: Buffer; key: Buffer };
  serverRootCACertificate?: Buffer;
  serverNameOverride?: string;
}

export interface FledgeConfig {
  temporal: { address: string; namespace: string; apiKey?: string; tls?: TlsSettings | true };
  taskQueue: string;
  /** The Prometheus of the built-in metrics; '' in a client's configuration without FLEDGE_PROMETHEUS_URL (only workers query it). */
  prometheusUrl: string;
  webUiUrl: string;
  /** Absent: Kubernetes access as kubectl finds it ($KUBECONFIG, the pod's service account, ~/.kube/config). */
  kubeconfig?: string;
  /**
   * Which namespaces and image repositories a release may use (checked by the starter and the worker). Absent (a
   * hand-built config): the defaults, `defaultReleasePolicy`.
   */
  policy?: ReleasePolicy;
  /** Where the worker may send HTTP requests, and the webhook signing key. */
  outbound?: OutboundSettings;
  /**
   * FLEDGE_ALERT_UNSCOPED_SECRETS=true: an AlertProvider `secretRef` may also resolve to the unscoped
   * FLEDGE_ALERT_<NAME>_ADDRESS (any namespace's Canary can use it). Default: only FLEDGE_ALERT_<NS>__<NAME>_ADDRESS.
   */
  unscopedAlertSecrets?: boolean;
  /**
   * Verified approvers (docs/security.md): trusted OIDC issuers, the Slack signing secret (interactive buttons and
   * their endpoint), Slack user map, approver groups. Absent (a hand-built config): none — actors are self-declared.
   */
  identity?: IdentitySettings;
  /**
   * FLEDGE_MAX_WORKFLOW_TASKS / FLEDGE_MAX_LOCAL_ACTIVITIES: the worker's slots (src/worker-concurrency.ts). Absent (a
   * hand-built config): the defaults.
   */
  slots?: WorkerConcurrency;
  /**
   * FLEDGE_CLUSTER_MODE=true: the worker also runs cluster mode (Canary objects in the cluster are the source of
   * releases; src/cluster/controller.ts). Default false.
   */
  clusterMode?: boolean;
  /**
   * FLEDGE_DEFAULT_PROVIDER: the router of a Canary without `spec.provider` (Flagger's `-mesh-provider`), applied
   * by `checkRelease` (CLI, starter, cluster mode). Absent: `gatewayapi:v1` for a Canary with `gatewayRefs`, else
   * istio (Flagger's default).
   */
  defaultProvider?: RouterProvider;
  /** The settings that were unset and took their value from the defaults (e.g. the embedded dev stack's), if any. */
  defaulted?: string[];
}

/**
 * Values for unset settings. Production has none; the embedded dev stack passes its own (src/dev/stack/config.ts
 * `devConfigDefaults`).
 */
export interface ConfigDefaults {
  /** Where the values come from, for messages: "the embedded dev stack". */
  source: string;
  temporalAddress: string;
  temporalNamespace: string;
  prometheusUrl: string;
  webUiUrl: string;
  /** Used only when TEMPORAL_ADDRESS is unset too (a Temporal of its own means a cluster of its own). */
  kubeconfig: string;
}

export type ConfigDefaultsProvider = (env: NodeJS.ProcessEnv) => ConfigDefaults;

let registeredDefaults: ConfigDefaultsProvider | undefined;

/**
 * Opts this process in to defaults for unset settings (the embedded dev stack's), or out again with `undefined`.
 * Only processes that use the dev stack call it; a production worker never does.
 */
export function useConfigDefaults(provider: ConfigDefaultsProvider | undefined): void {
  registeredDefaults = provider;
}

/** Where Kubernetes access could come from when KUBECONFIG is unset (injected by tests). */
export interface KubeAccessProbe {
  exists: (path: string) => boolean;
  home: string | undefined;
}

export interface LoadConfigOptions {
  /**
   * Values for unset settings. Absent: those registered with `useConfigDefaults`, if any; `null`: none, whatever is
   * registered.
   */
  defaults?: ConfigDefaults | null;
  /**
   * `worker`: TEMPORAL_ADDRESS, FLEDGE_PROMETHEUS_URL and Kubernetes access are required (a worker needs all three);
   * `client` (default): TEMPORAL_ADDRESS only.
   */
  role?: 'worker' | 'client';
  kubeProbe?: KubeAccessProbe;
}

/** The settings a worker cannot run without, as `loadWorkerConfig` names them when they are missing. */
export const requiredWorkerSettings = {
  TEMPORAL_ADDRESS: 'the Temporal frontend, host:port',
  FLEDGE_PROMETHEUS_URL: 'the Prometheus the built-in metrics query',
  KUBECONFIG:
    'Kubernetes access: set KUBECONFIG, run in a pod with a service account, or provide ~/.kube/config',
} as const;

/** Unset required settings, found in one pass, reported in one message. */
export class MissingSettingsError extends Error {
  constructor(
    readonly missing: (keyof typeof requiredWorkerSettings)[],
    readonly invalid: string[] = [],
  ) {
    const list = missing.map((k) => `${k} (${requiredWorkerSettings[k]})`).join('; ');
    super(
      `${invalid.length > 0 ? `invalid environment: ${invalid.join('; ')}; ` : ''}missing settings: ${list}. ` +
        'There are no built-in values outside the embedded dev stack (`fledge dev worker` runs a worker on it)',
    );
    this.name = 'MissingSettingsError';
  }
}

const serviceAccountToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Whether the Kubernetes client finds a cluster without KUBECONFIG: in a pod, or ~/.kube/config. */
export function hasKubeAccess(
  env: NodeJS.ProcessEnv,
  probe: KubeAccessProbe = { exists: existsSync, home: env.HOME || homedir() },
): boolean {
  if (env.KUBECONFIG) return true;
  if (env.KUBERNETES_SERVICE_HOST && probe.exists(serviceAccountToken)) return true;
  return probe.home !== undefined && probe.exists(join(probe.home, '.kube', 'config'));
}

/** A worker's configuration: like `loadFledgeConfig`, but every setting a worker needs is required. */
export function loadWorkerConfig(
  env: NodeJS.ProcessEnv = process.env,
  opts: Omit<LoadConfigOptions, 'role'> = {},
): FledgeConfig {
  return loadFledgeConfig(env, { ...opts, role: 'worker' });
}

/**
 * The configuration from the environment. Unset settings take the defaults (`opts.defaults`, else the registered
 * ones); without defaults a missing TEMPORAL_ADDRESS (and for a worker FLEDGE_PROMETHEUS_URL and Kubernetes access)
 * is a `MissingSettingsError` naming all of them.
 */
export function loadFledgeConfig(
  env: NodeJS.ProcessEnv = process.env,
  opts: LoadConfigOptions = {},
): FledgeConfig {
  const defaults = opts.defaults === undefined ? registeredDefaults?.(env) : (opts.defaults ?? undefined);
  const worker = opts.role === 'worker';
  // Unset required settings: all of them, in the same message as any invalid value.
  const missing: (keyof typeof requiredWorkerSettings)[] = [];
  if (!defaults) {
    if (env.TEMPORAL_ADDRESS === undefined) missing.push('TEMPORAL_ADDRESS');
    if (worker && env.FLEDGE_PROMETHEUS_URL === undefined) missing.push('FLEDGE_PROMETHEUS_URL');
  }
  // Kubernetes access: KUBECONFIG, the defaults' kubeconfig (only with their Temporal too), or as the client finds it.
  const defaultKubeconfig = defaults && env.TEMPORAL_ADDRESS === undefined ? defaults.kubeconfig : undefined;
  if (worker && env.KUBECONFIG === undefined && !defaultKubeconfig && !hasKubeAccess(env, opts.kubeProbe))
    missing.push('KUBECONFIG');
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    if (missing.length > 0) throw new MissingSettingsError(missing, issues);
    throw new Error(`invalid environment: ${issues.join('; ')}`);
  }
  const e = parsed.data;
  const policy: ReleasePolicy = {
    namespaces: e.FLEDGE_ALLOWED_NAMESPACES
      ? parsePatternList(e.FLEDGE_ALLOWED_NAMESPACES)
      : defaultReleasePolicy.namespaces,
    images: e.FLEDGE_ALLOWED_IMAGES ? parsePatternList(e.FLEDGE_ALLOWED_IMAGES) : defaultReleasePolicy.images,
    ...(e.FLEDGE_WORKER_NAMESPACE ? { workerNamespace: e.FLEDGE_WORKER_NAMESPACE } : {}),
  };
  const problems = validatePolicyPatterns(policy);
  let outbound: OutboundSettings;
  try {
    outbound = {
      allow: parseOutboundAllow(e.FLEDGE_OUTBOUND_ALLOW),
      ...(e.FLEDGE_WEBHOOK_SIGNING_KEY ? { webhookSigningKey: e.FLEDGE_WEBHOOK_SIGNING_KEY } : {}),
    };
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
    outbound = { allow: { any: false, hosts: [], cidrs: [] } };
  }
  let identity: IdentitySettings | undefined;
  try {
    identity = identitySettingsFromEnv(env);
  } catch (err) {
    problems.push((err instanceof Error ? err.message : String(err)).replace(/^invalid environment: /, ''));
  }
  const kubeconfig = e.KUBECONFIG ?? defaultKubeconfig;
  if (missing.length > 0) throw new MissingSettingsError(missing, problems);
  if (problems.length > 0) throw new Error(`invalid environment: ${problems.join('; ')}`);
  const defaulted: string[] = [];
  if (defaults) {
    if (e.TEMPORAL_ADDRESS === undefined) defaulted.push('TEMPORAL_ADDRESS');
    if (e.TEMPORAL_NAMESPACE === undefined) defaulted.push('TEMPORAL_NAMESPACE');
    if (e.FLEDGE_PROMETHEUS_URL === undefined) defaulted.push('FLEDGE_PROMETHEUS_URL');
    if (e.FLEDGE_WEB_UI_URL === undefined) defaulted.push('FLEDGE_WEB_UI_URL');
    if (e.KUBECONFIG === undefined && kubeconfig !== undefined) defaulted.push('KUBECONFIG');
  }
  let tls: TlsSettings | true | undefined;
  if (e.TEMPORAL_TLS_CLIENT_CERT_PATH || e.TEMPORAL_TLS_SERVER_CA_CERT_PATH) {
    tls = {
      ...(e.TEMPORAL_TLS_CLIENT_CERT_PATH && e.TEMPORAL_TLS_CLIENT_KEY_PATH
        ? {
            clientCertPair: {
              crt: readFileSync(e.TEMPORAL_TLS_CLIENT_CERT_PATH),
              key: readFileSync(e.TEMPORAL_TLS_CLIENT_KEY_PATH),
            },
          }
        : {}),
      ...(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH
        ? { serverRootCACertificate: readFileSync(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH) }
        : {}),
      ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: e.TEMPORAL_TLS_SERVER_NAME } : {}),
    };
  } else if (e.TEMPORAL_TLS === 'true' || e.TEMPORAL_API_KEY) {
    tls = true; // API keys (Temporal Cloud) require TLS
  }
  return {
    temporal: {
      // Without defaults TEMPORAL_ADDRESS is set (checked above).
      address: e.TEMPORAL_ADDRESS ?? defaults?.temporalAddress ?? '',
      namespace: e.TEMPORAL_NAMESPACE ?? defaults?.temporalNamespace ?? 'default',
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
      ...(tls ? { tls } : {}),
    },
    taskQueue: e.FLEDGE_TASK_QUEUE,
    slots: workerConcurrency(e),
    prometheusUrl: e.FLEDGE_PROMETHEUS_URL ?? defaults?.prometheusUrl ?? '',
    // The Temporal UI server's own default address.
    webUiUrl: e.FLEDGE_WEB_UI_URL ?? defaults?.webUiUrl ?? 'http://localhost:8080',
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    policy,
    outbound,
    unscopedAlertSecrets: e.FLEDGE_ALERT_UNSCOPED_SECRETS === 'true',
    ...(e.FLEDGE_CLUSTER_MODE === 'true' ? { clusterMode: true } : {}),
    ...(e.FLEDGE_DEFAULT_PROVIDER ? { defaultProvider: e.FLEDGE_DEFAULT_PROVIDER as RouterProvider } : {}),
    ...(identity ? { identity } : {}),
    ...(defaulted.length > 0 ? { defaulted } : {}),
  };
}

export function connectionOptions(cfg: FledgeConfig): {
  address: string;
  apiKey?: string;
  tls?: TlsSettings | true;
} {
  return {
    address: cfg.temporal.address,
    ...(cfg.temporal.apiKey ? { apiKey: cfg.temporal.apiKey } : {}),
    ...(cfg.temporal.tls ? { tls: cfg.temporal.tls } : {}),
  };
}
