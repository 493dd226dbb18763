// Property-style test: random plans, random world answers, random operator messages, stale events and
// infrastructure failures, driven through decide() with a seeded PRNG. Asserts invariants at every step.
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/domain/decide.js';
import type { Effect, Next } from '../../../src/domain/effects.js';
import type { InfraStep, OperatorAction, ReleaseEvent } from '../../../src/domain/events.js';
import { validateOperatorAction } from '../../../src/domain/operator.js';
import type { ReleasePlan } from '../../../src/domain/plan.js';
import type { ReleaseState } from '../../../src/domain/state.js';
import { initialState, maxOperatorLogEntries, phases } from '../../../src/domain/state.js';
import type { EventInput } from './scenario.js';
import { T0 } from './scenario.js';
import { actions, infraSteps, prng, randomPlan, respond } from './random-release.js';

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
