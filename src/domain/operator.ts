// Operator action validation: used by the workflow's update validators (rejected requests never enter history)
// and by decide() for signals (an invalid signal is logged as rejected and otherwise ignored). PURE.
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

export function validateOperatorAction(
  _plan: ReleasePlan,
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
