// The one retry loop of the integrations, with one vocabulary. It sits UNDER Temporal's own activity retries and the
// release's infrastructure retries (src/domain), so it only absorbs what a single call should absorb: a dropped
// connection, a 5xx, a rate limit that says how long to wait. Every integration states its policy with the same
// two words — how many `retries` after the first attempt, and a `backoff` — and decides per failure whether it is
// worth another attempt (`retry`), when the server named the wait (`afterMs`, e.g. Retry-After), and whether the
// failure may have taken effect (`recover`: an ambiguous write is looked up before it is repeated).
//
//   webhooks (hooks/webhook.ts)            retries from the spec (Flagger: go-retryablehttp), linear 500 ms
//   metrics providers (metrics/*/)         2 retries, linear 300 ms, on no answer / 5xx / 429
//   Slack (notify/slack.ts)                3 retries, exponential 500 ms; 429 waits Retry-After; 5xx/no answer
//                                          are ambiguous: the post is looked up before it is repeated
//   Kubernetes request budget (kubernetes/budget.ts)  5 retries of a 429 only, waiting Retry-After
//
// A cancelled caller (the activity's signal: an operator acts now) stops the loop at once, in an attempt or a wait.
import { sleep, throwIfAborted } from './cancellation.js';

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** Wait before retry n (n = 1, 2, …): linear = baseMs × n, exponential = baseMs × 2^(n−1). */
  backoff: { kind: 'linear' | 'exponential'; baseMs: number };
}

/** What to do after a failed attempt. */
export type RetryDecision =
  | { retry: false }
  /** `afterMs`: the server's own wait (Retry-After), used instead of the backoff. */
  | { retry: true; afterMs?: number };

export interface RetryOptions<T> {
  /** A thrown error: retry it or not (default: never). */
  onError?: (e: unknown) => RetryDecision;
  /** A returned value that is a failure worth retrying (e.g. an HTTP 503 a caller reports rather than throws). */
  retryValue?: (value: T) => RetryDecision;
  /**
   * Asked after the wait that follows a thrown error, before the next attempt: a value means the failed attempt did
   * take effect after all (an ambiguous write that landed) and ends the loop with it; undefined attempts again.
   */
  recover?: (e: unknown) => Promise<T | undefined>;
  /** The caller's cancellation: rejects with its reason at once. */
  signal?: AbortSignal;
  /** Before each wait (observability, tests). */
  onRetry?: (retry: number, waitMs: number) => void;
  /** The wait itself (tests inject a clock); default: a timer the signal cuts short. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The backoff wait before retry `n` (1-based). */
export function backoffMs(policy: RetryPolicy, n: number): number {
  const { kind, baseMs } = policy.backoff;
  return kind === 'linear' ? baseMs * n : baseMs * 2 ** (n - 1);
}

/** Seconds in a Retry-After header (or Slack's `retryAfter`) → ms, at least 100 ms; undefined when absent/invalid. */
export function retryAfterMs(seconds: string | number | undefined | null): number | undefined {
  if (seconds === undefined || seconds === null || seconds === '') return undefined;
  const n = Number(seconds);
  return Number.isFinite(n) && n >= 0 ? Math.max(100, n * 1000) : undefined;
}

/**
 * Runs `attempt` (given its 0-based number) until it succeeds, a failure is not worth retrying, or the policy's
 * retries are used up: then the last error is thrown, or the last value returned.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  opts: RetryOptions<T> = {},
): Promise<T> {
  for (let n = 0; ; n++) {
    throwIfAborted(opts.signal);
    let decision: RetryDecision;
    let error: unknown;
    let failedValue: { value: T } | undefined;
    try {
      const value = await attempt(n);
      decision = opts.retryValue?.(value) ?? { retry: false };
      if (!decision.retry || n >= policy.retries) return value;
      failedValue = { value };
    } catch (e) {
      throwIfAborted(opts.signal);
      decision = opts.onError?.(e) ?? { retry: false };
      if (!decision.retry || n >= policy.retries) throw e;
      error = e;
    }
    const wait = decision.afterMs ?? backoffMs(policy, n + 1);
    opts.onRetry?.(n + 1, wait);
    await (opts.sleep ?? sleep)(wait, opts.signal);
    if (failedValue === undefined && opts.recover) {
      const found = await opts.recover(error).catch(() => undefined);
      if (found !== undefined) return found;
    }
  }
}
