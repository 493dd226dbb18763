// Contract item 4: operator messages that interrupt an activity in flight (interruptsInFlight), and what the
// core does with a message delivered INSTEAD of the interrupted activity's result (which is never delivered).
import { describe, expect, it } from 'vitest';
import { interruptsInFlight } from '../../../src/domain/decide.js';
import type { OperatorAction, ReleaseEvent } from '../../../src/domain/events.js';
import { canary, hook, makePlan, metricsWith, Scenario, T0 } from './scenario.js';

const op = (action: OperatorAction['action'], extra: Partial<OperatorAction> = {}): ReleaseEvent => ({
  type: 'operator',
  now: T0,
  action,
  actor: 'oncall@acme',
  reason: 'acting now',
  ...extra,
});

/** Runs until `next` is the given activity, without performing it (it is "in flight"). */
const inFlight = (
  s: Scenario,
  type: 'initialize' | 'runHooks' | 'runAnalysis',
  hookType?: string,
): Scenario =>
  s.runUntil(
    (x) =>
      x.next?.type === type &&
      (hookType === undefined || (x.next.type === 'runHooks' && x.next.hookType === hookType)),
  );

describe('interruptsInFlight', () => {
  const plan = makePlan({
    hooks: [hook('smoke', 'pre-rollout'), hook('load', 'rollout'), hook('cleanup', 'post-rollout')],
  });

  it('abort, promote and pause interrupt an analysis; resume and invalid actions do not', () => {
    const s = inFlight(new Scenario(plan), 'runAnalysis');
    expect(s.state.phase).toBe('Progressing');
    expect(interruptsInFlight(plan, s.state, op('abort'))).toBe(true);
    expect(interruptsInFlight(plan, s.state, op('promote'))).toBe(true);
    expect(interruptsInFlight(plan, s.state, op('pause'))).toBe(true);
    expect(interruptsInFlight(plan, s.state, op('resume'))).toBe(false); // not paused: rejected
    expect(interruptsInFlight(plan, s.state, op('approve'))).toBe(false); // no gate pending: rejected
    expect(interruptsInFlight(plan, s.state, { type: 'superseded', now: T0, by: 'v2' })).toBe(true);
    expect(interruptsInFlight(plan, s.state, { type: 'timer', now: T0 })).toBe(false);
  });

  it('while initialising: abort and pause interrupt, promote is rejected (nothing to promote) so it does not', () => {
    const s = inFlight(new Scenario(plan), 'initialize');
    expect(interruptsInFlight(plan, s.state, op('abort'))).toBe(true);
    expect(interruptsInFlight(plan, s.state, op('pause'))).toBe(true);
    expect(interruptsInFlight(plan, s.state, op('promote'))).toBe(false);
  });

  it('approve interrupts only the polling of the gate it opens', () => {
    const gated = makePlan({ hooks: [hook('gate', 'confirm-rollout')] });
    const s = new Scenario(gated, {
      hooks: (type, hooks) =>
        hooks.map((h) => ({ name: h.name, ok: type !== 'confirm-rollout', message: 'closed' })),
    });
    inFlight(s, 'runHooks', 'confirm-rollout');
    // First poll: no gate is pending yet, so an approval is rejected (and does not interrupt).
    expect(interruptsInFlight(gated, s.state, op('approve'))).toBe(false);
    s.step(); // gate closed → pending, timer
    s.step(); // timer → poll again
    expect(s.next).toEqual({ type: 'runHooks', hookType: 'confirm-rollout', phase: 'Waiting' });
    expect(interruptsInFlight(gated, s.state, op('approve'))).toBe(true);
    expect(interruptsInFlight(gated, s.state, op('approve', { gate: 'confirm-promotion' }))).toBe(false);
  });

  it('nothing interrupts the post-rollout hooks of a decided outcome', () => {
    const s = inFlight(new Scenario(plan), 'runAnalysis');
    s.operator('abort');
    expect(s.next).toEqual({ type: 'runHooks', hookType: 'post-rollout', phase: 'Failed' });
    expect(interruptsInFlight(plan, s.state, op('pause'))).toBe(false);
    expect(interruptsInFlight(plan, s.state, { type: 'superseded', now: T0, by: 'v2' })).toBe(false);
  });
});

describe('a message delivered instead of the interrupted activity', () => {
  it('abort during the pre-rollout webhook: rolls back at once (100% primary, canary to zero), Aborted', () => {
    const plan = makePlan({ hooks: [hook('smoke', 'pre-rollout')] });
    const s = inFlight(new Scenario(plan), 'runHooks', 'pre-rollout');
    const t = s.operator('abort', { actor: 'oncall@acme', reason: 'webhook hangs' });
    expect(t.effects.slice(0, 2)).toEqual([
      { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false },
      { type: 'scaleCanary', to: 'zero' },
    ]);
    expect(s.result).toMatchObject({
      outcome: 'Aborted',
      reason: { code: 'operator-abort' },
      failedChecks: 0,
    });
  });

  it('abort while initialising: Aborted, nothing to restore (routes were never moved)', () => {
    const plan = makePlan();
    const s = inFlight(new Scenario(plan), 'initialize');
    const t = s.operator('abort');
    expect(t.effects.filter((e) => e.type === 'setRoutes' || e.type === 'scaleCanary')).toEqual([]);
    expect(s.result).toMatchObject({ outcome: 'Aborted', reason: { code: 'operator-abort' } });
  });

  it('promote during an analysis: promotion starts now, the analysis is not counted', () => {
    const plan = makePlan({ strategy: canary([10, 20, 30]) });
    const s = new Scenario(plan);
    s.runUntil((x) => x.state.canaryWeight === 10 && x.next?.type === 'runAnalysis');
    const t = s.operator('promote', { actor: 'lead', reason: 'hotfix' });
    expect(t.next).toEqual({ type: 'promotePrimary' });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'Promoted',
      reason: { code: 'operator-promoted' },
      failedChecks: 0,
    });
  });

  it('pause during an analysis: the cancelled analysis never counts; resume runs it again from scratch', () => {
    const plan = makePlan({ threshold: 1, strategy: canary([10, 20]) });
    const s = new Scenario(plan);
    s.runUntil((x) => x.state.canaryWeight === 10 && x.next?.type === 'runAnalysis');
    const paused = s.operator('pause');
    expect(paused.next).toEqual({ type: 'waitForOperator', reason: 'paused' });
    expect(s.state.failedChecks).toBe(0);
    expect(s.state.canaryWeight).toBe(10);
    // With TRY_CANCEL a cancelled activity never reports; even a stray (failing) result would not count now.
    const stray = s.feed({
      type: 'analysis',
      hooks: [],
      metrics: metricsWith(plan, { 'request-success-rate': { value: 1 } }),
    });
    expect(stray.effects).toEqual([]);
    expect(s.state.failedChecks).toBe(0);
    s.elapse(60_000);
    const resumed = s.operator('resume');
    expect(resumed.next).toEqual({ type: 'runAnalysis', phase: 'Progressing' });
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(result.failedChecks).toBe(0);
  });

  it('approving the confirm-rollout gate while its webhook is polled opens it now', () => {
    const plan = makePlan({ hooks: [hook('gate', 'confirm-rollout')] });
    const s = new Scenario(plan, {
      hooks: (type, hooks) =>
        hooks.map((h) => ({ name: h.name, ok: type !== 'confirm-rollout', message: 'closed' })),
    });
    s.runUntil((x) => x.state.pendingGate !== null && x.next?.type === 'runHooks');
    const t = s.operator('approve', { actor: 'lead', reason: 'go' });
    expect(s.state.pendingGate).toBeNull();
    expect(s.state.phase).toBe('Progressing');
    expect(t.next.type).not.toBe('runHooks');
    expect(s.run().outcome).toBe('Promoted');
  });
});
