// The embedded dev stack's worker: the production worker (src/worker.ts) with the dev stack's settings for whatever
// the environment leaves unset, plus the foundation demo's workflow and activities, which production never
// registers. `fledge dev worker` runs it; `npm run demo` creates it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { createDemoActivities } from '../activities/demo.js';
import { loadWorkerConfig, type FledgeConfig } from '../config.js';
import { createRequestBudget } from '../integrations/kubernetes/budget.js';
import { createPrometheusClient } from '../integrations/metrics/prometheus.js';
import { createIstioRouter } from '../integrations/traffic/istio.js';
import { createFledgeWorker, runWorker, type WorkerDeps, type WorkerExtension } from '../worker.js';
import { devConfigDefaults, loadStackConfig } from './stack/config.js';

/** The dev workflows module: the production workflows and the demo (TypeScript in a checkout, else compiled). */
export function devWorkflowsPath(): string {
  const ts = fileURLToPath(new URL('./workflows.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('./workflows.js', import.meta.url));
}

/** The demo's workflow and activities, as an extension of the production worker. */
export function demoExtension(cfg: FledgeConfig): WorkerExtension {
  return {
    workflowsPath: devWorkflowsPath(),
    activities: (kc) =>
      createDemoActivities({
        kc,
        // The demo's own budget: it never competes with releases for the worker's.
        router: createIstioRouter(
          kc.makeApiClient(k8s.CustomObjectsApi),
          createRequestBudget({ qps: 50, burst: 100, max429Retries: 3 }),
        ),
        prometheus: createPrometheusClient(cfg.prometheusUrl),
      }),
  };
}

/** The dev stack's configuration: the environment, and the stack's values for what it leaves unset. */
export function devWorkerConfig(env: NodeJS.ProcessEnv = process.env): FledgeConfig {
  return loadWorkerConfig(env, { defaults: devConfigDefaults(env) });
}

export async function createDevWorker(cfg: FledgeConfig = devWorkerConfig(), deps: WorkerDeps = {}) {
  return createFledgeWorker(cfg, { ...deps, extension: demoExtension(cfg) });
}

/** `fledge dev worker`: runs the dev stack's worker until SIGINT/SIGTERM. */
export async function runDevWorker(): Promise<void> {
  const env = process.env; // the worker reads its metrics and notifier settings from the process environment
  const stack = loadStackConfig(env);
  // The stack's Prometheus scrapes the worker's metrics on this port; its alerts go to the fake Slack.
  env.FLEDGE_METRICS_PORT ??= String(stack.ports.workerMetrics);
  env.FLEDGE_METRICS_HOST ??= '127.0.0.1';
  env.FLEDGE_SLACK_TOKEN ??= 'xoxb-fledge-dev';
  env.FLEDGE_SLACK_API_URL ??= `${stack.urls.fakeSlack}/api/`;
  const cfg = devWorkerConfig(env);
  await runWorker(cfg, { extension: demoExtension(cfg), name: 'fledge dev worker' });
}
