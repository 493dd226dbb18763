// Signed webhooks: with FLEDGE_WEBHOOK_SIGNING_KEY the worker's webhook requests carry
// X-Fledge-Signature: t=<unix>,v1=<hex HMAC-SHA256 over "<t>.<body>">, and the local webhook service — given the
// key — verifies it (401 otherwise). The verification snippet of docs/security.md is run here too.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookService } from '../../src/dev/webhook-service/server.js';
import { WebhookServiceClient } from '../../src/dev/webhook-service/client.js';
import { callWebhook } from '../../src/integrations/hooks/webhook.js';
import { signWebhookBody, verifyWebhookSignature } from '../../src/integrations/hooks/signature.js';
import { allowAnyOutbound, configureOutbound } from '../../src/integrations/outbound.js';
import { loadFledgeConfig } from '../../src/config.js';
import { projectRoot } from '../../src/dev/stack/config.js';

const key = 'test-signing-key-0123456789';
let service: Awaited<ReturnType<typeof startWebhookService>>;
let hooks: WebhookServiceClient;

beforeAll(async () => {
  service = await startWebhookService({ port: 0, signingKey: key });
  hooks = new WebhookServiceClient(service.url);
});
afterAll(async () => {
  await service?.close();
});
afterEach(async () => {
  configureOutbound({ allow: allowAnyOutbound });
  await hooks.resetAll();
});

const payload = { name: 'podinfo', namespace: 'shop', phase: 'Progressing', checksum: 'c', metadata: {} };

describe('X-Fledge-Signature', () => {
  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const body = '{"a":1}';
    const expected = createHmac('sha256', key).update(`1700000000.${body}`).digest('hex');
    expect(signWebhookBody(key, body, 1700000000.9)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies: right key and body within the window; refuses missing, malformed, tampered, wrong key, replayed', () => {
    const body = JSON.stringify(payload);
    const now = 1700000000;
    const h = signWebhookBody(key, body, now);
    expect(verifyWebhookSignature(key, h, body, { nowSeconds: now + 10 })).toEqual({
      ok: true,
      timestamp: now,
    });
    expect(verifyWebhookSignature(key, undefined, body)).toMatchObject({ ok: false, reason: /missing/ });
    expect(verifyWebhookSignature(key, 'v1=abc', body)).toMatchObject({ ok: false, reason: /malformed/ });
    expect(verifyWebhookSignature(key, h, `${body} `, { nowSeconds: now })).toMatchObject({
      ok: false,
      reason: /does not match/,
    });
    expect(verifyWebhookSignature('another-key-0123456789', h, body, { nowSeconds: now })).toMatchObject({
      ok: false,
    });
    expect(verifyWebhookSignature(key, h, body, { nowSeconds: now + 301 })).toMatchObject({
      ok: false,
      reason: /outside the 300 s tolerance/,
    });
  });

  it('FLEDGE_WEBHOOK_SIGNING_KEY is a worker setting (at least 16 characters); unset: requests are unsigned', () => {
    expect(loadFledgeConfig({ FLEDGE_WEBHOOK_SIGNING_KEY: key }).outbound?.webhookSigningKey).toBe(key);
    expect(loadFledgeConfig({}).outbound?.webhookSigningKey).toBeUndefined();
    expect(() => loadFledgeConfig({ FLEDGE_WEBHOOK_SIGNING_KEY: 'short' })).toThrow(
      /FLEDGE_WEBHOOK_SIGNING_KEY/,
    );
  });
});

describe('the local webhook service verifies signatures when given the key', () => {
  it("accepts the worker's signed webhook calls (key from the worker's settings)", async () => {
    configureOutbound({ allow: allowAnyOutbound, webhookSigningKey: key });
    const r = await callWebhook({ url: `${service.url}/pre`, timeoutMs: 2000, retries: 0, payload });
    expect(r).toMatchObject({ ok: true, status: 200 });
    const [call] = await hooks.calls('/pre');
    expect(call?.signature).toEqual({ valid: true });
    expect(call?.headers['x-fledge-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('rejects unsigned calls and calls signed with another key (401, the reason recorded)', async () => {
    const unsigned = await callWebhook(
      { url: `${service.url}/pre`, timeoutMs: 2000, retries: 0, payload },
      { signingKey: null },
    );
    expect(unsigned).toMatchObject({ ok: false, status: 401 });
    expect(unsigned.message).toBe('signature rejected: missing X-Fledge-Signature header');
    const wrong = await callWebhook(
      { url: `${service.url}/pre`, timeoutMs: 2000, retries: 0, payload },
      { signingKey: 'someone-elses-key-0123' },
    );
    expect(wrong).toMatchObject({ ok: false, status: 401 });
    expect((await hooks.calls('/pre')).map((c) => c.signature)).toEqual([
      { valid: false, reason: 'missing X-Fledge-Signature header' },
      { valid: false, reason: 'signature does not match the body' },
    ]);
  });

  it('without a key the service does not check (the default local stack)', async () => {
    const plain = await startWebhookService({ port: 0 });
    try {
      const r = await callWebhook(
        { url: `${plain.url}/x`, timeoutMs: 2000, retries: 0, payload },
        { signingKey: null },
      );
      expect(r.ok).toBe(true);
      expect((await new WebhookServiceClient(plain.url).calls('/x'))[0]?.signature).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe('docs/security.md: the receiver snippet', () => {
  it('verifies what the worker signs and refuses a tampered body or a stale timestamp', async () => {
    const md = readFileSync(join(projectRoot, 'docs', 'security.md'), 'utf8');
    const m = /<!-- verify-snippet -->\s*```js\n([\s\S]*?)```/.exec(md);
    expect(m, 'docs/security.md has the ```js block after <!-- verify-snippet -->').not.toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'fledge-snippet-'));
    const file = join(dir, 'verify.mjs');
    writeFileSync(file, `${m?.[1] ?? ''}\nexport { verifyFledgeSignature };\n`);
    const mod = (await import(pathToFileURL(file).href)) as {
      verifyFledgeSignature: (key: string, header: string | undefined, rawBody: string) => boolean;
    };
    const body = JSON.stringify(payload);
    const header = signWebhookBody(key, body, Date.now() / 1000);
    expect(mod.verifyFledgeSignature(key, header, body)).toBe(true);
    expect(mod.verifyFledgeSignature(key, header, body.replace('shop', 'kube-system'))).toBe(false);
    expect(mod.verifyFledgeSignature(key, signWebhookBody(key, body, Date.now() / 1000 - 3600), body)).toBe(
      false,
    );
    expect(mod.verifyFledgeSignature(key, undefined, body)).toBe(false);
  });
});
