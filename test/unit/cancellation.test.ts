// Outbound calls made on behalf of an activity honour its cancellation: a webhook or a Prometheus query in flight
// (or the backoff between attempts) is abandoned as soon as the caller's signal aborts, and the call rejects with
// the signal's reason — it never turns into a result (a cancelled check must not count as a failed one).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callWebhook } from '../../src/integrations/hooks/webhook.js';
import { createPrometheusProvider } from '../../src/integrations/metrics/prometheus/provider.js';
import type { MetricPlan } from '../../src/domain/plan.js';

let server: Server;
let url: string;
let hits = 0;
beforeAll(async () => {
  // /hang never answers; /fail answers 503 (retryable for webhooks), /down closes the connection.
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/fail') {
      res.writeHead(503).end('unavailable');
      return;
    }
    if (req.url?.startsWith('/down')) {
      req.socket.destroy();
      return;
    }
    // /hang: keep the request open until the client goes away.
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

class Cancelled extends Error {}
const payload = { name: 'podinfo', namespace: 'test', phase: 'Progressing', checksum: 'c', metadata: {} };

describe('callWebhook with a signal', () => {
  it('abandons a hanging request at once and rejects with the reason', async () => {
    const ctl = new AbortController();
    const t0 = Date.now();
    const call = callWebhook(
      { url: `${url}/hang`, timeoutMs: 60_000, retries: 0, payload },
      { signal: ctl.signal },
    );
    setTimeout(() => ctl.abort(new Cancelled('operator abort')), 100);
    await expect(call).rejects.toBeInstanceOf(Cancelled);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('abandons the backoff between retries', async () => {
    const ctl = new AbortController();
    const call = callWebhook(
      { url: `${url}/fail`, timeoutMs: 5_000, retries: 3, payload },
      { signal: ctl.signal, backoffMs: 30_000 },
    );
    setTimeout(() => ctl.abort(new Cancelled('pause')), 200);
    await expect(call).rejects.toBeInstanceOf(Cancelled);
  });

  it('an already aborted signal sends nothing', async () => {
    const before = hits;
    await expect(
      callWebhook(
        { url: `${url}/hang`, timeoutMs: 5_000, retries: 0, payload },
        { signal: AbortSignal.abort(new Cancelled('gone')) },
      ),
    ).rejects.toBeInstanceOf(Cancelled);
    expect(hits).toBe(before);
  });

  it('without cancellation a timeout is still a failed result, not an error', async () => {
    const r = await callWebhook(
      { url: `${url}/hang`, timeoutMs: 150, retries: 0, payload },
      { signal: new AbortController().signal },
    );
    expect(r).toMatchObject({ ok: false, message: 'timeout after 150 ms' });
  });
});

describe('Prometheus metric evaluation with a signal', () => {
  const metric: MetricPlan = {
    name: 'request-success-rate',
    source: { kind: 'inline', query: 'vector(1)' },
    interval: '1m',
    thresholdRange: { min: 99 },
    templateVariables: {},
  };
  const ctx = { namespace: 'test', target: 'podinfo', service: 'podinfo' };

  it('abandons a hanging query at once and rejects with the reason', async () => {
    const provider = createPrometheusProvider(`${url}/hang`, { timeoutMs: 60_000 });
    const ctl = new AbortController();
    const t0 = Date.now();
    const evaluation = provider.evaluate(metric, ctx, [], { signal: ctl.signal });
    setTimeout(() => ctl.abort(new Cancelled('operator abort')), 100);
    await expect(evaluation).rejects.toBeInstanceOf(Cancelled);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('abandons the backoff between retries of an unreachable Prometheus', async () => {
    const provider = createPrometheusProvider(`${url}/down`, { retries: 5, backoffMs: 30_000 });
    const ctl = new AbortController();
    const evaluation = provider.evaluate(metric, ctx, [], { signal: ctl.signal });
    setTimeout(() => ctl.abort(new Cancelled('pause')), 200);
    await expect(evaluation).rejects.toBeInstanceOf(Cancelled);
  });

  it('without cancellation an unreachable Prometheus is an infrastructure outcome', async () => {
    const provider = createPrometheusProvider(`${url}/down`, { retries: 0 });
    const r = await provider.evaluate(metric, ctx, [], { signal: new AbortController().signal });
    expect(r).toMatchObject({ value: null, error: 'infrastructure' });
  });
});
