// Test-only workflow: exercises a timer, an activity, a signal, an update with validator and a query on the real server.
import {
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';

export interface EchoActivities {
  shout(text: string): Promise<string>;
}

const { shout } = proxyActivities<EchoActivities>({ startToCloseTimeout: '10 seconds' });

export const releaseSignal = defineSignal<[string]>('release');
export const addUpdate = defineUpdate<number, [number]>('add');
export const stateQuery = defineQuery<{ total: number; released: string | null }>('state');

export async function echoWorkflow(
  text: string,
): Promise<{ loud: string; total: number; releasedBy: string }> {
  let total = 0;
  let released: string | null = null;
  setHandler(stateQuery, () => ({ total, released }));
  setHandler(releaseSignal, (who) => {
    released = who;
  });
  setHandler(
    addUpdate,
    (n) => {
      total += n;
      return total;
    },
    {
      validator: (n) => {
        if (n <= 0) throw new Error('only positive numbers');
      },
    },
  );
  await sleep('100 ms');
  const loud = await shout(text);
  await condition(() => released !== null);
  return { loud, total, releasedBy: released ?? '' };
}
