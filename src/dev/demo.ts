// The README's main job: a local end-to-end demo on the embedded stack.
// Starts the stack (idempotent), runs a Fledge worker in-process, runs the demo release workflow and prints
// what happened, with the Temporal Web UI link. The stack keeps running afterwards for inspection.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadFledgeConfig } from '../config.js';
import { connectClient, runDemoShift, webUiWorkflowUrl } from '../starter.js';
import { createFledgeWorker } from '../worker.js';
import { stackUp } from './stack/stack.js';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const stackCfg = await stackUp();
  const cfg = loadFledgeConfig();
  const { worker, connection } = await createFledgeWorker(cfg);
  const client = await connectClient(cfg);
  const workflowId = `fledge-demo/shift/${Date.now().toString(36)}`;
  console.log(`\nDemo: podinfo in namespace fledge-demo; canary weight 0 → 10 → 50 → 0 while the mesh simulator sends traffic`);
  console.log(`Web UI: ${webUiWorkflowUrl(cfg, workflowId)}\n`);
  const result = await worker.runUntil(
    runDemoShift(
      client,
      cfg,
      {
        namespace: 'fledge-demo',
        name: 'podinfo',
        primaryImage: 'ghcr.io/stefanprodan/podinfo:6.5.0',
        canaryImage: 'ghcr.io/stefanprodan/podinfo:6.5.1',
        weights: [10, 50, 0],
        holdMs: 12_000,
        window: '8s',
      },
      workflowId,
    ),
  );
  for (const s of result.steps) {
    const seen = s.observedCanaryPercent === null ? 'no traffic yet' : `${s.observedCanaryPercent.toFixed(1)}%`;
    console.log(`  canary weight ${String(s.canaryWeight).padStart(3)}%  → Prometheus sees ${seen} of requests on the canary`);
  }
  console.log(`\nWorkflow ${result.workflowId} completed. Inspect it: ${webUiWorkflowUrl(cfg, result.workflowId, result.runId)}`);
  console.log(`Prometheus: ${stackCfg.urls.prometheus}   Stop the stack: npx fledge dev down`);
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
