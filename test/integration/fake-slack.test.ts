// The fake Slack driven by the real @slack/web-api WebClient over real HTTP, started in-process on an
// ephemeral port (no stack needed): messages, threads, updates, and injected 500/429 failures.
import { performance } from 'node:perf_hooks';
import { ErrorCode, LogLevel, WebClient, type Block, type KnownBlock } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeSlackClient } from '../../src/dev/fake-slack/client.js';
import { startFakeSlack, type RunningFakeSlack } from '../../src/dev/fake-slack/server.js';

let fake: RunningFakeSlack;
let slack: FakeSlackClient;

const web = (
  opts: { retries?: number; rejectRateLimitedCalls?: boolean; token?: string | undefined } = {},
): WebClient =>
  new WebClient('token' in opts ? opts.token : 'xoxb-test', {
    slackApiUrl: `${fake.url}/api/`,
    retryConfig: opts.retries
      ? { retries: opts.retries, factor: 1, minTimeout: 10, maxTimeout: 2000 }
      : { retries: 0 },
    rejectRateLimitedCalls: opts.rejectRateLimitedCalls ?? false,
    logLevel: LogLevel.ERROR,
  });

const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });

/** The rejection of a promise (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  const outcome = await p.then(
    () => ({ resolved: true as const }),
    (e: unknown) => ({ resolved: false as const, error: e }),
  );
  if (outcome.resolved) throw new Error('expected the call to fail, it succeeded');
  return outcome.error as Record<string, unknown>;
}

beforeAll(async () => {
  fake = await startFakeSlack({ port: 0 });
  slack = new FakeSlackClient(fake.url);
});

afterAll(async () => {
  await fake.close();
});

beforeEach(async () => {
  await slack.reset();
});

describe('fake Slack with the real WebClient', () => {
  it('posts a message with blocks, a thread reply, and updates the parent', async () => {
    const client = web();
    const blocks: (KnownBlock | Block)[] = [
      section(':large_blue_circle: *podinfo.test* — canary started'),
      { type: 'divider' },
    ];
    const parent = await client.chat.postMessage({
      channel: 'C0RELEASES',
      text: 'podinfo.test: canary started',
      blocks,
    });
    expect(parent.ok).toBe(true);
    expect(parent.channel).toBe('C0RELEASES');
    expect(parent.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(parent.message?.blocks).toEqual(blocks);

    const reply = await client.chat.postMessage({
      channel: 'C0RELEASES',
      thread_ts: parent.ts,
      text: 'weight 10%',
      blocks: [section('weight *10%*')],
    });
    expect(reply.ok).toBe(true);
    expect(reply.message?.thread_ts).toBe(parent.ts);
    expect(Number(reply.ts)).toBeGreaterThan(Number(parent.ts));

    const updatedBlocks = [section(':white_check_mark: *podinfo.test* — promoted')];
    const updated = await client.chat.update({
      channel: 'C0RELEASES',
      ts: parent.ts ?? '',
      text: 'podinfo.test: promoted',
      blocks: updatedBlocks,
    });
    expect(updated.ok).toBe(true);
    expect(updated.ts).toBe(parent.ts);

    const messages = await slack.messages('C0RELEASES');
    expect(messages).toHaveLength(1); // the reply lives in the thread, not at the top level
    const m = messages[0];
    expect(m).toMatchObject({
      channel: 'C0RELEASES',
      ts: parent.ts,
      text: 'podinfo.test: promoted',
      blocks: updatedBlocks,
    });
    expect(m?.original).toEqual({ text: 'podinfo.test: canary started', blocks });
    expect(m?.updates).toHaveLength(1);
    expect(m?.updates[0]).toMatchObject({ text: 'podinfo.test: promoted', blocks: updatedBlocks });
    expect(m?.replies).toHaveLength(1);
    expect(m?.replies[0]).toMatchObject({
      ts: reply.ts,
      threadTs: parent.ts,
      text: 'weight 10%',
      blocks: [section('weight *10%*')],
    });
    expect(await slack.messages('C0OTHER')).toEqual([]);

    // The wire format was @slack/web-api's own: form-urlencoded, blocks JSON-encoded in a field.
    const attempts = await slack.attempts();
    expect(attempts.map((a) => [a.method, a.httpStatus, a.ok])).toEqual([
      ['chat.postMessage', 200, true],
      ['chat.postMessage', 200, true],
      ['chat.update', 200, true],
    ]);
    expect(attempts.every((a) => a.contentType === 'application/x-www-form-urlencoded')).toBe(true);
    expect(attempts[0]?.params.blocks).toEqual(blocks);
    expect(attempts[0]?.params).not.toHaveProperty('token');
  });

  it('gives unique, increasing timestamps', async () => {
    const client = web();
    const sequential: string[] = [];
    for (let i = 0; i < 5; i++)
      sequential.push((await client.chat.postMessage({ channel: 'C1', text: `m${i}` })).ts ?? '');
    expect([...sequential].sort()).toEqual(sequential);
    expect(new Set(sequential).size).toBe(5);
    const parallel = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.chat.postMessage({ channel: 'C2', text: `p${i}` })),
    );
    const ts = parallel.map((r) => r.ts);
    expect(new Set(ts).size).toBe(20);
    const listed = (await slack.messages('C2')).map((m) => m.ts);
    expect(listed).toHaveLength(20);
    expect([...listed].sort()).toEqual(listed);
  });

  it('answers Slack errors the client turns into platform errors', async () => {
    const client = web();
    const notAuthed = await rejection(
      web({ token: undefined }).chat.postMessage({ channel: 'C1', text: 'x' }),
    );
    expect(notAuthed).toMatchObject({
      code: ErrorCode.PlatformError,
      data: { ok: false, error: 'not_authed' },
    });

    const notFound = await rejection(
      client.chat.update({ channel: 'C1', ts: '1700000000.000100', text: 'x' }),
    );
    expect(notFound).toMatchObject({ code: ErrorCode.PlatformError, data: { error: 'message_not_found' } });

    const noText = await rejection(client.chat.postMessage({ channel: 'C1', text: '' }));
    expect(noText).toMatchObject({ data: { error: 'no_text' } });

    const noThread = await rejection(
      client.chat.postMessage({ channel: 'C1', text: 'r', thread_ts: '1700000000.000100' }),
    );
    expect(noThread).toMatchObject({ data: { error: 'thread_not_found' } });

    expect(await slack.messages()).toEqual([]);
    const auth = await client.auth.test();
    expect(auth.ok).toBe(true);
    expect(auth.bot_id).toBeTruthy();
  });

  it('accepts JSON bodies with a Bearer token and checks channel and blocks', async () => {
    const post = (body: unknown, token: string | null = 'xoxb-test'): Promise<Record<string, unknown>> =>
      fetch(`${fake.url}/api/chat.postMessage`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const ok = await post({ channel: 'C9', blocks: [section('json body')] });
    expect(ok).toMatchObject({ ok: true, channel: 'C9' });
    expect(await post({ channel: 'C9', text: 'x' }, null)).toEqual({ ok: false, error: 'not_authed' });
    expect(await post({ text: 'no channel' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(await post({ channel: 'C9', blocks: [{ text: 'no type' }] })).toEqual({
      ok: false,
      error: 'invalid_blocks',
    });
    const form = await fetch(`${fake.url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-test' },
      body: new URLSearchParams({ channel: 'C9', blocks: '[{"type":' }).toString(),
    }).then((r) => r.json());
    expect(form).toEqual({ ok: false, error: 'invalid_blocks_format' });
    const messages = await slack.messages('C9');
    expect(messages).toHaveLength(1);
    expect(messages[0]?.blocks).toEqual([section('json body')]);
  });

  it('a programmed 500 makes chat.postMessage throw and creates no message', async () => {
    await slack.fail({ method: 'chat.postMessage', status: 500, times: 1 });
    const client = web();
    const err = await rejection(
      client.chat.postMessage({ channel: 'C1', text: 'x', blocks: [section('x')] }),
    );
    expect(err).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
    expect(await slack.messages()).toEqual([]);
    const attempts = await slack.attempts('chat.postMessage');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ httpStatus: 500, ok: false, injected: true, error: 'http_500' });
    expect(await slack.failures()).toEqual([]);
    // Used up: the next call succeeds.
    expect((await client.chat.postMessage({ channel: 'C1', text: 'y' })).ok).toBe(true);
    expect(await slack.messages('C1')).toHaveLength(1);
  });

  it('a failure for one method leaves the others alone', async () => {
    await slack.fail({ method: 'chat.update', status: 503, times: 1 });
    const client = web();
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'x' });
    const err = await rejection(client.chat.update({ channel: 'C1', ts: posted.ts ?? '', text: 'y' }));
    expect(err).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 503 });
    const [m] = await slack.messages('C1');
    expect(m?.text).toBe('x');
    expect(m?.updates).toEqual([]);
  });

  it('a programmed 429 with rejectRateLimitedCalls throws a rate-limit error carrying retryAfter', async () => {
    await slack.fail({ method: 'chat.postMessage', status: 429, retryAfterSeconds: 1, times: 1 });
    const err = await rejection(
      web({ rejectRateLimitedCalls: true }).chat.postMessage({ channel: 'C1', text: 'x' }),
    );
    expect(err).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 1 });
    expect(await slack.messages()).toEqual([]);
    expect(await slack.attempts()).toMatchObject([
      { method: 'chat.postMessage', httpStatus: 429, injected: true, error: 'ratelimited' },
    ]);
  });

  it('a retrying client waits out one 429 and posts exactly one message', async () => {
    await slack.fail({ method: 'chat.postMessage', status: 429, retryAfterSeconds: 1, times: 1 });
    const t0 = performance.now();
    const res = await web({ retries: 1 }).chat.postMessage({
      channel: 'C1',
      text: 'parent',
      blocks: [section('parent')],
    });
    const elapsed = performance.now() - t0;
    expect(res.ok).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(1000); // Retry-After honoured by the client
    const messages = await slack.messages('C1');
    expect(messages).toHaveLength(1);
    expect(messages[0]?.ts).toBe(res.ts);
    const attempts = await slack.attempts('chat.postMessage');
    expect(attempts.map((a) => [a.httpStatus, a.injected])).toEqual([
      [429, true],
      [200, false],
    ]);
  });
});
