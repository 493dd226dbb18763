// `fledge history`'s summary of a workflow history, on recorded release histories (the replay fixtures).
import { readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import {
  formatHistory,
  summarizeHistory,
  type HistoryEntry,
  type RunHistory,
} from '../../../src/cli/history.js';
import { painter } from '../../../src/cli/output.js';
import type { ReleaseResult } from '../../../src/domain/result.js';

function fixture(name: string): { workflowId: string; runs: RunHistory[] } {
  const raw = JSON.parse(
    readFileSync(new URL(`../../replay/histories/${name}.json`, import.meta.url), 'utf8'),
  ) as { workflowId: string; history: unknown };
  return {
    workflowId: raw.workflowId,
    runs: [
      { runId: 'run-1', history: historyFromJSON(raw.history as Parameters<typeof historyFromJSON>[0]) },
    ],
  };
}

const kinds = (entries: HistoryEntry[]): string[] => entries.map((e) => e.kind);

describe('summarizeHistory', () => {
  it('a gate approved by an operator update: phases, traffic, analysis against thresholds, who approved, the outcome', () => {
    const { workflowId, runs } = fixture('release-gate-approved');
    const h = summarizeHistory(workflowId, runs);
    expect(h.status).toBe('COMPLETED');
    expect(h.result?.outcome).toBe('Promoted');
    expect(h.input).toEqual({ images: { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' }, initiator: 'e2e' });
    expect(h.entries[0]).toMatchObject({ kind: 'started', runId: 'run-1', eventId: 1 });
    expect(h.entries[0]?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(h.entries.filter((e) => e.kind === 'phase').map((e) => e.text)).toEqual([
      'Initializing',
      'Initialized',
      'Progressing',
      'WaitingPromotion',
      'Promoting',
      'Succeeded',
    ]);
    expect(h.entries.filter((e) => e.kind === 'traffic').map((e) => e.text)).toEqual([
      'primary 50%  canary 50%',
      'primary 100%  canary 0%',
    ]);
    const analysis = h.entries.find((e) => e.kind === 'analysis');
    expect(analysis).toMatchObject({ ok: true });
    expect(analysis?.text).toMatch(/^passed: request-success-rate 100 \(min 99\) ✓, load-test ✓$/);
    const op = h.entries.filter((e) => e.kind === 'operator');
    expect(op).toHaveLength(1);
    expect(op[0]?.operator).toMatchObject({
      action: 'approve',
      actor: 'alice',
      reason: 'looks good',
      via: 'update',
    });
    expect(op[0]?.operator?.identity).toBeTruthy();
    expect(h.entries.at(-1)).toMatchObject({ kind: 'outcome', ok: true });
    expect(h.entries.at(-1)?.text).toMatch(/^Promoted: Canary analysis completed successfully/);
    // Accepted/rejected comes from the release's operator log (its result here).
    const withLog = summarizeHistory(workflowId, runs, h.result?.operatorActions);
    expect(withLog.entries.find((e) => e.kind === 'operator')?.operator?.accepted).toBe(true);
    expect(withLog.entries.find((e) => e.kind === 'operator')?.text).toBe(
      'approve by alice: "looks good" [update] — accepted',
    );
  });

  it('an abort by signal, accepted or (per the operator log) rejected with the reason', () => {
    const { workflowId, runs } = fixture('release-aborted-by-signal');
    const h = summarizeHistory(workflowId, runs);
    const result = h.result as ReleaseResult;
    const accepted = summarizeHistory(workflowId, runs, result.operatorActions);
    expect(accepted.entries.find((e) => e.kind === 'operator')?.text).toBe(
      'abort by bob: "pager went off" [signal] — accepted',
    );
    const rejected = summarizeHistory(workflowId, runs, [
      {
        action: 'abort',
        actor: 'bob',
        reason: 'pager went off',
        at: 0,
        accepted: false,
        rejectionReason: 'too late',
      },
    ]);
    expect(rejected.entries.find((e) => e.kind === 'operator')).toMatchObject({
      text: 'abort by bob: "pager went off" [signal] — rejected: too late',
      operator: { accepted: false, rejectionReason: 'too late' },
    });
    expect(h.entries.at(-1)?.text).toBe('Aborted: Aborted by bob: pager went off');
  });

  it('a rollback: failed analyses with the value against its threshold', () => {
    const { workflowId, runs } = fixture('release-rolled-back');
    const h = summarizeHistory(workflowId, runs);
    const failed = h.entries.filter((e) => e.kind === 'analysis');
    expect(failed).toHaveLength(2);
    for (const a of failed) {
      expect(a.ok).toBe(false);
      expect(a.text).toMatch(/^failed: request-success-rate 80 \(min 99\) ✗, load-test ✓$/);
    }
    expect(h.entries.at(-1)).toMatchObject({ kind: 'outcome', ok: false });
    expect(h.entries.at(-1)?.text).toMatch(/^RolledBack: Failed checks threshold reached 2/);
  });

  it('a supersede, and verbose-only kinds (readiness, timers, Kubernetes Events, notifications)', () => {
    const { workflowId, runs } = fixture('release-superseded');
    const h = summarizeHistory(workflowId, runs);
    expect(h.entries.find((e) => e.kind === 'superseded')?.text).toMatch(/^superseded by fledge\//);
    expect(kinds(h.entries)).toEqual(expect.arrayContaining(['readiness', 'timer', 'k8s-event', 'notify']));
    const p = painter(false);
    const plain = formatHistory(h, {}, p);
    const verbose = formatHistory(h, { verbose: true }, p);
    expect(plain).not.toMatch(/k8s-event|readiness/);
    expect(verbose).toMatch(/k8s-event\s+Kubernetes Event Superseded/);
    expect(verbose).toMatch(/readiness\s+readiness of canary: ready \(2\/2 replicas available\)/);
    expect(plain).not.toContain('\x1b');
    expect(plain).toMatch(/^release {2}fledge\//);
    expect(plain).toMatch(/status {3}Superseded — /);
    expect(plain).toMatch(/TIME\s+ELAPSED\s+EVENT\s+WHAT/);
  });

  it('internal markers are not notifications: patch markers and the metrics bookkeeping are not shown', () => {
    for (const name of ['release-slack-thread', 'release-verified-approvers']) {
      const { workflowId, runs } = fixture(name);
      const raw = JSON.stringify(runs[0]?.history);
      expect(raw.includes('core_patch'), `${name} records patch markers`).toBe(true);
      const h = summarizeHistory(workflowId, runs);
      const verbose = formatHistory(h, { verbose: true }, painter(false));
      expect(verbose).not.toMatch(/core_patch|core_local_activity|recordOutcome|verifyIdentity/);
      // Every notification entry is a notification the release sent.
      const notes = h.entries.filter((e) => e.kind === 'notify');
      expect(notes.length, name).toBeGreaterThan(0);
      for (const n of notes) expect(n.text, name).toMatch(/^notify (info|warn|error)/);
    }
  });

  it('a continue-as-new chain reads as one trail; earlier runs of a retried release are named in the header', () => {
    const a = fixture('release-gate-approved');
    const b = fixture('release-promoted');
    const h = summarizeHistory(a.workflowId, [
      { runId: 'run-1', history: a.runs[0]?.history ?? {} },
      { runId: 'run-2', history: b.runs[0]?.history ?? {} },
    ]);
    expect(h.runIds).toEqual(['run-1', 'run-2']);
    expect(h.entries.filter((e) => e.kind === 'started')).toHaveLength(1);
    expect(h.entries.find((e) => e.kind === 'continued')).toMatchObject({ runId: 'run-2' });
    const text = formatHistory(
      h,
      {
        previousRuns: [
          { runId: 'run-0', status: 'COMPLETED', startTime: '', closeTime: null, outcome: 'RolledBack' },
        ],
      },
      painter(false),
    );
    expect(text).toMatch(/run {6}run-2 \(continued from 1 earlier run\(s\)\)/);
    expect(text).toMatch(/retry {4}of 1 earlier run\(s\); the last, run-0, ended RolledBack/);
  });
});
