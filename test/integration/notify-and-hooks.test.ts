// Fledge's own webhook caller against the project's webhook service (notifiers: notifiers.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookService } from '../../src/dev/webhook-service/server.js';
import { WebhookServiceClient } from '../../src/dev/webhook-service/client.js';
import { callWebhook } from '../../src/integrations/hooks/webhook.js';

let hooks: Awaited<ReturnType<typeof startWebhookService>>;
let hookClient: WebhookServiceClient;

beforeAll(async () => {
  hooks = await startWebhookService({ port: 0, log: () => undefined });
  hookClient = new WebhookServiceClient(hooks.url);
});
afterAll(async () => {
  await hooks?.close();
});

const payload = {
  name: 'podinfo',
  namespace: 'test',
  phase: 'Progressing',
  checksum: 'abc',
  metadata: { type: 'bash', cmd: 'curl -s http://x' },
};

describe('webhook caller (Flagger contract)', () => {
  it('POSTs the Flagger payload and passes on ≤ 202', async () => {
    const r = await callWebhook({ url: `${hooks.url}/acceptance`, timeoutMs: 2000, retries: 0, payload });
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 1 });
    const calls = await hookClient.calls('/acceptance');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.method).toBe('POST');
    expect(calls[0]?.body).toEqual(payload);
  });

  it('fails on 403 from a closed gate with the body as message, passes once opened', async () => {
    const closed = await callWebhook({
      url: `${hooks.url}/gate/check`,
      timeoutMs: 2000,
      retries: 0,
      payload,
    });
    expect(closed).toMatchObject({ ok: false, status: 403 });
    expect(closed.message).toMatch(/Forbidden/);
    await hookClient.openGate('podinfo', 'test');
    expect(
      (await callWebhook({ url: `${hooks.url}/gate/check`, timeoutMs: 2000, retries: 0, payload })).ok,
    ).toBe(true);
  });

  it('retries 5xx up to `retries` and reports a timeout', async () => {
    await hookClient.program({ path: '/flaky', status: 500, times: 2 });
    const r = await callWebhook(
      { url: `${hooks.url}/flaky`, timeoutMs: 2000, retries: 2, payload },
      { backoffMs: 10 },
    );
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 3 });
    await hookClient.program({ path: '/slow', status: 200, delayMs: 1500 });
    const slow = await callWebhook({ url: `${hooks.url}/slow`, timeoutMs: 300, retries: 0, payload });
    expect(slow.ok).toBe(false);
    expect(slow.message).toMatch(/timeout after 300 ms/);
  });

  it('reports an unreachable receiver without throwing', async () => {
    const r = await callWebhook({ url: 'http://127.0.0.1:9/hook', timeoutMs: 1000, retries: 0, payload });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/request failed/);
  });
});
