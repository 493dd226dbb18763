// Events: everything that happens to a release, as the workflow reports it to decide(). Each carries `now`
// (workflow time, epoch ms): the domain has no clock of its own.
import type { OperatorIdentity } from './approvers.js';
import type { HookType } from './plan.js';
import type { GateName, OperatorActionName, Workload } from './state.js';

/** One webhook call's outcome (Flagger contract: HTTP status ≤ 202 = ok; timeout/transport error = not ok). */
export interface HookResult {
  name: string;
  ok: boolean;
  status?: number;
  message: string;
}

/**
 * One metric query's outcome. `value` null (or NaN) = no values. `error` distinguishes an empty result
 * (`no-values`, counts as a failed check as in Flagger) from the provider being unreachable after retries
 * (`infrastructure`, handled by `plan.onInfrastructureError`).
 */
export interface MetricResult {
  name: string;
  value: number | null;
  error?: 'no-values' | 'infrastructure';
  message?: string;
}

/** An operator's request (same shape as the workflow messages' OperatorRequest plus the action name). */
export interface OperatorAction {
  action: OperatorActionName;
  actor: string;
  reason: string;
  /** approve: which gate (optional; defaults to the pending one). A string so unknown names can be rejected. */
  gate?: string;
  /** The identity the worker verified for this message (its `actor` is then `identity.actor`). */
  identity?: OperatorIdentity;
  /** The actor the message claimed, when a verified identity replaced it. */
  claimedActor?: string;
  /** Rejected before delivery (the identity token did not verify): recorded as rejected with this reason. */
  rejection?: string;
  /** Update validators only: the message carries an identity token that is verified after validation. */
  pendingVerification?: boolean;
}

/** The OperatorAction carried by an operator event (every optional field kept only when present). */
export function operatorActionOf(e: OperatorAction): OperatorAction {
  const action: OperatorAction = { action: e.action, actor: e.actor, reason: e.reason };
  if (e.gate !== undefined) action.gate = e.gate;
  if (e.identity !== undefined) action.identity = e.identity;
  if (e.claimedActor !== undefined) action.claimedActor = e.claimedActor;
  if (e.rejection !== undefined) action.rejection = e.rejection;
  return action;
}

/** Names of the effects and nexts an `infraError` can refer to. */
export type InfraStep =
  | 'setRoutes'
  | 'scaleCanary'
  | 'notify'
  | 'recordEvent'
  | 'initialize'
  | 'checkReadiness'
  | 'runHooks'
  | 'runAnalysis'
  | 'promotePrimary';

export type ReleaseEvent =
  /** The workflow started; first event. */
  | { type: 'started'; now: number }
  /** Result of `initialize`: primary workload, services and routes ensured, routes at 100/0, primary serving. */
  | { type: 'initialized'; now: number }
  /** Result of `checkReadiness`: `ready` when ≥ the plan's ready threshold of updated replicas are available. */
  | { type: 'readiness'; now: number; workload: Workload; ready: boolean; message: string }
  /** Result of `runHooks`: every webhook of that type was called (in plan order). */
  | { type: 'hooks'; now: number; hookType: HookType; results: HookResult[] }
  /**
   * Result of `runAnalysis`: the rollout webhooks, then the metrics of this tick, in plan order. The workflow may
   * stop at the first failure (as Flagger) or run everything; the first failure in plan order is what counts.
   */
  | {
      type: 'analysis';
      now: number;
      hooks: HookResult[];
      metrics: MetricResult[];
      /** The primary Deployment was not found (its message); absent when it exists (or could not be read). */
      primaryMissing?: string;
    }
  /** Result of `promotePrimary`: the primary's pod template now is the canary's. */
  | { type: 'promoted'; now: number }
  /** The `wait` elapsed. */
  | { type: 'timer'; now: number }
  /** An operator message (update or signal). */
  | ({ type: 'operator'; now: number } & OperatorAction)
  /** A newer release of the same target takes over (the lane supersedes this one). */
  | { type: 'superseded'; now: number; by: string }
  /** The workflow was cancelled (the cleanup scope delivers this). */
  | { type: 'cancelled'; now: number; reason?: string }
  /** An effect or the `next` failed with an infrastructure error after its own retries. */
  | {
      type: 'infraError';
      now: number;
      step: InfraStep;
      message: string;
      /** The failure may pass by itself (timeout, 5xx, 429, connection); false for 403/422/404-like errors. */
      transient?: boolean;
    };

export type ReleaseEventType = ReleaseEvent['type'];

export function isGateName(value: string | undefined): value is GateName {
  return value === 'confirm-rollout' || value === 'confirm-traffic-increase' || value === 'confirm-promotion';
}
