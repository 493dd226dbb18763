// Foundation demo workflow: initialise a demo app, then shift its VirtualService weight step by step while
// Prometheus observes the simulated split. (The full release workflow supersedes this as the demo.) Registered only
// by the embedded dev stack's worker (src/dev/workflows.ts); not in the production bundle.
import { log, proxyActivities, sleep } from '@temporalio/workflow';
import type { DemoActivities, DemoAppInput } from '../activities/demo.js';

const acts = proxyActivities<DemoActivities>({
  startToCloseTimeout: '20 seconds',
  scheduleToCloseTimeout: '3 minutes',
  retry: { initialInterval: '500 ms', backoffCoefficient: 1.5, maximumInterval: '5 seconds' },
});

export interface DemoShiftInput extends DemoAppInput {
  weights: number[];
  /** How long to hold each weight before observing it (ms). */
  holdMs: number;
  window: string;
}

export interface DemoShiftStep {
  canaryWeight: number;
  observedCanaryPercent: number | null;
}

export async function demoTrafficShift(input: DemoShiftInput): Promise<DemoShiftStep[]> {
  await acts.ensureDemoApp(input);
  const steps: DemoShiftStep[] = [];
  for (const w of input.weights) {
    await acts.setDemoWeights({ namespace: input.namespace, name: input.name, canaryWeight: w });
    await sleep(input.holdMs);
    const { canaryPercent } = await acts.observeSplit({
      namespace: input.namespace,
      name: input.name,
      window: input.window,
    });
    log.info('weight step observed', { canaryWeight: w, canaryPercent });
    steps.push({ canaryWeight: w, observedCanaryPercent: canaryPercent });
  }
  return steps;
}
