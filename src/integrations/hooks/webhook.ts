// Webhook caller with Flagger's contract: POST JSON {name, namespace, phase, checksum, metadata}; an HTTP status
// ≤ 202 passes; anything else, a timeout or a transport error fails (the response body becomes the message).
// `event` hooks add metadata.eventMessage, eventType and timestamp. Existing Flagger loadtester hooks work as-is.
// Never throws: the result says what happened, and the caller (domain) decides what a failure means — except when
// the caller's `signal` aborts (the activity was cancelled: an operator acts now): then the request (or the backoff
// between attempts) is abandoned at once and the call rejects with the signal's reason. A cancelled call is no
// result: it must not be reported as a failed webhook.
// Outbound guard (src/integrations/outbound.ts): the URL's address must be allowed, redirects are not followed (a
// 3xx fails, saying so), only a short escaped excerpt of the response body is kept, and with
// FLEDGE_WEBHOOK_SIGNING_KEY every request is signed (X-Fledge-Signature, src/integrations/hooks/signature.ts).
import { requestSignal, throwIfAborted } from '../cancellation.js';
import { withRetries, type RetryPolicy } from '../retry.js';
import {
  excerpt,
  OutboundRefusedError,
  outboundFetch,
  outboundSettings,
  redirectNotFollowed,
  type OutboundFetch,
} from '../outbound.js';
import { signatureHeader, signWebhookBody } from './signature.js';

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

export interface WebhookCallOptions {
  backoffMs?: number;
  /** The caller's cancellation (e.g. the activity's `cancellationSignal`): abandons the call, which rejects. */
  signal?: AbortSignal;
  /** The guarded fetch (default: the worker's, FLEDGE_OUTBOUND_ALLOW). */
  fetch?: OutboundFetch;
  /** Signing key (default: FLEDGE_WEBHOOK_SIGNING_KEY); null sends unsigned. */
  signingKey?: string | null;
}

export async function callWebhook(call: WebhookCall, opts: WebhookCallOptions = {}): Promise<WebhookResult> {
  const t0 = Date.now();
  const body = JSON.stringify(call.payload);
  const cancel = opts.signal;
  const key = opts.signingKey === undefined ? outboundSettings().webhookSigningKey : opts.signingKey;
  const policy: RetryPolicy = {
    retries: call.retries,
    backoff: { kind: 'linear', baseMs: opts.backoffMs ?? 500 },
  };
  // Transport errors and 5xx/429 are retried (as go-retryablehttp); the last result is what the caller gets.
  const transient = (r: WebhookResult & { refused?: boolean }): boolean =>
    !r.ok && !r.refused && (r.status === undefined || r.status >= 500 || r.status === 429);
  const result = await withRetries(
    async (n): Promise<WebhookResult & { refused?: boolean }> => {
      const attempt = n + 1;
      try {
        const res = await (opts.fetch ?? outboundFetch)(call.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            ...(call.headers ?? {}),
            ...(key ? { [signatureHeader]: signWebhookBody(key, body, Date.now() / 1000) } : {}),
          },
          body,
          redirect: 'manual',
          signal: requestSignal(call.timeoutMs, cancel),
        });
        const text = excerpt(await res.text());
        const ok = res.status <= 202;
        const redirect = res.status >= 300 && res.status < 400;
        return {
          ok,
          status: res.status,
          message: ok ? `${res.status}` : redirect ? redirectNotFollowed(res) : text || `HTTP ${res.status}`,
          attempts: attempt,
          durationMs: Date.now() - t0,
        };
      } catch (e) {
        throwIfAborted(cancel);
        if (e instanceof OutboundRefusedError)
          return {
            ok: false,
            refused: true,
            message: e.message,
            attempts: attempt,
            durationMs: Date.now() - t0,
          };
        const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
        return {
          ok: false,
          message: timedOut
            ? `timeout after ${call.timeoutMs} ms`
            : `request failed: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`,
          attempts: attempt,
          durationMs: Date.now() - t0,
        };
      }
    },
    policy,
    { retryValue: (r) => ({ retry: transient(r) }), ...(cancel ? { signal: cancel } : {}) },
  );
  const { refused: _refused, ...out } = result;
  return out;
}
