// Operator action validation: used by the workflow's update validators (rejected requests never enter history)
// and by decide() for signals (an invalid signal is logged as rejected and otherwise ignored). PURE.
import { checkApprover, checkOperatorText } from './approvers.js';
import type { ReleasePlan } from './plan.js';
import type { OperatorAction } from './events.js';
import { isGateName } from './events.js';
import type { OperatorActionName, ReleaseState } from './state.js';
import { gateNames } from './state.js';

export type ValidationResult = { ok: true } | { ok: false; reason: string };

const actionNames: readonly OperatorActionName[] = ['approve', 'pause', 'resume', 'promote', 'abort'];

export function isOperatorActionName(value: unknown): value is OperatorActionName {
  return typeof value === 'string' && (actionNames as readonly string[]).includes(value);
}

/** "(phase Progressing, weight 20)" — where the release stands, for rejection messages. */
export function whereText(state: ReleaseState): string {
  const paused = state.paused !== null ? ', paused' : '';
  return `phase ${state.phase}, weight ${state.canaryWeight}${paused}`;
}

function isoTime(epochMs: number): string {
  return Number.isFinite(epochMs) ? new Date(epochMs).toISOString() : String(epochMs);
}

/**
 * Whether `action` may act now: its text (with `plan.operatorChecks` strict), a failed identity verification, the
 * release's state, and then `plan.approvers` (the gate an approval opens is the pending one).
 */
export function validateOperatorAction(
  plan: ReleasePlan,
  state: ReleaseState,
  action: OperatorAction,
): ValidationResult {
  const verdict = validateAgainstState(plan, state, action);
  if (!verdict.ok) return verdict;
  if (plan.approvers === undefined) return verdict;
  const gate = action.action === 'approve' ? state.pendingGate?.gate : undefined;
  return checkApprover(plan.approvers, action.action, gate, {
    actor: action.actor,
    ...(action.identity !== undefined ? { identity: action.identity } : {}),
    ...(action.pendingVerification === true ? { pendingVerification: true } : {}),
  });
}

function validateAgainstState(
  plan: ReleasePlan,
  state: ReleaseState,
  action: OperatorAction,
): ValidationResult {
  if (!isOperatorActionName(action.action)) {
    return {
      ok: false,
      reason: `unknown action "${String(action.action)}" (actions: ${actionNames.join(', ')})`,
    };
  }
  if (typeof action.actor !== 'string' || action.actor.trim() === '') {
    return { ok: false, reason: 'actor is required: say who is acting' };
  }
  if (action.rejection !== undefined) return { ok: false, reason: action.rejection };
  if (plan.operatorChecks === 'strict') {
    const text = checkOperatorText(action.action, action.claimedActor ?? action.actor, action.reason);
    if (!text.ok) return text;
  }
  if (state.cursor.kind === 'done') {
    const outcome = state.result?.outcome ?? state.finishing?.outcome ?? 'unknown';
    return {
      ok: false,
      reason: `release already finished (outcome ${outcome}): ${action.action} no longer applies`,
    };
  }
  if (state.finishing !== null) {
    return {
      ok: false,
      reason: `release is finishing (outcome ${state.finishing.outcome}: ${state.finishing.message}); ${action.action} no longer applies`,
    };
  }
  const where = whereText(state);
  switch (action.action) {
    case 'approve': {
      if (action.gate !== undefined && !isGateName(action.gate)) {
        return { ok: false, reason: `unknown gate "${action.gate}" (gates: ${gateNames.join(', ')})` };
      }
      const pending = state.pendingGate;
      if (pending === null) return { ok: false, reason: `nothing to approve: no gate is pending (${where})` };
      if (action.gate !== undefined && action.gate !== pending.gate) {
        return {
          ok: false,
          reason: `gate ${action.gate} is not pending; the pending gate is ${pending.gate} (${where})`,
        };
      }
      if (pending.approvedBy !== undefined) {
        return {
          ok: false,
          reason: `gate ${pending.gate} is already approved by ${pending.approvedBy}; it opens at the next passing analysis`,
        };
      }
      return { ok: true };
    }
    case 'pause':
      if (state.paused !== null) {
        return {
          ok: false,
          reason: `already paused by ${state.paused.by} since ${isoTime(state.paused.since)} (${state.paused.reason})`,
        };
      }
      return { ok: true };
    case 'resume':
      if (state.paused === null) return { ok: false, reason: `not paused (${where})` };
      return { ok: true };
    case 'promote':
      if (state.phase === 'Promoting' || state.phase === 'Finalising') {
        return { ok: false, reason: `already promoting (${where})` };
      }
      if (state.phase === 'Waiting') {
        return {
          ok: false,
          reason: `nothing to promote yet: the release waits for confirm-rollout; approve that gate first (${where})`,
        };
      }
      if (state.phase !== 'Progressing' && state.phase !== 'WaitingPromotion') {
        return { ok: false, reason: `nothing to promote yet: the canary is not running (${where})` };
      }
      return { ok: true };
    case 'abort':
      if (state.primaryPromoted) {
        return {
          ok: false,
          reason: `too late to abort: the primary already runs the new version (${where}); release the previous version to revert`,
        };
      }
      return { ok: true };
  }
}
