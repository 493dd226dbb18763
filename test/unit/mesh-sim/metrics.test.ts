import { describe, expect, it } from 'vitest';
import {
  istioDurationBucketsMs,
  MetricsRegistry,
  parsePrometheusText,
  type Sample,
} from '../../../src/dev/mesh-sim/metrics.js';
import { flaggerCluster, simulator, virtualService, weighted } from './fixtures.js';

const find = (samples: Sample[], name: string, labels: Record<string, string>): Sample[] =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('registry rendering', () => {
  it('renders counters and cumulative histograms in the text format and parses back', () => {
    const reg = new MetricsRegistry();
    const c = reg.counter('requests_total', 'Requests.');
    const h = reg.histogram('duration_ms', 'Duration.', [1, 10, 100]);
    c.inc({ code: '200', path: '/a' });
    c.inc({ path: '/a', code: '200' }, 2); // same series regardless of label order
    c.inc({ code: '500', path: 'quote " back\\slash\nnewline' });
    for (const v of [0.5, 5, 50, 500, 10]) h.observe({ w: 'x' }, v);
    const text = reg.render();
    expect(text).toContain('# TYPE requests_total counter');
    expect(text).toContain('# TYPE duration_ms histogram');
    expect(text).toContain('requests_total{code="200",path="/a"} 3');
    expect(text).toContain('path="quote \\" back\\\\slash\\nnewline"');
    const samples = parsePrometheusText(text);
    expect(find(samples, 'requests_total', { code: '500' })[0]?.labels.path).toBe(
      'quote " back\\slash\nnewline',
    );
    expect(find(samples, 'duration_ms_bucket', { w: 'x' }).map((s) => [s.labels.le, s.value])).toEqual([
      ['1', 1],
      ['10', 3],
      ['100', 4],
      ['+Inf', 5],
    ]);
    expect(find(samples, 'duration_ms_sum', { w: 'x' })[0]?.value).toBe(565.5);
    expect(find(samples, 'duration_ms_count', { w: 'x' })[0]?.value).toBe(5);
  });

  it('prunes series not updated since a cutoff', () => {
    const reg = new MetricsRegistry();
    const c = reg.counter('x_total', 'x');
    c.inc({ a: 'old' }, 1, 1000);
    c.inc({ a: 'new' }, 1, 5000);
    reg.prune(2000);
    expect(parsePrometheusText(reg.render()).map((s) => s.labels.a)).toEqual(['new']);
  });

  it('parser rejects malformed lines', () => {
    expect(() => parsePrometheusText('x{a="1} 1')).toThrow();
    expect(() => parsePrometheusText('x nope')).toThrow();
    expect(parsePrometheusText('# comment\nup 1 1700000000\n')).toEqual([
      { name: 'up', labels: {}, value: 1 },
    ]);
  });
});

describe('Istio metrics from the simulation', () => {
  const sim = simulator(
    flaggerCluster(
      { virtualServices: [virtualService('demo', 'podinfo', [weighted(90, 10)])] },
      { canaryImage: 'ghcr.io/stefanprodan/podinfo:6.0.1-bad' },
    ),
  );
  sim.simulate(sim.currentWorld().flows[0]!, 1000, 0);
  const samples = parsePrometheusText(sim.renderMetrics());

  it("carries Istio's label set, so Flagger's queries select the series", () => {
    const canary200 = find(samples, 'istio_requests_total', {
      destination_workload: 'podinfo',
      response_code: '200',
    });
    expect(canary200).toHaveLength(1);
    expect(canary200[0]).toEqual({
      name: 'istio_requests_total',
      labels: {
        reporter: 'destination',
        source_workload: 'mesh-sim',
        source_workload_namespace: 'fledge-system',
        destination_workload: 'podinfo',
        destination_workload_namespace: 'demo',
        destination_service: 'podinfo-canary.demo.svc.cluster.local',
        destination_service_name: 'podinfo-canary',
        destination_service_namespace: 'demo',
        destination_version: '6.0.1-bad',
        request_protocol: 'http',
        response_code: '200',
        response_flags: '-',
        connection_security_policy: 'mutual_tls',
      },
      value: 80,
    });
  });

  it('counts per workload and code add up (success rate as Flagger computes it)', () => {
    const sum = (labels: Record<string, string>): number =>
      find(samples, 'istio_requests_total', labels).reduce((s, x) => s + x.value, 0);
    const ns = { reporter: 'destination', destination_workload_namespace: 'demo' };
    expect(sum({ ...ns, destination_workload: 'podinfo-primary' })).toBe(900);
    expect(sum({ ...ns, destination_workload: 'podinfo' })).toBe(100);
    const ok = find(samples, 'istio_requests_total', { ...ns, destination_workload: 'podinfo' }).filter(
      (s) => !s.labels.response_code?.startsWith('5'),
    );
    const successRate =
      (100 * ok.reduce((s, x) => s + x.value, 0)) / sum({ ...ns, destination_workload: 'podinfo' });
    expect(successRate).toBe(80);
  });

  it("histogram uses Istio's default buckets and counts every request", () => {
    const buckets = find(samples, 'istio_request_duration_milliseconds_bucket', {
      destination_workload: 'podinfo-primary',
      response_code: '200',
    });
    expect(buckets.map((b) => b.labels.le)).toEqual([...istioDurationBucketsMs.map(String), '+Inf']);
    expect(buckets.at(-1)?.value).toBe(900);
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b)); // cumulative
    // p50 20 ms / p99 80 ms: about half at or below 25 ms, at least 98 % at or below 100 ms
    const le = (bound: string): number => buckets.find((b) => b.labels.le === bound)?.value ?? 0;
    expect(le('25') / 900).toBeGreaterThan(0.5);
    expect(le('100') / 900).toBeGreaterThan(0.98);
    expect(
      find(samples, 'istio_request_duration_milliseconds_count', {
        destination_workload: 'podinfo-primary',
      })[0]?.value,
    ).toBe(900);
  });
});
