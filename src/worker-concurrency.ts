// How many workflow tasks and local activities one worker process runs at once (FLEDGE_MAX_WORKFLOW_TASKS,
// FLEDGE_MAX_LOCAL_ACTIVITIES; validated with the rest of the environment in src/config.ts). A release's workflow
// task stays open while its local activities run — route and scale writes, readiness reads: up to 15 s each on a slow
// apiserver — and the SDK's default of 40 workflow-task slots let 40 such releases hold every slot: no other workflow
// task was polled, so the lanes could not start the next releases (npm run bench:scale, N = 1,000 beside Flagger on
// one 2-core rig: 409 of 1,000 submissions accepted in 52 min, with the worker at 15 % CPU). A slot that waits on a
// local activity costs no CPU (one workflow thread runs the activations either way) and little memory, so the
// defaults are higher; the request budget (FLEDGE_KUBE_QPS / FLEDGE_KUBE_BURST) still bounds the apiserver traffic.

export interface WorkerConcurrency {
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentLocalActivityExecutions: number;
}

export const defaultWorkerConcurrency: WorkerConcurrency = {
  maxConcurrentWorkflowTaskExecutions: 200,
  maxConcurrentLocalActivityExecutions: 200,
};

/** The slots from the validated settings (whole numbers 2–10000 as strings, or unset for the defaults). */
export function workerConcurrency(settings: {
  FLEDGE_MAX_WORKFLOW_TASKS?: string | undefined;
  FLEDGE_MAX_LOCAL_ACTIVITIES?: string | undefined;
}): WorkerConcurrency {
  return {
    maxConcurrentWorkflowTaskExecutions: settings.FLEDGE_MAX_WORKFLOW_TASKS
      ? Number(settings.FLEDGE_MAX_WORKFLOW_TASKS)
      : defaultWorkerConcurrency.maxConcurrentWorkflowTaskExecutions,
    maxConcurrentLocalActivityExecutions: settings.FLEDGE_MAX_LOCAL_ACTIVITIES
      ? Number(settings.FLEDGE_MAX_LOCAL_ACTIVITIES)
      : defaultWorkerConcurrency.maxConcurrentLocalActivityExecutions,
  };
}
