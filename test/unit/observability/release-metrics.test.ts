import { afterEach, describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import { parsePrometheusText, type Sample } from '../../../src/dev/mesh-sim/metrics.js';
import type { Outcome } from '../../../src/domain/result.js';
import type { Phase } from '../../../src/domain/state.js';
import {
  createReleaseMetrics,
  flaggerStatusValue,
  metricsListenFromEnv,
  releaseDurationBuckets,
  startMetricsServer,
} from '../../../src/observability/release-metrics.js';

/** Our release samples (the default process metrics are left out: prom-client writes NaN as `Nan`). */
async function samples(registry: Registry): Promise<Sample[]> {
  const text = await registry.metrics();
  return parsePrometheusText(
    text
      .split('\n')
      .filter((l) => !l.startsWith('fledge_worker_'))
      .join('\n'),
  );
}

/** The value of the one sample with this name and (at least) these labels; undefined if none. */
function value(all: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const hits = all.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length > 1) throw new Error(`${hits.length} samples match ${name} ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

const ns = 'shop';
const name = 'podinfo';

describe('flagger_canary_status: Flagger SetStatus mapping', () => {
  const table: Array<[Phase, 0 | 1 | 2]> = [
    ['Initializing', 1],
    ['Initialized', 1],
    ['Waiting', 1],
    ['Progressing', 0],
    ['WaitingPromotion', 1],
    ['Promoting', 1],
    ['Finalising', 1],
    ['Succeeded', 1],
    ['Failed', 2],
    ['Terminating', 1],
    ['Terminated', 1],
  ];
  it.each(table)('%s -> %i', async (phase, expected) => {
    expect(flaggerStatusValue(phase)).toBe(expected);
    const { metrics, registry } = createReleaseMetrics();
    metrics.observeStatus({ namespace: ns, name, phase, canaryWeight: 0, primaryWeight: 100 });
    expect(value(await samples(registry), 'flagger_canary_status', { name, namespace: ns })).toBe(expected);
  });
});

describe('flagger_canary_weight during A/B iterations (Flagger reports the matched route: canary 100)', () => {
  it('an active A/B match reports primary 0 / canary 100, whatever the default route weights; without it, the routes', async () => {
    const { metrics, registry } = createReleaseMetrics();
    const weights = async () => {
      const all = await samples(registry);
      return {
        primary: value(all, 'flagger_canary_weight', { workload: `${name}-primary`, namespace: ns }),
        canary: value(all, 'flagger_canary_weight', { workload: name, namespace: ns }),
      };
    };
    const observe = (abMatch: boolean | undefined, primaryWeight: number, canaryWeight: number) =>
      metrics.observeStatus({
        namespace: ns,
        name,
        phase: 'Progressing',
        primaryWeight,
        canaryWeight,
        ...(abMatch === undefined ? {} : { abMatch }),
      });
    observe(true, 100, 0);
    expect(await weights()).toEqual({ primary: 0, canary: 100 });
    observe(false, 100, 0); // routed back after the promotion
    expect(await weights()).toEqual({ primary: 100, canary: 0 });
    observe(undefined, 70, 30); // a canary release (no A/B flag)
    expect(await weights()).toEqual({ primary: 70, canary: 30 });
  });
});

describe('status transitions', () => {
  type Step = { phase: Phase; canary: number; primary: number; status: number; running: number };
  const transitions: Array<[string, Step[]]> = [
    [
      'promotion',
      [
        { phase: 'Initializing', canary: 0, primary: 100, status: 1, running: 1 },
        { phase: 'Progressing', canary: 20, primary: 80, status: 0, running: 1 },
        { phase: 'Progressing', canary: 40, primary: 60, status: 0, running: 1 },
        { phase: 'WaitingPromotion', canary: 40, primary: 60, status: 1, running: 1 },
        { phase: 'Promoting', canary: 40, primary: 60, status: 1, running: 1 },
        { phase: 'Finalising', canary: 0, primary: 100, status: 1, running: 1 },
        { phase: 'Succeeded', canary: 0, primary: 100, status: 1, running: 0 },
      ],
    ],
    [
      'rollback',
      [
        { phase: 'Progressing', canary: 10, primary: 90, status: 0, running: 1 },
        { phase: 'Failed', canary: 0, primary: 100, status: 2, running: 0 },
      ],
    ],
  ];
  it.each(transitions)(
    '%s: status, weight series and flagger_canary_total follow each step',
    async (_, steps) => {
      const { metrics, registry } = createReleaseMetrics();
      for (const st of steps) {
        metrics.observeStatus({
          namespace: ns,
          name,
          phase: st.phase,
          canaryWeight: st.canary,
          primaryWeight: st.primary,
        });
        const all = await samples(registry);
        expect(value(all, 'flagger_canary_status', { name, namespace: ns }), st.phase).toBe(st.status);
        expect(value(all, 'flagger_canary_weight', { workload: name, namespace: ns })).toBe(st.canary);
        expect(value(all, 'flagger_canary_weight', { workload: `${name}-primary`, namespace: ns })).toBe(
          st.primary,
        );
        expect(value(all, 'flagger_canary_total', { namespace: ns })).toBe(st.running);
      }
    },
  );

  it('counts running releases per namespace and forgets them at their outcome', async () => {
    const { metrics, registry } = createReleaseMetrics();
    const progress = (namespace: string, target: string) =>
      metrics.observeStatus({
        namespace,
        name: target,
        phase: 'Progressing',
        canaryWeight: 10,
        primaryWeight: 90,
      });
    progress('a', 'one');
    progress('a', 'two');
    progress('a', 'two'); // the same release again: still one
    progress('b', 'one');
    let all = await samples(registry);
    expect(value(all, 'flagger_canary_total', { namespace: 'a' })).toBe(2);
    expect(value(all, 'flagger_canary_total', { namespace: 'b' })).toBe(1);
    metrics.observeOutcome({
      namespace: 'a',
      name: 'one',
      outcome: 'Superseded',
      strategy: 'canary',
      durationSeconds: 5,
    });
    all = await samples(registry);
    expect(value(all, 'flagger_canary_total', { namespace: 'a' })).toBe(1);
    expect(value(all, 'flagger_canary_total', { namespace: 'b' })).toBe(1);
  });
});

describe('outcomes', () => {
  const table: Array<[Outcome, boolean, 'successes' | 'failures' | null, string]> = [
    ['Promoted', false, 'successes', 'completed'],
    ['Promoted', true, 'successes', 'skipped'],
    ['RolledBack', false, 'failures', 'completed'],
    ['Aborted', false, 'failures', 'completed'],
    ['Failed', false, 'failures', 'completed'],
    ['Superseded', false, null, 'completed'],
  ];
  it.each(table)(
    '%s (skipped=%s) -> flagger_canary_%s_total',
    async (outcome, skipped, counter, analysisStatus) => {
      const { metrics, registry } = createReleaseMetrics();
      for (let i = 0; i < 2; i++) {
        metrics.observeOutcome({
          namespace: ns,
          name,
          outcome,
          strategy: 'blue-green',
          durationSeconds: 95,
          ...(skipped ? { analysisSkipped: true } : {}),
        });
      }
      const all = await samples(registry);
      const labels = {
        name,
        namespace: ns,
        deployment_strategy: 'blue-green',
        analysis_status: analysisStatus,
      };
      for (const c of ['successes', 'failures'] as const) {
        expect(value(all, `flagger_canary_${c}_total`, labels)).toBe(c === counter ? 2 : undefined);
      }
      expect(value(all, 'fledge_releases_total', { outcome })).toBe(2);
      const h = { namespace: ns, name, strategy: 'blue-green', outcome };
      expect(value(all, 'fledge_release_duration_seconds_count', h)).toBe(2);
      expect(value(all, 'fledge_release_duration_seconds_sum', h)).toBe(190);
      expect(value(all, 'fledge_release_duration_seconds_bucket', { ...h, le: '60' })).toBe(0);
      expect(value(all, 'fledge_release_duration_seconds_bucket', { ...h, le: '120' })).toBe(2);
      expect(value(all, 'fledge_release_duration_seconds_bucket', { ...h, le: '+Inf' })).toBe(2);
    },
  );

  it('release-duration buckets span 10 s to 2 h', () => {
    expect(releaseDurationBuckets[0]).toBe(10);
    expect(releaseDurationBuckets.at(-1)).toBe(7200);
    expect([...releaseDurationBuckets].sort((x, y) => x - y)).toEqual(releaseDurationBuckets);
  });
});

describe('analysis metrics', () => {
  it('keeps the last value per metric and drops the series on null', async () => {
    const { metrics, registry } = createReleaseMetrics();
    const m = (metric: string, v: number | null) =>
      metrics.observeMetric({ namespace: ns, name, metric, value: v });
    m('request-success-rate', 99.5);
    m('request-duration', 120);
    m('request-success-rate', 98);
    let all = await samples(registry);
    expect(
      value(all, 'flagger_canary_metric_analysis', { name, namespace: ns, metric: 'request-success-rate' }),
    ).toBe(98);
    expect(
      value(all, 'flagger_canary_metric_analysis', { name, namespace: ns, metric: 'request-duration' }),
    ).toBe(120);
    m('request-duration', null);
    all = await samples(registry);
    expect(value(all, 'flagger_canary_metric_analysis', { metric: 'request-duration' })).toBeUndefined();
    expect(value(all, 'flagger_canary_metric_analysis', { metric: 'request-success-rate' })).toBe(98);
  });

  it('observes analysis tick durations in flagger_canary_duration_seconds', async () => {
    const { metrics, registry } = createReleaseMetrics();
    metrics.observeAnalysisDuration?.({ namespace: ns, name, seconds: 0.3 });
    const all = await samples(registry);
    expect(value(all, 'flagger_canary_duration_seconds_count', { name, namespace: ns })).toBe(1);
    expect(value(all, 'flagger_canary_duration_seconds_bucket', { name, namespace: ns, le: '0.5' })).toBe(1);
  });
});

describe('text exposition', () => {
  it('has the exact Flagger and Fledge names, types and label sets', async () => {
    const { metrics, registry } = createReleaseMetrics();
    metrics.observeStatus({ namespace: ns, name, phase: 'Progressing', canaryWeight: 30, primaryWeight: 70 });
    metrics.observeMetric({ namespace: ns, name, metric: 'request-success-rate', value: 99 });
    metrics.observeOutcome({
      namespace: ns,
      name,
      outcome: 'Promoted',
      strategy: 'canary',
      durationSeconds: 42,
    });
    const text = await registry.metrics();
    const expected = [
      '# TYPE flagger_canary_status gauge',
      'flagger_canary_status{name="podinfo",namespace="shop"} 0', // an outcome leaves the status alone
      '# TYPE flagger_canary_weight gauge',
      'flagger_canary_weight{workload="podinfo-primary",namespace="shop"} 70',
      'flagger_canary_weight{workload="podinfo",namespace="shop"} 30',
      '# TYPE flagger_canary_total gauge',
      'flagger_canary_total{namespace="shop"} 0',
      '# TYPE flagger_canary_metric_analysis gauge',
      'flagger_canary_metric_analysis{name="podinfo",namespace="shop",metric="request-success-rate"} 99',
      '# TYPE flagger_canary_successes_total counter',
      'flagger_canary_successes_total{name="podinfo",namespace="shop",deployment_strategy="canary",analysis_status="completed"} 1',
      '# TYPE flagger_canary_failures_total counter',
      '# TYPE flagger_canary_duration_seconds histogram',
      '# TYPE fledge_release_duration_seconds histogram',
      'fledge_release_duration_seconds_bucket{le="60",namespace="shop",name="podinfo",strategy="canary",outcome="Promoted"} 1',
      'fledge_release_duration_seconds_count{namespace="shop",name="podinfo",strategy="canary",outcome="Promoted"} 1',
      '# TYPE fledge_releases_total counter',
      'fledge_releases_total{outcome="Promoted"} 1',
      'fledge_releases_total{outcome="Aborted"} 0', // every outcome starts at 0: increase() sees the first one
      '# TYPE fledge_worker_process_cpu_seconds_total counter',
      '# TYPE fledge_worker_nodejs_heap_size_used_bytes gauge',
    ];
    const lines = text.split('\n');
    for (const line of expected) expect(lines, line).toContain(line);
    // Only our registry: nothing registered on prom-client's global one leaks in, and no unprefixed defaults.
    expect(text).not.toMatch(/^process_cpu_seconds_total/m);
  });

  it('ignores non-finite numbers instead of throwing (metrics never fail a release)', async () => {
    const { metrics, registry } = createReleaseMetrics();
    metrics.observeStatus({
      namespace: ns,
      name,
      phase: 'Progressing',
      canaryWeight: NaN,
      primaryWeight: 100,
    });
    metrics.observeOutcome({
      namespace: ns,
      name,
      outcome: 'Failed',
      strategy: 'canary',
      durationSeconds: NaN,
    });
    const all = await samples(registry);
    expect(value(all, 'flagger_canary_weight', { workload: name })).toBeUndefined();
    expect(value(all, 'flagger_canary_weight', { workload: `${name}-primary` })).toBe(100);
    expect(value(all, 'fledge_release_duration_seconds_count', { outcome: 'Failed' })).toBeUndefined();
    expect(value(all, 'fledge_releases_total', { outcome: 'Failed' })).toBe(1);
  });
});

describe('metrics server', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()?.();
  });

  it('serves /metrics and /healthz on a free port, 404 and 405 otherwise', async () => {
    const { metrics, registry } = createReleaseMetrics();
    metrics.observeStatus({ namespace: ns, name, phase: 'Failed', canaryWeight: 0, primaryWeight: 100 });
    const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry });
    closers.push(server.close);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(registry.contentType);
    expect(await res.text()).toContain('flagger_canary_status{name="podinfo",namespace="shop"} 2');
    const base = new URL(server.url);
    const at = (path: string, init?: RequestInit) => fetch(new URL(path, base), init);
    expect((await at('/healthz')).status).toBe(200);
    expect((await at('/metrics?x=1')).status).toBe(200);
    expect((await at('/nope')).status).toBe(404);
    expect((await at('/metrics', { method: 'POST' })).status).toBe(405);
  });

  it('reports a wildcard host as loopback, and close() frees the port', async () => {
    const { registry } = createReleaseMetrics();
    const server = await startMetricsServer({ port: 0, registry });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await fetch(server.url)).status).toBe(200);
    await server.close();
    await expect(fetch(server.url)).rejects.toThrow();
  });

  it('rejects when the port is taken', async () => {
    const { registry } = createReleaseMetrics();
    const first = await startMetricsServer({ port: 0, host: '127.0.0.1', registry });
    closers.push(first.close);
    const port = Number(new URL(first.url).port);
    await expect(startMetricsServer({ port, host: '127.0.0.1', registry })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('FLEDGE_METRICS_PORT / FLEDGE_METRICS_HOST', () => {
  const table: Array<[Record<string, string>, { port: number; host: string } | null]> = [
    [{}, { port: 9464, host: '0.0.0.0' }],
    [
      { FLEDGE_METRICS_PORT: '29110', FLEDGE_METRICS_HOST: '127.0.0.1' },
      { port: 29110, host: '127.0.0.1' },
    ],
    [{ FLEDGE_METRICS_PORT: '0' }, { port: 0, host: '0.0.0.0' }],
    [{ FLEDGE_METRICS_PORT: 'off' }, null],
    [{ FLEDGE_METRICS_PORT: 'OFF' }, null],
  ];
  it.each(table)('%j -> %j', (env, expected) => {
    expect(metricsListenFromEnv(env)).toEqual(expected);
  });
  it.each(['-1', '65536', '9464.5', 'abc', '1e3'])('rejects %s', (port) => {
    expect(() => metricsListenFromEnv({ FLEDGE_METRICS_PORT: port })).toThrow(/FLEDGE_METRICS_PORT/);
  });
});
