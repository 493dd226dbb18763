// The worker's metrics endpoint scraped by the REAL local Prometheus (job fledge-worker scrapes
// 127.0.0.1:<workerMetrics port> every second): what the activities observe ends up queryable under
// Flagger's names.
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  createReleaseMetrics,
  startMetricsServer,
  type ReleaseMetrics,
} from '../../src/observability/release-metrics.js';
import { eventually, stack } from '../support/stack.js';

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

async function promQuery(expr: string): Promise<PromVector[]> {
  const url = new URL('/api/v1/query', stack().urls.prometheus);
  url.searchParams.set('query', expr);
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: PromVector[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? res.status}`);
  return body.data?.result ?? [];
}

/** Waits until `expr` returns exactly one sample with this value. */
async function expectValue(expr: string, expected: number): Promise<void> {
  await eventually(
    `${expr} == ${expected}`,
    async () => {
      const result = await promQuery(expr);
      return result.length === 1 && Number(result[0]?.value[1]) === expected ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

describe('worker metrics scraped by the local Prometheus', () => {
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  const namespace = `wm-${run}`;
  const name = `podinfo-${run}`;
  let metrics: ReleaseMetrics;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const created = createReleaseMetrics();
    metrics = created.metrics;
    const port = stack().ports.workerMetrics;
    const server = await startMetricsServer({ port, host: '127.0.0.1', registry: created.registry }).catch(
      (err: unknown) => {
        throw new Error(
          `cannot listen on the stack's workerMetrics port ${port} (a worker running?): ${String(err)}`,
        );
      },
    );
    close = server.close;
  });

  afterAll(async () => {
    await close?.();
  });

  it('is scraped: up, with the default process metrics prefixed fledge_worker_', async () => {
    const instance = `127.0.0.1:${stack().ports.workerMetrics}`;
    await expectValue(`up{job="fledge-worker",instance="${instance}"}`, 1);
    await eventually(
      'fledge_worker_process_cpu_seconds_total',
      async () =>
        (await promQuery('fledge_worker_process_cpu_seconds_total{job="fledge-worker"}')).length > 0
          ? true
          : undefined,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  it('exports status, weights, analysis values and outcomes under Flagger names', async () => {
    const sel = `namespace="${namespace}"`;
    metrics.observeStatus({ namespace, name, phase: 'Progressing', canaryWeight: 30, primaryWeight: 70 });
    metrics.observeMetric({ namespace, name, metric: 'request-success-rate', value: 99.5 });
    await expectValue(`flagger_canary_status{name="${name}",${sel}}`, 0);
    await expectValue(`flagger_canary_weight{workload="${name}",${sel}}`, 30);
    await expectValue(`flagger_canary_weight{workload="${name}-primary",${sel}}`, 70);
    await expectValue(`flagger_canary_total{${sel}}`, 1);
    await expectValue(
      `flagger_canary_metric_analysis{name="${name}",${sel},metric="request-success-rate"}`,
      99.5,
    );

    metrics.observeStatus({ namespace, name, phase: 'Succeeded', canaryWeight: 0, primaryWeight: 100 });
    metrics.observeOutcome({ namespace, name, outcome: 'Promoted', strategy: 'canary', durationSeconds: 75 });
    await expectValue(`flagger_canary_status{name="${name}",${sel}}`, 1);
    await expectValue(`flagger_canary_weight{workload="${name}",${sel}}`, 0);
    await expectValue(`flagger_canary_weight{workload="${name}-primary",${sel}}`, 100);
    await expectValue(`flagger_canary_total{${sel}}`, 0);
    await expectValue(
      `flagger_canary_successes_total{name="${name}",${sel},deployment_strategy="canary",analysis_status="completed"}`,
      1,
    );
    const h = `${sel},name="${name}",strategy="canary",outcome="Promoted"`;
    await expectValue(`fledge_release_duration_seconds_count{${h}}`, 1);
    await expectValue(`fledge_release_duration_seconds_sum{${h}}`, 75);
    await expectValue(`fledge_release_duration_seconds_bucket{${h},le="60"}`, 0);
    await expectValue(`fledge_release_duration_seconds_bucket{${h},le="120"}`, 1);
    await expectValue(`fledge_releases_total{job="fledge-worker",outcome="Promoted"}`, 1);

    metrics.observeOutcome({
      namespace,
      name,
      outcome: 'RolledBack',
      strategy: 'canary',
      durationSeconds: 30,
    });
    await expectValue(
      `flagger_canary_failures_total{name="${name}",${sel},deployment_strategy="canary",analysis_status="completed"}`,
      1,
    );
    await expectValue(`sum(fledge_release_duration_seconds_count{${sel},name="${name}"})`, 2);
  });
});
