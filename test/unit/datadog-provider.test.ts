// The Datadog provider's parts that need no server: the provider-block schema, the keys taken from a Secret (and
// the env form of such a Secret), the default address, and the checks made before any request.
import { describe, expect, it } from 'vitest';
import type { MetricPlan } from '../../src/domain/plan.js';
import {
  createDatadogProvider,
  datadogKeys,
  datadogProvider,
  datadogProviderSchema,
} from '../../src/integrations/metrics/datadog/index.js';
import type { MetricTemplateDef } from '../../src/integrations/metrics/provider.js';
import { createSecretSource, type SecretSource } from '../../src/integrations/secrets.js';

const issues = (value: unknown): string[] => {
  const r = datadogProviderSchema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('datadog provider block schema', () => {
  it('accepts type, optional address and the required secretRef; zero values of unused fields pass', () => {
    expect(issues({ type: 'datadog', secretRef: { name: 'datadog' } })).toEqual([]);
    expect(
      issues({
        type: 'datadog',
        address: 'https://api.datadoghq.eu',
        secretRef: { name: 'dd' },
        headers: {},
        region: '',
        insecureSkipVerify: false,
      }),
    ).toEqual([]);
  });

  it('requires secretRef, says why, and refuses what Datadog would ignore', () => {
    expect(issues({ type: 'datadog' })).toEqual([
      'secretRef: missing required field: the datadog provider needs a Secret with datadog_api_key and datadog_application_key (secretRef: {name: …})',
    ]);
    expect(issues({ type: 'datadog', secretRef: { name: 'dd' }, headers: { 'X-A': ['1'] } })).toEqual([
      'headers: not used by the datadog provider (it sends only the DD-API-KEY and DD-APPLICATION-KEY headers, from secretRef)',
    ]);
    expect(issues({ type: 'datadog', secretRef: { name: 'dd' }, region: 'eu-west-1' })[0]).toMatch(
      /^region: not used by the datadog provider/,
    );
    expect(issues({ type: 'datadog', secretRef: { name: 'dd' }, insecureSkipVerify: true })[0]).toMatch(
      /^insecureSkipVerify: not supported yet/,
    );
    expect(issues({ type: 'datadog', secretRef: { name: 'dd' }, address: 'ftp://x' })[0]).toMatch(
      /^address: /,
    );
    expect(issues({ type: 'datadog', secretRef: { name: 'Bad_Name' } })[0]).toMatch(/^secretRef\.name: /);
    expect(issues({ type: 'datadog', secretRef: { name: 'dd' }, extra: 1 })[0]).toMatch(/extra/);
    expect(issues({ type: 'prometheus', secretRef: { name: 'dd' } })[0]).toMatch(/^type: /);
  });

  it('is what the registry entry carries, with no built-ins', () => {
    expect(datadogProvider.type).toBe('datadog');
    expect(datadogProvider.schema).toBe(datadogProviderSchema);
    expect(Object.keys(datadogProvider.builtins)).toEqual([]);
  });
});

describe('datadogKeys', () => {
  it("takes Flagger's two keys and names the missing ones without echoing values", () => {
    expect(datadogKeys({ datadog_api_key: 'a1', datadog_application_key: 'b2', token: 'x' })).toEqual({
      apiKey: 'a1',
      applicationKey: 'b2',
    });
    expect(datadogKeys({ token: 't' })).toEqual({
      error:
        'the Secret has no datadog_api_key and no datadog_application_key (the datadog provider needs datadog_api_key and datadog_application_key)',
    });
    const bad = datadogKeys({ datadog_api_key: 'SECRET-VALUE x', datadog_application_key: 'b2' });
    expect(bad).toEqual({ error: 'datadog_api_key must be one line of printable ASCII without spaces' });
  });

  it('reads them from the env form of a Secret too', () => {
    const s = createSecretSource({
      FLEDGE_SECRETS_DIR: '/nonexistent',
      FLEDGE_SECRET_TEAM_A__DATADOG__DATADOG_API_KEY: 'env-api',
      FLEDGE_SECRET_TEAM_A__DATADOG__DATADOG_APPLICATION_KEY: 'env-app',
    });
    expect(datadogKeys(s.read('team-a', 'datadog') ?? {})).toEqual({
      apiKey: 'env-api',
      applicationKey: 'env-app',
    });
  });
});

describe('createDatadogProvider', () => {
  const secrets: SecretSource = {
    read: (ns, name) =>
      ns === 'obs' && name === 'dd'
        ? { datadog_api_key: 'k-api', datadog_application_key: 'k-app' }
        : undefined,
  };
  const metric: MetricPlan = {
    name: 'errors',
    source: { kind: 'template', templateName: 'dd', templateNamespace: 'obs' },
    interval: '1m',
    thresholdRange: { max: 1 },
    templateVariables: {},
  };
  const template = (provider: MetricTemplateDef['provider']): MetricTemplateDef => ({
    name: 'dd',
    namespace: 'obs',
    provider,
    query: 'avg:errors{service:{{ target }}}',
  });
  const ctx = { namespace: 'shop', target: 'web', service: 'web' };

  it('queries https://api.datadoghq.com by default, with the keys as headers', async () => {
    const seen: Array<{ url: string; headers: Record<string, string> }> = [];
    const p = createDatadogProvider({
      secrets,
      now: () => 1_700_000_000_500,
      fetch: async (input, init) => {
        seen.push({ url: String(input), headers: init?.headers as Record<string, string> });
        return new Response(JSON.stringify({ status: 'ok', series: [{ pointlist: [[1, 0.5]] }] }), {
          status: 200,
        });
      },
    });
    const out = await p.evaluate(metric, ctx, [template({ type: 'datadog', secretRef: { name: 'dd' } })]);
    expect(out).toEqual({ name: 'errors', value: 0.5, query: 'avg:errors{service:web}' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.url).toBe(
      'https://api.datadoghq.com/api/v1/query?from=1699999400&query=avg%3Aerrors%7Bservice%3Aweb%7D&to=1700000000',
    );
    expect(seen[0]?.headers).toMatchObject({ 'DD-API-KEY': 'k-api', 'DD-APPLICATION-KEY': 'k-app' });
  });

  it('refuses built-in and inline metrics and templates of another type, without a request', async () => {
    const never = async (): Promise<Response> => {
      throw new Error('no request expected');
    };
    const p = createDatadogProvider({ secrets, fetch: never });
    const builtin = await p.evaluate(
      { ...metric, source: { kind: 'builtin', builtin: 'request-success-rate' } },
      ctx,
      [],
    );
    expect(builtin).toMatchObject({
      error: 'infrastructure',
      message: expect.stringMatching(/MetricTemplate checks only/),
    });
    const prom = await p.evaluate(metric, ctx, [template({ type: 'prometheus', secretRef: { name: 'dd' } })]);
    expect(prom.message).toBe('MetricTemplate obs/dd has provider type "prometheus", not datadog');
    const missing = await p.evaluate(metric, ctx, []);
    expect(missing.message).toBe('MetricTemplate obs/dd not found');
    const badInterval = await p.evaluate({ ...metric, interval: 'soon' }, ctx, [
      template({ type: 'datadog', secretRef: { name: 'dd' } }),
    ]);
    expect(badInterval.message).toMatch(/^metric interval: invalid duration/);
  });

  it('a status "error" in a 200 is an infrastructure error with Datadog\'s message', async () => {
    const p = createDatadogProvider({
      secrets,
      fetch: async () =>
        new Response(JSON.stringify({ status: 'error', error: 'Rule scope_expr did not match' }), {
          status: 200,
        }),
    });
    const out = await p.evaluate(metric, ctx, [template({ type: 'datadog', secretRef: { name: 'dd' } })]);
    expect(out).toMatchObject({
      value: null,
      error: 'infrastructure',
      message: 'Datadog query error: Rule scope_expr did not match',
    });
  });
});
