import { describe, expect, it } from 'vitest';
import { describeStatus, reportedWeights } from '../../../src/domain/status.js';
import { canary, hook, makePlan, metricsWith, Scenario } from './scenario.js';

describe('describeStatus', () => {
  it('mid-analysis: step x/n, weights, failed checks vs threshold, last metrics vs thresholds', () => {
    const plan = makePlan({ threshold: 3, strategy: canary([10, 20, 30, 40]) });
    const s = new Scenario(plan, {
      metrics: (ctx) =>
        metricsWith(plan, ctx.analysisCall === 2 ? { 'request-success-rate': { value: 97.5 } } : {}),
    });
    s.runUntil((x) => x.analysisCalls === 2 && x.next?.type === 'wait');
    const status = describeStatus(plan, s.state);
    expect(status).toMatchObject({
      target: 'test/podinfo',
      phase: 'Progressing',
      strategy: 'canary',
      progress: { unit: 'step', current: 2, total: 4 },
      progressText: 'step 2/4',
      weights: { primary: 80, canary: 20, mirror: null, abMatch: false },
      failedChecks: 1,
      threshold: 3,
      pendingGate: null,
      paused: null,
      outcome: null,
    });
    expect(status.lastAnalysis?.metrics.map((m) => m.text)).toEqual([
      'request-success-rate 97.5 (min 99) ✗',
      'request-duration 500 (max 500) ✓',
    ]);
    expect(status.waitingFor).toMatch(/^next analysis at \d{4}-/);
    expect(status.summary).toContain('test/podinfo Progressing step 2/4, traffic 80/20, failed checks 1/3');
  });

  it('pending gate with how to approve; iterations for A/B', () => {
    const plan = makePlan({
      strategy: { kind: 'ab-testing', iterations: 2, match: [] },
      hooks: [hook('qa-signoff', 'confirm-promotion')],
    });
    const s = new Scenario(plan, {
      hooks: (_t, hooks) => hooks.map((h) => ({ name: h.name, ok: false, status: 403, message: 'closed' })),
    });
    s.runUntil((x) => x.state.phase === 'WaitingPromotion' && x.next?.type === 'wait');
    const status = describeStatus(plan, s.state);
    expect(status.progressText).toBe('iteration 2/2');
    // Matched users get the canary: reported as Flagger does (canary 100), not as the default route's 100/0.
    expect(s.state).toMatchObject({ primaryWeight: 100, canaryWeight: 0, abMatchActive: true });
    expect(status.weights).toEqual({ primary: 0, canary: 100, mirror: null, abMatch: true });
    expect(status.summary).toContain('traffic 0/100 +match');
    expect(status.pendingGate).toMatchObject({
      gate: 'confirm-promotion',
      manualRequired: false,
      failingWebhooks: ['qa-signoff'],
      howToApprove:
        'fledge approve test/podinfo --gate confirm-promotion --reason "<why>" (or make webhook(s) qa-signoff answer 2xx)',
    });
    expect(status.waitingFor).toContain('gate confirm-promotion pending');
  });

  it('reportedWeights: the route weights, or primary 0 / canary 100 while an A/B match is active', () => {
    expect(reportedWeights(100, 0, true)).toEqual({ primary: 0, canary: 100 });
    expect(reportedWeights(100, 0, false)).toEqual({ primary: 100, canary: 0 });
    expect(reportedWeights(60, 40, false)).toEqual({ primary: 60, canary: 40 });
  });

  it('A/B: back at 100/0 once the match route is removed after the promotion', () => {
    const plan = makePlan({ strategy: { kind: 'ab-testing', iterations: 1, match: [] } });
    const s = new Scenario(plan);
    s.runUntil((x) => x.next?.type === 'done');
    expect(describeStatus(plan, s.state).weights).toEqual({
      primary: 100,
      canary: 0,
      mirror: null,
      abMatch: false,
    });
  });

  it('paused, readiness and finished states', () => {
    const plan = makePlan({ manualGates: ['confirm-rollout'] });
    let polls = 0;
    const s = new Scenario(plan, {
      readiness: () => ({ ready: ++polls > 1, message: '1/2 replicas available' }),
    });
    s.runUntil((x) => x.next?.type === 'wait');
    expect(describeStatus(plan, s.state).waitingFor).toContain('canary readiness (next poll');
    s.runUntil((x) => x.next?.type === 'waitForOperator');
    const gated = describeStatus(plan, s.state);
    expect(gated.waitingFor).toBe('operator approval of confirm-rollout');
    expect(gated.pendingGate?.howToApprove).toContain('(manual gate: only an operator approval opens it)');
    s.operator('pause', { actor: 'kim', reason: 'freeze' });
    expect(describeStatus(plan, s.state)).toMatchObject({
      paused: { by: 'kim', reason: 'freeze' },
      waitingFor: 'resume (paused by kim: freeze)',
    });
    s.operator('abort', { actor: 'kim', reason: 'not today' });
    const done = describeStatus(plan, s.state);
    expect(done).toMatchObject({
      outcome: 'Aborted',
      reason: { code: 'operator-abort' },
      waitingFor: 'nothing (finished)',
      phase: 'Failed',
    });
    expect(done.summary).toBe('test/podinfo Aborted: Aborted by kim: not today');
  });
});
