import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/domain/decide.js';
import type { OperatorAction } from '../../../src/domain/events.js';
import { validateOperatorAction } from '../../../src/domain/operator.js';
import { maxOperatorLogEntries } from '../../../src/domain/state.js';
import { canary, hook, makePlan, metricsWith, Scenario } from './scenario.js';

const atWeight = (w: number) => (s: Scenario) => s.state.canaryWeight === w && s.next?.type === 'wait';

describe('abort', () => {
  it('mid-analysis: rolls back now, outcome Aborted with actor and reason, post-rollout hooks run', () => {
    const plan = makePlan({ strategy: canary([10, 20, 30]), hooks: [hook('cleanup', 'post-rollout')] });
    const s = new Scenario(plan);
    s.runUntil(atWeight(20));
    const t = s.operator('abort', { actor: 'oncall@acme', reason: 'customer reports 500s' });
    expect(t.effects.slice(0, 2)).toEqual([
      { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false },
      { type: 'scaleCanary', to: 'zero' },
    ]);
    expect(t.effects).toContainEqual(
      expect.objectContaining({ type: 'notify', kind: 'aborted', severity: 'error' }),
    );
    expect(t.effects).toContainEqual(
      expect.objectContaining({ type: 'recordEvent', reason: 'RolloutAborted', eventType: 'Warning' }),
    );
    expect(t.next).toEqual({ type: 'runHooks', hookType: 'post-rollout', phase: 'Failed' });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'Aborted',
      reason: { code: 'operator-abort', message: 'Aborted by oncall@acme: customer reports 500s' },
      finalWeights: { primary: 100, canary: 0, mirror: null },
      operatorActions: [expect.objectContaining({ action: 'abort', actor: 'oncall@acme', accepted: true })],
    });
    expect(result.failingCheck).toBeUndefined();
  });

  it('abort with mirroring and A/B match on removes both', () => {
    const plan = makePlan({ strategy: { kind: 'ab-testing', iterations: 5, match: [] } });
    const s = new Scenario(plan);
    s.runUntil((x) => x.state.abMatchActive && x.next?.type === 'wait');
    const t = s.operator('abort');
    expect(t.effects[0]).toEqual({
      type: 'setRoutes',
      primaryWeight: 100,
      canaryWeight: 0,
      mirrorPercent: null,
      abMatch: false,
    });
  });

  it('is rejected once the primary runs the new version', () => {
    const plan = makePlan({ strategy: canary([50], { stepWeightPromotion: 10 }) });
    const s = new Scenario(plan);
    s.runUntil((x) => x.state.primaryPromoted && x.next?.type === 'wait');
    const check = validateOperatorAction(plan, s.state, { action: 'abort', actor: 'a', reason: '' });
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(/^too late to abort: the primary already runs the new version/);
  });
});

describe('pause and resume', () => {
  it('freezes: no analysis, no counting, no advance; resume ticks at once', () => {
    const plan = makePlan({ threshold: 2, strategy: canary([10, 20, 30]) });
    const s = new Scenario(plan, {
      metrics: (ctx) =>
        metricsWith(plan, ctx.analysisCall === 1 ? { 'request-success-rate': { value: 50 } } : {}),
    });
    s.runUntil(atWeight(10));
    s.elapse(10_000);
    const paused = s.operator('pause', { actor: 'ops', reason: 'incident elsewhere' });
    expect(paused.next).toEqual({ type: 'waitForOperator', reason: 'paused' });
    expect(paused.effects).toContainEqual(
      expect.objectContaining({ type: 'recordEvent', reason: 'RolloutPaused' }),
    );
    // a stray timer while paused changes nothing
    const stray = s.feed({ type: 'timer' });
    expect(stray.effects).toEqual([]);
    expect(stray.next).toEqual({ type: 'waitForOperator', reason: 'paused' });
    // a (late) failing analysis result while paused is not counted
    const late = s.feed({
      type: 'analysis',
      hooks: [],
      metrics: metricsWith(plan, { 'request-success-rate': { value: 1 } }),
    });
    expect(late.effects).toEqual([]);
    expect(late.after.failedChecks).toBe(0);
    expect(late.after.canaryWeight).toBe(10);
    s.elapse(3_600_000);
    const resumed = s.operator('resume', { actor: 'ops', reason: 'all clear' });
    expect(resumed.next).toEqual({ type: 'runAnalysis', phase: 'Progressing' });
    expect(s.state.paused).toBeNull();
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(result.failedChecks).toBe(1);
    expect(result.pausedMs).toBe(3_600_000);
    expect(result.operatorActions.map((a) => [a.action, a.accepted])).toEqual([
      ['pause', true],
      ['resume', true],
    ]);
  });

  it('paused time does not count towards the progress deadline', () => {
    const plan = makePlan({ progressDeadlineMs: 30_000 });
    let ready = false;
    const s = new Scenario(plan, { readiness: () => ({ ready, message: 'pulling' }) });
    s.runUntil((x) => x.next?.type === 'wait' && x.next.reason === 'readiness-poll');
    s.elapse(2_000);
    s.operator('pause');
    s.elapse(10 * 60_000);
    const resumed = s.operator('resume');
    expect(resumed.next).toEqual({ type: 'checkReadiness', workload: 'canary' });
    s.step(); // not ready, 2 s of the deadline used
    expect(s.next).toMatchObject({ type: 'wait', reason: 'readiness-poll' });
    ready = true;
    expect(s.run().outcome).toBe('Promoted');
  });

  it.each<[string, OperatorAction['action'], string]>([
    ['resume when not paused', 'resume', 'not paused (phase Progressing, weight 10)'],
    ['pause when paused', 'pause', 'already paused by alice since 2023-11-14T22:13:20.000Z (testing)'],
  ])('%s is rejected', (_name, action, reason) => {
    const plan = makePlan();
    const s = new Scenario(plan);
    s.runUntil(atWeight(10));
    if (action === 'pause') {
      s.trace.length = 0;
      // pause at a known time for the message
      s.now = 1_700_000_000_000;
      s.operator('pause');
    }
    expect(validateOperatorAction(plan, s.state, { action, actor: 'bob', reason: '' })).toEqual({
      ok: false,
      reason,
    });
  });
});

describe('promote', () => {
  it('skips the remaining analysis and steps: promotion now (recorded)', () => {
    const plan = makePlan({ strategy: canary([10, 20, 30, 40, 50]) });
    const s = new Scenario(plan);
    s.runUntil(atWeight(20));
    const t = s.operator('promote', { actor: 'lead', reason: 'hotfix' });
    expect(t.next).toEqual({ type: 'promotePrimary' });
    expect(t.phase).toBe('Promoting');
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'Promoted',
      reason: { code: 'operator-promoted' },
      stepsCompleted: 2,
      operatorActions: [
        expect.objectContaining({ action: 'promote', actor: 'lead', reason: 'hotfix', accepted: true }),
      ],
    });
    expect(s.routeLog()).toEqual(['90/10', '80/20', '100/0']);
  });

  it('blue/green: all traffic to the canary first, then promote', () => {
    const s = new Scenario(makePlan({ strategy: { kind: 'blue-green', iterations: 5, mirror: true } }));
    s.runUntil((x) => x.state.iterations === 2 && x.next?.type === 'wait');
    const t = s.operator('promote');
    expect(t.effects.find((e) => e.type === 'setRoutes')).toEqual({
      type: 'setRoutes',
      primaryWeight: 0,
      canaryWeight: 100,
      mirrorPercent: null,
      abMatch: false,
    });
    s.run();
    expect(s.routeLog()).toEqual(['100/0/m100', '0/100', '100/0']);
  });

  it('while paused: also resumes (noted)', () => {
    const s = new Scenario(makePlan());
    s.runUntil(atWeight(10));
    s.operator('pause');
    const t = s.operator('promote');
    expect(t.next).toEqual({ type: 'promotePrimary' });
    expect(s.state.operatorLog.at(-1)).toMatchObject({
      action: 'promote',
      note: 'also resumed the paused release',
    });
  });

  it.each([
    {
      name: 'before the canary runs',
      until: 'checkReadiness',
      gated: false,
      reason: 'nothing to promote yet: the canary is not running (phase Initialized, weight 0)',
    },
    {
      name: 'while waiting for confirm-rollout',
      until: 'waitForOperator',
      gated: true,
      reason:
        'nothing to promote yet: the release waits for confirm-rollout; approve that gate first (phase Waiting, weight 0)',
    },
    {
      name: 'while promoting',
      until: 'promotePrimary',
      gated: false,
      reason: 'already promoting (phase Promoting, weight 30)',
    },
  ])('is rejected $name', ({ until, gated, reason }) => {
    const plan = makePlan(gated ? { manualGates: ['confirm-rollout'] } : {});
    const s = new Scenario(plan);
    s.runUntil((x) => x.next?.type === until);
    expect(validateOperatorAction(plan, s.state, { action: 'promote', actor: 'a', reason: '' })).toEqual({
      ok: false,
      reason,
    });
  });
});

describe('superseded and cancelled', () => {
  it('superseded: 100% primary, no promotion, canary NOT scaled down (the next release reuses it)', () => {
    const s = new Scenario(makePlan({ hooks: [hook('cleanup', 'post-rollout')] }));
    s.runUntil(atWeight(20));
    const t = s.feed({ type: 'superseded', by: 'fledge/test/podinfo/6.5.2' });
    expect(t.effects.filter((e) => e.type === 'setRoutes' || e.type === 'scaleCanary')).toEqual([
      { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false },
    ]);
    expect(t.next.type).toBe('done');
    expect(s.result).toMatchObject({
      outcome: 'Superseded',
      reason: { code: 'superseded' },
      phase: 'Terminated',
      primaryPromoted: false,
    });
    expect(s.result.reason.message).toContain('fledge/test/podinfo/6.5.2');
    expect(s.nexts().some((n) => n.type === 'promotePrimary')).toBe(false);
  });

  it('cancelled: 100% primary and canary to zero, outcome Aborted', () => {
    const s = new Scenario(makePlan());
    s.runUntil(atWeight(10));
    const t = s.feed({ type: 'cancelled', reason: 'workflow cancelled by admin' });
    expect(t.effects.filter((e) => e.type === 'setRoutes' || e.type === 'scaleCanary')).toEqual([
      { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false },
      { type: 'scaleCanary', to: 'zero' },
    ]);
    expect(s.result).toMatchObject({
      outcome: 'Aborted',
      reason: { code: 'cancelled' },
      phase: 'Terminated',
    });
  });

  it('cancelled while initialising: nothing to restore', () => {
    const s = new Scenario(makePlan());
    s.start();
    const t = s.feed({ type: 'cancelled' });
    expect(t.effects.filter((e) => e.type === 'setRoutes' || e.type === 'scaleCanary')).toEqual([]);
    expect(s.result.outcome).toBe('Aborted');
  });

  it('cancelled while paused works and accounts the pause', () => {
    const s = new Scenario(makePlan());
    s.runUntil(atWeight(10));
    s.operator('pause');
    s.elapse(5_000);
    s.feed({ type: 'cancelled' });
    expect(s.result).toMatchObject({ outcome: 'Aborted', pausedMs: 5_000 });
  });

  it('after the primary was promoted: outcome Promoted (it runs the new version), reason says so', () => {
    const s = new Scenario(makePlan({ strategy: canary([50], { stepWeightPromotion: 10 }) }));
    s.runUntil((x) => x.state.primaryPromoted && x.next?.type === 'wait');
    s.feed({ type: 'superseded', by: 'next' });
    expect(s.result).toMatchObject({
      outcome: 'Promoted',
      reason: { code: 'superseded-after-promotion' },
      finalWeights: { primary: 100, canary: 0 },
    });
  });

  it('during post-rollout hooks of a decided outcome: keeps the outcome, skips the hooks', () => {
    const plan = makePlan({ threshold: 1, hooks: [hook('cleanup', 'post-rollout')] });
    const s = new Scenario(plan, {
      metrics: () => metricsWith(plan, { 'request-duration': { value: 1e6 } }),
    });
    s.runUntil((x) => x.next?.type === 'runHooks' && x.next.hookType === 'post-rollout');
    const t = s.feed({ type: 'cancelled' });
    expect(t.effects).toEqual([]);
    expect(s.result.outcome).toBe('RolledBack');
  });
});

describe('operator action validation and the log', () => {
  it('every action after done is rejected', () => {
    const plan = makePlan({ strategy: canary([100]) });
    const s = new Scenario(plan);
    s.run();
    for (const action of ['approve', 'pause', 'resume', 'promote', 'abort'] as const) {
      expect(validateOperatorAction(plan, s.state, { action, actor: 'x', reason: '' })).toEqual({
        ok: false,
        reason: `release already finished (outcome Promoted): ${action} no longer applies`,
      });
    }
  });

  it('actions while the outcome is decided (post-rollout hooks running) are rejected', () => {
    const plan = makePlan({ strategy: canary([100]), hooks: [hook('post', 'post-rollout')] });
    const s = new Scenario(plan);
    s.runUntil((x) => x.next?.type === 'runHooks' && x.next.hookType === 'post-rollout');
    const check = validateOperatorAction(plan, s.state, { action: 'pause', actor: 'x', reason: '' });
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(/^release is finishing \(outcome Promoted/);
  });

  it.each([
    [{ action: 'pause' as const, actor: '  ', reason: 'r' }, 'actor is required: say who is acting'],
    [
      { action: 'explode' as unknown as 'pause', actor: 'a', reason: 'r' },
      'unknown action "explode" (actions: approve, pause, resume, promote, abort)',
    ],
  ])('malformed request %# is rejected', (action, reason) => {
    const s = new Scenario(makePlan());
    s.runUntil(atWeight(10));
    expect(validateOperatorAction(s.plan, s.state, action)).toEqual({ ok: false, reason });
  });

  it('invalid signals are logged as rejected and otherwise ignored; the log is bounded', () => {
    const s = new Scenario(makePlan());
    s.runUntil(atWeight(10));
    const before = s.state;
    for (let i = 0; i < maxOperatorLogEntries + 20; i++) s.operator('resume', { actor: `u${i}` });
    expect(s.state.operatorLog).toHaveLength(maxOperatorLogEntries);
    expect(s.state.operatorLog[0]).toMatchObject({
      actor: 'u20',
      accepted: false,
      rejectionReason: 'not paused (phase Progressing, weight 10)',
    });
    expect({ ...s.state, operatorLog: [], updatedAt: 0 }).toEqual({
      ...before,
      operatorLog: [],
      updatedAt: 0,
    });
  });

  it('an operator event never mutates the input state', () => {
    const s = new Scenario(makePlan());
    s.runUntil(atWeight(10));
    const snapshot = JSON.stringify(s.state);
    decide(s.plan, s.state, { type: 'operator', action: 'abort', actor: 'a', reason: 'b', now: s.now });
    expect(JSON.stringify(s.state)).toBe(snapshot);
  });
});
