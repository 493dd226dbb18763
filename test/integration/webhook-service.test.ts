// The webhook test service over real HTTP, started in-process on an ephemeral port (no stack needed):
// Flagger-contract recording, programmed answers (status, times, delay), loadtester gates and the
// guarantee that commands in hook metadata are recorded, never executed.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebhookServiceClient } from '../../src/dev/webhook-service/client.js';
import { startWebhookService, type RunningWebhookService } from '../../src/dev/webhook-service/server.js';

let service: RunningWebhookService;
let client: WebhookServiceClient;

/** A hook call as Flagger makes it: POST, JSON, {name, namespace, phase, checksum, metadata}. */
function flaggerPost(
  path: string,
  payload: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    ...(signal ? { signal } : {}),
  });
}

const payload = (
  name: string,
  namespace: string,
  metadata: Record<string, string> = {},
): Record<string, unknown> => ({
  name,
  namespace,
  phase: 'Progressing',
  checksum: 'abc123',
  metadata,
});

beforeAll(async () => {
  service = await startWebhookService({ port: 0, host: '127.0.0.1' });
  client = new WebhookServiceClient(service.url);
});

afterAll(async () => {
  await service.close();
});

beforeEach(async () => {
  await client.resetAll();
});

describe('webhook service', () => {
  it('answers /healthz and listens on the ephemeral port it reports', async () => {
    expect(service.port).toBeGreaterThan(0);
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect(await client.healthy()).toBe(true);
  });

  it('records a Flagger-contract call with its body, headers and answer', async () => {
    const body = payload('podinfo', 'test', { env: 'dev' });
    const res = await flaggerPost('/hooks/pre-rollout?x=1', body, { 'X-Fledge-Release': 'r-42' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });

    const calls = await client.calls('/hooks');
    expect(calls).toHaveLength(1);
    const call = calls[0];
    expect(call).toMatchObject({
      method: 'POST',
      path: '/hooks/pre-rollout',
      query: { x: '1' },
      body,
      payload: body,
      response: { status: 200, programmed: false },
    });
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.headers['x-fledge-release']).toBe('r-42');
    expect(Number.isNaN(Date.parse(call?.receivedAt ?? ''))).toBe(false);

    // The prefix filter, a non-contract body, and clearing.
    await fetch(`${service.url}/other`, { method: 'POST', body: 'not json' });
    expect(await client.calls('/hooks')).toHaveLength(1);
    const [other] = await client.calls('/other');
    expect(other).toMatchObject({ body: null, rawBody: 'not json', payload: null });
    expect(await client.calls()).toHaveLength(2);
    await client.clear();
    expect(await client.calls()).toEqual([]);
  });

  it('answers a programmed 500 for `times` calls, then reverts to 200', async () => {
    await client.program({ path: '/hooks/rollout', status: 500, body: 'load test failed', times: 2 });
    const statuses: number[] = [];
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await flaggerPost('/hooks/rollout', payload('podinfo', 'test'));
      statuses.push(res.status);
      texts.push(await res.text());
    }
    expect(statuses).toEqual([500, 500, 200]);
    expect(texts[0]).toBe('load test failed');
    expect(await client.programs()).toEqual([]);
    const calls = await client.calls('/hooks/rollout');
    expect(calls.map((c) => c.response?.programmed)).toEqual([true, true, false]);
    // Other paths are not affected by a program.
    expect((await flaggerPost('/hooks/other', payload('podinfo', 'test'))).status).toBe(200);
  });

  it('keeps a program without `times` until reset', async () => {
    await client.program({ path: '/hooks/confirm', status: 403, body: { reason: 'nope' } });
    for (let i = 0; i < 3; i++) {
      const res = await flaggerPost('/hooks/confirm', payload('podinfo', 'test'));
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ reason: 'nope' });
    }
    expect((await client.programs())[0]).toMatchObject({ path: '/hooks/confirm', remaining: null, hits: 3 });
    await client.reset();
    expect((await flaggerPost('/hooks/confirm', payload('podinfo', 'test'))).status).toBe(200);
  });

  it('honours a programmed delay, and a caller timeout shorter than it fails', async () => {
    await client.program({ path: '/hooks/slow', status: 202, delayMs: 300 });
    const t0 = performance.now();
    const res = await flaggerPost('/hooks/slow', payload('podinfo', 'test'));
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(202);
    expect(elapsed).toBeGreaterThanOrEqual(300);

    const timedOut = await flaggerPost(
      '/hooks/slow',
      payload('podinfo', 'test'),
      {},
      AbortSignal.timeout(100),
    ).then(
      () => 'answered',
      (e: unknown) => (e instanceof Error ? e.name : String(e)),
    );
    expect(timedOut).toBe('TimeoutError');
    // The service is still fine afterwards.
    expect((await flaggerPost('/hooks/fast', payload('podinfo', 'test'))).status).toBe(200);
  });

  it('rejects an invalid program with 400', async () => {
    const bad = await fetch(`${service.url}/_program`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: 'no-slash', status: 'x', delay: 5 }),
    });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(text).toMatch(/path/);
    expect(text).toMatch(/status/);
    expect(await client.programs()).toEqual([]);
  });

  it('gates: closed by default (403), open → 200, close → 403, isolated per name and namespace', async () => {
    const check = (name: string, ns: string): Promise<Response> =>
      flaggerPost('/gate/check', payload(name, ns));
    const closed = await check('podinfo', 'test');
    expect(closed.status).toBe(403);
    expect(await closed.text()).toBe('Forbidden');

    await client.openGate('podinfo', 'test');
    const open = await check('podinfo', 'test');
    expect(open.status).toBe(200);
    expect(await open.text()).toBe('Approved');
    expect((await check('podinfo', 'prod')).status).toBe(403);
    expect((await check('frontend', 'test')).status).toBe(403);
    // The rollback flag is a separate key.
    expect((await flaggerPost('/rollback/check', payload('podinfo', 'test'))).status).toBe(403);

    const closing = await flaggerPost('/gate/close', payload('podinfo', 'test'));
    expect(closing.status).toBe(202);
    expect((await check('podinfo', 'test')).status).toBe(403);
    expect(await client.gates()).toEqual([{ kind: 'gate', name: 'podinfo', namespace: 'test', open: false }]);

    // Gate checks are hook calls: recorded like any other.
    expect((await client.calls('/gate/check')).map((c) => c.response?.status)).toEqual([
      403, 200, 403, 403, 403,
    ]);
  });

  it('gate/approve always passes, gate/halt always refuses', async () => {
    const approve = await flaggerPost('/gate/approve', payload('podinfo', 'test'));
    expect(approve.status).toBe(200);
    const halt = await flaggerPost('/gate/halt', payload('podinfo', 'test'));
    expect(halt.status).toBe(403);
    expect(await halt.text()).toBe('Forbidden');
  });

  it('rollback flag: closed → 403, open → 200, close → 403, independent of the gate', async () => {
    const check = (): Promise<Response> => flaggerPost('/rollback/check', payload('podinfo', 'test'));
    expect((await check()).status).toBe(403);
    await client.openRollback('podinfo', 'test');
    expect((await check()).status).toBe(200);
    expect(await client.isGateOpen('podinfo', 'test')).toBe(false);
    expect((await flaggerPost('/rollback/check', payload('podinfo', 'other'))).status).toBe(403);
    await client.closeRollback('podinfo', 'test');
    expect((await check()).status).toBe(403);
    expect(await client.isRollbackOpen('podinfo', 'test')).toBe(false);
  });

  it('refuses gate requests without name and namespace with 400 and a clear message', async () => {
    const missing = await flaggerPost('/gate/open', { name: 'podinfo' });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toMatch(/namespace: required/);

    const empty = await flaggerPost('/gate/check', { name: '', namespace: 'test' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(/name: must not be empty/);

    const notJson = await flaggerPost('/rollback/open', '{not json');
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).toMatch(/invalid JSON/);

    // Nothing was opened by the bad requests.
    expect(await client.gates()).toEqual([]);
  });

  it('a program takes precedence over a gate (simulates a gate outage)', async () => {
    await client.openGate('podinfo', 'test');
    await client.program({ path: '/gate/check', status: 503, times: 1 });
    expect((await flaggerPost('/gate/check', payload('podinfo', 'test'))).status).toBe(503);
    expect((await flaggerPost('/gate/check', payload('podinfo', 'test'))).status).toBe(200);
  });

  it('records a load-test command in metadata and never executes it', async () => {
    const marker = join(tmpdir(), `fledge-webhook-${randomUUID()}`);
    for (const type of ['cmd', 'bash']) {
      const body = payload('podinfo', 'test', { type, cmd: `touch ${marker}` });
      const res = await flaggerPost('/', body);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, executed: false });
    }
    const calls = await client.calls('/');
    const cmds = calls.filter((c) => c.path === '/').map((c) => c.payload?.metadata?.cmd);
    expect(cmds).toEqual([`touch ${marker}`, `touch ${marker}`]);
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(marker)).toBe(false);
  });
});
