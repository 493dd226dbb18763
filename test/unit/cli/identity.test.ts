// Who the CLI says is acting, exit codes per outcome, the retry summary, the progress line.
import { describe, expect, it } from 'vitest';
import { defaultActor } from '../../../src/cli/operate.js';
import { painter } from '../../../src/cli/output.js';
import { outcomeExitCode, progressLine, progressMode } from '../../../src/cli/watch.js';
import type { ReleaseStatus } from '../../../src/domain/status.js';
import { retrySummary } from '../../../src/starter.js';

describe('defaultActor', () => {
  const git = () => 'dev@example.com';
  const os = () => 'dev@laptop';
  it('$FLEDGE_ACTOR first, then the git identity, then <user>@<host>', () => {
    expect(defaultActor({ FLEDGE_ACTOR: 'ci-bot' }, { gitEmail: git, os })).toBe('ci-bot');
    expect(defaultActor({ FLEDGE_ACTOR: '  ' }, { gitEmail: git, os })).toBe('dev@example.com');
    expect(defaultActor({}, { gitEmail: () => undefined, os })).toBe('dev@laptop');
  });
});

describe('exit codes and progress', () => {
  it('maps every outcome to its documented exit code', () => {
    expect(
      (['Promoted', 'RolledBack', 'Aborted', 'Superseded', 'Failed'] as const).map(outcomeExitCode),
    ).toEqual([0, 2, 3, 4, 6]);
  });

  it('progress mode: JSON lines with -o json, redraw on a terminal, appended lines otherwise', () => {
    expect(progressMode(true, { isTTY: true })).toBe('json');
    expect(progressMode(false, { isTTY: true })).toBe('redraw');
    expect(progressMode(false, { isTTY: false })).toBe('lines');
  });

  it('a progress line has phase, step, canary weight, checks and the pending gate, uncoloured when asked', () => {
    const st = {
      phase: 'WaitingPromotion',
      paused: null,
      progressText: 'step 1/1',
      weights: { primary: 50, canary: 50, mirror: null, abMatch: false },
      failedChecks: 1,
      threshold: 2,
      pendingGate: { gate: 'confirm-promotion' },
      waitingFor: 'operator approval of confirm-promotion',
    } as unknown as ReleaseStatus;
    const line = progressLine(st, painter(false));
    expect(line).toMatch(
      /^WaitingPromotion\s+step 1\/1\s+canary +50%\s+checks 1\/2\s+gate confirm-promotion pending\s+operator approval of confirm-promotion$/,
    );
    expect(progressLine(st, painter(true))).toContain('\x1b[');
  });
});

describe('retrySummary', () => {
  const note = { runId: 'r1', ended: 'RolledBack', actor: 'bob', reason: 'webhook fixed' };
  it('names the retry, its actor and reason', () => {
    expect(retrySummary('Release ns/app → img:1 (canary)', note)).toBe(
      'Release ns/app → img:1 (canary) — retry (RolledBack before) by bob: webhook fixed',
    );
  });
  it("stays within Temporal's summary limit", () => {
    const s = retrySummary('Release ns/app → img:1 (canary)', { ...note, reason: 'é'.repeat(500) });
    expect(Buffer.byteLength(JSON.stringify(s))).toBeLessThanOrEqual(380);
    expect(s.endsWith('…')).toBe(true);
  });
});
