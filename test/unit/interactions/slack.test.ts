// The worker's Slack interactions endpoint (src/interactions/slack.ts): Slack request signatures (HMAC-SHA256 over
// `v0:<timestamp>:<raw body>`), the 5-minute window, replays, the payload, and the buttons on the thread parent.
// Requests come from the fake Slack's `POST /_interact`, which signs them as Slack does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { FakeSlackClient } from '../../../src/dev/fake-slack/client.js';
import { startFakeSlack, type RunningFakeSlack } from '../../../src/dev/fake-slack/server.js';
import {
  ReplayGuard,
  commandOf,
  signSlackRequest,
  startSlackInteractions,
  verifySlackSignature,
  type RunningSlackInteractions,
  type SlackCommand,
} from '../../../src/interactions/slack.js';
import { slackActionsBlock } from '../../../src/integrations/notify/slack.js';
import type { ReleaseNotification } from '../../../src/integrations/notify/notifier.js';

const secret = '8f742231b10e8888abcd99yyyzzz85a5';
const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
const now = 1_700_000_000_000;
const ts = String(now / 1000);

describe('verifySlackSignature', () => {
  const sig = signSlackRequest(secret, ts, body);
  const cases: Array<[string, Partial<Parameters<typeof verifySlackSignature>[0]>, string]> = [
    ['a genuine request', {}, 'ok'],
    ['four minutes old', { nowMs: now + 240_000 }, 'ok'],
    ['six minutes old (stale: a replay window)', { nowMs: now + 360_000 }, 'stale'],
    ['six minutes in the future', { nowMs: now - 360_000 }, 'stale'],
    ['another secret (forged)', { signingSecret: 'not-the-secret' }, 'forged'],
    ['a tampered body', { rawBody: `${body}x` }, 'forged'],
    ['a tampered timestamp', { timestamp: String(Number(ts) + 1) }, 'forged'],
    ['no signature', { signature: undefined }, 'forged'],
    ['a malformed signature', { signature: 'v1=abc' }, 'forged'],
    ['no timestamp', { timestamp: undefined }, 'forged'],
  ];
  for (const [name, override, expected] of cases) {
    it(name, () => {
      const r = verifySlackSignature({
        signingSecret: secret,
        timestamp: ts,
        signature: sig,
        rawBody: body,
        nowMs: now,
        ...override,
      });
      expect(r.ok ? 'ok' : r.result).toBe(expected);
    });
  }

  it('is Slack\'s documented scheme: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>', () => {
    // Slack's own example (api.slack.com/authentication/verifying-requests-from-slack).
    const slackBody =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', '1531420618', slackBody)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });
});

describe('ReplayGuard', () => {
  it('lets a signature through once within the window, and forgets it after', () => {
    const g = new ReplayGuard(600_000);
    expect(g.firstSeen('v0=aa', now)).toBe(true);
    expect(g.firstSeen('v0=aa', now + 1000)).toBe(false);
    expect(g.firstSeen('v0=bb', now + 1000)).toBe(true);
    expect(g.firstSeen('v0=aa', now + 700_000)).toBe(true);
  });
});

describe('commandOf', () => {
  const payload = (action: Record<string, unknown>, user = 'U0SRE0001') => ({
    type: 'block_actions',
    user: { id: user },
    actions: [action],
  });
  const wf = 'fledge/shop/podinfo/6.5.1';

  it('an approve press: the release, the gate from block_id, the actor slack:<id> (or the mapped email)', () => {
    const r = commandOf(
      payload({ action_id: 'fledge:approve', value: wf, block_id: 'fledge:actions:confirm-rollout' }),
      {},
    );
    expect(r).toEqual({
      ok: true,
      command: {
        workflowId: wf,
        action: 'approve',
        gate: 'confirm-rollout',
        slackUserId: 'U0SRE0001',
        actor: 'slack:U0SRE0001',
        reason: 'approved with the Slack button',
      },
    });
    const mapped = commandOf(payload({ action_id: 'fledge:abort', value: wf }), {
      U0SRE0001: 'carol@example.com',
    });
    expect(mapped.ok && mapped.command).toMatchObject({ action: 'abort', actor: 'carol@example.com' });
  });

  it('refuses what is not a Fledge button', () => {
    expect(commandOf(payload({ action_id: 'other', value: wf }), {}).ok).toBe(false);
    expect(commandOf(payload({ action_id: 'fledge:abort', value: 'not-a-release' }), {}).ok).toBe(false);
    expect(commandOf(payload({ action_id: 'fledge:abort', value: wf }, 'bad user'), {}).ok).toBe(false);
    expect(commandOf({ type: 'view_submission' }, {}).ok).toBe(false);
    expect(
      commandOf(payload({ action_id: 'fledge:approve', value: wf, block_id: 'fledge:actions:nope' }), {}).ok,
    ).toBe(false);
  });
});

describe('the interactions endpoint, driven by the fake Slack', () => {
  let fake: RunningFakeSlack;
  let slack: FakeSlackClient;
  let endpoint: RunningSlackInteractions;
  const registry = new Registry();
  const dispatched: SlackCommand[] = [];
  const lines: string[] = [];

  beforeAll(async () => {
    fake = await startFakeSlack({ port: 0, signingSecret: secret });
    slack = new FakeSlackClient(fake.url);
    endpoint = await startSlackInteractions({
      host: '127.0.0.1',
      port: 0,
      signingSecret: secret,
      userMap: { U0CAROL01: 'carol@example.com' },
      registry,
      log: (l) => lines.push(l),
      dispatch: async (cmd) => {
        dispatched.push(cmd);
        return cmd.action === 'pause' ? { ok: false, reason: 'already paused' } : { ok: true };
      },
    });
  });
  afterAll(async () => {
    await endpoint?.close();
    await fake?.close();
  });

  const press = (action = 'fledge:approve', userId = 'U0CAROL01') => ({
    userId,
    actionId: action,
    value: 'fledge/shop/podinfo/6.5.1',
    blockId: 'fledge:actions:confirm-promotion',
  });

  it('a signed press is acknowledged (200) and dispatched once with the verified Slack user', async () => {
    const before = dispatched.length;
    const r = await slack.pressButton(endpoint.url, press());
    expect(r.status).toBe(200);
    await endpoint.idle();
    expect(dispatched.slice(before)).toEqual([
      expect.objectContaining({
        action: 'approve',
        gate: 'confirm-promotion',
        slackUserId: 'U0CAROL01',
        actor: 'carol@example.com',
      }),
    ]);
  });

  it('forged (another secret), unsigned and stale requests: 401, logged, counted, nothing dispatched', async () => {
    const before = dispatched.length;
    const forged = await slack.pressButton(endpoint.url, press('fledge:abort'), {
      secret: 'a-guessed-secret',
    });
    const unsigned = await slack.pressButton(endpoint.url, press('fledge:abort'), { unsigned: true });
    const stale = await slack.pressButton(endpoint.url, press('fledge:abort'), {
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect([forged.status, unsigned.status, stale.status]).toEqual([401, 401, 401]);
    await endpoint.idle();
    expect(dispatched.length).toBe(before);
    expect(endpoint.counts()).toMatchObject({ forged: 2, stale: 1 });
    expect(lines.filter((l) => /rejected \((forged|stale)\)/.test(l))).toHaveLength(3);
    const metrics = await registry.getSingleMetricAsString('fledge_slack_interactions_total');
    expect(metrics).toMatch(/fledge_slack_interactions_total\{result="forged"\} 2/);
    expect(metrics).toMatch(/fledge_slack_interactions_total\{result="stale"\} 1/);
  });

  it('a replayed request (the same signed request sent again): 401, dispatched only once', async () => {
    const before = dispatched.length;
    const first = await slack.pressButton(endpoint.url, press('fledge:abort'));
    expect(first.status).toBe(200);
    const again = await fetch(endpoint.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Slack-Request-Timestamp': first.sent.timestamp ?? '',
        'X-Slack-Signature': first.sent.signature ?? '',
      },
      body: first.sent.body,
    });
    expect(again.status).toBe(401);
    await endpoint.idle();
    expect(dispatched.length).toBe(before + 1);
    expect(endpoint.counts().replayed).toBe(1);
  });

  it('a release that rejects the press is counted as rejected and logged with its reason', async () => {
    const r = await slack.pressButton(endpoint.url, press('fledge:pause'));
    expect(r.status).toBe(200);
    await endpoint.idle();
    expect(endpoint.counts().rejected).toBeGreaterThanOrEqual(1);
    expect(
      lines.some((l) =>
        /pause on fledge\/shop\/podinfo\/6.5.1 by carol@example.com rejected: already paused/.test(l),
      ),
    ).toBe(true);
  });

  it('a signed payload that is not a Fledge button: 400, nothing dispatched', async () => {
    const before = dispatched.length;
    const r = await slack.pressButton(endpoint.url, press('something-else'));
    expect(r.status).toBe(400);
    expect(dispatched.length).toBe(before);
  });
});

describe('buttons on the thread parent', () => {
  const notification = (status: Partial<ReleaseNotification['status']>): ReleaseNotification =>
    ({
      severity: 'info',
      kind: 'progress',
      message: 'm',
      at: 0,
      release: {
        workflowId: 'fledge/shop/podinfo/6.5.1',
        link: 'https://temporal.example.com/wf',
        target: 'shop/podinfo',
      },
      status: {
        target: 'shop/podinfo',
        phase: 'Waiting',
        outcome: null,
        reason: null,
        pendingGate: {
          gate: 'confirm-rollout',
          since: 0,
          manualRequired: true,
          failingWebhooks: [],
          howToApprove: '',
        },
        paused: null,
        waitingFor: 'approval',
        lastAnalysis: null,
        weights: { primary: 100, canary: 0, mirror: null, abMatch: false },
        ...status,
      },
    }) as unknown as ReleaseNotification;

  // slackParentBlocks(n, interactive) appends this block when interactive (the worker's endpoint is on).
  const actions = (n: ReleaseNotification, interactive: boolean) =>
    (interactive ? slackActionsBlock(n) : undefined) as
      { block_id: string; elements: Array<{ action_id: string; value: string }> } | undefined;

  it('a running release with a pending gate: Approve <gate>, Pause, Abort; value = the workflow ID', () => {
    const a = actions(notification({}), true);
    expect(a?.block_id).toBe('fledge:actions:confirm-rollout');
    expect(a?.elements.map((e) => e.action_id)).toEqual(['fledge:approve', 'fledge:pause', 'fledge:abort']);
    expect(new Set(a?.elements.map((e) => e.value))).toEqual(new Set(['fledge/shop/podinfo/6.5.1']));
  });

  it('paused: Resume instead of Pause; an ended release: no buttons', () => {
    const paused = actions(
      notification({ pendingGate: null, paused: { by: 'a', reason: 'r', since: 0 } }),
      true,
    );
    expect(paused?.elements.map((e) => e.action_id)).toEqual(['fledge:resume', 'fledge:abort']);
    expect(
      actions(
        notification({ outcome: 'Promoted', reason: { code: 'analysis-passed', message: 'ok' } } as never),
        true,
      ),
    ).toBeUndefined();
  });
});
