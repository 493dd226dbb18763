// The pure parts of the Datadog provider: query rendering (Flagger's placeholders, Datadog-safe values), the
// window (Flagger: now − 10 × interval … now, seconds) and the value pick (first point of the first series).
import { describe, expect, it } from 'vitest';
import {
  firstPointValue,
  queryWindow,
  renderDatadogQuery,
} from '../../src/integrations/metrics/datadog/query.js';
import { datadogQueryUrl } from '../../src/integrations/metrics/datadog/client.js';

const ctx = {
  namespace: 'istio-system',
  target: 'my-app',
  service: 'my-app-svc',
  interval: '1m',
  variables: { env: 'prod', region: 'eu-west-1', path: '/api/v1', empty: '' },
};

describe('renderDatadogQuery', () => {
  it("renders Flagger's documented Datadog template with hyphenated names, on one line", () => {
    const template = `100 - (
      sum:istio.mesh.request.count{
        reporter:destination,
        destination_workload_namespace:{{ namespace }},
        destination_workload:{{ target }},
        !response_code:404
      }.as_count()
      /
      sum:istio.mesh.request.count{
        reporter:destination,
        destination_workload_namespace:{{ namespace }},
        destination_workload:{{ target }}
      }.as_count()
    ) * 100`;
    expect(renderDatadogQuery(template, ctx)).toEqual({
      ok: true,
      query:
        '100 - ( sum:istio.mesh.request.count{ reporter:destination, destination_workload_namespace:istio-system, destination_workload:my-app, !response_code:404 }.as_count() / sum:istio.mesh.request.count{ reporter:destination, destination_workload_namespace:istio-system, destination_workload:my-app }.as_count() ) * 100',
    });
  });

  it('substitutes service, interval and variables, with or without spaces inside the braces', () => {
    expect(
      renderDatadogQuery(
        'avg:trace.http.request.duration{service:{{service}},env:{{ variables.env }},region:{{variables.region}},resource:{{ variables.path }}}.rollup(avg) # {{ interval }}',
        ctx,
      ),
    ).toEqual({
      ok: true,
      query:
        'avg:trace.http.request.duration{service:my-app-svc,env:prod,region:eu-west-1,resource:/api/v1}.rollup(avg) # 1m',
    });
  });

  it('refuses values that could change the query, naming the placeholder', () => {
    for (const value of [
      'a,b',
      'a}',
      '{a',
      'a b',
      '*',
      'prod OR x',
      'a(1)',
      '!a',
      "'a'",
      '"a"',
      'ä',
      'a\nb',
    ]) {
      const r = renderDatadogQuery('avg:x{env:{{ variables.env }}}', { ...ctx, variables: { env: value } });
      expect(r.ok, value).toBe(false);
      if (!r.ok)
        expect(r.error).toMatch(
          /^template variable \{\{ variables\.env \}\} must be a plain Datadog tag value/,
        );
    }
  });

  it('reports unknown, missing, empty and malformed placeholders', () => {
    const errorOf = (t: string): string => {
      const r = renderDatadogQuery(t, ctx);
      return r.ok ? '' : r.error;
    };
    expect(errorOf('avg:x{a:{{ name }}}')).toMatch(/unknown template variable \{\{ name \}\}/);
    expect(errorOf('avg:x{a:{{ variables.nope }}}')).toMatch(/\{\{ variables\.nope \}\} has no value/);
    expect(errorOf('avg:x{a:{{ variables.empty }}}')).toMatch(/must be a plain Datadog tag value/);
    expect(errorOf('avg:x{a:{{ .Namespace }}}')).toMatch(
      /unsupported template expression \{\{ \.Namespace \}\}/,
    );
    expect(errorOf('avg:x{a:{{ target | upper }}}')).toMatch(/unsupported template expression/);
    expect(errorOf('avg:x{a:{{ target }')).toMatch(/unterminated template expression/);
    expect(errorOf('  \n ')).toBe('the query is empty');
    // Every problem at once.
    expect(errorOf('{{ a }} {{ b }}').split('; ')).toHaveLength(2);
  });
});

describe('queryWindow', () => {
  const now = Date.UTC(2026, 4, 6, 7, 8, 9, 999);
  const to = Math.floor(now / 1000);

  it('is now − 10 × interval … now in whole seconds (Go: int64(10 × seconds))', () => {
    expect(queryWindow('1m', now)).toEqual({ ok: true, from: to - 600, to });
    expect(queryWindow('5s', now)).toEqual({ ok: true, from: to - 50, to });
    expect(queryWindow('1h30m', now)).toEqual({ ok: true, from: to - 54_000, to });
    expect(queryWindow('150ms', now)).toEqual({ ok: true, from: to - 1, to });
    expect(queryWindow('50ms', now)).toEqual({ ok: true, from: to, to });
  });

  it('rejects an unparsable or non-positive interval', () => {
    expect(queryWindow('1 minute', now)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^metric interval: invalid duration/),
    });
    expect(queryWindow('0', now)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/must be positive/),
    });
    expect(queryWindow('-1m', now)).toMatchObject({ ok: false });
  });
});

describe('firstPointValue', () => {
  it('is the first point of the first series (Flagger skips the incomplete newest bucket)', () => {
    expect(
      firstPointValue([
        {
          pointlist: [
            [1_000, 1.5],
            [2_000, 9],
          ],
        },
        { pointlist: [[1_000, 42]] },
      ]),
    ).toBe(1.5);
    expect(firstPointValue([{ pointlist: [[1_000, 0]] }])).toBe(0);
    expect(firstPointValue([{ pointlist: [[1_000, -3.25]] }])).toBe(-3.25);
  });

  it('is null (no values) for no series, no points, a short point or a null value', () => {
    expect(firstPointValue(undefined)).toBeNull();
    expect(firstPointValue(null)).toBeNull();
    expect(firstPointValue([])).toBeNull();
    expect(firstPointValue([{ pointlist: [] }])).toBeNull();
    expect(firstPointValue([{ pointlist: null }])).toBeNull();
    expect(firstPointValue([{}])).toBeNull();
    expect(firstPointValue([{ pointlist: [[1_000]] }])).toBeNull();
    expect(
      firstPointValue([
        {
          pointlist: [
            [1_000, null],
            [2_000, 5],
          ],
        },
      ]),
    ).toBeNull();
    expect(firstPointValue([{ pointlist: [] }, { pointlist: [[1_000, 5]] }])).toBeNull();
  });
});

describe('datadogQueryUrl', () => {
  it('puts from, query and to in the query string (Go url.Values order), encoded', () => {
    const url = new URL(
      datadogQueryUrl('https://api.datadoghq.eu/', { query: 'avg:a{k:v}+b&c=#d', from: 100, to: 700 }),
    );
    expect(url.origin + url.pathname).toBe('https://api.datadoghq.eu/api/v1/query');
    expect([...url.searchParams.keys()]).toEqual(['from', 'query', 'to']);
    expect(url.searchParams.get('query')).toBe('avg:a{k:v}+b&c=#d');
    expect(url.searchParams.get('from')).toBe('100');
    expect(url.searchParams.get('to')).toBe('700');
  });
});
