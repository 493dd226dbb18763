// Webhook request signing: with FLEDGE_WEBHOOK_SIGNING_KEY set, every webhook request the worker sends (Flagger
// hooks, `event` hooks, MS Teams and JSON-webhook notifications) carries
//   X-Fledge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<raw body>")>
// (Stripe's/Slack's shape), so a receiver can tell the worker's requests from anyone else's and reject replays
// (a timestamp outside its tolerance). `verifyWebhookSignature` is what a receiver does (the local webhook service
// uses it; docs/security.md shows the same in a few lines of plain Node).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const signatureHeader = 'X-Fledge-Signature';
/** Default tolerance between the signature's timestamp and the receiver's clock. */
export const signatureToleranceSeconds = 300;

/** The header value for `body` sent at `unixSeconds`. */
export function signWebhookBody(key: string, body: string, unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  const v1 = createHmac('sha256', key).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: string };

/** Checks a received header against the raw body: format, timestamp window, then the HMAC in constant time. */
export function verifyWebhookSignature(
  key: string,
  header: string | undefined,
  body: string,
  opts: { nowSeconds?: number; toleranceSeconds?: number } = {},
): SignatureCheck {
  if (!header) return { ok: false, reason: `missing ${signatureHeader} header` };
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const k = item.slice(0, eq).trim();
    parts.set(k, [...(parts.get(k) ?? []), item.slice(eq + 1).trim()]);
  }
  const tText = parts.get('t')?.[0];
  const sigs = parts.get('v1') ?? [];
  if (!tText || !/^\d+$/.test(tText) || sigs.length === 0)
    return { ok: false, reason: `malformed ${signatureHeader} header (want t=<unix>,v1=<hex>)` };
  const t = Number(tText);
  const now = opts.nowSeconds ?? Date.now() / 1000;
  const tolerance = opts.toleranceSeconds ?? signatureToleranceSeconds;
  if (Math.abs(now - t) > tolerance)
    return {
      ok: false,
      reason: `timestamp ${t} is outside the ${tolerance} s tolerance (replayed or clock skew)`,
    };
  const expected = Buffer.from(createHmac('sha256', key).update(`${t}.${body}`).digest('hex'));
  for (const s of sigs) {
    const got = Buffer.from(s);
    if (got.length === expected.length && timingSafeEqual(got, expected)) return { ok: true, timestamp: t };
  }
  return { ok: false, reason: 'signature does not match the body' };
}
