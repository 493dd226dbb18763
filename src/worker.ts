// Composition root: wires the integrations into activities and runs the Temporal worker.
import { Context } from '@temporalio/activity';
import { dataConverterFromEnv } from './codec/encryption.js';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createDemoActivities } from './activities/demo.js';
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
import { connectionOptions, loadFledgeConfig, type FledgeConfig } from './config.js';
import { loadKubeConfig } from './integrations/kubernetes/client.js';
import { createPrometheusClient } from './integrations/metrics/prometheus.js';
import { createIstioRouter } from './integrations/traffic/istio.js';
import { createGatewayApiRouter } from './integrations/traffic/gateway-api.js';
import { budgetFromEnv, type RequestBudget } from './integrations/kubernetes/budget.js';
import { createWorkloadController } from './integrations/kubernetes/workloads.js';
import { createPrometheusProvider } from './integrations/metrics/provider.js';
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
  const istio = createIstioRouter(custom, budget);
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
    ...createDemoActivities({ kc, router: istio, prometheus: createPrometheusClient(cfg.prometheusUrl) }),
    ...createReleaseActivities({
      kc,
      budget,
      workloads: createWorkloadController(kc, budget),
      routers: { istio, 'gatewayapi:v1': createGatewayApiRouter(custom, budget) },
      metrics: createPrometheusProvider(cfg.prometheusUrl, { secrets: createSecretSource() }),
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
    activities: createActivities(cfg, deps),
    // Long activities heartbeat every second; send those heartbeats at that pace (by default a heartbeat is held
    // back up to 80% of the heartbeat timeout), since an activity learns it is cancelled (an operator acting now)
    // from a heartbeat's response.
    maxHeartbeatThrottleInterval: '1 second',
    ...(dataConverter ? { dataConverter } : {}),
    ...workflowSource(),
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

async function main(): Promise<void> {
  const cfg = loadFledgeConfig();
  const listen = metricsListenFromEnv(process.env); // FLEDGE_METRICS_PORT (9464 | off), FLEDGE_METRICS_HOST
  const { metrics, registry } = createReleaseMetrics();
  const { worker, connection } = await createFledgeWorker(cfg, { metrics });
  console.log(
    `fledge worker: task queue "${cfg.taskQueue}" on ${cfg.temporal.address} (namespace ${cfg.temporal.namespace})`,
  );
  try {
    const server = listen ? await startMetricsServer({ ...listen, registry }) : null;
    console.log(server ? `fledge worker: metrics on ${server.url}` : 'fledge worker: metrics endpoint off');
    const client = cfg.identity?.slackSigningSecret ? await connectClient(cfg) : null;
    const interactions = client ? await startInteractions(cfg, client, { registry }) : null;
    console.log(
      interactions
        ? `fledge worker: Slack interactions on ${interactions.url}`
        : 'fledge worker: Slack interactions off (no FLEDGE_SLACK_SIGNING_SECRET)',
    );
    try {
      await worker.run();
    } finally {
      await interactions?.close();
      await client?.connection.close();
      await server?.close();
    }
  } finally {
    await connection.close();
  }
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
