// A client-side request budget for the Kubernetes API. @kubernetes/client-node has no rate limiter of its own,
// so every call made by Fledge's integrations goes through `budget.call()`: a token bucket (QPS with burst)
// shared by the whole worker process, plus honouring 429 Too Many Requests with its Retry-After.
import * as k8s from '@kubernetes/client-node';
import { retryAfterMs, withRetries } from '../retry.js';

export interface BudgetOptions {
  qps: number;
  burst: number;
  /** How many times a 429 is retried (after waiting Retry-After) before the error is surfaced. */
  max429Retries: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * The caller's cancellation (the worker passes the running activity's signal). A call whose caller gave up while
   * it waited for a token (its activity timed out or was cancelled) is dropped before it is sent — otherwise a
   * queued write would land after the release already moved on (a "failed" promotion that still shipped).
   */
  cancellation?: () => AbortSignal | undefined;
}

export interface RequestBudget {
  call<T>(fn: () => Promise<T>): Promise<T>;
  readonly stats: { requests: number; throttledMs: number; retried429: number; dropped: number };
}

export function createRequestBudget(opts: BudgetOptions): RequestBudget {
  const now = opts.now ?? (() => Date.now());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let tokens = opts.burst;
  let last = now();
  let queue: Promise<void> = Promise.resolve();
  const stats = { requests: 0, throttledMs: 0, retried429: 0, dropped: 0 };

  const refill = (): void => {
    const t = now();
    tokens = Math.min(opts.burst, tokens + ((t - last) / 1000) * opts.qps);
    last = t;
  };
  // Acquisitions are serialised so waiting callers are served in order.
  const acquire = (): Promise<void> => {
    const next = queue.then(async () => {
      refill();
      if (tokens < 1) {
        const wait = Math.ceil(((1 - tokens) / opts.qps) * 1000);
        stats.throttledMs += wait;
        await sleep(wait);
        refill();
      }
      tokens -= 1;
    });
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    stats,
    async call<T>(fn: () => Promise<T>): Promise<T> {
      const signal = opts.cancellation?.();
      // Only a 429 is retried here (after its Retry-After), and every attempt takes a token again.
      return withRetries(
        async () => {
          await acquire();
          if (signal?.aborted) {
            stats.dropped++;
            throw signal.reason instanceof Error
              ? signal.reason
              : new Error('request dropped: its caller gave up');
          }
          stats.requests++;
          return fn();
        },
        { retries: opts.max429Retries, backoff: { kind: 'linear', baseMs: 1000 } },
        {
          onError: (e) => {
            if (!(e instanceof k8s.ApiException && e.code === 429)) return { retry: false };
            const after = retryAfterMs(e.headers?.['retry-after'] ?? e.headers?.['Retry-After']);
            return { retry: true, afterMs: after ?? 1000 };
          },
          onRetry: () => {
            stats.retried429++;
          },
          sleep: (ms) => sleep(ms),
        },
      );
    },
  };
}

/**
 * Budget from FLEDGE_KUBE_QPS / FLEDGE_KUBE_BURST. Defaults are Flagger's controller defaults (100 QPS, burst 250):
 * client-go's 20/40 made 100 concurrent releases queue for minutes.
 */
export function budgetFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  cancellation?: () => AbortSignal | undefined,
): RequestBudget {
  const qps = Number(env.FLEDGE_KUBE_QPS ?? 100);
  const burst = Number(env.FLEDGE_KUBE_BURST ?? 250);
  if (!(qps > 0) || !(burst >= 1))
    throw new Error(`invalid FLEDGE_KUBE_QPS/FLEDGE_KUBE_BURST: ${qps}/${burst}`);
  return createRequestBudget({ qps, burst, max429Retries: 5, ...(cancellation ? { cancellation } : {}) });
}
