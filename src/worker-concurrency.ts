// How many workflow tasks and local activities one worker process runs at once (FLEDGE_MAX_WORKFLOW_TASKS,
// FLEDGE_MAX_LOCAL_ACTIVITIES). A release's workflow task stays open while its local activities run — route and
// scale writes, readiness reads: up to 15 s each on a slow apiserver — and the SDK's default of 40 workflow-task slots
// let 40 such releases hold every slot: no other workflow task was polled, so the lanes could not start the next
// releases (npm run bench:scale, N = 1,000 beside Flagger on one 2-core rig: 262 of 1,000 submissions accepted in
// 26 min, with the worker at 15 % CPU). A slot that waits on a local activity costs no CPU (one workflow thread
// runs the activations either way) and little memory, so the defaults are higher; the request budget
// (FLEDGE_KUBE_QPS / FLEDGE_KUBE_BURST) still bounds the apiserver traffic.

export interface WorkerConcurrency {
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentLocalActivityExecutions: number;
}

export const defaultWorkerConcurrency: WorkerConcurrency = {
  maxConcurrentWorkflowTaskExecutions: 200,
  maxConcurrentLocalActivityExecutions: 200,
};

const settings = [
  ['FLEDGE_MAX_WORKFLOW_TASKS', 'maxConcurrentWorkflowTaskExecutions'],
  ['FLEDGE_MAX_LOCAL_ACTIVITIES', 'maxConcurrentLocalActivityExecutions'],
] as const;

/** The worker's concurrency from the environment; throws naming the setting if a value is not an integer 2–10000. */
export function workerConcurrencyFromEnv(env: NodeJS.ProcessEnv): WorkerConcurrency {
  const out = { ...defaultWorkerConcurrency };
  for (const [name, key] of settings) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 2 || n > 10_000)
      throw new Error(`${name} must be an integer from 2 to 10000 (got ${JSON.stringify(raw)})`);
    out[key] = n;
  }
  return out;
}
