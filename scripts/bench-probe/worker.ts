// The worker process of `npm run bench:probe`: Fledge's workflows (a prebuilt bundle) with fake, instant activities
// (test/support/fake-release-activities.ts) on its own task queue — what the workflows, the SDK and Core cost per
// release without a cluster. env: PROBE_TQ (task queue), PROBE_BUNDLE (workflow bundle path).
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadFledgeConfig } from '../../src/config.js';
import { devStackEnv } from '../../src/dev/stack/config.js';
import { FakeReleaseActivities } from '../../test/support/fake-release-activities.js';

const taskQueue = process.env.PROBE_TQ ?? 'bench-probe';
const cfg = loadFledgeConfig({ ...process.env, ...devStackEnv(), FLEDGE_TASK_QUEUE: taskQueue });
const connection = await NativeConnection.connect({ address: cfg.temporal.address });
const fake = new FakeReleaseActivities();
(fake.calls as unknown as { push: () => number }).push = () => 0; // record nothing: memory stays the workflows'
const worker = await Worker.create({
  connection,
  namespace: cfg.temporal.namespace,
  taskQueue,
  activities: {
    ...fake.activities,
    verifyIdentity: () => Promise.resolve({ ok: false as const, reason: 'not in the probe' }),
  },
  workflowBundle: { codePath: process.env.PROBE_BUNDLE ?? 'dist/workflow-bundle.js' },
});
console.log('task queue ready');
process.on('SIGTERM', () => worker.shutdown());
await worker.run();
await connection.close();
