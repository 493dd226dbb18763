// Cancellation helpers for integrations that make outbound calls on behalf of an activity: the caller passes its
// AbortSignal (an activity's `Context.current().cancellationSignal`), and a cancelled call stops at once and
// rejects with the signal's reason instead of producing a result.

/** The abort signal for one request: the per-request timeout, and the caller's cancellation when given. */
export function requestSignal(timeoutMs: number, cancel: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return cancel ? AbortSignal.any([cancel, timeout]) : timeout;
}

/** Why `signal` aborted (for activities: a CancelledFailure), to be rethrown. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('cancelled');
}

/** Rejects with the abort reason if `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal ? abortReason(signal) : new Error('cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
