import { describe, expect, it } from 'vitest';
import { continueFrom, decide } from '../../../src/domain/decide.js';
import { initialState } from '../../../src/domain/state.js';
import { canary, hook, makePlan, Scenario, T0 } from './scenario.js';

describe('initialisation and canary readiness', () => {
  it('started → initialize → scale up → readiness → progressing', () => {
    const s = new Scenario(makePlan());
    const started = s.start();
    expect(started.next).toEqual({ type: 'initialize' });
    expect(started.effects).toEqual([
      expect.objectContaining({ type: 'recordEvent', reason: 'ReleaseStarted' }),
    ]);
    expect(started.phase).toBe('Initializing');

    const initialized = s.step();
    expect(initialized.phase).toBe('Initialized');
    expect(initialized.effects.filter((e) => e.type === 'scaleCanary')).toEqual([
      { type: 'scaleCanary', to: 'up' },
    ]);
    expect(initialized.next).toEqual({ type: 'checkReadiness', workload: 'canary' });
    expect(initialized.after.waitingReadySince).toBe(T0);

    const ready = s.step();
    expect(ready.phase).toBe('Progressing');
    expect(ready.effects).toContainEqual(
      expect.objectContaining({ type: 'notify', kind: 'progressing', severity: 'info' }),
    );
  });

  it('re-polls readiness every few seconds without counting failures', () => {
    let polls = 0;
    const s = new Scenario(makePlan(), {
      readiness: () => ({ ready: ++polls > 3, message: '0/2 replicas available' }),
    });
    s.runUntil((x) => x.state.phase === 'Progressing');
    const waits = s.nexts().filter((n) => n.type === 'wait' && n.reason === 'readiness-poll');
    expect(waits).toHaveLength(3);
    for (const w of waits) expect(w).toMatchObject({ type: 'wait', ms: 5_000 });
    expect(s.state.failedChecks).toBe(0);
    expect(s.state.waitingReadySince).toBeNull();
  });

  it('readiness poll never exceeds the analysis interval', () => {
    const s = new Scenario(makePlan({ intervalMs: 2_000 }), { readiness: () => ({ ready: false }) });
    s.runUntil((x) => x.next?.type === 'wait');
    expect(s.next).toMatchObject({ ms: 2_000, reason: 'readiness-poll' });
  });

  it.each([
    { deadlineMs: 60_000, polls: 13 },
    { deadlineMs: 12_000, polls: 3 },
  ])(
    'canary not ready past the progress deadline ($deadlineMs ms) → rollback with a progress-deadline check',
    ({ deadlineMs, polls }) => {
      const s = new Scenario(makePlan({ progressDeadlineMs: deadlineMs }), {
        readiness: () => ({ ready: false, message: 'ImagePullBackOff' }),
      });
      const result = s.run();
      expect(s.nexts().filter((n) => n.type === 'checkReadiness')).toHaveLength(polls + 1);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason.code).toBe('progress-deadline');
      expect(result.failingCheck).toEqual({
        kind: 'progress-deadline',
        name: 'canary',
        message: 'ImagePullBackOff',
      });
      expect(s.routeLog()).toEqual(['100/0']);
      expect(s.effects).toContainEqual({ type: 'scaleCanary', to: 'zero' });
      expect(s.notifications().map((n) => n.kind)).toContain('progress-deadline');
      expect(s.effects).toContainEqual(
        expect.objectContaining({
          type: 'recordEvent',
          reason: 'ProgressDeadlineExceeded',
          eventType: 'Warning',
        }),
      );
    },
  );

  it('an infraError from checkReadiness counts as not ready (bounded by the deadline)', () => {
    const s = new Scenario(makePlan({ progressDeadlineMs: 10_000 }), {
      failNext: (n) => (n.type === 'checkReadiness' ? 'apiserver timeout' : undefined),
    });
    const result = s.run();
    expect(result.reason.code).toBe('progress-deadline');
    expect(result.failingCheck?.message).toContain('apiserver timeout');
  });
});

describe('canary weights', () => {
  it('linear weights up to maxWeight, then promotion and finalisation', () => {
    const plan = makePlan({ strategy: canary([10, 20, 30]) });
    const s = new Scenario(plan);
    const result = s.run();
    expect(s.routeLog()).toEqual(['90/10', '80/20', '70/30', '100/0']);
    // Without post-rollout hooks, Finalising takes no time (entered and left in the same decide call).
    expect(s.phases()).toEqual(['Initializing', 'Initialized', 'Progressing', 'Promoting', 'Succeeded']);
    expect(Object.keys(s.state.phaseEnteredAt)).toEqual([
      'Initializing',
      'Initialized',
      'Progressing',
      'Promoting',
      'Finalising',
      'Succeeded',
    ]);
    expect(result).toMatchObject({
      outcome: 'Promoted',
      reason: { code: 'analysis-passed' },
      failedChecks: 0,
      finalWeights: { primary: 100, canary: 0, mirror: null },
      stepsCompleted: 3,
      primaryPromoted: true,
      phase: 'Succeeded',
    });
    // First tick: pre-rollout only (no metrics); then one analysis per step including the one at max weight.
    expect(s.analysisCalls).toBe(3);
    const order = s.nexts().map((n) => n.type);
    expect(order.indexOf('promotePrimary')).toBeGreaterThan(order.lastIndexOf('runAnalysis'));
    expect(s.effects.filter((e) => e.type === 'scaleCanary')).toEqual([
      { type: 'scaleCanary', to: 'up' },
      { type: 'scaleCanary', to: 'zero' },
    ]);
    expect(s.notifications().map((n) => n.kind)).toEqual(['progressing', 'promoted']);
    expect(s.notifications()[1]?.message).toContain(
      'Canary analysis completed successfully, promotion finished.',
    );
  });

  it('explicit stepWeights (not evenly spaced)', () => {
    const s = new Scenario(makePlan({ strategy: canary([1, 2, 10, 80]) }));
    s.run();
    expect(s.routeLog()).toEqual(['99/1', '98/2', '90/10', '20/80', '100/0']);
  });

  it('waits exactly one interval between ticks (ticker cadence)', () => {
    const s = new Scenario(makePlan({ intervalMs: 30_000 }));
    s.run();
    const waits = s.nexts().filter((n) => n.type === 'wait');
    expect(waits.every((w) => w.type === 'wait' && w.ms === 30_000 && w.reason === 'analysis-interval')).toBe(
      true,
    );
    expect(waits).toHaveLength(3);
  });

  it('stepWeightPromotion moves traffic back to the primary gradually, one step per interval', () => {
    const s = new Scenario(makePlan({ strategy: canary([25, 50], { stepWeightPromotion: 20 }) }));
    const result = s.run();
    expect(s.routeLog()).toEqual(['75/25', '50/50', '70/30', '90/10', '100/0']);
    const promotionWaits = s.nexts().filter((n) => n.type === 'wait' && n.reason === 'promotion-step');
    expect(promotionWaits).toHaveLength(2);
    expect(result.outcome).toBe('Promoted');
    expect(result.phaseDurationsMs.Promoting).toBe(2 * 60_000);
  });

  it('mirror phase: one interval of mirroring at mirrorWeight, then the first weight', () => {
    const s = new Scenario(makePlan({ strategy: canary([20, 40], { mirror: true, mirrorWeight: 50 }) }));
    s.run();
    expect(s.routeLog()).toEqual(['100/0/m50', '80/20', '60/40', '100/0']);
    // The mirrored interval is analysed (the canary's own metrics under mirrored traffic).
    expect(s.analysisCalls).toBe(3);
  });

  it('mirror without mirrorWeight mirrors 100%', () => {
    const s = new Scenario(makePlan({ strategy: canary([50], { mirror: true }) }));
    s.run();
    expect(s.routeLog()[0]).toBe('100/0/m100');
  });

  it('weights are normalised: clamped, ascending, zero dropped', () => {
    const s = new Scenario(makePlan({ strategy: canary([0, 30, 20, 150]) }));
    s.run();
    expect(s.routeLog()).toEqual(['70/30', '0/100', '100/0']);
  });
});

describe('A/B testing', () => {
  it('match route for N passing iterations, then promotion and route back', () => {
    const plan = makePlan({
      strategy: {
        kind: 'ab-testing',
        iterations: 3,
        match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
      },
    });
    const s = new Scenario(plan);
    const result = s.run();
    expect(s.routeLog()).toEqual(['100/0+ab', '100/0']);
    // Iteration 1 follows pre-rollout; iterations 2..3 and the promotion tick each follow a passing analysis.
    expect(s.analysisCalls).toBe(3);
    expect(
      s.trace.filter((t) =>
        t.effects.some((e) => e.type === 'recordEvent' && e.reason === 'IterationCompleted'),
      ),
    ).toHaveLength(3);
    expect(result).toMatchObject({ outcome: 'Promoted', stepsCompleted: 3 });
  });

  it('a failing tick does not count as an iteration', () => {
    const plan = makePlan({ threshold: 5, strategy: { kind: 'ab-testing', iterations: 2, match: [] } });
    const s = new Scenario(plan, {
      metrics: (ctx) =>
        plan.metrics.map((m) => ({
          name: m.name,
          value:
            ctx.analysisCall === 1 && m.name === 'request-success-rate'
              ? 90
              : (m.thresholdRange.min ?? m.thresholdRange.max ?? 0),
        })),
    });
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(result.failedChecks).toBe(1);
    expect(s.analysisCalls).toBe(3);
  });
});

describe('blue/green', () => {
  it('without mirror: iterations at 100/0, then 100% to the canary, then promote and route back', () => {
    const s = new Scenario(makePlan({ strategy: { kind: 'blue-green', iterations: 2, mirror: false } }));
    const result = s.run();
    expect(s.routeLog()).toEqual(['0/100', '100/0']);
    const types = s.nexts().map((n) => n.type);
    // tick 1: pre-rollout → iteration 1; tick 2: analysis → iteration 2; tick 3: analysis → 100% canary;
    // tick 4: analysis → promote (as Flagger's runBlueGreen)
    expect(s.analysisCalls).toBe(3);
    expect(types.filter((t) => t === 'promotePrimary')).toHaveLength(1);
    expect(result).toMatchObject({ outcome: 'Promoted', stepsCompleted: 2 });
  });

  it('with mirror: all traffic mirrored for the whole run, then 100% canary (mirror off)', () => {
    const s = new Scenario(makePlan({ strategy: { kind: 'blue-green', iterations: 3, mirror: true } }));
    s.run();
    expect(s.routeLog()).toEqual(['100/0/m100', '0/100', '100/0']);
  });

  it('routes back to the primary only once the promoted primary is ready', () => {
    let primaryPolls = 0;
    const s = new Scenario(makePlan({ strategy: { kind: 'blue-green', iterations: 1, mirror: false } }), {
      readiness: (w) => ({ ready: w === 'canary' || ++primaryPolls > 2, message: 'rolling update' }),
    });
    s.run();
    const promoteIndex = s.trace.findIndex((t) => t.next.type === 'promotePrimary');
    const backIndex = s.trace.findIndex((t) =>
      t.effects.some((e) => e.type === 'setRoutes' && e.primaryWeight === 100),
    );
    const readinessAfter = s.trace
      .slice(promoteIndex, backIndex)
      .filter((t) => t.next.type === 'checkReadiness');
    expect(readinessAfter).toHaveLength(3);
  });
});

describe('promotion and the primary', () => {
  it('primary not ready past the deadline → traffic to the canary, outcome Failed (Flagger handleFailedPromotion)', () => {
    const s = new Scenario(
      makePlan({ progressDeadlineMs: 20_000, hooks: [hook('notify-done', 'post-rollout')] }),
      {
        readiness: (w) => ({ ready: w === 'canary', message: 'primary: 1/3 updated replicas available' }),
      },
    );
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'Failed',
      reason: { code: 'promotion-failed' },
      failingCheck: {
        kind: 'progress-deadline',
        name: 'primary',
        message: 'primary: 1/3 updated replicas available',
      },
      finalWeights: { primary: 0, canary: 100 },
      primaryPromoted: true,
    });
    expect(s.notifications().map((n) => n.kind)).toContain('promotion-failed');
    // post-rollout hooks still run, with phase Failed
    expect(s.nexts()).toContainEqual({ type: 'runHooks', hookType: 'post-rollout', phase: 'Failed' });
  });

  it.each([
    ['canary', makePlan({ hooks: [hook('notify-done', 'post-rollout')] })],
    [
      'A/B',
      makePlan({
        strategy: {
          kind: 'ab-testing',
          iterations: 4,
          match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
        },
        hooks: [hook('notify-done', 'post-rollout')],
      }),
    ],
    [
      'blue/green with mirror',
      makePlan({
        strategy: { kind: 'blue-green', iterations: 4, mirror: true },
        hooks: [hook('notify-done', 'post-rollout')],
      }),
    ],
  ])(
    '%s: primary deleted mid-analysis → all traffic to the (running) canary, Failed primary-missing, no rollback onto it',
    (_name, plan) => {
      const s = new Scenario(plan, {
        primaryMissing: (w) => (w.analysisCall >= 2 ? 'deployment ns/podinfo-primary not found' : undefined),
      });
      const result = s.run();
      expect(result).toMatchObject({
        outcome: 'Failed',
        reason: { code: 'primary-missing' },
        failingCheck: { kind: 'infrastructure', name: 'primary' },
        finalWeights: { primary: 0, canary: 100 },
        primaryPromoted: false,
      });
      expect(result.reason.message).toMatch(/podinfo-primary not found/);
      const routes = s.routes();
      expect(routes.at(-1)).toMatchObject({
        primaryWeight: 0,
        canaryWeight: 100,
        mirrorPercent: null,
        abMatch: false,
      });
      // never routed back to the primary once it was gone, and the canary keeps its replicas
      const gone = s.trace.findIndex((t) =>
        t.effects.some((e) => e.type === 'notify' && e.kind === 'primary-missing'),
      );
      expect(gone).toBeGreaterThan(0);
      const after = s.trace.slice(gone).flatMap((t) => t.effects);
      expect(after.some((e) => e.type === 'setRoutes' && e.primaryWeight > 0)).toBe(false);
      expect(after.some((e) => e.type === 'scaleCanary' && e.to === 'zero')).toBe(false);
      expect(s.notifications().map((n) => n.kind)).toContain('primary-missing');
      expect(s.nexts()).toContainEqual({ type: 'runHooks', hookType: 'post-rollout', phase: 'Failed' });
    },
  );

  it('post-rollout hooks run after promotion with phase Succeeded; their failures are only logged', () => {
    const s = new Scenario(makePlan({ hooks: [hook('smoke', 'post-rollout')] }), {
      hooks: (type, hooks) =>
        hooks.map((h) => ({ name: h.name, ok: type !== 'post-rollout', status: 500, message: 'boom' })),
    });
    const result = s.run();
    expect(s.nexts()).toContainEqual({ type: 'runHooks', hookType: 'post-rollout', phase: 'Succeeded' });
    expect(result.outcome).toBe('Promoted');
    expect(s.effects).toContainEqual(
      expect.objectContaining({ type: 'recordEvent', reason: 'PostRolloutHookFailed', eventType: 'Warning' }),
    );
    expect(s.phases().slice(-2)).toEqual(['Finalising', 'Succeeded']);
  });

  it('skipAnalysis: once the canary is ready → promote, primary ready, scale to zero, post-rollout, done', () => {
    const s = new Scenario(
      makePlan({ skipAnalysis: true, hooks: [hook('pre', 'pre-rollout'), hook('post', 'post-rollout')] }),
    );
    const result = s.run();
    expect(s.nexts().map((n) => n.type)).toEqual([
      'initialize',
      'checkReadiness',
      'promotePrimary',
      'checkReadiness',
      'runHooks',
      'done',
    ]);
    expect(s.routeLog()).toEqual([]); // already at 100/0: nothing to write
    expect(s.analysisCalls).toBe(0);
    expect(result).toMatchObject({
      outcome: 'Promoted',
      reason: { code: 'analysis-skipped', message: 'Canary analysis was skipped, promotion finished.' },
    });
    expect(s.effects).toContainEqual({ type: 'scaleCanary', to: 'zero' });
  });
});

describe('result contents', () => {
  it('phase durations come from the events’ `now`; approvals and operator actions are listed', () => {
    const plan = makePlan({ strategy: canary([50]), manualGates: ['confirm-promotion'], intervalMs: 10_000 });
    const s = new Scenario(plan, { activityMs: 1_000 });
    s.runUntil((x) => x.state.phase === 'WaitingPromotion');
    s.elapse(3_000);
    s.operator('approve', { actor: 'bob', reason: 'looks good' });
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(result.approvals).toEqual([
      {
        gate: 'confirm-promotion',
        via: 'operator',
        by: 'bob',
        reason: 'looks good',
        at: expect.any(Number),
        override: false,
      },
    ]);
    expect(result.operatorActions).toEqual([
      expect.objectContaining({ action: 'approve', actor: 'bob', accepted: true }),
    ]);
    const total = Object.values(result.phaseDurationsMs).reduce((a, b) => a + (b ?? 0), 0);
    expect(total).toBe(result.durationMs);
    expect(result.phaseDurationsMs.Initializing).toBe(1_000);
    expect(result.phaseDurationsMs.Initialized).toBe(1_000);
    expect(result.startedAt).toBe(T0);
    expect(result.finishedAt).toBe(s.now);
    expect(result.phaseDurationsMs.Succeeded).toBeUndefined();
  });

  it('a failing metric is reported with its value and threshold', () => {
    const plan = makePlan({ threshold: 1 });
    const s = new Scenario(plan, {
      metrics: () => [
        { name: 'request-success-rate', value: 97.25 },
        { name: 'request-duration', value: 120 },
      ],
    });
    const result = s.run();
    expect(result.failingCheck).toEqual({
      kind: 'metric',
      name: 'request-success-rate',
      value: 97.25,
      thresholdRange: { min: 99 },
      message: 'request-success-rate 97.25 < min 99',
    });
    expect(result.reason).toEqual({
      code: 'failed-checks-threshold',
      message: 'Failed checks threshold reached 1: request-success-rate 97.25 < min 99',
    });
    expect(result.failedChecks).toBe(1);
    expect(result.threshold).toBe(1);
  });
});

describe('contract details', () => {
  it('decide does not mutate its input state', () => {
    const plan = makePlan();
    const state = initialState(plan, T0);
    const copy = JSON.parse(JSON.stringify(state)) as unknown;
    decide(plan, state, { type: 'started', now: T0 });
    expect(state).toEqual(copy);
  });

  it('state survives a JSON round trip at every step (continue-as-new safe)', () => {
    const s = new Scenario(makePlan({ strategy: canary([50], { mirror: true, stepWeightPromotion: 50 }) }));
    s.run();
    for (const t of s.trace) expect(JSON.parse(JSON.stringify(t.after))).toEqual(t.after);
  });

  it('stale or unexpected events are ignored: no effects, the current next is re-issued', () => {
    const s = new Scenario(makePlan());
    s.runUntil((x) => x.next?.type === 'runAnalysis');
    const before = s.state;
    const t = s.feed({ type: 'promoted' });
    expect(t.effects).toEqual([]);
    expect(t.next).toEqual({ type: 'runAnalysis', phase: 'Progressing' });
    expect(s.state.cursor).toEqual(before.cursor);
    const t2 = s.feed({ type: 'readiness', workload: 'canary', ready: true, message: 'dup' });
    expect(t2.effects).toEqual([]);
  });

  it('an interrupted wait is re-issued for its remaining time only', () => {
    const s = new Scenario(makePlan());
    s.runUntil((x) => x.next?.type === 'wait' && x.state.phase === 'Progressing');
    s.elapse(20_000);
    const t = s.operator('resume'); // rejected: not paused
    expect(t.next).toMatchObject({ type: 'wait', ms: 40_000, reason: 'analysis-interval' });
  });

  it('continueFrom re-issues the pending next (after continue-as-new)', () => {
    const s = new Scenario(makePlan());
    s.runUntil((x) => x.next?.type === 'wait' && x.state.phase === 'Progressing');
    const state = JSON.parse(JSON.stringify(s.state)) as typeof s.state;
    const resumed = continueFrom(s.plan, state, s.now + 15_000);
    expect(resumed.effects).toEqual([]);
    expect(resumed.next).toMatchObject({ type: 'wait', ms: 45_000 });
    const due = continueFrom(s.plan, state, s.now + 60_000);
    expect(due.next.type).not.toBe('wait');
  });

  it('after done: no effects, same state, done again', () => {
    const s = new Scenario(makePlan({ strategy: canary([100]) }));
    const result = s.run();
    for (const event of [
      { type: 'timer' as const },
      { type: 'cancelled' as const },
      { type: 'promoted' as const },
    ]) {
      const out = decide(s.plan, s.state, { ...event, now: s.now + 1 });
      expect(out.effects).toEqual([]);
      expect(out.state).toBe(s.state);
      expect(out.next).toEqual({ type: 'done', result });
    }
  });
});
