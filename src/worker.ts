// Composition root: wires the integrations into activities and runs the Temporal worker — the production worker:
// the release and lane workflows and their activities, nothing else (the embedded dev stack's worker adds the demo:
// src/dev/worker.ts). Run as a program (dist/worker.js, `fledge worker`) its whole configuration is the environment,
// with no defaults: a missing setting stops it at start-up (exit 5) naming every missing one.
import { Context } from '@temporalio/activity';
import { dataConverterFromEnv } from './codec/encryption.js';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createReleaseActivities } from './activities/release.js';
import { createIdentityActivities } from './activities/identity.js';
import { createIdentityVerifier } from './integrations/identity/verify.js';
import {
  createTemporalDispatcher,
  startSlackInteractions,
  type RunningSlackInteractions,
} from './interactions/slack.js';
import type { Client } from '@temporalio/client';
import type { Registry } from 'prom-client';
import { connectionOptions, loadFledgeConfig, loadWorkerConfig, type FledgeConfig } from './config.js';
import { loadKubeConfig } from './integrations/kubernetes/client.js';
import { createRouters } from './integrations/traffic/routers.js';
import { budgetFromEnv, type RequestBudget } from './integrations/kubernetes/budget.js';
import { defaultWorkerConcurrency } from './worker-concurrency.js';
import { createWorkloadController } from './integrations/kubernetes/workloads.js';
import { createMetricsProvider } from './integrations/metrics/providers.js';
import { createSecretSource } from './integrations/secrets.js';
import { createNotifierFactory, dashboardLinker } from './integrations/notify/factory.js';
import { connectClient, webUiWorkflowUrl } from './starter.js';
import { configureOutbound, outboundFetch } from './integrations/outbound.js';
import { defaultReleasePolicy, type ReleasePolicy } from './policy.js';
import {
  createReleaseMetrics,
  metricsListenFromEnv,
  startMetricsServer,
  type ReleaseMetrics,
} from './observability/release-metrics.js';

/** The prebuilt workflow bundle (production artefact) if present, else the workflow sources (development). */
export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = fileURLToPath(new URL('../dist/workflow-bundle.js', import.meta.url));
  if (
    process.env.FLEDGE_USE_WORKFLOW_BUNDLE !== 'false' &&
    existsSync(bundle) &&
    import.meta.url.includes('/dist/')
  ) {
    return { workflowBundle: { codePath: bundle } };
  }
  const ts = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
  return {
    workflowsPath: existsSync(ts) ? ts : fileURLToPath(new URL('./workflows/index.js', import.meta.url)),
  };
}

export interface WorkerDeps {
  /** The Kubernetes request budget (injected by the benchmark to count requests). */
  budget?: RequestBudget;
  /** The kubeconfig every Kubernetes client is made from (injected by the benchmark to count wire requests). */
  kubeConfig?: k8s.KubeConfig;
  /** Flagger-compatible release metrics (the worker's /metrics endpoint); none in tests unless given. */
  metrics?: ReleaseMetrics;
  /**
   * More workflows and activities beside the production ones: the embedded dev stack's worker registers the demo
   * (src/dev/worker.ts). `workflowsPath` must export the production workflows too.
   */
  extension?: WorkerExtension;
}

export interface WorkerExtension {
  workflowsPath: string;
  activities: (kc: k8s.KubeConfig) => Record<string, (...args: never[]) => Promise<unknown>>;
}

/** In a pod: the namespace of its service account (the worker's own namespace), else undefined. */
export function serviceAccountNamespace(
  file = '/var/run/secrets/kubernetes.io/serviceaccount/namespace',
): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The release policy as the worker enforces it: its own namespace is reserved (FLEDGE_WORKER_NAMESPACE or in-cluster). */
export function workerReleasePolicy(cfg: FledgeConfig, nsFile?: string): ReleasePolicy {
  const policy = cfg.policy ?? defaultReleasePolicy;
  const own = policy.workerNamespace ?? serviceAccountNamespace(nsFile);
  return { ...policy, ...(own ? { workerNamespace: own } : {}) };
}

/** The running activity's cancellation signal (aborted when it times out or is cancelled), if any. */
function activityCancellation(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // not inside an activity
  }
}

export function createActivities(cfg: FledgeConfig, deps: WorkerDeps = {}) {
  const kc = deps.kubeConfig ?? loadKubeConfig(cfg.kubeconfig);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const budget = deps.budget ?? budgetFromEnv(process.env, activityCancellation);
  // Every outbound HTTP client (webhooks, Prometheus, notifiers, Slack) goes through this guard.
  if (cfg.outbound) configureOutbound(cfg.outbound);
  const notifiers = createNotifierFactory(process.env, {
    unscopedSecrets: cfg.unscopedAlertSecrets ?? false,
    fetch: outboundFetch,
    slackInteractive: Boolean(cfg.identity?.slackSigningSecret),
  });
  // Verified approvers: identity tokens of operator messages are verified here (trusted OIDC issuers' JWKS through
  // the outbound guard; Slack interaction tokens with the key derived from the signing secret).
  const identity = createIdentityActivities(
    createIdentityVerifier(cfg.identity ?? { oidcIssuers: [], groups: {} }, { fetch: outboundFetch }),
  );
  return {
    ...identity,
    ...createReleaseActivities({
      kc,
      budget,
      workloads: createWorkloadController(kc, budget),
      // The router and metrics provider registries (src/integrations/traffic/routers.ts, metrics/providers.ts).
      routers: createRouters({ custom, budget }),
      metrics: createMetricsProvider({ prometheusUrl: cfg.prometheusUrl, secrets: createSecretSource() }),
      notifiers,
      ...(deps.metrics ? { observer: deps.metrics } : {}),
      webUiLink: (id) => webUiWorkflowUrl(cfg, id),
      policy: workerReleasePolicy(cfg),
      ...(process.env.FLEDGE_GRAFANA_URL
        ? { dashboardLink: dashboardLinker(process.env.FLEDGE_GRAFANA_URL) }
        : {}),
    }),
  };
}

export async function createFledgeWorker(
  cfg: FledgeConfig = loadFledgeConfig(),
  deps: WorkerDeps = {},
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect(connectionOptions(cfg));
  // The same payload encryption as the clients' (FLEDGE_CODEC_KEYS[_FILE]); off when no keys are configured.
  const dataConverter = dataConverterFromEnv();
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.taskQueue,
    activities: {
      ...createActivities(cfg, deps),
      ...deps.extension?.activities(deps.kubeConfig ?? loadKubeConfig(cfg.kubeconfig)),
    },
    // Long activities heartbeat every second; send those heartbeats at that pace (by default a heartbeat is held
    // back up to 80% of the heartbeat timeout), since an activity learns it is cancelled (an operator acting now)
    // from a heartbeat's response.
    maxHeartbeatThrottleInterval: '1 second',
    // Workflow-task and local-activity slots (src/worker-concurrency.ts): above the SDK's 40 / 100, because a
    // workflow task holds its slot while its local activities wait on the apiserver.
    ...(cfg.slots ?? defaultWorkerConcurrency),
    ...(dataConverter ? { dataConverter } : {}),
    ...(deps.extension ? { workflowsPath: deps.extension.workflowsPath } : workflowSource()),
  });
  return { worker, connection };
}

/**
 * The Slack interactions endpoint (buttons on release threads) when FLEDGE_SLACK_SIGNING_SECRET is set, else null.
 * Presses are sent to releases through `client`.
 */
export async function startInteractions(
  cfg: FledgeConfig,
  client: Client,
  opts: { registry?: Registry; log?: (line: string) => void } = {},
): Promise<RunningSlackInteractions | null> {
  const id = cfg.identity;
  if (!id?.slackSigningSecret) return null;
  return startSlackInteractions({
    ...id.interactions,
    signingSecret: id.slackSigningSecret,
    userMap: id.slackUserMap,
    dispatch: createTemporalDispatcher(client, id.slackSigningSecret),
    // Tells the presser the outcome in Slack (response_url, an ephemeral message), through the outbound guard.
    respond: async (url, text) => {
      await outboundFetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
      }).catch(() => undefined);
    },
    ...(opts.registry ? { registry: opts.registry } : {}),
    log: opts.log ?? ((line) => console.log(`fledge worker: ${line}`)),
  });
}

/**
 * Runs a worker until it is told to stop (SIGINT/SIGTERM: it drains and returns), with its /metrics endpoint
 * (FLEDGE_METRICS_PORT, FLEDGE_METRICS_HOST) and, with FLEDGE_SLACK_SIGNING_SECRET, the Slack interactions endpoint.
 */
export async function runWorker(
  cfg: FledgeConfig,
  opts: { extension?: WorkerExtension; name?: string } = {},
): Promise<void> {
  const name = opts.name ?? 'fledge worker';
  const listen = metricsListenFromEnv(process.env); // FLEDGE_METRICS_PORT (9464 | off), FLEDGE_METRICS_HOST
  const { metrics, registry } = createReleaseMetrics();
  const { worker, connection } = await createFledgeWorker(cfg, {
    metrics,
    ...(opts.extension ? { extension: opts.extension } : {}),
  });
  console.log(
    `${name}: task queue "${cfg.taskQueue}" on ${cfg.temporal.address} (namespace ${cfg.temporal.namespace})`,
  );
  try {
    const server = listen ? await startMetricsServer({ ...listen, registry }) : null;
    console.log(server ? `${name}: metrics on ${server.url}` : `${name}: metrics endpoint off`);
    const client = cfg.identity?.slackSigningSecret ? await connectClient(cfg) : null;
    const interactions = client
      ? await startInteractions(cfg, client, { registry, log: (line) => console.log(`${name}: ${line}`) })
      : null;
    console.log(
      interactions
        ? `${name}: Slack interactions on ${interactions.url}`
        : `${name}: Slack interactions off (no FLEDGE_SLACK_SIGNING_SECRET)`,
    );
    // FLEDGE_CLUSTER_MODE=true / `fledge worker --cluster-mode`: the cluster-mode controller in this process, with
    // the worker's kubeconfig and Temporal settings; stopped once the worker has drained.
    const cluster = cfg.clusterMode ? await startClusterMode(cfg, name) : null;
    try {
      await worker.run();
    } finally {
      await cluster?.stop();
      await interactions?.close();
      await client?.connection.close();
      await server?.close();
    }
  } finally {
    await connection.close();
  }
}

/**
 * Starts cluster mode beside the worker (src/cluster/controller.ts): its own Temporal client (same settings as the
 * worker's connection) and the worker's kubeconfig; watches the namespaces the release policy names literally, else
 * the whole cluster. Returns what stops it.
 */
async function startClusterMode(cfg: FledgeConfig, name: string): Promise<{ stop(): Promise<void> }> {
  const { createElectedClusterMode, watchScopeOf } = await import('./cluster/controller.js');
  const client = await connectClient(cfg);
  const namespaces = watchScopeOf(cfg.policy ?? defaultReleasePolicy);
  // Behind leader election (a coordination.k8s.io Lease, FLEDGE_LEASE_*): of several replicas, one watches.
  const controller = createElectedClusterMode({
    kc: loadKubeConfig(cfg.kubeconfig),
    client,
    cfg: { ...cfg, policy: workerReleasePolicy(cfg) },
    ...(namespaces ? { namespaces } : {}),
    log: (m) => console.log(`${name}: cluster mode: ${m}`),
  });
  try {
    await controller.start();
  } catch (e) {
    await controller.stop();
    await client.connection.close();
    throw e;
  }
  console.log(`${name}: cluster mode on`);
  // SIGTERM: stop watching and release the Lease at once (another replica takes over), not after the worker drained.
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= controller.stop());
  const onSignal = (): void =>
    void stop().catch((e: unknown) => console.error(`${name}: cluster mode: ${String(e)}`));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return {
    async stop() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await stop();
      await client.connection.close();
    },
  };
}

/** The production worker's configuration: the environment only, every required setting present (else exit 5). */
export function productionWorkerConfig(env: NodeJS.ProcessEnv = process.env): FledgeConfig {
  return loadWorkerConfig(env, { defaults: null });
}

async function main(): Promise<void> {
  let cfg: FledgeConfig;
  try {
    cfg = productionWorkerConfig();
  } catch (e) {
    // Every problem here is the configuration's (missing or invalid settings, unreadable TLS files): the
    // operator's to fix, so one message, no stack trace, exit 5 (invalid input).
    console.error(`fledge worker: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(5);
  }
  await runWorker(cfg);
}

// Run as a program (not imported): compare real paths, so a symlinked entry (/usr/local/bin, npm bin links, an
// image layer linking /app) still starts the worker instead of exiting silently.
const entry = process.argv[1];
if (entry && existsSync(entry) && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
