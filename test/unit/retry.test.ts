// The integrations' one retry loop (src/integrations/retry.ts): policy arithmetic, what ends the loop, recovery of
// ambiguous failures, server-told waits and cancellation.
import { describe, expect, it } from 'vitest';
import { backoffMs, retryAfterMs, withRetries, type RetryPolicy } from '../../src/integrations/retry.js';

const linear = (retries: number, baseMs = 100): RetryPolicy => ({
  retries,
  backoff: { kind: 'linear', baseMs },
});
const expo = (retries: number, baseMs = 100): RetryPolicy => ({
  retries,
  backoff: { kind: 'exponential', baseMs },
});

function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('backoff', () => {
  it.each([
    [linear(3, 500), [500, 1000, 1500]],
    [expo(4, 500), [500, 1000, 2000, 4000]],
  ])('%j waits %j before retries 1..n', (policy, want) => {
    expect(want.map((_, i) => backoffMs(policy, i + 1))).toEqual(want);
  });

  it.each([
    ['2', 2000],
    [0.05, 100],
    ['', undefined],
    ['soon', undefined],
    [undefined, undefined],
    [-1, undefined],
  ] as const)('Retry-After %j → %j ms', (v, want) => {
    expect(retryAfterMs(v)).toBe(want);
  });
});

describe('withRetries', () => {
  it('retries a retryable error with the backoff, then succeeds', async () => {
    const r = recorder();
    let calls = 0;
    const v = await withRetries(
      async () => {
        if (++calls < 3) throw new Error('reset');
        return 'ok';
      },
      linear(5),
      { onError: () => ({ retry: true }), sleep: r.sleep },
    );
    expect(v).toBe('ok');
    expect(calls).toBe(3);
    expect(r.waits).toEqual([100, 200]);
  });

  it('throws the last error when the retries are used up, after exactly retries + 1 attempts', async () => {
    const r = recorder();
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          throw new Error(`fail ${++calls}`);
        },
        expo(2),
        { onError: () => ({ retry: true }), sleep: r.sleep },
      ),
    ).rejects.toThrow('fail 3');
    expect(r.waits).toEqual([100, 200]);
  });

  it('a final error is thrown at once; no onError means final', async () => {
    let calls = 0;
    const fail = async (): Promise<never> => {
      calls++;
      throw new Error('403');
    };
    await expect(withRetries(fail, linear(5), { onError: () => ({ retry: false }) })).rejects.toThrow('403');
    await expect(withRetries(fail, linear(5))).rejects.toThrow('403');
    expect(calls).toBe(2);
  });

  it('a server-told wait replaces the backoff', async () => {
    const r = recorder();
    let calls = 0;
    await withRetries(
      async () => {
        if (++calls === 1) throw new Error('429');
        return 1;
      },
      linear(3),
      { onError: () => ({ retry: true, afterMs: 2000 }), sleep: r.sleep },
    );
    expect(r.waits).toEqual([2000]);
  });

  it('a returned failure is retried and, when retries run out, returned as the result', async () => {
    const r = recorder();
    const statuses = [503, 503, 503];
    let i = 0;
    const v = await withRetries(async () => statuses[i++]!, linear(2), {
      retryValue: (s) => ({ retry: s >= 500 }),
      sleep: r.sleep,
    });
    expect(v).toBe(503);
    expect(i).toBe(3);
    expect(r.waits).toEqual([100, 200]);
  });

  it('recover ends the loop with what an ambiguous attempt did (no second write)', async () => {
    const r = recorder();
    let writes = 0;
    const v = await withRetries(
      async () => {
        writes++;
        throw new Error('500 after posting');
      },
      expo(3),
      { onError: () => ({ retry: true }), recover: async () => 'found-it', sleep: r.sleep },
    );
    expect(v).toBe('found-it');
    expect(writes).toBe(1);
  });

  it('a cancelled caller stops the loop during a wait, with the signal reason', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = withRetries(
      async () => {
        throw new Error('reset');
      },
      linear(3, 60_000),
      { onError: () => ({ retry: true }), signal: ac.signal },
    );
    setTimeout(() => ac.abort(new Error('operator aborted')), 20);
    await expect(p).rejects.toThrow('operator aborted');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
