// The simulation core: for every routed service (flow) it generates the due requests, routes each one
// through the flow's rules like the mesh would, picks a ready endpoint, applies the behaviour of the image
// that endpoint runs, and records Istio-format metrics. No I/O and no clock: time is passed in.
import { behaviourFor, defaultSimConfig, type Behaviour, type SimConfig } from './config.js';
import { Chooser } from './chooser.js';
import { serviceKey, type ServiceRef } from './hosts.js';
import {
  istioDurationBucketsMs,
  MetricsRegistry,
  type CounterFamily,
  type HistogramFamily,
  type Labels,
} from './metrics.js';
import { drawLogNormal, SeededRng } from './prng.js';
import {
  describeMatch,
  matchRequests,
  plainRequest,
  selectRule,
  type Flow,
  type SimRequest,
} from './routes.js';
import { describeFlow, emptyWorld, type World, type WorkloadRef } from './world.js';

export interface FlowStats {
  /** Requests generated for the flow (not counting mirrored copies). */
  requests: number;
  /** Requests sent by users in the match share (carrying A/B headers/cookies). */
  matched: number;
  /** No rule matched, or the chosen rule had only zero weights (Istio: 404 NR / 500, source-side only). */
  unrouted: number;
  /** The destination host is not a Service that exists (Istio: 503 NC, source-side only). */
  unresolved: number;
  mirrored: number;
}

export interface WorkloadStats {
  namespace: string;
  workload: string;
  requests: number;
  mirrored: number;
  byCode: Record<string, number>;
  byVersion: Record<string, number>;
  touchedMs: number;
}

export interface DebugView {
  sampling: string;
  requestsPerSecond: number;
  matchShare: number;
  flows: Array<{
    key: string;
    kind: string;
    namespace: string;
    name: string;
    requestsPerSecond: number;
    matchShare: number;
    description: string;
    rules: Array<{
      index: number;
      name?: string;
      matches: string[];
      destinations: Array<{
        host: string;
        service: string | null;
        weight: number;
        endpoints: number;
        workloads: string[];
      }>;
      mirrors: Array<{ host: string; service: string | null; percent: number }>;
    }>;
    matchRequests: SimRequest[];
    stats: FlowStats;
  }>;
  workloads: WorkloadStats[];
  problems: string[];
}

export interface SimulatorOptions {
  seed: number;
}

const ones = (n: number): number[] => Array.from({ length: n }, () => 1);

/** Largest time step simulated at once (a stalled event loop must not produce a burst). */
export const maxStepSeconds = 5;

export class MeshSimulator {
  readonly registry = new MetricsRegistry();
  private readonly requestsTotal: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly rng: SeededRng;
  private readonly chooser: Chooser;
  private world: World = emptyWorld();
  private config: SimConfig = defaultSimConfig;
  private readonly carry = new Map<string, number>();
  private readonly targets = new Map<string, SimRequest[]>();
  private readonly flowStats = new Map<string, FlowStats>();
  private readonly workloadStats = new Map<string, WorkloadStats>();
  private readonly behaviours = new Map<string, Behaviour>();
  private lastPruneMs: number | null = null;

  constructor(opts: SimulatorOptions) {
    this.rng = new SeededRng(opts.seed);
    this.chooser = new Chooser(defaultSimConfig.sampling, this.rng);
    this.requestsTotal = this.registry.counter(
      'istio_requests_total',
      'Total requests (simulated by fledge mesh-sim).',
    );
    this.duration = this.registry.histogram(
      'istio_request_duration_milliseconds',
      'Request duration in milliseconds (simulated by fledge mesh-sim).',
      istioDurationBucketsMs,
    );
  }

  update(world: World, config: SimConfig): void {
    if (config !== this.config) this.behaviours.clear();
    this.world = world;
    this.config = config;
    this.chooser.mode = config.sampling;
    const live = new Set(world.flows.map((f) => f.key));
    for (const map of [this.carry, this.targets, this.flowStats]) {
      for (const k of map.keys()) if (!live.has(k)) map.delete(k);
    }
    for (const f of world.flows) this.targets.set(f.key, matchRequests(f));
  }

  currentWorld(): World {
    return this.world;
  }

  rateOf(flow: Flow): { requestsPerSecond: number; matchShare: number } {
    const o = this.config.routes[`${flow.namespace}/${flow.name}`];
    return {
      requestsPerSecond: o?.requestsPerSecond ?? this.config.requestsPerSecond,
      matchShare: o?.matchShare ?? this.config.matchShare,
    };
  }

  /** Simulates the requests due in the next `dtSeconds` (evenly spread: fractions carry over). Returns how many. */
  advance(dtSeconds: number, nowMs: number): number {
    const dt = Math.min(Math.max(0, dtSeconds), maxStepSeconds);
    let total = 0;
    for (const flow of this.world.flows) {
      const due = (this.carry.get(flow.key) ?? 0) + this.rateOf(flow).requestsPerSecond * dt;
      const n = Math.floor(due + 1e-9);
      this.carry.set(flow.key, due - n);
      this.simulate(flow, n, nowMs);
      total += n;
    }
    this.maybePrune(nowMs);
    return total;
  }

  /** Sends n requests into the flow. */
  simulate(flow: Flow, n: number, nowMs: number): void {
    const { matchShare } = this.rateOf(flow);
    const targets = this.targets.get(flow.key) ?? matchRequests(flow);
    const plain = plainRequest(flow);
    const stats = this.statsOf(flow.key);
    for (let i = 0; i < n; i++) {
      stats.requests++;
      let req = plain;
      if (targets.length > 0 && this.chooser.chance(`${flow.key}|user`, matchShare)) {
        req = targets[this.chooser.pick(`${flow.key}|target`, ones(targets.length))] ?? plain;
        stats.matched++;
      }
      this.route(flow, req, stats, nowMs);
    }
  }

  private route(flow: Flow, req: SimRequest, stats: FlowStats, nowMs: number): void {
    const idx = selectRule(flow, req);
    const rule = flow.rules[idx];
    if (!rule) {
      stats.unrouted++;
      return;
    }
    const d = this.chooser.pick(
      `${flow.key}|${idx}|split`,
      rule.destinations.map((x) => x.weight),
    );
    const dest = rule.destinations[d];
    if (!dest) stats.unrouted++;
    else if (!this.serve(dest.service, false, nowMs)) stats.unresolved++;
    rule.mirrors.forEach((m, j) => {
      if (this.chooser.chance(`${flow.key}|${idx}|mirror|${j}`, m.percent / 100)) {
        stats.mirrored++;
        if (!this.serve(m.service, true, nowMs)) stats.unresolved++;
      }
    });
  }

  private behaviourOf(image: string): Behaviour {
    let b = this.behaviours.get(image);
    if (!b) {
      b = behaviourFor(image, this.config);
      this.behaviours.set(image, b);
    }
    return b;
  }

  /** One request at a Service; false if the Service does not exist. */
  private serve(ref: ServiceRef | null, mirrored: boolean, nowMs: number): boolean {
    if (!ref) return false;
    const info = this.world.services.get(serviceKey(ref));
    if (!info) return false;
    const svc = { fqdn: info.fqdn, name: ref.name, namespace: ref.namespace };
    if (info.endpoints.length === 0) {
      // No ready replica. Real Istio answers 503 (flag UH) from the client sidecar and reports it with
      // reporter="source" only; the simulator records it with reporter="destination" against the workload
      // the Service selects, so Flagger's destination-side success-rate query sees the outage.
      this.record(svc, info.fallback, 503, 'UH', 1, mirrored, nowMs);
      return true;
    }
    const ep =
      info.endpoints[this.chooser.pick(`svc|${serviceKey(ref)}`, ones(info.endpoints.length))] ??
      info.endpoints[0];
    if (!ep) return true;
    const b = this.behaviourOf(ep.image);
    const failed = this.chooser.chance(`err|${ep.namespace}/${ep.workload}|${ep.image}`, b.errorRate);
    const latency = drawLogNormal(this.rng, b.latencyMs.p50, b.latencyMs.p99);
    this.record(svc, ep, failed ? b.errorCode : 200, '-', latency, mirrored, nowMs);
    return true;
  }

  private record(
    svc: { fqdn: string; name: string; namespace: string },
    w: WorkloadRef,
    code: number,
    flags: string,
    latencyMs: number,
    mirrored: boolean,
    nowMs: number,
  ): void {
    const labels: Labels = {
      reporter: 'destination',
      source_workload: 'mesh-sim',
      source_workload_namespace: this.config.sourceNamespace,
      destination_workload: w.workload,
      destination_workload_namespace: w.namespace,
      destination_service: svc.fqdn,
      destination_service_name: svc.name,
      destination_service_namespace: svc.namespace,
      destination_version: w.version,
      request_protocol: 'http',
      response_code: String(code),
      response_flags: flags,
      connection_security_policy: 'mutual_tls',
    };
    // The labels above always come in this order and only these vary: a cheap series key (no sorting, no JSON).
    const seriesKey = `${w.workload}\u0000${w.namespace}\u0000${svc.fqdn}\u0000${svc.name}\u0000${svc.namespace}\u0000${w.version}\u0000${code}\u0000${flags}\u0000${this.config.sourceNamespace}`;
    this.requestsTotal.inc(labels, 1, nowMs, seriesKey);
    this.duration.observe(labels, latencyMs, nowMs, seriesKey);
    const key = `${w.namespace}/${w.workload}`;
    const s = this.workloadStats.get(key) ?? {
      namespace: w.namespace,
      workload: w.workload,
      requests: 0,
      mirrored: 0,
      byCode: {},
      byVersion: {},
      touchedMs: nowMs,
    };
    s.requests++;
    if (mirrored) s.mirrored++;
    s.byCode[String(code)] = (s.byCode[String(code)] ?? 0) + 1;
    s.byVersion[w.version] = (s.byVersion[w.version] ?? 0) + 1;
    s.touchedMs = nowMs;
    this.workloadStats.set(key, s);
  }

  private statsOf(key: string): FlowStats {
    let s = this.flowStats.get(key);
    if (!s) {
      s = { requests: 0, matched: 0, unrouted: 0, unresolved: 0, mirrored: 0 };
      this.flowStats.set(key, s);
    }
    return s;
  }

  private maybePrune(nowMs: number): void {
    if (this.lastPruneMs === null) this.lastPruneMs = nowMs;
    if (nowMs - this.lastPruneMs < 60_000) return;
    this.lastPruneMs = nowMs;
    this.chooser.prune();
    if (this.config.seriesTtlSeconds > 0) {
      const cutoff = nowMs - this.config.seriesTtlSeconds * 1000;
      this.registry.prune(cutoff);
      for (const [k, s] of this.workloadStats) if (s.touchedMs < cutoff) this.workloadStats.delete(k);
    }
  }

  workload(namespace: string, workload: string): WorkloadStats | undefined {
    return this.workloadStats.get(`${namespace}/${workload}`);
  }

  flowStatsOf(key: string): FlowStats | undefined {
    return this.flowStats.get(key);
  }

  renderMetrics(): string {
    return this.registry.render();
  }

  debug(): DebugView {
    const w = this.world;
    return {
      sampling: this.config.sampling,
      requestsPerSecond: this.config.requestsPerSecond,
      matchShare: this.config.matchShare,
      flows: w.flows.map((f) => ({
        key: f.key,
        kind: f.kind,
        namespace: f.namespace,
        name: f.name,
        ...this.rateOf(f),
        description: describeFlow(f, w),
        rules: f.rules.map((r, index) => ({
          index,
          ...(r.name !== undefined ? { name: r.name } : {}),
          matches: r.matches.map(describeMatch),
          destinations: r.destinations.map((d) => {
            const info = d.service ? w.services.get(serviceKey(d.service)) : undefined;
            return {
              host: d.host,
              service: d.service ? serviceKey(d.service) : null,
              weight: d.weight,
              endpoints: info?.endpoints.length ?? 0,
              workloads: [...new Set(info?.endpoints.map((e) => e.workload) ?? [])],
            };
          }),
          mirrors: r.mirrors.map((m) => ({
            host: m.host,
            service: m.service ? serviceKey(m.service) : null,
            percent: m.percent,
          })),
        })),
        matchRequests: this.targets.get(f.key) ?? [],
        stats: { ...this.statsOf(f.key) },
      })),
      workloads: [...this.workloadStats.values()].sort((a, b) =>
        `${a.namespace}/${a.workload}`.localeCompare(`${b.namespace}/${b.workload}`),
      ),
      problems: w.problems,
    };
  }
}
