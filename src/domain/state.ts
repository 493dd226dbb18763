// The release state: everything the decision core knows between two events. PURE and plain JSON: it is stored
// in workflow history (as decide's input/output) and passed through continue-as-new, so no classes, no Dates,
// no Maps, no undefined-vs-missing distinctions that matter.
import type { HookType, ReleasePlan, ThresholdRange } from './plan.js';
import type { FailingCheck, Outcome, ReasonCode, ReleaseResult } from './result.js';

/** Flagger's phases, same names (dashboards and habits carry over). Pause is a flag, not a phase. */
export type Phase =
  | 'Initializing'
  | 'Initialized'
  | 'Waiting'
  | 'Progressing'
  | 'WaitingPromotion'
  | 'Promoting'
  | 'Finalising'
  | 'Succeeded'
  | 'Failed'
  | 'Terminating'
  | 'Terminated';

export const phases: readonly Phase[] = [
  'Initializing',
  'Initialized',
  'Waiting',
  'Progressing',
  'WaitingPromotion',
  'Promoting',
  'Finalising',
  'Succeeded',
  'Failed',
  'Terminating',
  'Terminated',
];

export type GateName = 'confirm-rollout' | 'confirm-traffic-increase' | 'confirm-promotion';
export const gateNames: readonly GateName[] = [
  'confirm-rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
];

export type Workload = 'canary' | 'primary';

export type OperatorActionName = 'approve' | 'pause' | 'resume' | 'promote' | 'abort';

/** How one metric fared in the last analysis. `not-evaluated`: no result reported (e.g. short-circuited). */
export type MetricVerdictKind = 'pass' | 'breach' | 'no-values' | 'infrastructure' | 'not-evaluated';

export interface MetricSummary {
  name: string;
  value: number | null;
  thresholdRange: ThresholdRange;
  ok: boolean;
  kind: MetricVerdictKind;
  message: string;
}

export interface HookSummary {
  name: string;
  ok: boolean;
  status?: number;
  message: string;
}

export type AnalysisVerdictKind = 'pass' | 'failed' | 'hold' | 'rollback';

export interface AnalysisSummary {
  at: number;
  /** Analysis tick number (1-based) this summary belongs to. */
  tick: number;
  /** `pre-rollout`: the first tick, which runs pre-rollout hooks only (no metrics, as Flagger). */
  source: 'pre-rollout' | 'analysis';
  ok: boolean;
  verdict: AnalysisVerdictKind;
  hooks: HookSummary[];
  metrics: MetricSummary[];
  failingCheck?: FailingCheck;
}

export interface OperatorLogEntry {
  action: OperatorActionName;
  actor: string;
  reason: string;
  gate?: string;
  at: number;
  accepted: boolean;
  rejectionReason?: string;
  /** Extra facts recorded with an accepted action (e.g. "override: webhook x was failing"). */
  note?: string;
  /** How the actor was verified (a signed Slack interaction, an OIDC ID token); absent: self-declared. */
  verified?: 'slack' | 'oidc';
  /** The actor the message claimed, when a verified identity replaced it. */
  claimedActor?: string;
}

/** A gate that opened: by an operator (`approve`) or because all its webhooks passed. */
export interface Approval {
  gate: GateName;
  via: 'operator' | 'webhook';
  /** Operator identity, or the webhook names (comma separated). */
  by: string;
  reason: string;
  at: number;
  /** An operator approval that opened a gate whose webhooks were failing. */
  override: boolean;
}

export interface PendingGate {
  gate: GateName;
  since: number;
  /** Listed in `plan.manualGates`: only an operator approval opens it. */
  manualRequired: boolean;
  /** Webhooks of the gate that failed at the last poll. */
  failingWebhooks: string[];
  lastPolledAt: number | null;
  /** Set when an operator approved; the guarded action runs at once, or at the next passing tick. */
  approvedBy?: string;
}

export interface PauseInfo {
  by: string;
  reason: string;
  since: number;
}

/** What a timer leads to when it fires. */
export type TimerThen = 'tick' | 'canary-readiness' | 'primary-readiness' | 'confirm-rollout' | 'route-back';

export type WaitReason =
  'analysis-interval' | 'readiness-poll' | 'gate-poll' | 'promotion-step' | 'infra-retry';

/** Hook types the decision core asks the workflow to run on their own (`rollout` hooks run inside runAnalysis). */
export type RunnableHookType = Exclude<HookType, 'rollout' | 'event'>;

/**
 * The cursor: what the core is waiting for. The `next` handed to the workflow is always derived from it, so after
 * an operator message (which may arrive instead of the result of a `next`) or a continue-as-new, the core can
 * re-issue exactly what it needs.
 */
export type Cursor =
  | { kind: 'start' }
  | { kind: 'initialize' }
  | { kind: 'readiness'; workload: Workload }
  | { kind: 'hooks'; hookType: RunnableHookType; payloadPhase: Phase }
  | { kind: 'analysis' }
  | { kind: 'promote' }
  | { kind: 'timer'; until: number; reason: WaitReason; then: TimerThen }
  | { kind: 'manual-gate' }
  /** The outcome is decided; a traffic/scale effect of the final batch failed and is being retried. */
  | { kind: 'finish' }
  | { kind: 'done' };

/** A failed effect/next being retried (infrastructure error after the activity's own retries). */
export interface InfraRetry {
  attempts: number;
  step: string;
  message: string;
  /** When the retry is due; null once it was re-issued (attempts kept until something succeeds). */
  retryAt: number | null;
  /** When this run of failures began (absent in states from before it was recorded: counted from the next one). */
  since?: number;
}

/** The outcome decided while the last steps (post-rollout hooks) still run. */
export interface Finishing {
  outcome: Outcome;
  code: ReasonCode;
  message: string;
  failingCheck?: FailingCheck;
  finalPhase: Phase;
  /** Set once infrastructure retries were exhausted: later effect failures no longer reopen the release. */
  gaveUp?: boolean;
}

export interface PromotionInfo {
  by: 'analysis' | 'skip' | 'operator';
  actor?: string;
  reason?: string;
  at: number;
}

export interface ReadinessObservation {
  workload: Workload;
  ready: boolean;
  message: string;
  at: number;
}

export interface ReleaseState {
  /** Schema version of this object (bump with a migration when the shape changes incompatibly). */
  version: 1;
  phase: Phase;
  canaryWeight: number;
  primaryWeight: number;
  /** Mirror percentage when mirroring to the canary, else null. */
  mirror: number | null;
  abMatchActive: boolean;
  /** Desired scale of the canary slot (what was last asked for). */
  canaryScale: 'zero' | 'up';
  /** Canary strategy: weight steps applied so far (0..weights.length). */
  stepIndex: number;
  /** A/B and blue/green: passing iterations so far (blue/green reaches N+1 once traffic is on the canary). */
  iterations: number;
  failedChecks: number;
  /** The most recent failed check (kept for the result). */
  lastFailure: FailingCheck | null;
  paused: PauseInfo | null;
  pausedMsTotal: number;
  pendingGate: PendingGate | null;
  lastAnalysis: AnalysisSummary | null;
  /** Did the most recent tick's analysis pass (null before the first)? Approvals of traffic/promotion gates act at once only then. */
  lastTickOk: boolean | null;
  preRolloutDone: boolean;
  /** Analysis ticks started so far. */
  tick: number;
  tickStartedAt: number | null;
  operatorLog: OperatorLogEntry[];
  approvals: Approval[];
  phaseEnteredAt: Partial<Record<Phase, number>>;
  phaseSince: number;
  phaseDurationsMs: Partial<Record<Phase, number>>;
  /** Progress deadline bookkeeping: when the current readiness wait began (shifted forward by paused time). */
  waitingReadySince: number | null;
  lastReadiness: ReadinessObservation | null;
  /** Policy `hold`: when the current run of infrastructure errors began (bounded by the progress deadline). */
  holdingSince: number | null;
  promotion: PromotionInfo | null;
  primaryPromoted: boolean;
  infra: InfraRetry | null;
  cursor: Cursor;
  finishing: Finishing | null;
  result: ReleaseResult | null;
  startedAt: number;
  updatedAt: number;
}

/** At most this many operator log entries are kept (oldest dropped): the state travels through history. */
export const maxOperatorLogEntries = 100;

export function initialState(_plan: ReleasePlan, now: number): ReleaseState {
  return {
    version: 1,
    phase: 'Initializing',
    canaryWeight: 0,
    primaryWeight: 100,
    mirror: null,
    abMatchActive: false,
    canaryScale: 'zero',
    stepIndex: 0,
    iterations: 0,
    failedChecks: 0,
    lastFailure: null,
    paused: null,
    pausedMsTotal: 0,
    pendingGate: null,
    lastAnalysis: null,
    lastTickOk: null,
    preRolloutDone: false,
    tick: 0,
    tickStartedAt: null,
    operatorLog: [],
    approvals: [],
    phaseEnteredAt: { Initializing: now },
    phaseSince: now,
    phaseDurationsMs: {},
    waitingReadySince: null,
    lastReadiness: null,
    holdingSince: null,
    promotion: null,
    primaryPromoted: false,
    infra: null,
    cursor: { kind: 'start' },
    finishing: null,
    result: null,
    startedAt: now,
    updatedAt: now,
  };
}

export function isDone(state: ReleaseState): boolean {
  return state.cursor.kind === 'done';
}
