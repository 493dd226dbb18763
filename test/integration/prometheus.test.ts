// The Prometheus client against the real local Prometheus.
import { describe, expect, it } from 'vitest';
import { createPrometheusClient, PrometheusError } from '../../src/integrations/metrics/prometheus.js';
import { stack } from '../support/stack.js';

describe('Prometheus client (real server)', () => {
  const prom = createPrometheusClient(stack().urls.prometheus);

  it('is online and answers an instant query with a number', async () => {
    expect(await prom.isOnline()).toBe(true);
    expect(await prom.queryScalar('1 + 1')).toBe(2);
    expect(await prom.queryScalar('vector(42)')).toBe(42);
  });

  it('returns null for an empty vector and for NaN ("no values")', async () => {
    expect(await prom.queryScalar('sum(rate(metric_that_does_not_exist_total[1m]))')).toBeNull();
    expect(await prom.queryScalar('vector(0) / vector(0)')).toBeNull();
  });

  it('reports a bad query as bad-query and an unreachable server as unreachable', async () => {
    const bad = await prom.queryScalar('sum(rate(').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(PrometheusError);
    expect((bad as PrometheusError).kind).toBe('bad-query');
    const down = await createPrometheusClient('http://127.0.0.1:9')
      .queryScalar('up', { timeoutMs: 2000 })
      .catch((e: unknown) => e);
    expect((down as PrometheusError).kind).toBe('unreachable');
  });
});
