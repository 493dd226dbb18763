import { describe, expect, it } from 'vitest';
import { builtinQueries, renderQuery } from '../../src/domain/promql.js';

const ctx = {
  namespace: 'test',
  target: 'podinfo',
  interval: '1m',
  variables: { route: 'GET /', code: '5..' },
};

describe('PromQL rendering', () => {
  it("renders Flagger's Istio request-success-rate exactly (whitespace collapsed)", () => {
    const r = renderQuery(builtinQueries.istio['request-success-rate'], ctx);
    expect(r).toEqual({
      ok: true,
      query:
        'sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo", response_code!~"5.*" }[1m] ) ) / sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m] ) ) * 100',
    });
  });

  it('renders request-duration as the p99 in ms', () => {
    const r = renderQuery(builtinQueries.istio['request-duration'], ctx);
    expect(r.ok && r.query).toBe(
      'histogram_quantile( 0.99, sum( rate( istio_request_duration_milliseconds_bucket{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m] ) ) by (le) )',
    );
  });

  it.each([
    [
      'quoted variable is escaped',
      'x{a="{{ variables.v }}"}',
      'a"} or vector(1) #',
      'x{a="a\\"} or vector(1) #"}',
    ],
    ['backslash escaped', 'x{a="{{ variables.v }}"}', 'a\\', 'x{a="a\\\\"}'],
    ['newline escaped', 'x{a="{{ variables.v }}"}', 'a\nb', 'x{a="a\\nb"}'],
    ['plain token outside quotes', 'rate(x[{{ variables.v }}])', '5m', 'rate(x[5m])'],
  ])('%s', (_name, tpl, value, expected) => {
    expect(renderQuery(tpl, { ...ctx, variables: { v: value } })).toEqual({ ok: true, query: expected });
  });

  it.each([
    ['injection outside quotes is refused', 'rate(x[{{ variables.v }}])', '1m]) or vector(1'],
    ['unknown variable', 'x{a="{{ nope }}"}', 'x'],
    ['missing variable value', 'x{a="{{ variables.absent }}"}', 'x'],
  ])('%s', (_name, tpl, value) => {
    const r = renderQuery(tpl, { ...ctx, variables: { v: value } });
    expect(r.ok).toBe(false);
  });

  it('does not treat an escaped quote as the end of a string', () => {
    const r = renderQuery('x{a="pre\\"{{ variables.v }}"}', { ...ctx, variables: { v: '"' } });
    expect(r).toEqual({ ok: true, query: 'x{a="pre\\"\\""}' });
  });
});
