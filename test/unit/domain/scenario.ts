// Test helper: a tiny interpreter of decide()'s contract with a scripted world, so tables stay readable.
// It plays the workflow's role: runs effects (optionally failing some), performs `next`, feeds the resulting
// event back, and records everything.
import { decide } from '../../../src/domain/decide.js';
import type { Effect, Next } from '../../../src/domain/effects.js';
import type {
  HookResult,
  InfraStep,
  MetricResult,
  OperatorAction,
  ReleaseEvent,
} from '../../../src/domain/events.js';
import type { HookPlan, HookType, MetricPlan, ReleasePlan, StrategyPlan } from '../../../src/domain/plan.js';
import type { ReleaseResult } from '../../../src/domain/result.js';
import type { Phase, ReleaseState, Workload } from '../../../src/domain/state.js';
import { initialState } from '../../../src/domain/state.js';

export const T0 = 1_700_000_000_000;

export function metric(name: string, thresholdRange: MetricPlan['thresholdRange']): MetricPlan {
  return {
    name,
    source: { kind: 'inline', query: `q_${name}` },
    interval: '1m',
    thresholdRange,
    templateVariables: {},
  };
}

export function hook(name: string, type: HookType): HookPlan {
  return {
    name,
    type,
    url: `http://hooks/${name}`,
    timeoutMs: 10_000,
    retries: 0,
    muteAlert: false,
    metadata: {},
  };
}

export const canary = (
  weights: number[],
  extra: Partial<Extract<StrategyPlan, { kind: 'canary' }>> = {},
): StrategyPlan => ({
  kind: 'canary',
  weights,
  stepWeightPromotion: 0,
  mirror: false,
  ...extra,
});

export function makePlan(overrides: Partial<ReleasePlan> = {}): ReleasePlan {
  return {
    target: { kind: 'Deployment', name: 'podinfo', namespace: 'test' },
    images: { podinfod: 'ghcr.io/stefanprodan/podinfo:6.5.1' },
    provider: 'istio',
    intervalMs: 60_000,
    interval: '1m',
    threshold: 2,
    progressDeadlineMs: 600_000,
    skipAnalysis: false,
    primaryReadyThreshold: 100,
    canaryReadyThreshold: 100,
    strategy: canary([10, 20, 30]),
    metrics: [metric('request-success-rate', { min: 99 }), metric('request-duration', { max: 500 })],
    hooks: [],
    manualGates: [],
    onInfrastructureError: 'count-as-failed-check',
    ...overrides,
  };
}

/** A value that passes a threshold range (bounds are inclusive). */
export function passingValue(m: MetricPlan): number {
  return m.thresholdRange.min ?? m.thresholdRange.max ?? 0;
}

export interface WorldCtx {
  plan: ReleasePlan;
  state: ReleaseState;
  /** 1-based count of runAnalysis calls so far (including this one). */
  analysisCall: number;
  now: number;
}

export interface World {
  readiness?: (workload: Workload, ctx: WorldCtx) => { ready: boolean; message?: string };
  /** Results of runHooks (and of the rollout hooks inside runAnalysis when hookType is 'rollout'). */
  hooks?: (hookType: HookType, hooks: HookPlan[], ctx: WorldCtx) => HookResult[];
  /** Metrics of one runAnalysis call. Default: every metric at a passing value. */
  metrics?: (ctx: WorldCtx) => MetricResult[];
  /** Return a message when the primary Deployment is gone at this runAnalysis call. */
  primaryMissing?: (ctx: WorldCtx) => string | undefined;
  /** Return a message to make this effect fail (→ infraError). */
  failEffect?: (effect: Effect, ctx: WorldCtx) => string | undefined;
  /** Return a message to make this next fail (→ infraError). */
  failNext?: (next: Next, ctx: WorldCtx) => string | undefined;
  /** Mark every infraError as transient (a timeout/5xx/429) or permanent (403/422); absent = unmarked. */
  transient?: boolean;
  /** How long each activity (non-wait next) takes. */
  activityMs?: number;
}

export interface TraceEntry {
  event: ReleaseEvent;
  effects: Effect[];
  next: Next;
  phase: Phase;
  before: ReleaseState;
  after: ReleaseState;
}

/** A ReleaseEvent without `now` (distributive over the union). */
export type EventInput = ReleaseEvent extends infer E
  ? E extends { now: number }
    ? Omit<E, 'now'>
    : never
  : never;

export class Scenario {
  readonly plan: ReleasePlan;
  readonly world: World;
  state: ReleaseState;
  now: number;
  next: Next | null = null;
  trace: TraceEntry[] = [];
  analysisCalls = 0;
  private pendingInfra: { step: InfraStep; message: string } | null = null;

  constructor(plan: ReleasePlan, world: World = {}, startAt = T0) {
    this.plan = plan;
    this.world = world;
    this.now = startAt;
    this.state = initialState(plan, startAt);
  }

  private transience(): { transient?: boolean } {
    return this.world.transient === undefined ? {} : { transient: this.world.transient };
  }

  private ctx(): WorldCtx {
    return { plan: this.plan, state: this.state, analysisCall: this.analysisCalls, now: this.now };
  }

  /** Deliver an event now; run the effects like the workflow would. */
  feed(input: EventInput): TraceEntry {
    const event = { ...input, now: this.now } as ReleaseEvent;
    const before = this.state;
    const out = decide(this.plan, this.state, event);
    this.state = out.state;
    this.next = out.next;
    this.pendingInfra = null;
    for (const effect of out.effects) {
      const failure = this.world.failEffect?.(effect, this.ctx());
      if (failure !== undefined) {
        this.pendingInfra = { step: effect.type, message: failure };
        break;
      }
    }
    const entry: TraceEntry = {
      event,
      effects: out.effects,
      next: out.next,
      phase: out.state.phase,
      before,
      after: out.state,
    };
    this.trace.push(entry);
    return entry;
  }

  start(): TraceEntry {
    return this.feed({ type: 'started' });
  }

  /** Done per the contract: `done` returned and every effect of its batch succeeded. */
  get done(): boolean {
    return this.next?.type === 'done' && this.pendingInfra === null;
  }

  get result(): ReleaseResult {
    if (this.next?.type !== 'done' || this.pendingInfra !== null)
      throw new Error(`not done: next is ${this.next?.type ?? 'none'} in ${this.state.phase}`);
    return this.next.result;
  }

  /** Perform the current `next` and feed its result. */
  step(): TraceEntry {
    const next = this.next;
    if (next === null) return this.start();
    if (this.pendingInfra !== null) {
      const infra = this.pendingInfra;
      return this.feed({
        type: 'infraError',
        step: infra.step,
        message: infra.message,
        ...this.transience(),
      });
    }
    if (next.type !== 'wait' && next.type !== 'waitForOperator' && next.type !== 'done') {
      const failure = this.world.failNext?.(next, this.ctx());
      this.now += this.world.activityMs ?? 0;
      if (failure !== undefined)
        return this.feed({ type: 'infraError', step: next.type, message: failure, ...this.transience() });
    }
    switch (next.type) {
      case 'initialize':
        return this.feed({ type: 'initialized' });
      case 'checkReadiness': {
        const r = this.world.readiness?.(next.workload, this.ctx()) ?? { ready: true };
        return this.feed({
          type: 'readiness',
          workload: next.workload,
          ready: r.ready,
          message: r.message ?? (r.ready ? 'ready' : 'not ready'),
        });
      }
      case 'runHooks': {
        const hooks = this.plan.hooks.filter((h) => h.type === next.hookType);
        const results =
          this.world.hooks?.(next.hookType, hooks, this.ctx()) ??
          hooks.map((h) => ({ name: h.name, ok: true, status: 200, message: 'ok' }));
        return this.feed({ type: 'hooks', hookType: next.hookType, results });
      }
      case 'runAnalysis': {
        this.analysisCalls += 1;
        const rollout = this.plan.hooks.filter((h) => h.type === 'rollout');
        const hooks =
          this.world.hooks?.('rollout', rollout, this.ctx()) ??
          rollout.map((h) => ({ name: h.name, ok: true, status: 200, message: 'ok' }));
        const metrics =
          this.world.metrics?.(this.ctx()) ??
          this.plan.metrics.map((m) => ({ name: m.name, value: passingValue(m) }));
        const primaryMissing = this.world.primaryMissing?.(this.ctx());
        return this.feed({ type: 'analysis', hooks, metrics, ...(primaryMissing ? { primaryMissing } : {}) });
      }
      case 'promotePrimary':
        return this.feed({ type: 'promoted' });
      case 'wait':
        this.now = next.until;
        return this.feed({ type: 'timer' });
      case 'waitForOperator':
        throw new Error(`blocked waiting for an operator (${next.reason}) in ${this.state.phase}`);
      case 'done':
        throw new Error('already done');
    }
  }

  /** Step until the predicate holds (checked before each step) or the release is done. */
  runUntil(pred: (s: Scenario) => boolean, maxSteps = 1000): this {
    for (let i = 0; i < maxSteps; i++) {
      if (pred(this)) return this;
      if (this.done)
        throw new Error(
          `done (${this.result.outcome}: ${this.result.reason.message}) before the condition held`,
        );
      this.step();
    }
    throw new Error(
      `condition not reached in ${maxSteps} steps (phase ${this.state.phase}, next ${this.next?.type})`,
    );
  }

  /** Run to completion; operator waits throw. */
  run(maxSteps = 2000): ReleaseResult {
    for (let i = 0; i < maxSteps && !this.done; i++) this.step();
    return this.result;
  }

  operator(action: OperatorAction['action'], extra: Partial<OperatorAction> = {}): TraceEntry {
    return this.feed({
      type: 'operator',
      action,
      actor: extra.actor ?? 'alice',
      reason: extra.reason ?? 'testing',
      ...(extra.gate !== undefined ? { gate: extra.gate } : {}),
    });
  }

  /** Advance the clock without delivering anything (e.g. the operator acts mid-wait). */
  elapse(ms: number): this {
    this.now += ms;
    return this;
  }

  get effects(): Effect[] {
    return this.trace.flatMap((t) => t.effects);
  }

  routes(): Array<Extract<Effect, { type: 'setRoutes' }>> {
    return this.effects.filter((e): e is Extract<Effect, { type: 'setRoutes' }> => e.type === 'setRoutes');
  }

  /** Canary weights written, in order, as "primary/canary[/mirror][+ab]" strings. */
  routeLog(): string[] {
    return this.routes().map(
      (r) =>
        `${r.primaryWeight}/${r.canaryWeight}${r.mirrorPercent !== null ? `/m${r.mirrorPercent}` : ''}${r.abMatch ? '+ab' : ''}`,
    );
  }

  notifications(): Array<Extract<Effect, { type: 'notify' }>> {
    return this.effects.filter((e): e is Extract<Effect, { type: 'notify' }> => e.type === 'notify');
  }

  nexts(): Next[] {
    return this.trace.map((t) => t.next);
  }

  phases(): Phase[] {
    const out: Phase[] = [];
    for (const t of this.trace) if (out[out.length - 1] !== t.phase) out.push(t.phase);
    return out;
  }
}

/** Metric results where the named metric has `value` and the others pass. */
export function metricsWith(
  plan: ReleasePlan,
  overrides: Record<string, Partial<MetricResult>>,
): MetricResult[] {
  return plan.metrics.map((m) => ({ name: m.name, value: passingValue(m), ...overrides[m.name] }));
}
