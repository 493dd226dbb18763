import { describe, expect, it } from 'vitest';
import { maxInfraRetries } from '../../../src/domain/decide.js';
import type { MetricResult } from '../../../src/domain/events.js';
import type { ReleasePlan } from '../../../src/domain/plan.js';
import { canary, hook, makePlan, metricsWith, Scenario, T0 } from './scenario.js';

describe('failed checks and the threshold', () => {
  it.each([1, 2, 3, 5])(
    'threshold %i: rolls back in the same tick the Nth failed check happens',
    (threshold) => {
      const plan = makePlan({ threshold, strategy: canary([10, 20, 30, 40, 50]) });
      const s = new Scenario(plan, {
        metrics: () => metricsWith(plan, { 'request-success-rate': { value: 95 } }),
      });
      const result = s.run();
      expect(result.outcome).toBe('RolledBack');
      expect(result.failedChecks).toBe(threshold);
      expect(s.analysisCalls).toBe(threshold); // no extra tick after the threshold is reached
      const last = s.trace.find((t) => t.after.phase === 'Failed');
      expect(last?.event.type).toBe('analysis');
      expect(last?.effects.filter((e) => e.type === 'setRoutes' || e.type === 'scaleCanary')).toEqual([
        { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false },
        { type: 'scaleCanary', to: 'zero' },
      ]);
      // never advanced beyond the first (pre-rollout) step
      expect(s.routeLog()).toEqual(['90/10', '100/0']);
      expect(s.notifications().at(-1)).toMatchObject({ severity: 'error', kind: 'threshold-reached' });
    },
  );

  it('failures do not advance; passes in between advance; the count is never reset', () => {
    const plan = makePlan({ threshold: 3, strategy: canary([10, 20, 30, 40]) });
    const fails = new Set([1, 3, 4]);
    const s = new Scenario(plan, {
      metrics: (ctx) =>
        metricsWith(plan, fails.has(ctx.analysisCall) ? { 'request-duration': { value: 900 } } : {}),
    });
    const result = s.run();
    expect(result.outcome).toBe('RolledBack');
    expect(s.routeLog()).toEqual(['90/10', '80/20', '100/0']);
    expect(result.failedChecks).toBe(3);
  });

  it('the first failure short-circuits: one failed check per tick even if everything fails', () => {
    const plan = makePlan({ threshold: 2, hooks: [hook('load-test', 'rollout')] });
    const s = new Scenario(plan, {
      hooks: (type, hooks) =>
        hooks.map((h) => ({
          name: h.name,
          ok: type !== 'rollout',
          status: 500,
          message: 'hey: connection refused',
        })),
      metrics: () =>
        metricsWith(plan, { 'request-success-rate': { value: 1 }, 'request-duration': { value: 9_999 } }),
    });
    const result = s.run();
    expect(result.failedChecks).toBe(2);
    expect(s.analysisCalls).toBe(2);
    expect(result.failingCheck).toEqual({
      kind: 'webhook',
      name: 'load-test',
      message: 'HTTP 500: hey: connection refused',
    });
  });

  it.each<{ name: string; metrics: MetricResult[] }>([
    { name: 'null value', metrics: [{ name: 'request-success-rate', value: null }] },
    { name: 'NaN', metrics: [{ name: 'request-success-rate', value: Number.NaN }] },
    {
      name: 'error no-values',
      metrics: [
        { name: 'request-success-rate', value: 0, error: 'no-values', message: 'no values found for query' },
      ],
    },
    { name: 'missing result', metrics: [] },
  ])('no values ($name) counts as a failed check', ({ metrics }) => {
    const plan = makePlan({ threshold: 1, metrics: [makePlan().metrics[0]!] });
    const s = new Scenario(plan, { metrics: () => metrics });
    const result = s.run();
    expect(result.outcome).toBe('RolledBack');
    expect(result.reason.code).toBe('failed-checks-threshold');
    expect(result.failingCheck).toMatchObject({ kind: 'metric', name: 'request-success-rate', value: null });
  });
});

describe('pre-rollout hooks', () => {
  it('run on the first tick only (no metrics); failures count and are retried each interval up to the threshold', () => {
    const plan = makePlan({ threshold: 3, hooks: [hook('db-migrate', 'pre-rollout')] });
    const s = new Scenario(plan, {
      hooks: (_t, hooks) =>
        hooks.map((h) => ({ name: h.name, ok: false, status: 503, message: 'migration lock held' })),
    });
    const result = s.run();
    expect(s.nexts().filter((n) => n.type === 'runHooks' && n.hookType === 'pre-rollout')).toHaveLength(3);
    expect(s.analysisCalls).toBe(0);
    expect(result).toMatchObject({
      outcome: 'RolledBack',
      failedChecks: 3,
      failingCheck: { kind: 'webhook', name: 'db-migrate', message: 'HTTP 503: migration lock held' },
    });
    expect(s.routeLog()).toEqual(['100/0']);
  });

  it('pass on a retry → the first step follows in the same tick', () => {
    const plan = makePlan({ threshold: 3, hooks: [hook('db-migrate', 'pre-rollout')] });
    let calls = 0;
    const s = new Scenario(plan, {
      hooks: (_t, hooks) => hooks.map((h) => ({ name: h.name, ok: ++calls > 1, message: '' })),
    });
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(result.failedChecks).toBe(1);
    const passed = s.trace.find((t) => t.event.type === 'hooks' && t.after.preRolloutDone);
    expect(passed?.effects).toContainEqual(expect.objectContaining({ type: 'setRoutes', canaryWeight: 10 }));
  });
});

describe('webhook failure alerts (Flagger: alert on a failed webhook unless muteAlert)', () => {
  const webhookAlerts = (s: Scenario): string[] =>
    s.effects.flatMap((e) => (e.type === 'notify' && e.kind === 'webhook-failed' ? [e.message] : []));
  it.each([
    { type: 'pre-rollout' as const, muted: false, alerts: 2 },
    { type: 'pre-rollout' as const, muted: true, alerts: 0 },
    { type: 'rollout' as const, muted: false, alerts: 2 },
    { type: 'rollout' as const, muted: true, alerts: 0 },
    { type: 'post-rollout' as const, muted: false, alerts: 1 },
    { type: 'post-rollout' as const, muted: true, alerts: 0 },
  ])('$type webhook failing, muteAlert $muted → $alerts warn alert(s)', ({ type, muted, alerts }) => {
    const plan = makePlan({ threshold: 2, hooks: [{ ...hook('check', type), muteAlert: muted }] });
    const s = new Scenario(plan, {
      hooks: (_t, hooks) => hooks.map((h) => ({ name: h.name, ok: false, status: 500, message: 'boom' })),
    });
    s.run();
    const got = webhookAlerts(s);
    expect(got).toHaveLength(alerts);
    for (const m of got) expect(m).toMatch(new RegExp(`${type} webhook check failed: HTTP 500: boom$`));
    const severities = s.effects.flatMap((e) =>
      e.type === 'notify' && e.kind === 'webhook-failed' ? [e.severity] : [],
    );
    expect(new Set(severities).size).toBeLessThanOrEqual(1);
  });

  it('a passing webhook never alerts', () => {
    const plan = makePlan({ hooks: [hook('pre', 'pre-rollout'), hook('check', 'rollout')] });
    const s = new Scenario(plan, {});
    expect(s.run().outcome).toBe('Promoted');
    expect(webhookAlerts(s)).toEqual([]);
  });
});

describe('infrastructure errors in analysis', () => {
  const infra = (plan: ReleasePlan, calls: Set<number>) => (ctx: { analysisCall: number }) =>
    metricsWith(
      plan,
      calls.has(ctx.analysisCall)
        ? {
            'request-success-rate': {
              value: null,
              error: 'infrastructure',
              message: 'prometheus: connection refused',
            },
          }
        : {},
    );

  it('count-as-failed-check: counted, distinct kind and reason', () => {
    const plan = makePlan({ threshold: 2, onInfrastructureError: 'count-as-failed-check' });
    const s = new Scenario(plan, { metrics: infra(plan, new Set([1, 2])) });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'RolledBack',
      failedChecks: 2,
      reason: { code: 'infrastructure-threshold' },
      failingCheck: {
        kind: 'infrastructure',
        name: 'request-success-rate',
        value: null,
        message: 'request-success-rate: prometheus: connection refused',
      },
    });
    expect(s.notifications().at(-1)).toMatchObject({ kind: 'infrastructure-error', severity: 'error' });
  });

  it('hold: no count, no advance, keeps ticking, then continues when metrics are back', () => {
    const plan = makePlan({ threshold: 1, onInfrastructureError: 'hold', strategy: canary([10, 20]) });
    const s = new Scenario(plan, { metrics: infra(plan, new Set([1, 2, 3])) });
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(result.failedChecks).toBe(0);
    expect(s.analysisCalls).toBe(5);
    expect(s.routeLog()).toEqual(['90/10', '80/20', '100/0']);
    expect(s.effects.filter((e) => e.type === 'recordEvent' && e.reason === 'AnalysisHeld')).toHaveLength(3);
  });

  it('hold: a real breach later in the same tick still counts', () => {
    const plan = makePlan({ threshold: 1, onInfrastructureError: 'hold' });
    const s = new Scenario(plan, {
      metrics: () =>
        metricsWith(plan, {
          'request-success-rate': { value: null, error: 'infrastructure' },
          'request-duration': { value: 2_000 },
        }),
    });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'RolledBack',
      reason: { code: 'failed-checks-threshold' },
      failingCheck: { name: 'request-duration', value: 2_000 },
    });
  });

  it('hold: bounded by the progress deadline', () => {
    const plan = makePlan({ threshold: 1, onInfrastructureError: 'hold', progressDeadlineMs: 150_000 });
    const s = new Scenario(plan, {
      metrics: infra(plan, new Set(Array.from({ length: 100 }, (_, i) => i + 1))),
    });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'RolledBack',
      reason: { code: 'infrastructure-hold-deadline' },
      failedChecks: 0,
      failingCheck: { kind: 'infrastructure' },
    });
    expect(s.analysisCalls).toBe(4); // held at 0, 60, 120 s; 180 s > 150 s
  });

  it('rollback: rolls back immediately', () => {
    const plan = makePlan({ threshold: 5, onInfrastructureError: 'rollback' });
    const s = new Scenario(plan, { metrics: infra(plan, new Set([2])) });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'RolledBack',
      reason: { code: 'infrastructure-error' },
      failedChecks: 0,
      failingCheck: { kind: 'infrastructure' },
    });
    expect(s.analysisCalls).toBe(2);
  });

  it.each([
    {
      policy: 'count-as-failed-check' as const,
      outcome: { reason: { code: 'infrastructure-threshold' }, failedChecks: 1 },
    },
    { policy: 'rollback' as const, outcome: { reason: { code: 'infrastructure-error' }, failedChecks: 0 } },
  ])('an infraError from runAnalysis follows policy $policy', ({ policy, outcome }) => {
    const plan = makePlan({ threshold: 1, onInfrastructureError: policy });
    const s = new Scenario(plan, {
      failNext: (n) => (n.type === 'runAnalysis' ? 'activity timed out' : undefined),
    });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'RolledBack',
      ...outcome,
      failingCheck: { kind: 'infrastructure', name: 'runAnalysis', message: 'activity timed out' },
    });
  });

  it('an infraError from runAnalysis under hold keeps ticking and recovers', () => {
    const plan = makePlan({ threshold: 1, onInfrastructureError: 'hold', strategy: canary([50]) });
    let failures = 0;
    const s = new Scenario(plan, {
      failNext: (n) => (n.type === 'runAnalysis' && ++failures <= 2 ? 'worker lost' : undefined),
    });
    expect(s.run().outcome).toBe('Promoted');
  });
});

describe('manual rollback webhook', () => {
  it('polled each tick; the first 2xx rolls back (reason manual), then post-rollout hooks with phase Failed', () => {
    const plan = makePlan({
      threshold: 5,
      strategy: canary([10, 20, 30, 40]),
      hooks: [hook('rollback-gate', 'rollback'), hook('cleanup', 'post-rollout')],
    });
    let polls = 0;
    const s = new Scenario(plan, {
      hooks: (type, hooks) =>
        hooks.map((h) => ({
          name: h.name,
          ok: type === 'rollback' ? ++polls >= 3 : true,
          status: 200,
          message: 'open',
        })),
    });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'RolledBack',
      reason: { code: 'manual-rollback-webhook' },
      failingCheck: { kind: 'webhook', name: 'rollback-gate' },
      failedChecks: 0,
    });
    expect(s.routeLog()).toEqual(['90/10', '80/20', '100/0']);
    expect(s.notifications().at(-1)).toMatchObject({ kind: 'manual-rollback', severity: 'error' });
    expect(s.nexts().at(-2)).toEqual({ type: 'runHooks', hookType: 'post-rollout', phase: 'Failed' });
  });

  it('a failing rollback poll (infraError) is ignored and the tick goes on', () => {
    const plan = makePlan({ hooks: [hook('rb', 'rollback')] });
    const s = new Scenario(plan, {
      failNext: (n) =>
        n.type === 'runHooks' && n.hookType === 'rollback' ? 'loadtester unreachable' : undefined,
      hooks: (_t, hooks) => hooks.map((h) => ({ name: h.name, ok: false, status: 404, message: 'closed' })),
    });
    expect(s.run().outcome).toBe('Promoted');
  });
});

describe('infrastructure errors in traffic/scale effects', () => {
  it('a failed setRoutes is retried (routes and scale re-applied) and the release continues', () => {
    let failures = 0;
    const plan = makePlan({ strategy: canary([50]) });
    const s = new Scenario(plan, {
      failEffect: (e) =>
        e.type === 'setRoutes' && e.canaryWeight === 50 && ++failures <= 2 ? 'conflict' : undefined,
    });
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(s.nexts().filter((n) => n.type === 'wait' && n.reason === 'infra-retry')).toHaveLength(2);
    expect(s.routeLog().filter((r) => r === '50/50')).toHaveLength(3);
    expect(s.state.infra).toBeNull();
  });

  it(`gives up after ${maxInfraRetries} retries: outcome Failed, restoring 100% primary`, () => {
    const plan = makePlan({ strategy: canary([50]) });
    const s = new Scenario(plan, {
      failEffect: (e) =>
        e.type === 'setRoutes' && e.canaryWeight === 50 ? 'apiserver unavailable' : undefined,
    });
    const result = s.run();
    expect(result).toMatchObject({
      outcome: 'Failed',
      reason: { code: 'infrastructure-failure' },
      failingCheck: { kind: 'infrastructure', name: 'setRoutes', message: 'apiserver unavailable' },
    });
    expect(s.routeLog().at(-1)).toBe('100/0');
    expect(s.effects.at(-1)).toMatchObject({ type: 'recordEvent', reason: 'InfrastructureError' });
    expect(s.nexts().filter((n) => n.type === 'wait' && n.reason === 'infra-retry')).toHaveLength(
      maxInfraRetries,
    );
  });

  it('a rollback whose traffic restore keeps failing ends Failed and keeps the original failing check', () => {
    const plan = makePlan({ threshold: 1 });
    const s = new Scenario(plan, {
      metrics: () => metricsWith(plan, { 'request-success-rate': { value: 50 } }),
      failEffect: (e) => (e.type === 'setRoutes' && e.primaryWeight === 100 ? 'webhook denied' : undefined),
    });
    const result = s.run();
    expect(result.outcome).toBe('Failed');
    expect(result.reason.message).toContain('while finishing: Failed checks threshold reached 1');
    expect(result.failingCheck).toMatchObject({ kind: 'metric', name: 'request-success-rate', value: 50 });
  });

  it('initialize failing after retries → Failed without touching routes', () => {
    const s = new Scenario(makePlan(), {
      failNext: (n) => (n.type === 'initialize' ? 'forbidden' : undefined),
    });
    const result = s.run();
    expect(result).toMatchObject({ outcome: 'Failed', reason: { code: 'infrastructure-failure' } });
    expect(s.routeLog()).toEqual([]);
  });

  it('notify/recordEvent failures are ignored', () => {
    const s = new Scenario(makePlan(), {
      failEffect: (e) => (e.type === 'notify' ? 'slack down' : undefined),
    });
    expect(s.run().outcome).toBe('Promoted');
  });
});

describe('the final batch (returned with done) is confirmed too', () => {
  it('a rollback whose traffic restore fails once is retried, then ends RolledBack', () => {
    const plan = makePlan({ threshold: 1 });
    let failures = 0;
    const s = new Scenario(plan, {
      metrics: () => metricsWith(plan, { 'request-success-rate': { value: 50 } }),
      failEffect: (e) =>
        e.type === 'setRoutes' && e.primaryWeight === 100 && ++failures === 1
          ? 'etcd leader changed'
          : undefined,
    });
    const result = s.run();
    expect(result).toMatchObject({ outcome: 'RolledBack', reason: { code: 'failed-checks-threshold' } });
    const retry = s.trace.findIndex((t) => t.next.type === 'wait' && t.next.reason === 'infra-retry');
    expect(retry).toBeGreaterThan(0);
    expect(s.trace[retry]?.after.cursor).toEqual({ kind: 'finish' });
    // the retry re-applies 100/0 and the canary scale-down
    expect(
      s.trace[retry + 1]?.effects.filter((e) => e.type === 'setRoutes' || e.type === 'scaleCanary'),
    ).toEqual([
      { type: 'setRoutes', primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false },
      { type: 'scaleCanary', to: 'zero' },
    ]);
  });

  it('a superseded release retries its traffic restore without touching the canary slot', () => {
    let failures = 0;
    const s = new Scenario(makePlan(), {
      failEffect: (e) =>
        e.type === 'setRoutes' && e.primaryWeight === 100 && ++failures <= 5 ? 'conflict' : undefined,
    });
    s.runUntil((x) => x.state.canaryWeight === 10 && x.next?.type === 'wait');
    s.feed({ type: 'superseded', by: 'newer' });
    const result = s.run();
    expect(result).toMatchObject({ outcome: 'Failed', reason: { code: 'infrastructure-failure' } });
    expect(result.reason.message).toContain('while finishing: Superseded by newer');
    const afterSupersede = s.trace.slice(s.trace.findIndex((t) => t.event.type === 'superseded'));
    expect(afterSupersede.flatMap((t) => t.effects).filter((e) => e.type === 'scaleCanary')).toEqual([]);
  });

  it('promotePrimary failing is retried and the release continues', () => {
    let failures = 0;
    const s = new Scenario(makePlan(), {
      failNext: (n) => (n.type === 'promotePrimary' && ++failures <= 2 ? 'conflict' : undefined),
    });
    expect(s.run().outcome).toBe('Promoted');
    expect(s.nexts().filter((n) => n.type === 'promotePrimary')).toHaveLength(3);
  });
});

describe('slow is not failed: transient infrastructure errors are waited out up to the progress deadline', () => {
  const patient = { infraRetry: 'until-deadline' as const, progressDeadlineMs: 600_000 };
  const failFor = (ms: number) => (n: { type: string }, ctx: { now: number }) =>
    n.type === 'promotePrimary' && ctx.now - T0 < ms ? 'Local Activity timed out' : undefined;

  it.each([
    [
      'a promotion blocked for 5 minutes by a throttled apiserver still promotes',
      patient,
      true,
      300_000,
      'Promoted',
    ],
    ['…but not with the fixed retry count of the first version', {}, true, 300_000, 'Failed'],
    ['a permanent error (403) still ends after the fixed retries', patient, false, 300_000, 'Failed'],
    [
      'a transient error that outlasts the progress deadline ends the release',
      patient,
      true,
      3_600_000,
      'Failed',
    ],
  ] as const)('%s', (_name, overrides, transient, failingMs, outcome) => {
    const s = new Scenario(makePlan(overrides), { failNext: failFor(failingMs), transient });
    const result = s.run();
    expect(result.outcome).toBe(outcome);
    const attempts = s.nexts().filter((n) => n.type === 'promotePrimary').length;
    if (outcome === 'Promoted') expect(attempts).toBeGreaterThan(maxInfraRetries + 1);
    else if (transient && 'infraRetry' in overrides) {
      // gave up only once the deadline had passed since the first failure
      expect(result.reason.message).toMatch(/promotePrimary kept failing after \d+ retries/);
      expect(result.finishedAt - T0).toBeGreaterThanOrEqual(600_000);
    } else expect(attempts).toBe(maxInfraRetries + 1);
  });
});
