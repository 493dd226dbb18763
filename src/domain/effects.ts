// What decide() asks of the world: `effects` (run in order, fire-and-forget from the domain's view) and exactly
// one `next` (the one thing that produces the next event). See the contract in decide.ts.
import type { GateName, Phase, RunnableHookType, WaitReason, Workload } from './state.js';
import type { ReleaseResult } from './result.js';

/** Stable notification kinds (alert routing and tests match on them; never rename). */
export type NotifyKind =
  | 'progressing'
  | 'waiting-approval'
  | 'waiting-traffic-approval'
  | 'waiting-promotion-approval'
  | 'approved'
  | 'paused'
  | 'resumed'
  | 'promoting'
  | 'promoted'
  | 'threshold-reached'
  | 'progress-deadline'
  | 'manual-rollback'
  | 'aborted'
  | 'infrastructure-error'
  | 'webhook-failed'
  | 'promotion-failed'
  | 'primary-missing'
  | 'superseded'
  | 'cancelled';

/** Kubernetes Event reasons (typed, Argo-style, instead of Flagger's catch-all `Synced`). */
export type EventReason =
  | 'ReleaseStarted'
  | 'Initialized'
  | 'CanaryScaledUp'
  | 'CanaryReady'
  | 'WaitingForApproval'
  | 'GateApproved'
  | 'Progressing'
  | 'PreRolloutPassed'
  | 'TrafficMirrored'
  | 'TrafficWeightUpdated'
  | 'IterationCompleted'
  | 'AnalysisFailed'
  | 'AnalysisHeld'
  | 'AnalysisSkipped'
  | 'Promoting'
  | 'PrimaryPromoted'
  | 'PromotionCompleted'
  | 'PromotionFailed'
  | 'PrimaryMissing'
  | 'RolloutPaused'
  | 'RolloutResumed'
  | 'RolloutAborted'
  | 'ManualRollback'
  | 'RolledBack'
  | 'ProgressDeadlineExceeded'
  | 'InfrastructureError'
  | 'PostRolloutHookFailed'
  | 'Superseded'
  | 'Cancelled';

export type Effect =
  /** Write the route weights (and read them back). Idempotent. */
  | {
      type: 'setRoutes';
      primaryWeight: number;
      canaryWeight: number;
      mirrorPercent: number | null;
      abMatch: boolean;
    }
  /** `up`: set the plan's new images on the canary slot and scale it from zero (idempotent ensure). `zero`: scale to 0. */
  | { type: 'scaleCanary'; to: 'up' | 'zero' }
  /** Alert (Slack, …) routed by severity as Flagger: info gets all, warn gets warn+error, error gets errors. Best-effort. */
  | { type: 'notify'; severity: 'info' | 'warn' | 'error'; kind: NotifyKind; message: string }
  /** A Kubernetes Event on the target. Best-effort. */
  | { type: 'recordEvent'; eventType: 'Normal' | 'Warning'; reason: EventReason; message: string };

export type EffectType = Effect['type'];

export type Next =
  /** Ensure primary Deployment (+HPA, config copies), services and routes at 100% primary; wait for the primary. → `initialized` */
  | { type: 'initialize' }
  /** → `readiness` */
  | { type: 'checkReadiness'; workload: Workload }
  /** Call every webhook of this type; `phase` goes into the webhook payload. → `hooks` */
  | { type: 'runHooks'; hookType: RunnableHookType; phase: Phase }
  /** Rollout webhooks, then all metrics of this tick. `phase` goes into the webhook payload. → `analysis` */
  | { type: 'runAnalysis'; phase: Phase }
  /** Copy the canary's template (and config copies) to the primary. → `promoted` */
  | { type: 'promotePrimary' }
  /**
   * Sleep `ms` (until `until`); interrupted by operator messages. → `timer`. With `watch` (a closed gate with
   * webhooks, `plan.gatePollMs`): meanwhile poll that gate's webhooks every `watch.everyMs` → a `hooks` event of the
   * gate as soon as they all pass, or with the last poll's results once `until` is reached.
   */
  | { type: 'wait'; ms: number; until: number; reason: WaitReason; watch?: GateWatch }
  /** Block until an operator message (or supersede/cancel) arrives; no event of its own. */
  | { type: 'waitForOperator'; reason: 'paused' | 'manual-approval' }
  /** The release is over: return `result` from the workflow. */
  | { type: 'done'; result: ReleaseResult };

export type NextType = Next['type'];

/** A gate polled while the core waits (see the `wait` next). */
export interface GateWatch {
  gate: GateName;
  /** The phase in the webhook payload (as when the gate itself is evaluated). */
  phase: Phase;
  everyMs: number;
}
