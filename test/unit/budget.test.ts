import { describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { createRequestBudget } from '../../src/integrations/kubernetes/budget.js';

function fakeClock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

describe('Kubernetes request budget', () => {
  it('lets a burst through, then paces at the QPS', async () => {
    const clk = fakeClock();
    const b = createRequestBudget({ qps: 10, burst: 3, max429Retries: 0, now: clk.now, sleep: clk.sleep });
    for (let i = 0; i < 6; i++) await b.call(async () => i);
    expect(b.stats.requests).toBe(6);
    // 3 free, then 3 more at 100 ms each.
    expect(clk.sleeps).toEqual([100, 100, 100]);
  });

  it('waits Retry-After on 429 and retries, up to the limit', async () => {
    const clk = fakeClock();
    const b = createRequestBudget({
      qps: 1000,
      burst: 1000,
      max429Retries: 2,
      now: clk.now,
      sleep: clk.sleep,
    });
    let calls = 0;
    const tooMany = () => new k8s.ApiException(429, 'Too Many Requests', '', { 'retry-after': '2' });
    const v = await b.call(async () => {
      calls++;
      if (calls < 3) throw tooMany();
      return 'ok';
    });
    expect(v).toBe('ok');
    expect(clk.sleeps.filter((s) => s === 2000)).toHaveLength(2);
    expect(b.stats.retried429).toBe(2);
    calls = 0;
    await expect(
      b.call(async () => {
        calls++;
        throw tooMany();
      }),
    ).rejects.toBeInstanceOf(k8s.ApiException);
    expect(calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    const b = createRequestBudget({ qps: 100, burst: 100, max429Retries: 5 });
    let calls = 0;
    await expect(
      b.call(async () => {
        calls++;
        throw new k8s.ApiException(500, 'boom', '', {});
      }),
    ).rejects.toThrow();
    expect(calls).toBe(1);
  });

  it('drops a queued call whose caller gave up (its activity timed out) instead of sending it late', async () => {
    const clk = fakeClock();
    const callers = [new AbortController(), new AbortController()];
    let current: AbortSignal | undefined;
    const b = createRequestBudget({
      qps: 1,
      burst: 1,
      max429Retries: 0,
      now: clk.now,
      sleep: async (ms) => {
        await clk.sleep(ms);
        callers[1]!.abort(new Error('Local Activity timed out')); // gives up while it waits for its token
      },
      cancellation: () => current,
    });
    const sent: string[] = [];
    current = callers[0]!.signal;
    const first = b.call(async () => sent.push('first'));
    current = callers[1]!.signal;
    const second = b.call(async () => sent.push('second'));
    await first;
    await expect(second).rejects.toThrow('Local Activity timed out');
    expect(sent).toEqual(['first']);
    expect(b.stats).toMatchObject({ requests: 1, dropped: 1 });
  });
});
