// The Canary status cluster mode writes: Flagger's phases, Promoted condition and sparse writes.
import { describe, expect, it } from 'vitest';
import {
  changeFromOutcome,
  changeFromRelease,
  nextStatus,
  promotedCondition,
  triggerFor,
  type CanaryStatus,
} from '../../../src/cluster/status.js';
import type { ReleaseStatus } from '../../../src/domain/status.js';

const t0 = new Date('2026-01-01T10:00:00.123Z');
const t1 = new Date('2026-01-01T10:00:05.000Z');
const promoted = (s: CanaryStatus | null) => s?.conditions?.find((c) => c.type === 'Promoted');

describe('Promoted condition per phase (Flagger MakeStatusConditions)', () => {
  it.each([
    ['Initializing', 'Unknown'],
    ['Initialized', 'True'],
    ['Waiting', 'Unknown'],
    ['Progressing', 'Unknown'],
    ['WaitingPromotion', 'Unknown'],
    ['Promoting', 'Unknown'],
    ['Finalising', 'Unknown'],
    ['Succeeded', 'True'],
    ['Failed', 'False'],
  ] as const)('%s → %s', (phase, status) => {
    expect(promotedCondition(phase, 'Deployment').status).toBe(status);
    const s = nextStatus(undefined, { phase }, t0);
    expect(promoted(s)).toMatchObject({ type: 'Promoted', status, reason: phase });
  });

  it('messages name the target kind', () => {
    expect(promotedCondition('Failed', 'Deployment').message).toBe(
      'Canary analysis failed, Deployment scaled to zero.',
    );
    expect(promotedCondition('Initialized', 'Deployment').message).toBe(
      'Deployment initialization completed.',
    );
  });
});

describe('nextStatus', () => {
  it('sets the fields, seconds-precision timestamps, and keeps trackedConfigs', () => {
    const s = nextStatus(
      { trackedConfigs: { 'configmap/x': 'abc' } },
      { phase: 'Initialized', lastAppliedSpec: 'h1', lastPromotedSpec: 'h1' },
      t0,
    );
    expect(s).toMatchObject({
      phase: 'Initialized',
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: 'h1',
      lastPromotedSpec: 'h1',
      lastTransitionTime: '2026-01-01T10:00:00Z',
      trackedConfigs: { 'configmap/x': 'abc' },
    });
  });

  it('is null when nothing changes (status writes only on change)', () => {
    const a = nextStatus(undefined, { phase: 'Progressing', canaryWeight: 25, lastAppliedSpec: 'h' }, t0);
    expect(a).not.toBeNull();
    expect(nextStatus(a ?? undefined, { phase: 'Progressing', canaryWeight: 25 }, t1)).toBeNull();
    expect(nextStatus(a ?? undefined, { phase: 'Progressing', canaryWeight: 50 }, t1)?.canaryWeight).toBe(50);
    expect(nextStatus(a ?? undefined, { phase: 'Progressing', failedChecks: 1 }, t1)?.failedChecks).toBe(1);
  });

  it('keeps the condition transition time while its status stays; moves it when the status changes', () => {
    const init = nextStatus(undefined, { phase: 'Initializing' }, t0); // Unknown
    const prog = nextStatus(init ?? undefined, { phase: 'Progressing' }, t1); // Unknown, other reason
    expect(promoted(prog)?.lastTransitionTime).toBe('2026-01-01T10:00:00Z');
    expect(promoted(prog)?.lastUpdateTime).toBe('2026-01-01T10:00:05Z');
    const done = nextStatus(prog ?? undefined, { phase: 'Succeeded' }, new Date('2026-01-01T10:01:00Z'));
    expect(promoted(done)).toMatchObject({ status: 'True', lastTransitionTime: '2026-01-01T10:01:00Z' });
  });

  it('replaces only the Promoted condition', () => {
    const s = nextStatus(
      {
        conditions: [
          {
            type: 'Promoted',
            status: 'True',
            reason: 'Initialized',
            message: 'x',
            lastUpdateTime: 'a',
            lastTransitionTime: 'a',
          },
        ],
      },
      { phase: 'Progressing' },
      t0,
    );
    expect(s?.conditions).toHaveLength(1);
    expect(promoted(s)).toMatchObject({ status: 'Unknown', reason: 'Progressing' });
  });
});

describe('from a release', () => {
  const base = {
    phase: 'Progressing',
    weights: { primary: 75, canary: 25, mirror: null, abMatch: false },
    failedChecks: 1,
  };
  it('canary strategy: weight and failed checks, iterations 0', () => {
    const st = { ...base, progress: { unit: 'step', current: 1, total: 2 } } as unknown as ReleaseStatus;
    expect(changeFromRelease(st)).toEqual({
      phase: 'Progressing',
      canaryWeight: 25,
      failedChecks: 1,
      iterations: 0,
    });
  });
  it('A/B and blue/green: iterations', () => {
    const st = {
      ...base,
      progress: { unit: 'iteration', current: 3, total: 10 },
    } as unknown as ReleaseStatus;
    expect(changeFromRelease(st).iterations).toBe(3);
  });
  it('outcomes: Promoted → Succeeded (promoted spec), failures → Failed, Superseded → nothing', () => {
    expect(changeFromOutcome('Promoted', 'h', 0)).toMatchObject({
      phase: 'Succeeded',
      lastPromotedSpec: 'h',
    });
    for (const o of ['RolledBack', 'Aborted', 'Failed'] as const) {
      const c = changeFromOutcome(o, 'h', 2, 'why');
      expect(c).toMatchObject({ phase: 'Failed', canaryWeight: 0, failedChecks: 2, message: 'why' });
      expect(c).not.toHaveProperty('lastPromotedSpec');
    }
    expect(changeFromOutcome('Superseded', 'h', 0)).toBeNull();
  });
});

describe('triggerFor (Flagger: hasSpecChanged, suspend, initialisation)', () => {
  const settled: CanaryStatus = { phase: 'Succeeded', lastAppliedSpec: 'B', lastPromotedSpec: 'B' };
  const idle = { suspended: false };
  it('initialises a Canary no controller initialised yet', () => {
    expect(triggerFor({}, 'A', idle).kind).toBe('initialise');
    expect(triggerFor({ phase: 'Initializing' }, 'A', idle).kind).toBe('initialise');
  });
  it('releases a template that is neither the applied nor the promoted one', () => {
    expect(triggerFor(settled, 'C', idle).kind).toBe('release');
  });
  it('nothing for the applied template, or the promoted one (a manual rollback)', () => {
    expect(triggerFor(settled, 'B', idle).kind).toBe('none');
    const failed: CanaryStatus = { phase: 'Failed', lastAppliedSpec: 'C', lastPromotedSpec: 'B' };
    expect(triggerFor(failed, 'C', idle).kind).toBe('none'); // a failed template is not retried
    expect(triggerFor(failed, 'B', idle).kind).toBe('none'); // back to what the primary runs
  });
  it('suspended: a new template waits', () => {
    expect(triggerFor(settled, 'C', { suspended: true }).kind).toBe('suspended');
  });
  it('a release already followed for this template is not started again', () => {
    expect(triggerFor(settled, 'C', { suspended: false, followedHash: 'C' }).kind).toBe('none');
  });
  it('resumes following after a restart while a release is recorded as under way', () => {
    for (const phase of ['Progressing', 'Waiting', 'WaitingPromotion', 'Promoting', 'Finalising'] as const) {
      const st: CanaryStatus = { phase, lastAppliedSpec: 'C', lastPromotedSpec: 'B' };
      expect(triggerFor(st, 'C', idle).kind).toBe('resume');
      expect(triggerFor(st, 'C', { suspended: false, followedHash: 'C' }).kind).toBe('none');
    }
  });
});
