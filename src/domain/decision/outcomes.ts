// How a release ends: promotion finished (finalise), promotion failed (primary not ready: traffic to the canary),
// primary missing, rollback, supersede/cancel (terminate), and completion with the typed result. Once `finishing`
// holds the outcome, only the post-rollout hooks (and retries of the final batch's effects) remain. PURE.
import type { EventReason, Next, NotifyKind } from '../effects.js';
import { hooksOfType } from '../evaluate.js';
import type { ReleasePlan } from '../plan.js';
import type { ReleaseResult } from '../result.js';
import type { Finishing, Phase, ReleaseState } from '../state.js';
import {
  clearWaiting,
  enterPhase,
  label,
  notify,
  recordEvent,
  runHooks,
  scaleCanary,
  setRoutes,
  thresholdOf,
  type Ctx,
} from './context.js';
import { strategyOf } from './strategies/index.js';

export function finalise(c: Ctx): Next {
  enterPhase(c, 'Finalising');
  scaleCanary(c, 'zero');
  const promotion = c.s.promotion;
  const by = promotion?.by ?? 'analysis';
  const message =
    by === 'skip'
      ? 'Canary analysis was skipped, promotion finished.'
      : by === 'operator'
        ? `Promoted by ${promotion?.actor ?? 'an operator'}${promotion?.reason ? ` (${promotion.reason})` : ''}: remaining analysis skipped, promotion finished.`
        : 'Canary analysis completed successfully, promotion finished.';
  recordEvent(c, 'Normal', 'PromotionCompleted', `Promotion completed! Scaling down ${label(c)}`);
  notify(c, 'info', 'promoted', `${label(c)}: ${message}`);
  c.s.finishing = {
    outcome: 'Promoted',
    code: by === 'skip' ? 'analysis-skipped' : by === 'operator' ? 'operator-promoted' : 'analysis-passed',
    message,
    finalPhase: 'Succeeded',
  };
  return postRollout(c, 'Succeeded');
}

/** Flagger's handleFailedPromotion: the primary did not become ready → all traffic to the (healthy) canary, Failed. */
export function promotionFailed(c: Ctx, message: string): Next {
  setRoutes(c, 0, 100, null, false);
  const deadline = `${Math.round(c.plan.progressDeadlineMs / 1000)}s`;
  const text = `Promotion failed, primary not ready after ${deadline}: ${message}; all traffic routed to the canary`;
  notify(c, 'error', 'promotion-failed', `${label(c)}: ${text}`);
  recordEvent(c, 'Warning', 'PromotionFailed', text);
  clearWaiting(c);
  enterPhase(c, 'Failed');
  c.s.finishing = {
    outcome: 'Failed',
    code: 'promotion-failed',
    message: text,
    failingCheck: { kind: 'progress-deadline', name: 'primary', message },
    finalPhase: 'Failed',
  };
  return postRollout(c, 'Failed');
}

/**
 * The primary Deployment was deleted out of band mid-release. Rolling back would route everything to a Deployment
 * that does not exist (an outage), so the canary — running and ready — takes all traffic and keeps running, and the
 * release ends Failed naming what is missing. Flagger has no such branch (it would keep retrying, then roll back
 * onto the missing primary).
 */
export function primaryMissing(c: Ctx, message: string): Next {
  setRoutes(c, 0, 100, null, false);
  const text = `primary missing: ${message}; all traffic routed to the canary, which keeps running (start a new release to re-create the primary)`;
  notify(c, 'error', 'primary-missing', `${label(c)}: ${text}`);
  recordEvent(c, 'Warning', 'PrimaryMissing', text);
  clearWaiting(c);
  enterPhase(c, 'Failed');
  c.s.finishing = {
    outcome: 'Failed',
    code: 'primary-missing',
    message: text,
    failingCheck: { kind: 'infrastructure', name: 'primary', message },
    finalPhase: 'Failed',
  };
  return postRollout(c, 'Failed');
}

export function rollback(c: Ctx, finishing: Finishing, kind: NotifyKind, reason: EventReason): Next {
  // Before initialisation completed nothing was moved (new routes start at 100% primary): nothing to restore.
  if (c.s.phase !== 'Initializing') {
    setRoutes(c, 100, 0, null, false);
    scaleCanary(c, 'zero');
  }
  notify(c, 'error', kind, `${label(c)} rolled back: ${finishing.message}`);
  recordEvent(c, 'Warning', reason, `Canary failed! Scaling down ${label(c)}: ${finishing.message}`);
  clearWaiting(c);
  enterPhase(c, 'Failed');
  c.s.finishing = finishing;
  return postRollout(c, 'Failed');
}

function postRollout(c: Ctx, payloadPhase: Phase): Next {
  if (hooksOfType(c.plan, 'post-rollout').length === 0) return complete(c);
  return runHooks(c, 'post-rollout', payloadPhase);
}

export function terminate(c: Ctx, kind: 'superseded' | 'cancelled', detail: string | undefined): Next {
  const cancel = kind === 'cancelled';
  if (c.s.finishing !== null) {
    // The outcome is decided; only post-rollout hooks (or a retry) were left. Skip them.
    return complete(c);
  }
  if (c.s.phase !== 'Initializing') setRoutes(c, 100, 0, null, false);
  // A superseding release reuses the canary slot (it sets its own images), so only a cancel scales it down.
  if (cancel && c.s.canaryScale === 'up') scaleCanary(c, 'zero');
  const base = cancel
    ? `Release cancelled${detail ? ` (${detail})` : ''}; traffic restored to primary`
    : `Superseded by ${detail ?? 'a newer release'}; traffic restored to primary`;
  const promoted = c.s.primaryPromoted;
  const message = promoted ? `${base} (the primary already runs the new version)` : base;
  notify(c, 'warn', kind, `${label(c)}: ${message}`);
  recordEvent(c, 'Warning', cancel ? 'Cancelled' : 'Superseded', message);
  clearWaiting(c);
  c.s.finishing = {
    outcome: promoted ? 'Promoted' : cancel ? 'Aborted' : 'Superseded',
    code: promoted ? (cancel ? 'cancelled-after-promotion' : 'superseded-after-promotion') : kind,
    message,
    finalPhase: 'Terminated',
  };
  return complete(c);
}

export function complete(c: Ctx): Next {
  const finishing: Finishing = c.s.finishing ?? {
    outcome: 'Failed',
    code: 'infrastructure-failure',
    message: 'release ended without a recorded outcome',
    finalPhase: 'Failed',
  };
  c.s.finishing = finishing;
  clearWaiting(c);
  // `infra` is kept: its attempt count bounds retries of this final batch if one of its effects fails.
  if (c.s.infra !== null) c.s.infra.retryAt = null;
  enterPhase(c, finishing.finalPhase);
  c.s.cursor = { kind: 'done' };
  const result = buildResult(c.plan, c.s, finishing, c.now);
  c.s.result = result;
  return { type: 'done', result };
}

function buildResult(plan: ReleasePlan, s: ReleaseState, finishing: Finishing, now: number): ReleaseResult {
  const result: ReleaseResult = {
    outcome: finishing.outcome,
    reason: { code: finishing.code, message: finishing.message },
    failedChecks: s.failedChecks,
    threshold: thresholdOf(plan),
    phaseDurationsMs: { ...s.phaseDurationsMs },
    approvals: s.approvals.map((a) => ({ ...a })),
    operatorActions: s.operatorLog.map((entry) => ({ ...entry })),
    finalWeights: { primary: s.primaryWeight, canary: s.canaryWeight, mirror: s.mirror },
    phase: s.phase,
    startedAt: s.startedAt,
    finishedAt: now,
    durationMs: Math.max(0, now - s.startedAt),
    pausedMs: s.pausedMsTotal,
    stepsCompleted: strategyOf(plan).stepsCompleted(s),
    primaryPromoted: s.primaryPromoted,
  };
  if (finishing.failingCheck !== undefined) result.failingCheck = finishing.failingCheck;
  return result;
}

export function doneNext(plan: ReleasePlan, s: ReleaseState, now: number): Next {
  if (s.result !== null) return { type: 'done', result: s.result };
  const finishing: Finishing = s.finishing ?? {
    outcome: 'Failed',
    code: 'infrastructure-failure',
    message: 'release ended without a recorded outcome',
    finalPhase: s.phase,
  };
  return { type: 'done', result: buildResult(plan, s, finishing, now) };
}
