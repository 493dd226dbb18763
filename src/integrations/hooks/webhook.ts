// Webhook caller with Flagger's contract: POST JSON {name, namespace, phase, checksum, metadata}; an HTTP status
// ≤ 202 passes; anything else, a timeout or a transport error fails (the response body becomes the message).
// `event` hooks add metadata.eventMessage, eventType and timestamp. Existing Flagger loadtester hooks work as-is.
// Never throws: the result says what happened, and the caller (domain) decides what a failure means.

export interface WebhookPayload {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  metadata: Record<string, string>;
}

export interface WebhookCall {
  url: string;
  timeoutMs: number;
  /** Retries after the first attempt, on transport errors and 5xx/429 (as go-retryablehttp). */
  retries: number;
  /** Flagger's WebhookPayload for hooks; notifiers (MS Teams, JSON webhook) send their own JSON. */
  payload: WebhookPayload | Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface WebhookResult {
  ok: boolean;
  status?: number;
  message: string;
  attempts: number;
  durationMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function callWebhook(
  call: WebhookCall,
  opts: { backoffMs?: number } = {},
): Promise<WebhookResult> {
  const t0 = Date.now();
  const body = JSON.stringify(call.payload);
  let last: WebhookResult = { ok: false, message: 'not called', attempts: 0, durationMs: 0 };
  for (let attempt = 1; attempt <= call.retries + 1; attempt++) {
    try {
      const res = await fetch(call.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(call.headers ?? {}) },
        body,
        signal: AbortSignal.timeout(call.timeoutMs),
      });
      const text = (await res.text()).slice(0, 1000);
      const ok = res.status <= 202;
      last = {
        ok,
        status: res.status,
        message: ok ? `${res.status}` : text.trim() || `HTTP ${res.status}`,
        attempts: attempt,
        durationMs: Date.now() - t0,
      };
      if (ok || !(res.status >= 500 || res.status === 429)) return last;
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      last = {
        ok: false,
        message: timedOut
          ? `timeout after ${call.timeoutMs} ms`
          : `request failed: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`,
        attempts: attempt,
        durationMs: Date.now() - t0,
      };
    }
    if (attempt <= call.retries) await sleep((opts.backoffMs ?? 500) * attempt);
  }
  return last;
}
