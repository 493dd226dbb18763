// The typed result of one release: what CI blocks on and what the CLI maps to exit codes.
// PURE: no I/O, no clock. Plain JSON.
import type { ThresholdRange } from './plan.js';
import type { Approval, OperatorLogEntry, Phase } from './state.js';

export type Outcome = 'Promoted' | 'RolledBack' | 'Aborted' | 'Superseded' | 'Failed';

/**
 * Stable machine codes for why a release ended (never rename: CI scripts and dashboards match on them).
 * - analysis-passed: every step/iteration passed and the primary was promoted.
 * - analysis-skipped: `skipAnalysis` — promoted without analysis.
 * - operator-promoted: an operator's `promote` skipped the remaining analysis.
 * - failed-checks-threshold: `threshold` failed checks (metric breaches, no-values, failing rollout/pre-rollout hooks).
 * - infrastructure-threshold: as above, but the check that reached the threshold was an infrastructure error
 *   (policy `count-as-failed-check`).
 * - infrastructure-error: an infrastructure error under policy `rollback`.
 * - infrastructure-hold-deadline: infrastructure errors under policy `hold` lasted longer than the progress deadline.
 * - progress-deadline: the canary was not ready within the progress deadline.
 * - promotion-failed: the primary was not ready within the progress deadline after promotion (traffic left on
 *   the canary, as Flagger's handleFailedPromotion).
 * - primary-missing: the primary Deployment disappeared mid-release (deleted out of band); all traffic was moved to
 *   the canary, which keeps running — routing it back to a missing primary would be an outage.
 * - manual-rollback-webhook: a `rollback` webhook answered 2xx.
 * - operator-abort: an operator's `abort`.
 * - superseded / cancelled: a newer release took over / the workflow was cancelled (traffic restored to primary).
 * - superseded-after-promotion / cancelled-after-promotion: same, but the primary already runs the new version.
 * - infrastructure-failure: a traffic/scale/initialise/promote operation kept failing after its retries.
 */
export type ReasonCode =
  | 'analysis-passed'
  | 'analysis-skipped'
  | 'operator-promoted'
  | 'failed-checks-threshold'
  | 'infrastructure-threshold'
  | 'infrastructure-error'
  | 'infrastructure-hold-deadline'
  | 'progress-deadline'
  | 'promotion-failed'
  | 'primary-missing'
  | 'manual-rollback-webhook'
  | 'operator-abort'
  | 'superseded'
  | 'cancelled'
  | 'superseded-after-promotion'
  | 'cancelled-after-promotion'
  | 'infrastructure-failure';

export interface ResultReason {
  code: ReasonCode;
  message: string;
}

export type FailingCheckKind = 'metric' | 'webhook' | 'infrastructure' | 'progress-deadline';

/** The check that made a release fail (or the last failed check), with the observed value vs its threshold. */
export interface FailingCheck {
  kind: FailingCheckKind;
  /** Metric name, webhook name, workload ('canary' | 'primary') for deadlines, or the failing step for infrastructure. */
  name: string;
  /** Observed value; null when there was none (no values, infrastructure error). */
  value?: number | null;
  thresholdRange?: ThresholdRange;
  message: string;
}

export interface FinalWeights {
  primary: number;
  canary: number;
  mirror: number | null;
}

export interface ReleaseResult {
  outcome: Outcome;
  reason: ResultReason;
  failingCheck?: FailingCheck;
  failedChecks: number;
  threshold: number;
  /** Time spent in each phase (ms), from the `now` of the events; the terminal phase is not listed. */
  phaseDurationsMs: Partial<Record<Phase, number>>;
  approvals: Approval[];
  /** Every operator action received, accepted or rejected, in order (bounded; see state.ts). */
  operatorActions: OperatorLogEntry[];
  finalWeights: FinalWeights;
  /** Final phase (Succeeded | Failed | Terminated). */
  phase: Phase;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  /** Total time spent paused by operators. */
  pausedMs: number;
  /** Steps (canary) or iterations (A/B, blue/green) completed. */
  stepsCompleted: number;
  /** True when the primary Deployment's template was replaced with the new version. */
  primaryPromoted: boolean;
}

/** Compact, deterministic number formatting for messages (no locale). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 2 : abs >= 1 ? 3 : 4;
  return String(Number(value.toFixed(digits)));
}

export function formatRange(range: ThresholdRange): string {
  const parts: string[] = [];
  if (range.min !== undefined) parts.push(`min ${formatNumber(range.min)}`);
  if (range.max !== undefined) parts.push(`max ${formatNumber(range.max)}`);
  return parts.length > 0 ? parts.join(', ') : 'no bounds';
}

/** "request-success-rate 98.5 (min 99)" style one-liner for a failing check. */
export function describeFailingCheck(check: FailingCheck): string {
  switch (check.kind) {
    case 'metric':
      return check.message;
    case 'webhook':
      return `webhook ${check.name} failed: ${check.message}`;
    case 'infrastructure':
      return `infrastructure error in ${check.name}: ${check.message}`;
    case 'progress-deadline':
      return `${check.name} progress deadline exceeded: ${check.message}`;
  }
}
