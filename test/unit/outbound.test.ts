// The outbound guard (src/integrations/outbound.ts) and the clients that use it (webhooks, Prometheus, notifiers,
// Slack), against local servers only: a redirecting server, a server on 127.0.0.1 when loopback is not allowed,
// and host names that a test resolver maps to 169.254.169.254 (nothing ever connects there: the guard refuses
// in the socket's lookup, before connecting).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  allowAnyOutbound,
  configureOutbound,
  createOutboundFetch,
  excerpt,
  OutboundRefusedError,
  outboundRefusal,
  parseOutboundAllow,
  type Resolver,
} from '../../src/integrations/outbound.js';
import { callWebhook } from '../../src/integrations/hooks/webhook.js';
import { createPrometheusClient, PrometheusError } from '../../src/integrations/metrics/prometheus.js';
import { createJsonWebhookNotifier } from '../../src/integrations/notify/json-webhook.js';
import { createTeamsNotifier } from '../../src/integrations/notify/msteams.js';
import { createSlackNotifier } from '../../src/integrations/notify/slack.js';
import { loadFledgeConfig } from '../../src/config.js';
import type { ReleaseNotification } from '../../src/integrations/notify/notifier.js';
import { compileRelease, parseCanaryYaml } from '../../src/domain/manifest/index.js';
import { describeStatus } from '../../src/domain/status.js';
import { initialState } from '../../src/domain/state.js';
import { readFixture } from './manifest/fixtures.js';
import { startFakeSlack } from '../../src/dev/fake-slack/server.js';
import { FakeSlackClient } from '../../src/dev/fake-slack/client.js';

let server: Server;
let port: number;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.startsWith('/redirect')) {
      res.writeHead(302, { Location: `http://127.0.0.1:${port}/landed` }).end('moved');
      return;
    }
    if (req.url === '/noisy') {
      res.writeHead(500).end(`\u001b[31mFAIL\u001b[0m\r\nstack:\n${'x'.repeat(5000)}`);
      return;
    }
    if (req.url === '/api/v1/query') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [1, '7'] }] },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});
afterEach(() => {
  hits.length = 0;
  configureOutbound({ allow: allowAnyOutbound });
});

const payload = { name: 'podinfo', namespace: 'shop', phase: 'Progressing', checksum: 'c', metadata: {} };
/** A resolver that answers every name with `answers` (and records the names it was asked). */
const resolving = (...answers: string[][]): { resolve: Resolver; asked: string[] } => {
  const asked: string[] = [];
  let i = 0;
  return {
    asked,
    resolve: async (hostname) => {
      asked.push(hostname);
      const a = answers[Math.min(i++, answers.length - 1)] ?? [];
      return a.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
  };
};

describe('FLEDGE_OUTBOUND_ALLOW', () => {
  it('unset: everything but link-local and the metadata services; entries are host globs, IPs, CIDRs or *', () => {
    expect(parseOutboundAllow(undefined)).toEqual(allowAnyOutbound);
    expect(parseOutboundAllow('*.acme.com, prometheus.monitoring.svc 10.0.0.0/8,fd00::/8 127.0.0.1')).toEqual(
      {
        any: false,
        hosts: ['*.acme.com', 'prometheus.monitoring.svc'],
        cidrs: ['10.0.0.0/8', 'fd00::/8', '127.0.0.1'],
      },
    );
    expect(() => parseOutboundAllow('')).toThrow(/FLEDGE_OUTBOUND_ALLOW is empty/);
    expect(() => parseOutboundAllow('10.0.0.0/33')).toThrow(/not an IP or CIDR/);
    expect(() => parseOutboundAllow('http://x')).toThrow(/not a host glob, IP or CIDR/);
    expect(() => loadFledgeConfig({ FLEDGE_OUTBOUND_ALLOW: 'a b/c' })).toThrow(/FLEDGE_OUTBOUND_ALLOW/);
    expect(loadFledgeConfig({ FLEDGE_OUTBOUND_ALLOW: '*.acme.com' }).outbound?.allow.hosts).toEqual([
      '*.acme.com',
    ]);
  });

  it('link-local and cloud metadata addresses are refused by default, also IPv4-mapped', () => {
    for (const a of [
      '169.254.169.254',
      '169.254.1.1',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
    ])
      expect(outboundRefusal(allowAnyOutbound, a, a), a).toMatch(/link-local or cloud metadata/);
    expect(outboundRefusal(allowAnyOutbound, 'example.com', '93.184.216.34')).toBeUndefined();
    expect(outboundRefusal(allowAnyOutbound, 'localhost', '127.0.0.1')).toBeUndefined();
  });

  it('only a listed IP/CIDR lifts the refusal — not `*`, not a host glob', () => {
    expect(outboundRefusal(parseOutboundAllow('*'), 'x', '169.254.169.254')).toBeDefined();
    expect(
      outboundRefusal(parseOutboundAllow('metadata.internal'), 'metadata.internal', '169.254.169.254'),
    ).toBeDefined();
    expect(outboundRefusal(parseOutboundAllow('169.254.169.254/32'), 'x', '169.254.169.254')).toBeUndefined();
    expect(outboundRefusal(parseOutboundAllow('169.254.169.254'), 'x', '169.254.169.253')).toBeDefined();
  });

  it('with an allow-list, anything not listed is refused (loopback included); host globs match names only', () => {
    const allow = parseOutboundAllow('*.acme.com, 10.0.0.0/8');
    expect(outboundRefusal(allow, 'hooks.acme.com', '203.0.113.9')).toBeUndefined();
    expect(outboundRefusal(allow, 'a.b.acme.com', '203.0.113.9')).toBeUndefined();
    expect(outboundRefusal(allow, 'acme.com.evil.io', '203.0.113.9')).toMatch(/not in FLEDGE_OUTBOUND_ALLOW/);
    expect(outboundRefusal(allow, 'anything', '10.1.2.3')).toBeUndefined();
    expect(outboundRefusal(allow, '127.0.0.1', '127.0.0.1')).toMatch(
      /127.0.0.1 is not in FLEDGE_OUTBOUND_ALLOW/,
    );
  });
});

describe('guarded fetch against local servers', () => {
  it('a server on 127.0.0.1 is refused when loopback is not allowed: nothing is sent', async () => {
    const f = createOutboundFetch({ allow: parseOutboundAllow('*.acme.com') });
    const e = await f(`${base}/hook`, { method: 'POST', body: '{}' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OutboundRefusedError);
    expect((e as Error).message).toMatch(/refused: 127.0.0.1 is not in FLEDGE_OUTBOUND_ALLOW/);
    expect(hits).toEqual([]);
    // …and allowed when listed.
    const ok = await createOutboundFetch({ allow: parseOutboundAllow('127.0.0.0/8') })(`${base}/hook`);
    expect(ok.status).toBe(200);
  });

  it('a host name that resolves to 169.254.169.254 is refused at connect time (custom lookup)', async () => {
    const r = resolving(['169.254.169.254']);
    const f = createOutboundFetch({ allow: allowAnyOutbound, resolve: r.resolve });
    const e = await f('http://metadata.attacker.test/latest/meta-data/').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OutboundRefusedError);
    expect((e as Error).message).toMatch(
      /metadata.attacker.test \(169.254.169.254\) is a link-local or cloud metadata/,
    );
    expect(r.asked).toEqual(['metadata.attacker.test']);
  });

  it('DNS rebinding: the address checked is the one connected to, on every connection', async () => {
    // First answer: the (allowed) local server; second answer: the metadata service.
    const r = resolving(['127.0.0.1'], ['169.254.169.254']);
    const f = createOutboundFetch({ allow: allowAnyOutbound, resolve: r.resolve });
    expect((await f(`http://rebind.attacker.test:${port}/first`)).status).toBe(200);
    await expect(f(`http://rebind.attacker.test:${port}/second`)).rejects.toBeInstanceOf(
      OutboundRefusedError,
    );
    expect(hits).toEqual(['/first']);
  });

  it('one refused address among allowed ones refuses the name', async () => {
    const r = resolving(['127.0.0.1', '169.254.169.254']);
    const f = createOutboundFetch({ allow: allowAnyOutbound, resolve: r.resolve });
    await expect(f(`http://mixed.attacker.test:${port}/x`)).rejects.toBeInstanceOf(OutboundRefusedError);
    expect(hits).toEqual([]);
  });

  it('a host glob allows a name, and the connection goes to the address the guard resolved', async () => {
    const r = resolving(['127.0.0.1']);
    const f = createOutboundFetch({ allow: parseOutboundAllow('*.acme.test'), resolve: r.resolve });
    expect((await f(`http://hooks.acme.test:${port}/glob`)).status).toBe(200);
    expect(hits).toEqual(['/glob']);
  });

  it('a request without a signal is abandoned after the default timeout', async () => {
    const hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const f = createOutboundFetch({ allow: allowAnyOutbound, defaultTimeoutMs: 100 });
      const e = await f(`http://127.0.0.1:${(hang.address() as AddressInfo).port}/`).catch((x: unknown) => x);
      expect((e as Error).name).toBe('TimeoutError');
    } finally {
      hang.closeAllConnections();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });

  it('redirects are never followed: the 3xx is returned (redirect: "error" rejects, like fetch)', async () => {
    const f = createOutboundFetch({ allow: allowAnyOutbound });
    const res = await f(`${base}/redirect`, { redirect: 'follow' });
    expect(res.status).toBe(302);
    await expect(f(`${base}/redirect`, { redirect: 'error' })).rejects.toThrow(
      /redirect \(HTTP 302\) not followed/,
    );
    expect(hits).toEqual(['/redirect', '/redirect']);
  });
});

describe('every outbound client goes through the guard', () => {
  it('webhooks: a redirect is a failed call saying so (the target is never called)', async () => {
    const r = await callWebhook(
      { url: `${base}/redirect`, timeoutMs: 2000, retries: 2, payload },
      { backoffMs: 1 },
    );
    expect(r).toMatchObject({ ok: false, status: 302, attempts: 1 });
    expect(r.message).toBe(
      `HTTP 302 redirect to http://127.0.0.1:${port}/landed not followed (redirects are refused)`,
    );
    expect(hits).toEqual(['/redirect']);
  });

  it('webhooks: a refused address fails at once (not retried), nothing sent', async () => {
    configureOutbound({ allow: parseOutboundAllow('*.acme.com') });
    const r = await callWebhook(
      { url: `${base}/hook`, timeoutMs: 2000, retries: 3, payload },
      { backoffMs: 1 },
    );
    expect(r).toMatchObject({ ok: false, attempts: 1 });
    expect(r.message).toMatch(/^outbound request refused: 127.0.0.1 is not in FLEDGE_OUTBOUND_ALLOW/);
    expect(hits).toEqual([]);
  });

  it('webhooks: the response body kept is a short excerpt with control characters escaped', async () => {
    const r = await callWebhook({ url: `${base}/noisy`, timeoutMs: 2000, retries: 0, payload });
    expect(r.ok).toBe(false);
    expect(r.message.length).toBeLessThanOrEqual(200);
    expect(r.message.startsWith('\\x1b[31mFAIL\\x1b[0m\\r\\nstack:\\nxxx')).toBe(true);
    expect(r.message.endsWith('…')).toBe(true);
    // eslint-disable-next-line no-control-regex
    expect(r.message).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it('Prometheus (MetricTemplate addresses): refused address, redirect', async () => {
    configureOutbound({ allow: parseOutboundAllow('prometheus.acme.com') });
    const refused = await createPrometheusClient(base)
      .queryScalar('up')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PrometheusError);
    expect(refused).toMatchObject({ kind: 'refused' });
    expect((refused as Error).message).toMatch(/not in FLEDGE_OUTBOUND_ALLOW/);
    configureOutbound({ allow: allowAnyOutbound });
    expect(await createPrometheusClient(base).queryScalar('up')).toBe(7);
    const moved = await createPrometheusClient(`${base}/redirect`)
      .queryScalar('up')
      .catch((e: unknown) => e);
    expect(moved).toMatchObject({ kind: 'bad-response' });
    expect((moved as Error).message).toMatch(/HTTP 302 redirect to .* not followed/);
    expect(hits).not.toContain('/landed');
  });

  it('Prometheus: a host name resolving to the metadata service is refused', async () => {
    const f = createOutboundFetch({
      allow: allowAnyOutbound,
      resolve: resolving(['169.254.169.254']).resolve,
    });
    const e = await createPrometheusClient('http://prom.attacker.test:9090', {}, f)
      .queryScalar('up')
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'refused' });
  });

  it('notifiers (MS Teams, JSON webhook, Slack) are refused the same way', async () => {
    configureOutbound({ allow: parseOutboundAllow('*.acme.com') });
    const parsed = parseCanaryYaml(readFixture('podinfo-istio.yaml'));
    if (!parsed.ok) throw new Error('fixture');
    const plan = compileRelease(parsed.value, { podinfod: 'ghcr.io/acme/podinfo:6.5.1' }).plan;
    const n: ReleaseNotification = {
      severity: 'info',
      kind: 'progressing',
      message: 'm',
      at: 0,
      release: {
        workflowId: 'w',
        target: { namespace: 'shop', name: 'p' },
        previousImages: {},
        newImages: {},
        startedAt: 0,
        link: 'http://ui/w',
      },
      status: describeStatus(plan, initialState(plan, 0)),
    };
    const teams = await createTeamsNotifier({ url: `${base}/teams`, retries: 0 }).notify(n);
    const json = await createJsonWebhookNotifier({ url: `${base}/json`, retries: 0 }).notify(n);
    for (const r of [teams, json]) {
      expect(r.delivered).toBe(false);
      expect(r.error).toMatch(/outbound request refused/);
    }
    const slack = await createSlackNotifier({
      token: 'xoxb-test',
      channel: 'C1',
      apiUrl: `${base}/api/`,
      retries: 0,
      fetch: createOutboundFetch({ allow: parseOutboundAllow('*.acme.com') }),
    }).notify(n);
    expect(slack.delivered).toBe(false);
    expect(hits).toEqual([]);
  });

  it('Slack works through the guard (the fake Slack, allowed): parent and reply posted', async () => {
    const fake = await startFakeSlack({ port: 0 });
    try {
      const parsed = parseCanaryYaml(readFixture('podinfo-istio.yaml'));
      if (!parsed.ok) throw new Error('fixture');
      const plan = compileRelease(parsed.value, { podinfod: 'ghcr.io/acme/podinfo:6.5.1' }).plan;
      const r = await createSlackNotifier({
        token: 'xoxb-test',
        channel: 'C1',
        apiUrl: `${fake.url}/api/`,
        retries: 0,
        fetch: createOutboundFetch({ allow: parseOutboundAllow('127.0.0.1') }),
      }).notify({
        severity: 'info',
        kind: 'progressing',
        message: 'through the guard',
        at: 0,
        release: {
          workflowId: 'w-guard',
          target: { namespace: 'shop', name: 'p' },
          previousImages: {},
          newImages: {},
          startedAt: 0,
          link: 'http://ui/w',
        },
        status: describeStatus(plan, initialState(plan, 0)),
      });
      expect(r.error).toBeUndefined();
      expect(r.delivered).toBe(true);
      expect((await new FakeSlackClient(fake.url).messages('C1')).length).toBeGreaterThanOrEqual(1);
    } finally {
      await fake.close();
    }
  });
});

describe('excerpt', () => {
  it('is at most 200 characters, escapes control and bidi characters, collapses blanks', () => {
    expect(excerpt('  ok  \t done ')).toBe('ok done');
    expect(excerpt('a\u0000b\u007fc\u202ed')).toBe('a\\x00b\\x7fc\\u202ed');
    const long = excerpt('y'.repeat(1000));
    expect(long).toHaveLength(200);
    expect(long.endsWith('…')).toBe(true);
    expect(excerpt('z'.repeat(200))).toBe('z'.repeat(200));
    expect(excerpt('\n'.repeat(300)).length).toBeLessThanOrEqual(200);
  });
});
