// The Datadog metrics provider against the fake Datadog API (src/dev/fake-datadog) over real HTTP: keys from a
// mounted Secret, Flagger's window (10 × interval) and pick (first point of the first series), no data, refused
// keys, server errors (retried), rate limits, query rendering and URL encoding, cancellation.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MetricPlan } from '../../src/domain/plan.js';
import { startFakeDatadog, type RunningFakeDatadog } from '../../src/dev/fake-datadog/server.js';
import { FakeDatadogClient } from '../../src/dev/fake-datadog/client.js';
import { createDatadogProvider } from '../../src/integrations/metrics/datadog/index.js';
import type { MetricTemplateDef } from '../../src/integrations/metrics/provider.js';
import { createSecretSource } from '../../src/integrations/secrets.js';

const apiKey = 'API-KEY-MARKER-7f3a';
const appKey = 'APP-KEY-MARKER-91c2';
const ns = 'team-dd';
const ctx = { namespace: 'shop-prod', target: 'web-api', service: 'web-api' };

let dd: RunningFakeDatadog;
let fake: FakeDatadogClient;
let secretsDir: string;

function writeSecret(name: string, data: Record<string, string>): void {
  const dir = join(secretsDir, ns, name);
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(data)) writeFileSync(join(dir, k), `${v}\n`);
}

beforeAll(async () => {
  dd = await startFakeDatadog({ port: 0, apiKeys: [apiKey], applicationKeys: [appKey] });
  fake = new FakeDatadogClient(dd.url);
  secretsDir = mkdtempSync(join(tmpdir(), 'fledge-dd-secrets-'));
  writeSecret('datadog', { datadog_api_key: apiKey, datadog_application_key: appKey });
  writeSecret('datadog-wrong', { datadog_api_key: 'not-the-key', datadog_application_key: appKey });
  writeSecret('datadog-partial', { datadog_api_key: apiKey });
});

afterAll(async () => {
  await dd.close();
  rmSync(secretsDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await fake.reset();
});

const errorRate = `100 - (
  sum:istio.mesh.request.count{reporter:destination,destination_workload_namespace:{{ namespace }},destination_workload:{{ target }},!response_code:404}.as_count()
  /
  sum:istio.mesh.request.count{reporter:destination,destination_workload_namespace:{{ namespace }},destination_workload:{{ target }}}.as_count()
) * 100`;
const errorRateRendered =
  '100 - ( sum:istio.mesh.request.count{reporter:destination,destination_workload_namespace:shop-prod,destination_workload:web-api,!response_code:404}.as_count() / sum:istio.mesh.request.count{reporter:destination,destination_workload_namespace:shop-prod,destination_workload:web-api}.as_count() ) * 100';

function template(
  query: string,
  secret = 'datadog',
  extra: Partial<MetricTemplateDef['provider']> = {},
): MetricTemplateDef {
  return {
    name: 'dd-metric',
    namespace: ns,
    provider: { type: 'datadog', address: dd.url, secretRef: { name: secret }, ...extra },
    query,
  };
}

function metric(interval = '1m', variables: Record<string, string> = {}): MetricPlan {
  return {
    name: '404s percentage',
    source: { kind: 'template', templateName: 'dd-metric', templateNamespace: ns },
    interval,
    thresholdRange: { max: 5 },
    templateVariables: variables,
  };
}

function provider(extra: { retries?: number; now?: () => number } = {}) {
  return createDatadogProvider({
    secrets: createSecretSource({ FLEDGE_SECRETS_DIR: secretsDir }),
    backoffMs: 20,
    ...extra,
  });
}

describe('Datadog provider against the fake Datadog API', () => {
  it('returns the first point of the first series of the rendered query, with both keys sent', async () => {
    await fake.setSeries({
      query: errorRateRendered,
      series: [
        { metric: 'istio.mesh.request.count', values: [2.75, 40, 60] },
        { metric: 'other', values: [99] },
      ],
    });
    const out = await provider().evaluate(metric(), ctx, [template(errorRate)]);
    expect(out).toEqual({ name: '404s percentage', value: 2.75, query: errorRateRendered });
    const reqs = await fake.requests();
    expect(reqs).toHaveLength(1);
    expect(reqs[0]).toMatchObject({
      path: '/api/v1/query',
      apiKey: 'valid',
      applicationKey: 'valid',
      status: 200,
    });
    expect(reqs[0]?.params.query).toBe(errorRateRendered);
  });

  it('asks for the window now − 10 × interval … now, in Unix seconds', async () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    await fake.setSeries({ query: '*', series: [{ values: [1] }] });
    const cases = [
      ['1m', 600],
      ['30s', 300],
      ['1m30s', 900],
      ['1.5s', 15],
    ] as const;
    for (const [interval] of cases)
      await provider({ now: () => now }).evaluate(metric(interval), ctx, [template('avg:system.load.1{*}')]);
    const reqs = await fake.requests();
    expect(reqs.map((r) => [Number(r.params.to), Number(r.params.to) - Number(r.params.from)])).toEqual(
      cases.map(([, seconds]) => [Math.floor(now / 1000), seconds]),
    );
    // With the real clock: `to` is now.
    const before = Math.floor(Date.now() / 1000);
    await fake.reset();
    await fake.setSeries({ query: '*', series: [{ values: [1] }] });
    await provider().evaluate(metric('2m'), ctx, [template('avg:system.load.1{*}')]);
    const [req] = await fake.requests();
    const to = Number(req?.params.to);
    expect(to).toBeGreaterThanOrEqual(before);
    expect(to).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(to - Number(req?.params.from)).toBe(1200);
  });

  it('reports no series, no points and a null first point as no-values', async () => {
    const q = 'avg:trace.http.request.errors{service:web-api}';
    const p = provider();
    const none = await p.evaluate(metric(), ctx, [template(q)]);
    expect(none).toMatchObject({ value: null, error: 'no-values', query: q });
    await fake.setSeries({ query: q, series: [{ values: [] }] });
    expect(await p.evaluate(metric(), ctx, [template(q)])).toMatchObject({ value: null, error: 'no-values' });
    await fake.setSeries({ query: q, series: [{ values: [null, 3] }] });
    expect(await p.evaluate(metric(), ctx, [template(q)])).toMatchObject({ value: null, error: 'no-values' });
    await fake.setSeries({ query: q, series: [{ values: [0, 3] }] });
    expect(await p.evaluate(metric(), ctx, [template(q)])).toEqual({
      name: '404s percentage',
      value: 0,
      query: q,
    });
  });

  it('reports refused keys as an infrastructure error, once, without the keys', async () => {
    const out = await provider().evaluate(metric(), ctx, [template('avg:system.load.1{*}', 'datadog-wrong')]);
    expect(out).toMatchObject({ value: null, error: 'infrastructure' });
    expect(out.message).toMatch(/refused the credentials \(HTTP 403: Forbidden\)/);
    const reqs = await fake.requests();
    expect(reqs).toHaveLength(1); // not retried
    expect(reqs[0]).toMatchObject({ apiKey: 'invalid', applicationKey: 'valid', status: 403 });
    expect(JSON.stringify(out)).not.toContain('not-the-key');
    expect(JSON.stringify(out)).not.toContain(appKey);
  });

  it('reports a Secret without both keys, or no Secret, before any request', async () => {
    const partial = await provider().evaluate(metric(), ctx, [template('avg:x{*}', 'datadog-partial')]);
    expect(partial).toMatchObject({ error: 'infrastructure' });
    expect(partial.message).toBe(
      `Secret ${ns}/datadog-partial: the Secret has no datadog_application_key (the datadog provider needs datadog_api_key and datadog_application_key)`,
    );
    const absent = await provider().evaluate(metric(), ctx, [template('avg:x{*}', 'no-such-secret')]);
    expect(absent.message).toMatch(/the worker has no Secret team-dd\/no-such-secret/);
    const noRef: MetricTemplateDef = {
      ...template('avg:x{*}'),
      provider: { type: 'datadog', address: dd.url },
    };
    expect((await provider().evaluate(metric(), ctx, [noRef])).message).toMatch(/secretRef is required/);
    expect(await fake.requests()).toHaveLength(0);
    expect(JSON.stringify([partial, absent])).not.toContain(apiKey);
  });

  it('retries a server error and then answers; gives up after the retries with the status in the message', async () => {
    await fake.setSeries({ query: '*', series: [{ values: [7] }] });
    await fake.fail({ status: 503, times: 2 });
    expect(await provider({ retries: 2 }).evaluate(metric(), ctx, [template('avg:x{*}')])).toMatchObject({
      value: 7,
    });
    expect((await fake.requests()).map((r) => r.status)).toEqual([503, 503, 200]);

    await fake.reset();
    await fake.fail({ status: 500, times: 5, errors: ['Internal Server Error'] });
    const out = await provider({ retries: 1 }).evaluate(metric(), ctx, [template('avg:x{*}')]);
    expect(out).toMatchObject({ value: null, error: 'infrastructure', query: 'avg:x{*}' });
    expect(out.message).toMatch(/answered HTTP 500: Internal Server Error/);
    expect(await fake.requests()).toHaveLength(2);
  });

  it('retries a rate limit and a non-JSON 502; a 400 is not retried', async () => {
    await fake.setSeries({ query: '*', series: [{ values: [4] }] });
    await fake.fail({ status: 429 });
    expect(await provider().evaluate(metric(), ctx, [template('avg:x{*}')])).toMatchObject({ value: 4 });
    await fake.reset();
    await fake.fail({ status: 502, times: 3, body: '<html>\n<h1>502 Bad Gateway</h1>\n</html>' });
    const proxy = await provider().evaluate(metric(), ctx, [template('avg:x{*}')]);
    expect(proxy.message).toMatch(/answered HTTP 502: <html>\\n<h1>502 Bad Gateway<\/h1>\\n<\/html>$/);
    expect(await fake.requests()).toHaveLength(3);
    await fake.reset();
    await fake.fail({
      status: 400,
      errors: ["Error parsing query: unable to parse avg:x{: Rule 'scope_expr' didn't match"],
    });
    const bad = await provider().evaluate(metric(), ctx, [template('avg:x{*}')]);
    expect(bad.message).toMatch(/^Datadog rejected the query \(HTTP 400\): Error parsing query/);
    expect(await fake.requests()).toHaveLength(1);
  });

  it('sends the rendered query URL-encoded, exactly, and refuses values that would change it', async () => {
    const q =
      "sum:http.requests{env:{{ variables.env }},service:{{ target }},path:/a&b=c#x}.as_count() + 1 / avg:y{k:'v w'}";
    const rendered =
      "sum:http.requests{env:prod/eu-1,service:web-api,path:/a&b=c#x}.as_count() + 1 / avg:y{k:'v w'}";
    await fake.setSeries({ query: rendered, series: [{ values: [5] }] });
    const out = await provider().evaluate(metric('1m', { env: 'prod/eu-1' }), ctx, [template(q)]);
    expect(out).toEqual({ name: '404s percentage', value: 5, query: rendered });
    const [req] = await fake.requests();
    expect(req?.params.query).toBe(rendered);
    expect(Object.keys(req?.params ?? {}).sort()).toEqual(['from', 'query', 'to']);

    await fake.reset();
    for (const hostile of ['prod,service:*', 'prod}by{host', '*', 'a b', 'x&query=y']) {
      const r = await provider().evaluate(metric('1m', { env: hostile }), ctx, [template(q)]);
      expect(r).toMatchObject({ value: null, error: 'infrastructure' });
      expect(r.message).toMatch(
        /template variable \{\{ variables\.env \}\} must be a plain Datadog tag value/,
      );
    }
    expect(await fake.requests()).toHaveLength(0);
  });

  it('the fake validates as Datadog does: 403 without keys, 400 without from/to/query', async () => {
    const noKeys = await fetch(`${dd.url}/api/v1/query?from=1&to=2&query=a`);
    expect(noKeys.status).toBe(403);
    expect(await noKeys.json()).toEqual({ errors: ['Forbidden'] });
    const headers = { 'DD-API-KEY': apiKey, 'DD-APPLICATION-KEY': appKey };
    const missing = await fetch(`${dd.url}/api/v1/query?from=1&query=a`, { headers });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errors: string[] }).errors[0]).toMatch(/to/);
    const ok = await fetch(`${dd.url}/api/v1/query?from=100&to=160&query=${encodeURIComponent('avg:a{*}')}`, {
      headers,
    });
    expect(await ok.json()).toMatchObject({
      status: 'ok',
      from_date: 100_000,
      to_date: 160_000,
      series: [],
      query: 'avg:a{*}',
    });
    const valid = await fetch(`${dd.url}/api/v1/validate`, { headers: { 'DD-API-KEY': apiKey } });
    expect(await valid.json()).toEqual({ valid: true });
  });

  it('stops at once when the analysis is cancelled', async () => {
    await fake.fail({ status: 503, times: 10 });
    const ac = new AbortController();
    const p = createDatadogProvider({
      secrets: createSecretSource({ FLEDGE_SECRETS_DIR: secretsDir }),
      backoffMs: 5000,
      retries: 5,
    }).evaluate(metric(), ctx, [template('avg:x{*}')], { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('analysis cancelled')), 200);
    const started = Date.now();
    await expect(p).rejects.toThrow('analysis cancelled');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
