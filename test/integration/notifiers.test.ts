// The notifiers against the project's fake Slack and webhook service (real HTTP, real @slack/web-api):
// one Slack thread per release (parent kept current with chat.update, replies per notification), no duplicate
// parents on 429 / 5xx / an ambiguous failure / a restarted worker, MS Teams Adaptive Cards, the JSON webhook.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack } from '../../src/dev/fake-slack/server.js';
import { FakeSlackClient } from '../../src/dev/fake-slack/client.js';
import { startWebhookService } from '../../src/dev/webhook-service/server.js';
import { WebhookServiceClient } from '../../src/dev/webhook-service/client.js';
import {
  deliver,
  finalStateKind,
  type ReleaseNotification,
  type ThreadRef,
} from '../../src/integrations/notify/notifier.js';
import { createSlackNotifier } from '../../src/integrations/notify/slack.js';
import { createTeamsNotifier } from '../../src/integrations/notify/msteams.js';
import { createJsonWebhookNotifier } from '../../src/integrations/notify/json-webhook.js';
import type { ReleaseStatus } from '../../src/domain/status.js';

let slack: Awaited<ReturnType<typeof startFakeSlack>>;
let hooks: Awaited<ReturnType<typeof startWebhookService>>;
let slackClient: FakeSlackClient;
let hookClient: WebhookServiceClient;

beforeAll(async () => {
  slack = await startFakeSlack({ port: 0 });
  hooks = await startWebhookService({ port: 0 });
  slackClient = new FakeSlackClient(slack.url);
  hookClient = new WebhookServiceClient(hooks.url);
});
afterAll(async () => {
  await slack?.close();
  await hooks?.close();
});
beforeEach(async () => {
  await slackClient.reset();
  await hookClient.resetAll();
});

const t0 = Date.parse('2026-11-22T10:00:00Z');

function status(over: Partial<ReleaseStatus> = {}): ReleaseStatus {
  return {
    target: 'shop/podinfo',
    phase: 'Progressing',
    strategy: 'canary',
    progress: { unit: 'step', current: 2, total: 5 },
    progressText: 'step 2/5',
    weights: { primary: 80, canary: 20, mirror: null, abMatch: false },
    failedChecks: 0,
    threshold: 2,
    pendingGate: null,
    paused: null,
    waitingFor: 'next analysis at 2026-11-22T10:01:00.000Z',
    lastAnalysis: null,
    outcome: null,
    reason: null,
    startedAt: t0,
    operatorLog: [],
    summary: 'shop/podinfo Progressing step 2/5',
    ...over,
  };
}

function note(
  over: Partial<ReleaseNotification> = {},
  workflowId = 'fledge/shop/podinfo/6.0.1',
): ReleaseNotification {
  return {
    severity: 'info',
    kind: 'progressing',
    message: 'podinfo.shop: New revision detected, progressing canary analysis',
    at: t0 + 5_000,
    release: {
      workflowId,
      target: { namespace: 'shop', name: 'podinfo' },
      previousImages: { podinfo: 'ghcr.io/stefanprodan/podinfo:6.0.0' },
      newImages: { podinfo: 'ghcr.io/stefanprodan/podinfo:6.0.1' },
      initiator: 'ci@example.com',
      startedAt: t0,
      link: 'http://localhost:28233/namespaces/default/workflows/x',
      dashboardLink: 'https://grafana.example.com/d/fledge?var-namespace=shop&var-target=podinfo',
    },
    status: status(),
    ...over,
  };
}

const failing = {
  name: 'request-success-rate',
  value: 91.25,
  threshold: 'min 99',
  query: 'sum(rate(istio_requests_total{destination_workload="podinfo",response_code!~"5.*"}[1m]))',
};

const slackNotifier = (channel: string, extra: { retries?: number } = {}) =>
  createSlackNotifier({ token: 'xoxb-test', channel, apiUrl: slack.apiUrl, backoffMs: 20, ...extra });

const blocksText = (v: unknown): string => JSON.stringify(v);

describe('Slack: one thread per release', () => {
  it('posts one parent with Block Kit facts, keeps it current with chat.update and replies per notification', async () => {
    const n = slackNotifier('C-rel');
    const first = await n.notify(note());
    expect(first.delivered).toBe(true);
    expect(first.thread).toBeDefined();
    const thread = first.thread as ThreadRef;

    await n.notify(
      note({
        severity: 'warn',
        kind: 'waiting-promotion-approval',
        message: 'podinfo.shop: waiting for confirm-promotion approval',
        at: t0 + 60_000,
        status: status({
          phase: 'Progressing',
          progressText: 'step 5/5',
          weights: { primary: 50, canary: 50, mirror: null, abMatch: false },
          pendingGate: {
            gate: 'confirm-promotion',
            since: t0 + 60_000,
            manualRequired: true,
            failingWebhooks: [],
            howToApprove: 'fledge approve shop/podinfo --gate confirm-promotion --reason "<why>"',
          },
        }),
      }),
      thread,
    );
    const last = await n.notify(
      note({
        kind: 'promoted',
        message: 'podinfo.shop: Promotion completed',
        at: t0 + 252_000,
        status: status({
          phase: 'Succeeded',
          progressText: 'step 5/5',
          weights: { primary: 100, canary: 0, mirror: null, abMatch: false },
          outcome: 'Promoted',
          reason: { code: 'analysis-passed', message: 'Promotion completed! podinfo.shop promoted to 6.0.1' },
          operatorLog: [
            {
              action: 'approve',
              actor: 'alice',
              reason: 'dashboards look good',
              gate: 'confirm-promotion',
              at: t0 + 90_000,
              accepted: true,
            },
          ],
        }),
      }),
      thread,
    );
    expect(last).toEqual({ delivered: true, thread });

    const msgs = await slackClient.messages('C-rel');
    expect(msgs).toHaveLength(1);
    const parent = msgs[0];
    expect(parent?.ts).toBe(thread.ts);
    expect(parent?.updates).toHaveLength(2);
    expect(parent?.replies.map((r) => r.text)).toEqual([
      'podinfo.shop: New revision detected, progressing canary analysis',
      'podinfo.shop: waiting for confirm-promotion approval',
      'podinfo.shop: Promotion completed',
    ]);
    // The parent as first posted: running, image old → new, links, release identity in metadata.
    const original = blocksText(parent?.original.blocks);
    expect(original).toContain('podinfo.shop: canary release progressing');
    expect(original).toContain('ghcr.io/stefanprodan/podinfo:6.0.0 → …:6.0.1');
    expect(original).toContain('primary 80% / canary 20%');
    expect(original).toContain('|Temporal Web UI>');
    expect(original).toContain('|Grafana>');
    expect(parent?.extra.metadata).toMatchObject({
      event_type: 'fledge_release',
      event_payload: { workflow_id: 'fledge/shop/podinfo/6.0.1' },
    });
    // The gate and how to open it while waiting; the outcome, who approved and the duration at the end.
    expect(blocksText(parent?.updates[0]?.blocks)).toContain(
      'fledge approve shop/podinfo --gate confirm-promotion',
    );
    const final = blocksText(parent?.blocks);
    expect(final).toContain('✅ podinfo.shop: canary release promoted');
    expect(final).toContain('approve confirm-promotion by alice: dashboards look good');
    expect(final).toContain('*Duration*\\n4 min 12 s');
    expect(final).toContain('Started by*\\nci@example.com');
  });

  it('shows the failing metric with value, threshold and query on rollback', async () => {
    const n = slackNotifier('C-fail');
    await n.notify(
      note({
        severity: 'error',
        kind: 'threshold-reached',
        message: 'podinfo.shop rolled back: Failed checks threshold reached 2',
        status: status({
          phase: 'Failed',
          failedChecks: 2,
          outcome: 'RolledBack',
          reason: { code: 'failed-checks-threshold', message: 'Failed checks threshold reached 2' },
        }),
        failingMetric: failing,
      }),
    );
    const [parent] = await slackClient.messages('C-fail');
    const text = blocksText(parent?.blocks);
    expect(text).toContain('❌ podinfo.shop: canary release rolled back');
    expect(text).toContain('*Failing check:* request-success-rate 91.25 (min 99)');
    expect(text).toContain('istio_requests_total{destination_workload=\\"podinfo\\"');
    expect(text).toContain('*Failed checks*\\n2/2');
    expect(blocksText(parent?.replies[0]?.blocks)).toContain('request-success-rate 91.25 (min 99)');
  });

  it('a 429 on the parent is retried after Retry-After: exactly one parent', async () => {
    await slackClient.fail({ method: 'chat.postMessage', status: 429, retryAfterSeconds: 1, times: 1 });
    const r = await slackNotifier('C-429').notify(note());
    expect(r.delivered).toBe(true);
    const msgs = await slackClient.messages('C-429');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]?.replies).toHaveLength(1);
    expect((await slackClient.attempts('chat.postMessage')).map((a) => a.httpStatus)).toEqual([
      429, 200, 200,
    ]);
  });

  it('a 500 that created nothing is retried: exactly one parent', async () => {
    await slackClient.fail({ method: 'chat.postMessage', status: 500, times: 1 });
    const r = await slackNotifier('C-500').notify(note());
    expect(r.delivered).toBe(true);
    expect(await slackClient.messages('C-500')).toHaveLength(1);
  });

  it('a 500 after Slack posted the parent (ambiguous) adopts that parent instead of posting another', async () => {
    await slackClient.fail({ method: 'chat.postMessage', status: 500, times: 1, afterCommit: true });
    const r = await slackNotifier('C-amb').notify(note());
    expect(r.delivered).toBe(true);
    const msgs = await slackClient.messages('C-amb');
    expect(msgs).toHaveLength(1);
    expect(r.thread?.ts).toBe(msgs[0]?.ts);
    expect(msgs[0]?.replies).toHaveLength(1);
  });

  it('a restarted worker (no thread ref) finds the release’s parent by its metadata', async () => {
    const first = await slackNotifier('C-restart').notify(note());
    const again = await slackNotifier('C-restart').notify(note({ kind: 'approved', message: 'approved' }));
    expect(again.thread).toEqual(first.thread);
    const other = await slackNotifier('C-restart').notify(note({}, 'fledge/shop/podinfo/6.0.2'));
    expect(other.thread?.ts).not.toBe(first.thread?.ts);
    const msgs = await slackClient.messages('C-restart');
    expect(msgs).toHaveLength(2);
    expect(msgs[0]?.replies).toHaveLength(2);
  });

  it('never throws when Slack keeps failing; reports not delivered', async () => {
    await slackClient.fail({ method: 'chat.postMessage', status: 503, times: 10 });
    const r = await slackNotifier('C-down', { retries: 1 }).notify(note());
    expect(r.delivered).toBe(false);
    expect(r.error).toMatch(/503/);
    expect(await slackClient.messages('C-down')).toHaveLength(0);
  });
});

describe('Slack: the parent always shows the final state', () => {
  it('a warn-only provider: the dropped info events and the end of the release update the parent, with no reply', async () => {
    const target = { notifier: slackNotifier('C-warn'), severity: 'warn' as const };
    // Before anything reached this provider there is no parent: a dropped event posts nothing.
    expect(await deliver(target, note(), undefined)).toBeUndefined();
    expect(await slackClient.messages('C-warn')).toHaveLength(0);
    // A failing post-rollout webhook (warn) opens the thread while the release is finishing.
    const waiting = status({
      phase: 'Finalising',
      weights: { primary: 100, canary: 0, mirror: null, abMatch: false },
      waitingFor: 'post-rollout webhooks',
    });
    const first = await deliver(
      target,
      note({
        severity: 'warn',
        kind: 'webhook-failed',
        message: 'podinfo.shop: post-rollout webhook smoke failed',
        status: waiting,
      }),
      undefined,
    );
    const thread = first?.thread as ThreadRef;
    expect(blocksText((await slackClient.messages('C-warn'))[0]?.blocks)).toContain(
      'Waiting for:* post-rollout webhooks',
    );
    const ended = status({
      phase: 'Succeeded',
      weights: { primary: 100, canary: 0, mirror: null, abMatch: false },
      waitingFor: 'nothing (finished)',
      outcome: 'Promoted',
      reason: {
        code: 'analysis-passed',
        message: 'Canary analysis completed successfully, promotion finished.',
      },
    });
    // The info "promoted" event is filtered out for this provider: the parent is refreshed, nothing is posted.
    const promoted = await deliver(
      target,
      note({ kind: 'promoted', message: 'podinfo.shop: promotion finished', status: ended, at: t0 + 60_000 }),
      thread,
    );
    expect(promoted).toEqual({ delivered: true, thread });
    // And the release's final-state notification (sent once it ended) refreshes it again, whatever the severity.
    await deliver(
      target,
      note({
        kind: finalStateKind,
        message: 'Canary analysis completed successfully',
        status: ended,
        at: t0 + 61_000,
      }),
      thread,
    );
    const [parent] = await slackClient.messages('C-warn');
    expect(parent?.updates).toHaveLength(2);
    expect(parent?.replies.map((r) => r.text)).toEqual(['podinfo.shop: post-rollout webhook smoke failed']);
    const final = blocksText(parent?.blocks);
    expect(final).toContain('✅ podinfo.shop: canary release promoted');
    expect(final).toContain('*Promoted*: Canary analysis completed successfully, promotion finished.');
    expect(final).not.toContain('Waiting for');
  });
});

describe('MS Teams', () => {
  it('posts an Adaptive Card with the facts, the failing metric and links', async () => {
    const n = createTeamsNotifier({ url: `${hooks.url}/teams/webhook` });
    const r = await n.notify(note({ severity: 'error', kind: 'threshold-reached', failingMetric: failing }));
    expect(r.delivered).toBe(true);
    const [call] = await hookClient.calls('/teams/webhook');
    const body = call?.body as {
      type: string;
      attachments: Array<{
        contentType: string;
        content: {
          type: string;
          body: Array<{ type: string; facts?: Array<{ title: string; value: string }>; text?: string }>;
          actions: Array<{ title: string; url: string }>;
        };
      }>;
    };
    expect(body.type).toBe('message');
    const card = body.attachments[0];
    expect(card?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card?.content.type).toBe('AdaptiveCard');
    const facts = card?.content.body.find((b) => b.type === 'FactSet')?.facts ?? [];
    expect(facts).toContainEqual({ title: 'Target', value: 'shop/podinfo' });
    expect(facts).toContainEqual({
      title: 'Image',
      value: 'podinfo: ghcr.io/stefanprodan/podinfo:6.0.0 → …:6.0.1',
    });
    expect(
      card?.content.body.some((b) => b.text === 'Failing check: request-success-rate 91.25 (min 99)'),
    ).toBe(true);
    expect(card?.content.actions.map((a) => a.title)).toEqual(['Temporal Web UI', 'Grafana']);
  });

  it('reports a failing receiver without throwing', async () => {
    await hookClient.program({ path: '/teams/broken', status: 400, body: 'Bad payload' });
    const r = await createTeamsNotifier({ url: `${hooks.url}/teams/broken`, retries: 0 }).notify(note());
    expect(r).toEqual({ delivered: false, error: 'Bad payload' });
  });
});

describe('JSON webhook', () => {
  it('posts the versioned document with an Idempotency-Key', async () => {
    const n = createJsonWebhookNotifier({ url: `${hooks.url}/audit` });
    expect((await n.notify(note())).delivered).toBe(true);
    const [call] = await hookClient.calls('/audit');
    expect(call?.headers['idempotency-key']).toBe(`fledge/shop/podinfo/6.0.1/progressing/${t0 + 5_000}`);
    expect(call?.body).toMatchObject({
      schema: 'fledge.notification/v1',
      kind: 'progressing',
      severity: 'info',
      at: '2026-11-22T10:00:05.000Z',
      release: {
        workflowId: 'fledge/shop/podinfo/6.0.1',
        previousImages: { podinfo: 'ghcr.io/stefanprodan/podinfo:6.0.0' },
        newImages: { podinfo: 'ghcr.io/stefanprodan/podinfo:6.0.1' },
        links: { temporal: 'http://localhost:28233/namespaces/default/workflows/x' },
      },
      status: { phase: 'Progressing', weights: { canary: 20 } },
    });
  });
});
