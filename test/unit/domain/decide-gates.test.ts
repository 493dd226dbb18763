import { describe, expect, it } from 'vitest';
import type { HookResult } from '../../../src/domain/events.js';
import type { HookPlan, HookType } from '../../../src/domain/plan.js';
import type { GateName } from '../../../src/domain/state.js';
import { validateOperatorAction } from '../../../src/domain/operator.js';
import { canary, hook, makePlan, metricsWith, Scenario } from './scenario.js';

/** Hook results where hooks of `closedType` fail until `openAfter` calls of that type were made. */
function gateHooks(
  closedType: HookType,
  openAfter: number,
): (type: HookType, hooks: HookPlan[]) => HookResult[] {
  let calls = 0;
  return (type, hooks) => {
    if (type === closedType) calls += 1;
    const ok = type !== closedType || calls > openAfter;
    return hooks.map((h) => ({
      name: h.name,
      ok,
      status: ok ? 200 : 403,
      message: ok ? 'approved' : 'Forbidden',
    }));
  };
}

const gatePhases: Record<GateName, string> = {
  'confirm-rollout': 'Waiting',
  'confirm-traffic-increase': 'Progressing',
  'confirm-promotion': 'WaitingPromotion',
};
const gateKinds: Record<GateName, string> = {
  'confirm-rollout': 'waiting-approval',
  'confirm-traffic-increase': 'waiting-traffic-approval',
  'confirm-promotion': 'waiting-promotion-approval',
};

describe.each<GateName>(['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion'])(
  '%s gate',
  (gate) => {
    it('via webhook: polled each interval until it passes, no failed check, notified once', () => {
      const plan = makePlan({ strategy: canary([50]), hooks: [hook('gate', gate)] });
      const s = new Scenario(plan, { hooks: gateHooks(gate, 2) });
      s.runUntil((x) => x.state.pendingGate !== null);
      expect(s.state.pendingGate).toMatchObject({ gate, manualRequired: false, failingWebhooks: ['gate'] });
      expect(s.state.phase).toBe(gatePhases[gate]);
      const result = s.run();
      expect(result.outcome).toBe('Promoted');
      expect(result.failedChecks).toBe(0);
      const polls = s.nexts().filter((n) => n.type === 'runHooks' && n.hookType === gate);
      // confirm-traffic-increase is asked before each weight increase: 1 step here
      expect(polls).toHaveLength(3);
      expect(s.notifications().filter((n) => n.kind === gateKinds[gate])).toHaveLength(1);
      expect(result.approvals).toEqual([
        expect.objectContaining({ gate, via: 'webhook', by: 'gate', override: false }),
      ]);
    });

    it('manual: waits for an operator approval, which proceeds in the same decide call', () => {
      const plan = makePlan({ strategy: canary([50]), manualGates: [gate] });
      const s = new Scenario(plan);
      s.runUntil((x) => x.state.pendingGate !== null);
      expect(s.state.pendingGate).toMatchObject({ gate, manualRequired: true });
      if (gate === 'confirm-rollout') {
        expect(s.next).toEqual({ type: 'waitForOperator', reason: 'manual-approval' });
      } else {
        // analysis keeps ticking while the gate is pending
        s.step();
        s.runUntil((x) => x.next?.type === 'wait');
        expect(s.state.pendingGate?.gate).toBe(gate);
      }
      s.elapse(1_000);
      const approved = s.operator('approve', { actor: 'carol', reason: 'change ticket 42', gate });
      expect(approved.after.pendingGate).toBeNull();
      const proceeded = {
        'confirm-rollout': () => expect(approved.phase).toBe('Progressing'),
        'confirm-traffic-increase': () =>
          expect(approved.effects).toContainEqual(
            expect.objectContaining({ type: 'setRoutes', canaryWeight: 50 }),
          ),
        'confirm-promotion': () => expect(approved.next).toEqual({ type: 'promotePrimary' }),
      };
      proceeded[gate]();
      const result = s.run();
      expect(result.outcome).toBe('Promoted');
      expect(result.approvals).toEqual([
        {
          gate,
          via: 'operator',
          by: 'carol',
          reason: 'change ticket 42',
          at: expect.any(Number),
          override: false,
        },
      ]);
    });

    it('operator approval overrides failing webhooks (recorded as an override)', () => {
      const plan = makePlan({ strategy: canary([50]), hooks: [hook('gate', gate)] });
      const s = new Scenario(plan, { hooks: gateHooks(gate, 1_000) });
      s.runUntil((x) => x.state.pendingGate !== null && x.next?.type === 'wait');
      s.operator('approve', { actor: 'dave', reason: 'gate service is down' });
      const result = s.run();
      expect(result.outcome).toBe('Promoted');
      expect(result.approvals).toEqual([
        expect.objectContaining({ gate, via: 'operator', by: 'dave', override: true }),
      ]);
      expect(result.operatorActions[0]).toMatchObject({
        accepted: true,
        note: 'override: webhook(s) gate failing',
      });
    });
  },
);

describe('approvals', () => {
  it('approve with nothing pending is rejected with a reason, logged, and changes nothing else', () => {
    const plan = makePlan({ strategy: canary([20, 40]) });
    const s = new Scenario(plan);
    s.runUntil((x) => x.state.canaryWeight === 20 && x.next?.type === 'wait');
    expect(validateOperatorAction(plan, s.state, { action: 'approve', actor: 'eve', reason: 'x' })).toEqual({
      ok: false,
      reason: 'nothing to approve: no gate is pending (phase Progressing, weight 20)',
    });
    const t = s.operator('approve', { actor: 'eve' });
    expect(t.effects).toEqual([]);
    expect(t.next).toMatchObject({ type: 'wait' });
    expect(s.state.operatorLog).toEqual([
      expect.objectContaining({
        action: 'approve',
        actor: 'eve',
        accepted: false,
        rejectionReason: 'nothing to approve: no gate is pending (phase Progressing, weight 20)',
      }),
    ]);
    expect(s.state.approvals).toEqual([]);
  });

  it.each([
    {
      gate: 'confirm-promotion',
      reason:
        'gate confirm-promotion is not pending; the pending gate is confirm-rollout (phase Waiting, weight 0)',
    },
    {
      gate: 'deploy-now',
      reason:
        'unknown gate "deploy-now" (gates: confirm-rollout, confirm-traffic-increase, confirm-promotion)',
    },
  ])('approve of the wrong gate ($gate) is rejected', ({ gate, reason }) => {
    const plan = makePlan({ manualGates: ['confirm-rollout'] });
    const s = new Scenario(plan);
    s.runUntil((x) => x.next?.type === 'waitForOperator');
    expect(
      validateOperatorAction(plan, s.state, { action: 'approve', actor: 'a', reason: '', gate }),
    ).toEqual({ ok: false, reason });
  });

  it('a second approve of an approved gate is rejected', () => {
    const plan = makePlan({ strategy: canary([50]), manualGates: ['confirm-promotion'] });
    const s = new Scenario(plan, {
      metrics: (ctx) =>
        metricsWith(plan, ctx.analysisCall === 2 ? { 'request-success-rate': { value: 1 } } : {}),
    });
    s.runUntil((x) => x.state.phase === 'WaitingPromotion' && x.next?.type === 'wait');
    s.step(); // tick with failing metrics
    s.runUntil((x) => x.next?.type === 'wait');
    expect(s.state.lastTickOk).toBe(false);
    const first = s.operator('approve', { actor: 'frank' });
    // last analysis failed: the approval waits for the next passing tick
    expect(first.next).toMatchObject({ type: 'wait' });
    expect(s.state.pendingGate?.approvedBy).toBe('frank');
    expect(validateOperatorAction(plan, s.state, { action: 'approve', actor: 'gina', reason: '' })).toEqual({
      ok: false,
      reason: 'gate confirm-promotion is already approved by frank; it opens at the next passing analysis',
    });
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(result.failedChecks).toBe(1);
  });

  it('approval while paused is recorded and acts on resume', () => {
    const plan = makePlan({ manualGates: ['confirm-rollout'] });
    const s = new Scenario(plan);
    s.runUntil((x) => x.next?.type === 'waitForOperator');
    s.operator('pause');
    const approved = s.operator('approve');
    expect(approved.next).toEqual({ type: 'waitForOperator', reason: 'paused' });
    expect(approved.phase).toBe('Waiting');
    const resumed = s.operator('resume');
    expect(resumed.phase).toBe('Progressing');
  });

  it('confirm-traffic-increase is asked before every weight increase (not while leaving the mirror)', () => {
    const plan = makePlan({
      strategy: canary([10, 20, 30], { mirror: true }),
      hooks: [hook('more', 'confirm-traffic-increase')],
    });
    const s = new Scenario(plan);
    s.run();
    // before mirror-on, before 20, before 30 (leaving the mirror for 10 skips it, as Flagger)
    expect(
      s.nexts().filter((n) => n.type === 'runHooks' && n.hookType === 'confirm-traffic-increase'),
    ).toHaveLength(3);
  });

  it('before the first weight, a pending traffic gate does not re-run pre-rollout hooks nor analyse a canary without traffic', () => {
    const plan = makePlan({
      strategy: canary([50]),
      hooks: [hook('pre', 'pre-rollout'), hook('more', 'confirm-traffic-increase')],
    });
    const s = new Scenario(plan, { hooks: gateHooks('confirm-traffic-increase', 3) });
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(s.nexts().filter((n) => n.type === 'runHooks' && n.hookType === 'pre-rollout')).toHaveLength(1);
    expect(s.analysisCalls).toBe(1); // only at 50%
  });

  it('confirm-rollout webhooks are re-polled each interval with the current phase in the payload', () => {
    const plan = makePlan({ intervalMs: 15_000, hooks: [hook('gate', 'confirm-rollout')] });
    const s = new Scenario(plan, { hooks: gateHooks('confirm-rollout', 2) });
    s.runUntil((x) => x.state.phase === 'Progressing');
    const polls = s.nexts().filter((n) => n.type === 'runHooks' && n.hookType === 'confirm-rollout');
    expect(polls).toEqual([
      { type: 'runHooks', hookType: 'confirm-rollout', phase: 'Initialized' },
      { type: 'runHooks', hookType: 'confirm-rollout', phase: 'Waiting' },
      { type: 'runHooks', hookType: 'confirm-rollout', phase: 'Waiting' },
    ]);
    expect(s.nexts().filter((n) => n.type === 'wait' && n.reason === 'gate-poll')).toEqual([
      expect.objectContaining({ ms: 15_000 }),
      expect.objectContaining({ ms: 15_000 }),
    ]);
  });

  it('confirm-promotion hooks get phase Progressing in the payload (Flagger)', () => {
    const plan = makePlan({ strategy: canary([50]), hooks: [hook('gate', 'confirm-promotion')] });
    const s = new Scenario(plan, { hooks: gateHooks('confirm-promotion', 1) });
    s.run();
    const polls = s.nexts().filter((n) => n.type === 'runHooks' && n.hookType === 'confirm-promotion');
    expect(polls.every((n) => n.type === 'runHooks' && n.phase === 'Progressing')).toBe(true);
  });
});

describe('confirm-promotion keeps analysing', () => {
  it('metrics failing while waiting for promotion approval → rollback at the threshold', () => {
    const plan = makePlan({ threshold: 2, strategy: canary([50]), manualGates: ['confirm-promotion'] });
    const s = new Scenario(plan, {
      metrics: (ctx) =>
        metricsWith(
          plan,
          ctx.state.phase === 'WaitingPromotion' ? { 'request-duration': { value: 1_200 } } : {},
        ),
    });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'RolledBack',
      reason: { code: 'failed-checks-threshold' },
      failedChecks: 2,
      failingCheck: {
        kind: 'metric',
        name: 'request-duration',
        value: 1_200,
        thresholdRange: { max: 500 },
        message: 'request-duration 1200 > max 500',
      },
    });
    // two analysis ticks while waiting for approval, both failing; the second reaches the threshold
    expect(
      s.trace.filter((t) => t.before.phase === 'WaitingPromotion' && t.event.type === 'analysis'),
    ).toHaveLength(2);
    expect(s.routeLog()).toEqual(['50/50', '100/0']);
  });

  it('blue/green: confirm-promotion gates the switch of all traffic to the canary', () => {
    const plan = makePlan({
      strategy: { kind: 'blue-green', iterations: 2, mirror: true },
      manualGates: ['confirm-promotion'],
    });
    const s = new Scenario(plan);
    s.runUntil((x) => x.state.phase === 'WaitingPromotion' && x.next?.type === 'wait');
    expect(s.routeLog()).toEqual(['100/0/m100']);
    const t = s.operator('approve');
    expect(t.effects).toContainEqual({
      type: 'setRoutes',
      primaryWeight: 0,
      canaryWeight: 100,
      mirrorPercent: null,
      abMatch: false,
    });
    expect(t.phase).toBe('Progressing');
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(s.routeLog()).toEqual(['100/0/m100', '0/100', '100/0']);
  });
});
