// Fledge's own webhook caller and Slack notifier against the project's webhook service and fake Slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlack } from '../../src/dev/fake-slack/server.js';
import { FakeSlackClient } from '../../src/dev/fake-slack/client.js';
import { startWebhookService } from '../../src/dev/webhook-service/server.js';
import { WebhookServiceClient } from '../../src/dev/webhook-service/client.js';
import { callWebhook } from '../../src/integrations/hooks/webhook.js';
import { createSlackNotifier } from '../../src/integrations/notify/slack.js';

let slack: Awaited<ReturnType<typeof startFakeSlack>>;
let hooks: Awaited<ReturnType<typeof startWebhookService>>;
let slackClient: FakeSlackClient;
let hookClient: WebhookServiceClient;

beforeAll(async () => {
  slack = await startFakeSlack({ port: 0, log: () => undefined });
  hooks = await startWebhookService({ port: 0, log: () => undefined });
  slackClient = new FakeSlackClient(slack.url);
  hookClient = new WebhookServiceClient(hooks.url);
});
afterAll(async () => {
  await slack?.close();
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

describe('Slack notifier', () => {
  it('posts a message with blocks that the fake records', async () => {
    const n = createSlackNotifier({
      token: 'xoxb-test',
      channel: 'C-releases',
      apiUrl: slack.apiUrl,
      retries: 0,
    });
    const r = await n.notify({
      severity: 'error',
      kind: 'rolled-back',
      target: { namespace: 'test', name: 'podinfo' },
      message: 'Failed checks threshold reached 2',
      link: 'http://ui/x',
    });
    expect(r.delivered).toBe(true);
    const msgs = await slackClient.messages('C-releases');
    expect(msgs).toHaveLength(1);
    expect(JSON.stringify(msgs[0])).toMatch(/Failed checks threshold reached 2/);
    expect(JSON.stringify(msgs[0])).toMatch(/Open in Temporal Web UI/);
  });

  it('never throws when Slack fails; one retry after a 429 yields exactly one message', async () => {
    await slackClient.reset();
    const noRetry = createSlackNotifier({
      token: 'xoxb-test',
      channel: 'C1',
      apiUrl: slack.apiUrl,
      retries: 0,
    });
    await slackClient.fail({ method: 'chat.postMessage', status: 500, times: 1 });
    const failed = await noRetry.notify({
      severity: 'info',
      kind: 'progressing',
      target: { namespace: 't', name: 'a' },
      message: 'x',
    });
    expect(failed.delivered).toBe(false);
    expect(await slackClient.messages('C1')).toHaveLength(0);
    const retrying = createSlackNotifier({
      token: 'xoxb-test',
      channel: 'C1',
      apiUrl: slack.apiUrl,
      retries: 1,
    });
    await slackClient.fail({ method: 'chat.postMessage', status: 429, retryAfterSeconds: 1, times: 1 });
    const ok = await retrying.notify({
      severity: 'info',
      kind: 'progressing',
      target: { namespace: 't', name: 'a' },
      message: 'y',
    });
    expect(ok.delivered).toBe(true);
    expect(await slackClient.messages('C1')).toHaveLength(1);
  });
});
