// A deliberately changed copy of the demo workflow (an extra activity before the first one): replaying a real
// history against it must fail, which proves the replay harness detects non-determinism.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { DemoActivities } from '../../../src/activities/demo.js';
import type { DemoShiftInput, DemoShiftStep } from '../../../src/workflows/demo.js';

const acts = proxyActivities<DemoActivities>({ startToCloseTimeout: '20 seconds' });

export async function demoTrafficShift(input: DemoShiftInput): Promise<DemoShiftStep[]> {
  await acts.setDemoWeights({ namespace: input.namespace, name: input.name, canaryWeight: 0 });
  await acts.ensureDemoApp(input);
  await sleep(input.holdMs);
  return [];
}
