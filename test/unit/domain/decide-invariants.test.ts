// Property-style test: random plans, random world answers, random operator messages, stale events and
// infrastructure failures, driven through decide() with a seeded PRNG. Asserts invariants at every step.
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/domain/decide.js';
import type { Effect, Next } from '../../../src/domain/effects.js';
import type { InfraStep, OperatorAction, ReleaseEvent } from '../../../src/domain/events.js';
import { validateOperatorAction } from '../../../src/domain/operator.js';
import type { HookType, ReleasePlan, StrategyPlan } from '../../../src/domain/plan.js';
import type { ReleaseState } from '../../../src/domain/state.js';
import { initialState, maxOperatorLogEntries, phases } from '../../../src/domain/state.js';
import type { EventInput } from './scenario.js';
import { hook, makePlan, metric, T0 } from './scenario.js';

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPlan(r: () => number): ReleasePlan {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const strategies: StrategyPlan[] = [
    { kind: 'canary', weights: [10, 20, 30, 40, 50], stepWeightPromotion: 0, mirror: false },
    { kind: 'canary', weights: [5, 50], stepWeightPromotion: 30, mirror: true, mirrorWeight: 40 },
    { kind: 'canary', weights: [1, 2, 10, 80], stepWeightPromotion: 0, mirror: false },
    { kind: 'ab-testing', iterations: 1 + Math.floor(r() * 4), match: [] },
    { kind: 'blue-green', iterations: 1 + Math.floor(r() * 4), mirror: r() < 0.5 },
  ];
  const hookTypes: HookType[] = [
    'confirm-rollout',
    'pre-rollout',
    'rollout',
    'confirm-traffic-increase',
    'confirm-promotion',
    'post-rollout',
    'rollback',
  ];
  const hooks = hookTypes.filter(() => r() < 0.3).map((t, i) => hook(`h${i}-${t}`, t));
  return makePlan({
    threshold: 1 + Math.floor(r() * 4),
    intervalMs: pick([1_000, 10_000, 60_000]),
    progressDeadlineMs: pick([5_000, 60_000, 600_000]),
    skipAnalysis: r() < 0.1,
    strategy: pick(strategies),
    metrics: r() < 0.2 ? [] : [metric('sr', { min: 99 }), metric('lat', { max: 500 })],
    hooks,
    manualGates: (['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion'] as const).filter(
      () => r() < 0.2,
    ),
    onInfrastructureError: pick(['count-as-failed-check', 'hold', 'rollback'] as const),
  });
}

const actions: OperatorAction['action'][] = ['approve', 'pause', 'resume', 'promote', 'abort'];
const infraSteps: InfraStep[] = [
  'setRoutes',
  'scaleCanary',
  'notify',
  'recordEvent',
  'runAnalysis',
  'runHooks',
  'checkReadiness',
  'initialize',
  'promotePrimary',
];

function checkStateInvariants(
  plan: ReleasePlan,
  state: ReleaseState,
  effects: Effect[],
  next: Next,
  now: number,
): void {
  expect(state.primaryWeight + state.canaryWeight).toBe(100);
  for (const w of [state.primaryWeight, state.canaryWeight]) {
    expect(w).toBeGreaterThanOrEqual(0);
    expect(w).toBeLessThanOrEqual(100);
  }
  if (state.mirror !== null) {
    expect(state.mirror).toBeGreaterThanOrEqual(0);
    expect(state.mirror).toBeLessThanOrEqual(100);
  }
  for (const e of effects) {
    if (e.type !== 'setRoutes') continue;
    expect(e.primaryWeight + e.canaryWeight).toBe(100);
    expect(Math.min(e.primaryWeight, e.canaryWeight)).toBeGreaterThanOrEqual(0);
  }
  expect(state.failedChecks).toBeLessThanOrEqual(Math.max(1, plan.threshold));
  expect(phases).toContain(state.phase);
  expect(state.operatorLog.length).toBeLessThanOrEqual(maxOperatorLogEntries);
  if (next.type === 'wait') {
    expect(next.ms).toBeGreaterThan(0);
    expect(next.until).toBe(now + next.ms);
  }
  if (next.type === 'done') {
    expect(state.cursor.kind).toBe('done');
    expect(state.result).toEqual(next.result);
    expect(['Succeeded', 'Failed', 'Terminated']).toContain(state.phase);
  }
  expect(JSON.parse(JSON.stringify(state))).toEqual(state);
}

function respond(plan: ReleasePlan, state: ReleaseState, next: Next, r: () => number): EventInput | null {
  switch (next.type) {
    case 'initialize':
      return { type: 'initialized' };
    case 'checkReadiness':
      return { type: 'readiness', workload: next.workload, ready: r() < 0.7, message: 'replicas' };
    case 'runHooks':
      return {
        type: 'hooks',
        hookType: next.hookType,
        results: plan.hooks
          .filter((h) => h.type === next.hookType)
          .map((h) => ({
            name: h.name,
            ok: r() < (next.hookType === 'rollback' ? 0.05 : 0.75),
            message: 'm',
          })),
      };
    case 'runAnalysis':
      return {
        type: 'analysis',
        hooks: plan.hooks
          .filter((h) => h.type === 'rollout')
          .map((h) => ({ name: h.name, ok: r() < 0.9, message: 'm' })),
        metrics: plan.metrics.map((m) => {
          const x = r();
          if (x < 0.05) return { name: m.name, value: null, error: 'infrastructure' as const };
          if (x < 0.08) return { name: m.name, value: null };
          return { name: m.name, value: x < 0.2 ? 50 : (m.thresholdRange.min ?? m.thresholdRange.max ?? 0) };
        }),
      };
    case 'promotePrimary':
      return { type: 'promoted' };
    case 'wait':
      return { type: 'timer' };
    case 'waitForOperator':
      return null;
    case 'done':
      return null;
  }
  void state;
}

function runOne(seed: number): { steps: number; outcome: string } {
  const r = prng(seed);
  const plan = randomPlan(r);
  let state = initialState(plan, T0);
  let now = T0;
  let out = decide(plan, state, { type: 'started', now });
  checkStateInvariants(plan, out.state, out.effects, out.next, now);
  state = out.state;
  for (let step = 0; step < 5_000; step++) {
    const wasDone = out.next.type === 'done';
    // effects: occasionally fail one
    let failedEffect: InfraStep | null = null;
    for (const e of out.effects) {
      if ((e.type === 'setRoutes' || e.type === 'scaleCanary') && r() < 0.03) {
        failedEffect = e.type;
        break;
      }
    }
    if (wasDone && failedEffect === null) {
      // Terminal: every further event changes nothing and produces no effects.
      const after = decide(plan, state, {
        type: 'operator',
        action: 'abort',
        actor: 'x',
        reason: 'y',
        now: now + 1,
      });
      expect(after.effects).toEqual([]);
      expect(after.state).toBe(state);
      expect(after.next).toEqual(out.next);
      for (const action of actions)
        expect(validateOperatorAction(plan, state, { action, actor: 'x', reason: '' }).ok).toBe(false);
      return { steps: step, outcome: out.next.type === 'done' ? out.next.result.outcome : '?' };
    }
    let event: EventInput | null;
    const x = r();
    if (failedEffect !== null) event = { type: 'infraError', step: failedEffect, message: 'boom' };
    else if (x < 0.08 || out.next.type === 'waitForOperator') {
      // abort and promote end or shorten the run: keep them rarer so runs go deep
      const random = (): OperatorAction['action'] =>
        r() < 0.15
          ? actions[Math.floor(r() * actions.length)]!
          : (['approve', 'pause', 'resume'] as const)[Math.floor(r() * 3)]!;
      const action =
        out.next.type === 'waitForOperator' && r() < 0.7
          ? state.paused !== null
            ? 'resume'
            : 'approve'
          : random();
      event = { type: 'operator', action, actor: r() < 0.05 ? '' : 'op', reason: 'random' };
    } else if (x < 0.085) event = { type: 'superseded', by: 'newer' };
    else if (x < 0.09) event = { type: 'cancelled' };
    else if (x < 0.12)
      event = {
        type: 'infraError',
        step: infraSteps[Math.floor(r() * infraSteps.length)]!,
        message: 'flaky',
      };
    else if (x < 0.14)
      event = respond(plan, state, { type: 'runAnalysis', phase: 'Progressing' }, r) ?? { type: 'timer' }; // stale/unexpected
    else if (x < 0.15) event = { type: 'promoted' };
    else event = respond(plan, state, out.next, r);
    if (event === null) event = { type: 'timer' };
    if (out.next.type === 'wait' && event.type === 'timer') now = out.next.until;
    else now += Math.floor(r() * 3_000);
    const before = state;
    const snapshot = JSON.stringify(before);
    out = decide(plan, state, { ...event, now } as ReleaseEvent);
    expect(JSON.stringify(before)).toBe(snapshot); // input never mutated
    checkStateInvariants(plan, out.state, out.effects, out.next, now);
    // Paused and staying paused: nothing moves, nothing is counted.
    if (before.paused !== null && out.state.paused !== null) {
      expect(out.state.failedChecks).toBe(before.failedChecks);
      expect(out.state.canaryWeight).toBe(before.canaryWeight);
      expect(out.effects.filter((e) => e.type === 'setRoutes' || e.type === 'scaleCanary')).toEqual([]);
    }
    expect(out.state.failedChecks).toBeGreaterThanOrEqual(before.failedChecks);
    state = out.state;
  }
  throw new Error(`seed ${seed}: release did not finish (phase ${state.phase}, next ${out.next.type})`);
}

describe('invariants under random event sequences', () => {
  it('hold for 400 seeded random releases, and every release terminates', () => {
    const outcomes = new Map<string, number>();
    for (let seed = 1; seed <= 400; seed++) {
      const { outcome } = runOne(seed);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // the generator explores the whole outcome space
    expect([...outcomes.keys()].sort()).toEqual([
      'Aborted',
      'Failed',
      'Promoted',
      'RolledBack',
      'Superseded',
    ]);
  }, 60_000); // CPU-bound (400 releases): allow for a loaded 2-core CI machine
});
