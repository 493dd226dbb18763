// The Strategy interface on its own (src/domain/decision/strategies): what each strategy answers to the lifecycle's
// questions — its step, the Move it asks for, the routes it writes — from a given state. The decide() tables test
// the same behaviour end to end; these pin down which strategy owns which branch.
import { describe, expect, it } from 'vitest';
import type { Ctx } from '../../../src/domain/decision/context.js';
import { strategyOf } from '../../../src/domain/decision/strategies/index.js';
import type { StrategyPlan } from '../../../src/domain/plan.js';
import type { ReleaseState } from '../../../src/domain/state.js';
import { initialState } from '../../../src/domain/state.js';
import { makePlan, T0 } from './scenario.js';

function ctx(strategy: StrategyPlan, state: Partial<ReleaseState> = {}): Ctx {
  const plan = makePlan({ strategy });
  return { plan, s: { ...initialState(plan, T0), ...state }, now: T0, effects: [] };
}

const routes = (c: Ctx) => c.effects.filter((e) => e.type === 'setRoutes');

describe('canary strategy', () => {
  const st: StrategyPlan = {
    kind: 'canary',
    weights: [10, 30],
    stepWeightPromotion: 20,
    mirror: true,
    mirrorWeight: 40,
  };

  it('mirrors first, then steps the weights behind confirm-traffic-increase, then asks for confirm-promotion', () => {
    const s = strategyOf({ strategy: st });
    const c = ctx(st);
    expect(s.measures(c.s)).toBe(false); // weight 0, no mirror: nothing to measure
    expect(s.advance(c)).toEqual({ to: 'gate', gate: 'confirm-traffic-increase' });
    expect(s.increaseTraffic(c)).toEqual({ to: 'next-tick' });
    expect(routes(c)).toEqual([
      { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: 40, abMatch: false },
    ]);
    expect(s.measures(c.s)).toBe(true);
    // Leaving the mirror phase takes the first weight step without asking the gate.
    expect(s.advance(c)).toEqual({ to: 'next-tick' });
    expect([c.s.canaryWeight, c.s.stepIndex, c.s.mirror]).toEqual([10, 1, null]);
    expect(s.advance(c)).toEqual({ to: 'gate', gate: 'confirm-traffic-increase' });
    expect(s.increaseTraffic(c)).toEqual({ to: 'next-tick' });
    expect(s.advance(c)).toEqual({ to: 'gate', gate: 'confirm-promotion' });
    expect(s.promotionApproved(c)).toEqual({ to: 'promote' });
    expect(s.stepsCompleted(c.s)).toBe(2);
    expect(s.progress(c.s)).toBe('step 2/2, weight 30');
    expect(s.routeBackStepWeight()).toBe(20);
  });

  it('stops mirroring, keeping the weights, when promoted while mirroring', () => {
    const c = ctx(st, { mirror: 40 });
    strategyOf({ strategy: st }).routeForPromotion(c);
    expect(routes(c)).toEqual([
      { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false },
    ]);
  });
});

describe('A/B testing strategy', () => {
  const st: StrategyPlan = { kind: 'ab-testing', iterations: 2, match: [] };

  it('switches the match route on once, counts iterations, then asks for confirm-promotion', () => {
    const s = strategyOf({ strategy: st });
    const c = ctx(st);
    expect(s.measures(c.s)).toBe(true);
    expect(s.advance(c)).toEqual({ to: 'next-tick' });
    expect(s.advance(c)).toEqual({ to: 'next-tick' });
    expect(routes(c)).toEqual([
      { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: true },
    ]);
    expect(s.advance(c)).toEqual({ to: 'gate', gate: 'confirm-promotion' });
    expect(s.promotionApproved(c)).toEqual({ to: 'promote' });
    expect([s.stepsCompleted(c.s), s.progress(c.s), s.routeBackStepWeight()]).toEqual([
      2,
      'iteration 2/2',
      0,
    ]);
    s.routeForPromotion(c); // the match route stays while the primary rolls
    expect(routes(c)).toHaveLength(1);
  });
});

describe('blue/green strategy', () => {
  const st: StrategyPlan = { kind: 'blue-green', iterations: 1, mirror: true };

  it('mirrors during its iterations, then sends all traffic to the canary for one interval before promoting', () => {
    const s = strategyOf({ strategy: st });
    const c = ctx(st, { phase: 'WaitingPromotion' });
    expect(s.advance(c)).toEqual({ to: 'next-tick' });
    expect(c.s.mirror).toBe(100);
    expect(s.advance(c)).toEqual({ to: 'gate', gate: 'confirm-promotion' });
    expect(s.promotionApproved(c)).toEqual({ to: 'next-tick' });
    expect([c.s.primaryWeight, c.s.canaryWeight, c.s.mirror, c.s.iterations, c.s.phase]).toEqual([
      0,
      100,
      null,
      2,
      'Progressing',
    ]);
    expect(s.advance(c)).toEqual({ to: 'promote' });
    expect(s.stepsCompleted(c.s)).toBe(1);
  });

  it('routes all traffic to the canary when promoted early (so no request is dropped while the primary rolls)', () => {
    const c = ctx(st, { mirror: 100 });
    strategyOf({ strategy: st }).routeForPromotion(c);
    expect(routes(c)).toEqual([
      { type: 'setRoutes', primaryWeight: 0, canaryWeight: 100, mirrorPercent: null, abMatch: false },
    ]);
  });
});
