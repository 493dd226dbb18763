// deploy/grafana/fledge-dashboard.json against reality: its structure (unique panel ids, a datasource and
// targets everywhere, every variable defined), the names and labels its queries select (exported by the
// worker's registry or the mesh simulator — nothing invented), and EVERY expression sent to the REAL local
// Prometheus with concrete variable values. The worker metrics are served on the stack's workerMetrics port
// (scraped every second), so the release panels must also return data, not merely parse.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../src/dev/mesh-sim/metrics.js';
import { projectRoot } from '../../src/dev/stack/config.js';
import {
  createReleaseMetrics,
  startMetricsServer,
  type ReleaseMetrics,
} from '../../src/observability/release-metrics.js';
import { flaggerCluster, simulator, virtualService, weighted } from '../unit/mesh-sim/fixtures.js';
import { eventually, stack } from '../support/stack.js';

// ---- the dashboard's JSON model (the parts checked here) -----------------------------------------------

interface DataSourceRef {
  type?: string;
  uid?: string;
}
interface Target {
  refId?: string;
  expr?: string;
  datasource?: DataSourceRef;
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: DataSourceRef;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: DataSourceRef;
}
interface Dashboard {
  title?: string;
  uid?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

const dashboard = JSON.parse(
  readFileSync(join(projectRoot, 'deploy', 'grafana', 'fledge-dashboard.json'), 'utf8'),
) as Dashboard;
const panels: Panel[] = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const variables = dashboard.templating?.list ?? [];
const variableQuery = (v: Variable): string =>
  typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
const exprs: Array<{ where: string; expr: string }> = panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ where: `panel ${p.id} "${p.title}" ${t.refId}`, expr: t.expr ?? '' })),
);
const builtins = ['__range', '__rate_interval', '__interval'];
const DS = '${DS_PROMETHEUS}';

// ---- concrete values: one unique release per run -------------------------------------------------------

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const values: Record<string, string> = {
  namespace: `gd-${run}`,
  target: `podinfo-${run}`,
  __range: '1h',
  __rate_interval: '1m',
  __interval: '15s',
};

/** Grafana-style substitution of $var and ${var}; an unknown variable is an error. */
function substitute(expr: string): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const v = values[name];
    if (v === undefined) throw new Error(`unknown variable $${name} in ${expr}`);
    return v;
  });
}

/** `label_values(selector, label)` (Grafana's Prometheus variable function) as PromQL. */
function labelValuesAsPromQL(q: string): { expr: string; label: string } {
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q.trim());
  if (!m) throw new Error(`not a label_values() query: ${q}`);
  return { expr: `count by (${m[2]}) (${m[1]})`, label: m[2] as string };
}

// ---- Prometheus ------------------------------------------------------------------------------------------

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}
interface PromAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: PromVector[] };
}

async function promQuery(expr: string): Promise<PromAnswer> {
  const url = new URL('/api/v1/query', stack().urls.prometheus);
  url.searchParams.set('query', expr);
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as PromAnswer;
}

async function waitFor(expr: string, expected: number): Promise<void> {
  await eventually(
    `${expr} == ${expected}`,
    async () => {
      const a = await promQuery(expr);
      const v = a.data?.result[0]?.value[1];
      return a.data?.result.length === 1 && Number(v) === expected ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

// ---- the names and labels that exist ---------------------------------------------------------------------

/** metric (sample) name -> label names, from a text exposition; families from its TYPE lines. */
function inventory(text: string, into: Map<string, Set<string>>): void {
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    const names = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    for (const n of names) if (!into.has(n)) into.set(n, new Set());
  }
  const samples = parsePrometheusText(
    text
      .split('\n')
      .filter((l) => l.startsWith('#') || !/\bNan$/.test(l)) // prom-client writes NaN as `Nan`
      .join('\n'),
  );
  for (const s of samples) {
    const labels = into.get(s.name) ?? new Set<string>();
    for (const l of Object.keys(s.labels)) labels.add(l);
    into.set(s.name, labels);
  }
}

/** Every observe* call with data, so every family of the release registry has samples (and label sets). */
function observeEverything(m: ReleaseMetrics, namespace: string, name: string): void {
  m.observeStatus({ namespace, name, phase: 'Progressing', canaryWeight: 20, primaryWeight: 80 });
  m.observeMetric({ namespace, name, metric: 'request-success-rate', value: 99.2 });
  m.observeMetric({ namespace, name, metric: 'request-duration', value: 250 });
  m.observeOutcome({ namespace, name, outcome: 'Promoted', strategy: 'canary', durationSeconds: 100 });
  m.observeOutcome({ namespace, name, outcome: 'RolledBack', strategy: 'canary', durationSeconds: 40 });
}

describe('Grafana dashboard: structure', () => {
  it('is a Grafana 10+ dashboard with a title and uid', () => {
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(38);
    expect(panels.length).toBeGreaterThan(0);
  });

  it('has the datasource variable and the namespace/target query variables', () => {
    const byName = new Map(variables.map((v) => [v.name, v]));
    expect(byName.get('DS_PROMETHEUS')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['namespace', 'target']) {
      const v = byName.get(name);
      expect(v?.type, name).toBe('query');
      expect(v?.datasource?.uid, name).toBe(DS);
      expect(variableQuery(v as Variable), name).toMatch(/^label_values\(/);
    }
  });

  it('gives every panel a unique id, the templated datasource, a place, and targets with PromQL', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      const where = `panel ${p.id} "${p.title}"`;
      expect(Number.isInteger(p.id), where).toBe(true);
      expect(p.datasource, where).toEqual({ type: 'prometheus', uid: DS });
      expect(p.gridPos, where).toBeDefined();
      expect(p.targets?.length, where).toBeGreaterThan(0);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, where).toBe(refIds.length);
      for (const t of p.targets ?? []) {
        expect(t.datasource, `${where} ${t.refId}`).toEqual({ type: 'prometheus', uid: DS });
        expect(t.expr?.trim(), `${where} ${t.refId}`).toBeTruthy();
      }
    }
  });

  it('lays panels out without overlaps within the 24-column grid', () => {
    const boxes = panels.map((p) => ({ id: p.id, ...(p.gridPos as NonNullable<Panel['gridPos']>) }));
    for (const b of boxes) expect(b.x + b.w, `panel ${b.id}`).toBeLessThanOrEqual(24);
    for (const a of boxes) {
      for (const b of boxes) {
        if (a.id === b.id) continue;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `panels ${a.id} and ${b.id} overlap`).toBe(false);
      }
    }
  });

  it('uses only defined variables', () => {
    const defined = new Set([...variables.map((v) => v.name), ...builtins]);
    const texts = [
      ...exprs.map((e) => e.expr),
      ...variables.map(variableQuery),
      ...panels.map((p) => p.title ?? ''),
    ];
    for (const text of texts) {
      for (const m of text.matchAll(/\$\{(\w+)\}|\$(\w+)/g)) {
        expect(defined.has(m[1] ?? m[2] ?? ''), `${m[0]} in ${text}`).toBe(true);
      }
    }
  });
});

describe('Grafana dashboard: against the real Prometheus', () => {
  let close: (() => Promise<void>) | undefined;
  /** sample name -> label names, for everything the worker and the mesh simulator export. */
  const known = new Map<string, Set<string>>();

  beforeAll(async () => {
    // What exists: the release registry (every family observed) and the mesh simulator's Istio metrics
    // (an in-process simulation for the label sets; the running simulator must export the same families).
    const probe = createReleaseMetrics();
    observeEverything(probe.metrics, 'probe', 'probe');
    inventory(await probe.registry.metrics(), known);
    const sim = simulator(
      flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(90, 10)])] }),
    );
    const flow = sim.currentWorld().flows[0];
    if (!flow) throw new Error('the simulated cluster has no traffic flow');
    sim.simulate(flow, 200, 0);
    inventory(sim.renderMetrics(), known);
    const live = await (await fetch(new URL('/metrics', stack().urls.meshSim))).text();
    for (const family of ['istio_requests_total', 'istio_request_duration_milliseconds']) {
      expect(live, `the running mesh simulator exports ${family}`).toContain(`# TYPE ${family} `);
    }

    // Real data for this run's namespace/target, in two scrapes, so increase() over counters has two points.
    const { metrics, registry } = createReleaseMetrics();
    const port = stack().ports.workerMetrics;
    const server = await startMetricsServer({ port, host: '127.0.0.1', registry }).catch((err: unknown) => {
      throw new Error(
        `cannot listen on the stack's workerMetrics port ${port} (a worker running?): ${String(err)}`,
      );
    });
    close = server.close;
    const ns = `namespace="${values.namespace}"`;
    for (const round of [1, 2]) {
      observeEverything(metrics, values.namespace as string, values.target as string);
      await waitFor(`sum(flagger_canary_failures_total{${ns}})`, round);
      await waitFor(`sum(fledge_release_duration_seconds_count{${ns}})`, 2 * round);
    }
  });

  afterAll(async () => {
    await close?.();
  });

  it('selects only metric names and labels that are exported', () => {
    const scrapeLabels = ['job', 'instance'];
    for (const { where, expr } of exprs) {
      for (const m of expr.matchAll(/\b((?:flagger|fledge|istio)_[a-zA-Z0-9_:]*)/g)) {
        expect(known.has(m[1] as string), `${where}: ${m[1]} is not exported`).toBe(true);
      }
      for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
        const [, name, matchers] = m as unknown as [string, string, string];
        const labels = known.get(name);
        expect(labels, `${where}: ${name}`).toBeDefined();
        for (const lm of matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
          const label = lm[1] as string;
          expect(
            labels?.has(label) || scrapeLabels.includes(label),
            `${where}: ${name} has no label ${label}`,
          ).toBe(true);
        }
      }
    }
  });

  it('answers every panel expression, and the release panels with data', async () => {
    expect(exprs.length).toBeGreaterThan(10);
    for (const { where, expr } of exprs) {
      const query = substitute(expr);
      const answer = await promQuery(query);
      expect(answer.status, `${where}: ${query}: ${answer.error ?? ''}`).toBe('success');
      // Istio series for this made-up target do not exist; everything else was observed above.
      if (!/\bistio_/.test(expr)) {
        expect(answer.data?.result.length ?? 0, `${where}: ${query} returned no data`).toBeGreaterThan(0);
      }
    }
  });

  it('answers the variable queries with this run namespace and target', async () => {
    for (const v of variables.filter((x) => x.type === 'query')) {
      const { expr, label } = labelValuesAsPromQL(variableQuery(v));
      const answer = await promQuery(substitute(expr));
      expect(answer.status, `${v.name}: ${answer.error ?? ''}`).toBe('success');
      const got = (answer.data?.result ?? []).map((r) => r.metric[label]);
      expect(got, v.name).toContain(values[v.name]);
    }
  });
});
