// Composition root: wires the integrations into activities and runs the Temporal worker.
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createDemoActivities } from './activities/demo.js';
import { createReleaseActivities } from './activities/release.js';
import { connectionOptions, loadFledgeConfig, type FledgeConfig } from './config.js';
import { loadKubeConfig } from './integrations/kubernetes/client.js';
import { createPrometheusClient } from './integrations/metrics/prometheus.js';
import { createIstioRouter } from './integrations/traffic/istio.js';
import { createGatewayApiRouter } from './integrations/traffic/gateway-api.js';
import { budgetFromEnv, type RequestBudget } from './integrations/kubernetes/budget.js';
import { createWorkloadController } from './integrations/kubernetes/workloads.js';
import { createPrometheusProvider } from './integrations/metrics/provider.js';
import { createNotifierFactory, dashboardLinker } from './integrations/notify/factory.js';
import { webUiWorkflowUrl } from './starter.js';
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

export function createActivities(cfg: FledgeConfig, deps: WorkerDeps = {}) {
  const kc = deps.kubeConfig ?? loadKubeConfig(cfg.kubeconfig);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const budget = deps.budget ?? budgetFromEnv();
  const istio = createIstioRouter(custom, budget);
  const notifiers = createNotifierFactory(process.env);
  return {
    ...createDemoActivities({ kc, router: istio, prometheus: createPrometheusClient(cfg.prometheusUrl) }),
    ...createReleaseActivities({
      kc,
      budget,
      workloads: createWorkloadController(kc, budget),
      routers: { istio, 'gatewayapi:v1': createGatewayApiRouter(custom, budget) },
      metrics: createPrometheusProvider(cfg.prometheusUrl),
      notifiers,
      ...(deps.metrics ? { observer: deps.metrics } : {}),
      webUiLink: (id) => webUiWorkflowUrl(cfg, id),
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
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.taskQueue,
    activities: createActivities(cfg, deps),
    ...workflowSource(),
  });
  return { worker, connection };
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
    try {
      await worker.run();
    } finally {
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
