// The worker's Prometheus metrics: Flagger's metric names and semantics (so existing Flagger dashboards and
// alerts keep working) plus Fledge's own true end-to-end release duration, served on GET /metrics.
//
// PER REPLICA: each worker replica exports only what ITS activities observed. Activities of one release may
// run on different replicas, so aggregate in queries — `max by (namespace, name)` (or `workload`) for the
// status / weight / analysis gauges, `sum` for the counters, `sum by (le, …)` before `histogram_quantile`.
// With several replicas a gauge can be stale on a replica that no longer runs the release's activities.
//
// Flagger facts (pkg/metrics/recorder.go and pkg/controller/scheduler.go, read for semantics only):
// - flagger_canary_status{name,namespace}: Flagger's SetStatus maps Progressing → 0, Failed → 2 and EVERY
//   other phase → 1 (including Waiting, WaitingPromotion, Promoting and Finalising). Replicated exactly.
// - flagger_canary_weight{workload,namespace}: two series, workload="<name>-primary" and workload="<name>"; during
//   A/B iterations 0 and 100, as Flagger reports them (matched requests all go to the canary).
// - flagger_canary_total{namespace}: Flagger counts Canary objects per namespace; Fledge has no controller
//   objects, so it counts the releases currently running (seen started, not yet ended) on this replica.
// - flagger_canary_successes_total / flagger_canary_failures_total{name,namespace,deployment_strategy,
//   analysis_status}: analysis_status is "completed", or "skipped" for a success with skipAnalysis.
//   Successes = promotions; failures = rollbacks (Fledge: RolledBack, Aborted, Failed). A superseded
//   release counts in neither (Flagger restarts the analysis on a new revision without counting).
// - flagger_canary_metric_analysis{name,namespace,metric}: the last value of each analysis metric.
// - flagger_canary_duration_seconds{name,namespace}: Flagger's histogram (default buckets) of the time ONE
//   analysis tick took (rollout webhooks + metric queries, measured by the runAnalysis activity) — not the release.
// `name` is the target Deployment's name (Flagger's spec.targetRef.name), as in Flagger.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Outcome } from '../domain/result.js';
import type { Phase } from '../domain/state.js';
import { reportedWeights } from '../domain/status.js';

/** Fledge's phases (Flagger's names), from the decision core. */
export type ReleasePhaseName = Phase;

export interface ReleaseMetrics {
  /**
   * Called whenever the release's status changes (phase, weights). `abMatch`: an A/B match route is active — the
   * canary gets every matched request, reported as Flagger does (canary 100, primary 0; `reportedWeights`).
   */
  observeStatus(s: {
    namespace: string;
    name: string;
    phase: Phase;
    canaryWeight: number;
    primaryWeight: number;
    abMatch?: boolean;
  }): void;
  /** Called after each analysis with each metric's value (null = no value / error: the series is removed). */
  observeMetric(s: { namespace: string; name: string; metric: string; value: number | null }): void;
  /**
   * Called once when a release ends. `analysisSkipped` (optional, default false): promoted under
   * `skipAnalysis` — Flagger's analysis_status="skipped".
   */
  observeOutcome(s: {
    namespace: string;
    name: string;
    outcome: Outcome;
    strategy: string;
    durationSeconds: number;
    analysisSkipped?: boolean;
  }): void;
  /** Optional: the time one analysis tick took (Flagger's flagger_canary_duration_seconds). */
  observeAnalysisDuration?(s: { namespace: string; name: string; seconds: number }): void;
}

/** Flagger's SetStatus: 0 Progressing, 2 Failed, 1 every other phase. */
export function flaggerStatusValue(phase: Phase): 0 | 1 | 2 {
  if (phase === 'Progressing') return 0;
  if (phase === 'Failed') return 2;
  return 1;
}

/** Release durations: 10 s … 2 h. */
export const releaseDurationBuckets: readonly number[] = [
  10, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200,
];

/** Prometheus client_golang's DefBuckets, which Flagger's flagger_canary_duration_seconds uses. */
const goDefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const endedPhases: ReadonlySet<Phase> = new Set<Phase>(['Succeeded', 'Failed', 'Terminated']);
const failureOutcomes: ReadonlySet<Outcome> = new Set<Outcome>(['RolledBack', 'Aborted', 'Failed']);
// Every outcome (a Record, so a new Outcome is a compile error here): fledge_releases_total starts at 0 for
// each, so increase()/rate() also count a worker's first release of an outcome.
const everyOutcome: Record<Outcome, true> = {
  Promoted: true,
  RolledBack: true,
  Aborted: true,
  Superseded: true,
  Failed: true,
};

/** How often the event-loop delay is sampled for the fledge_worker_nodejs_eventloop_lag_* metrics (ms). */
export const eventLoopSampleMs = 1000;

export function createReleaseMetrics(): { metrics: ReleaseMetrics; registry: Registry } {
  const registry = new Registry();
  // The event-loop delay histogram samples once a second: prom-client's default (every 10 ms) wakes the worker 100
  // times a second, which was most of an idle worker's CPU (~0.24 of 0.3 CPU s per minute, npm run bench:cost).
  // The lag metrics keep their names and meaning, sampled less often.
  collectDefaultMetrics({
    register: registry,
    prefix: 'fledge_worker_',
    eventLoopMonitoringPrecision: eventLoopSampleMs,
  });
  const registers = [registry];

  const status = new Gauge({
    name: 'flagger_canary_status',
    help: 'Last canary analysis result (0 running, 1 successful, 2 failed), as Flagger.',
    labelNames: ['name', 'namespace'] as const,
    registers,
  });
  const weight = new Gauge({
    name: 'flagger_canary_weight',
    help: 'The current traffic weight of the primary (workload=<name>-primary) and canary (workload=<name>).',
    labelNames: ['workload', 'namespace'] as const,
    registers,
  });
  const total = new Gauge({
    name: 'flagger_canary_total',
    help: 'Releases currently running per namespace (seen by this worker replica).',
    labelNames: ['namespace'] as const,
    registers,
  });
  const analysis = new Gauge({
    name: 'flagger_canary_metric_analysis',
    help: 'Last canary analysis result per metric.',
    labelNames: ['name', 'namespace', 'metric'] as const,
    registers,
  });
  const outcomeLabels = ['name', 'namespace', 'deployment_strategy', 'analysis_status'] as const;
  const successes = new Counter({
    name: 'flagger_canary_successes_total',
    help: 'Total number of canary successes (promotions).',
    labelNames: outcomeLabels,
    registers,
  });
  const failures = new Counter({
    name: 'flagger_canary_failures_total',
    help: 'Total number of canary failures (rollbacks, aborts, infrastructure failures).',
    labelNames: outcomeLabels,
    registers,
  });
  const tickDuration = new Histogram({
    name: 'flagger_canary_duration_seconds',
    help: 'Seconds spent performing one canary analysis tick, as Flagger.',
    labelNames: ['name', 'namespace'] as const,
    buckets: goDefaultBuckets,
    registers,
  });
  const releaseDuration = new Histogram({
    name: 'fledge_release_duration_seconds',
    help: 'End-to-end duration of a release, from its start to its outcome.',
    labelNames: ['namespace', 'name', 'strategy', 'outcome'] as const,
    buckets: [...releaseDurationBuckets],
    registers,
  });
  const releases = new Counter({
    name: 'fledge_releases_total',
    help: 'Releases ended, by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });

  for (const outcome of Object.keys(everyOutcome) as Outcome[]) releases.inc({ outcome }, 0);

  // Releases running on this replica, per namespace: namespace -> target names.
  const running = new Map<string, Set<string>>();
  const setRunning = (namespace: string, name: string, on: boolean): void => {
    const names = running.get(namespace) ?? new Set<string>();
    if (on) names.add(name);
    else names.delete(name);
    running.set(namespace, names);
    total.set({ namespace }, names.size);
  };

  const metrics: ReleaseMetrics = {
    observeStatus({ namespace, name, phase, abMatch = false, ...routes }) {
      const { primary: primaryWeight, canary: canaryWeight } = reportedWeights(
        routes.primaryWeight,
        routes.canaryWeight,
        abMatch,
      );
      status.set({ name, namespace }, flaggerStatusValue(phase));
      if (Number.isFinite(primaryWeight))
        weight.set({ workload: `${name}-primary`, namespace }, primaryWeight);
      if (Number.isFinite(canaryWeight)) weight.set({ workload: name, namespace }, canaryWeight);
      setRunning(namespace, name, !endedPhases.has(phase));
    },
    observeMetric({ namespace, name, metric, value }) {
      // No value: drop the series rather than keep a stale number (Flagger keeps the last one).
      if (value === null || !Number.isFinite(value)) analysis.remove({ name, namespace, metric });
      else analysis.set({ name, namespace, metric }, value);
    },
    observeOutcome({ namespace, name, outcome, strategy, durationSeconds, analysisSkipped = false }) {
      const labels = {
        name,
        namespace,
        deployment_strategy: strategy,
        analysis_status: analysisSkipped ? 'skipped' : 'completed',
      };
      if (outcome === 'Promoted') successes.inc(labels);
      else if (failureOutcomes.has(outcome)) failures.inc(labels);
      releases.inc({ outcome });
      if (Number.isFinite(durationSeconds)) {
        releaseDuration.observe({ namespace, name, strategy, outcome }, Math.max(0, durationSeconds));
      }
      setRunning(namespace, name, false);
    },
    observeAnalysisDuration({ namespace, name, seconds }) {
      if (Number.isFinite(seconds)) tickDuration.observe({ name, namespace }, Math.max(0, seconds));
    },
  };
  return { metrics, registry };
}

/** FLEDGE_METRICS_PORT (default 9464; `off` disables; 0 = any free port) and FLEDGE_METRICS_HOST (default 0.0.0.0). */
export function metricsListenFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): { port: number; host: string } | null {
  const raw = (env.FLEDGE_METRICS_PORT ?? '').trim();
  if (raw.toLowerCase() === 'off') return null;
  const port = raw === '' ? 9464 : Number(raw);
  if (!/^\d*$/.test(raw) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`FLEDGE_METRICS_PORT=${raw} is not a port (0-65535) or "off"`);
  }
  const host = (env.FLEDGE_METRICS_HOST ?? '').trim() || '0.0.0.0';
  return { port, host };
}

/**
 * Serves GET /metrics (the registry, in its content type) and GET /healthz; 404 for other paths, 405 for
 * other methods. Port 0 picks a free port. Resolves once listening, with the /metrics URL (a wildcard host
 * is reported as loopback); close() stops it, dropping open keep-alive connections.
 */
export function startMetricsServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
}): Promise<{ url: string; close(): Promise<void> }> {
  const { registry } = opts;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics' && path !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  const host = opts.host ?? '0.0.0.0';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
      const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/metrics`;
      resolve({
        url,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
