// Operator actions (approve, pause, resume, promote, abort), validated again here (signals are not pre-validated)
// and logged with who and why, rejected ones too. They act at once: an approval opens the gate the release sits at
// (traffic/promotion gates only after a passing tick; otherwise the next passing tick consumes it), pause freezes
// everything (paused time does not count towards the progress or hold deadlines), promote skips the remaining
// analysis, abort rolls back. PURE.
import type { Next } from '../effects.js';
import type { OperatorAction } from '../events.js';
import { validateOperatorAction } from '../operator.js';
import type { OperatorLogEntry } from '../state.js';
import { maxOperatorLogEntries } from '../state.js';
import { awaitingResult, label, notify, recordEvent, type Ctx } from './context.js';
import { advance } from './analysis.js';
import { fireTimer, reissue } from './cursor.js';
import { gate } from './gates.js';
import { reapplyDesired, retryNow } from './infra.js';
import { startPromotion } from './lifecycle.js';
import { rollback } from './outcomes.js';
import { strategyOf } from './strategies/index.js';

export function onOperator(c: Ctx, action: OperatorAction): Next {
  const verdict = validateOperatorAction(c.plan, c.s, action);
  if (!verdict.ok) {
    logOperator(c, action, false, verdict.reason);
    return reissue(c);
  }
  switch (action.action) {
    case 'approve':
      return approve(c, action);
    case 'pause':
      logOperator(c, action, true);
      c.s.paused = { by: action.actor, reason: action.reason, since: c.now };
      recordEvent(c, 'Normal', 'RolloutPaused', `Paused by ${action.actor}: ${action.reason}`);
      notify(c, 'info', 'paused', `${label(c)} paused by ${action.actor}: ${action.reason}`);
      return { type: 'waitForOperator', reason: 'paused' };
    case 'resume':
      return resume(c, action);
    case 'promote': {
      let note: string | undefined;
      if (c.s.paused !== null) {
        clearPause(c);
        note = 'also resumed the paused release';
      }
      logOperator(c, action, true, undefined, note);
      notify(
        c,
        'info',
        'promoting',
        `${label(c)}: promotion requested by ${action.actor}: ${action.reason} (remaining analysis skipped at ${strategyOf(c.plan).progress(c.s)})`,
      );
      if (c.s.infra !== null && c.s.infra.retryAt !== null) {
        c.s.infra.retryAt = null;
        if (c.s.infra.step === 'setRoutes' || c.s.infra.step === 'scaleCanary')
          reapplyDesired(c, c.s.infra.step);
      }
      return startPromotion(c, { by: 'operator', actor: action.actor, reason: action.reason, at: c.now });
    }
    case 'abort':
      logOperator(c, action, true);
      return rollback(
        c,
        {
          outcome: 'Aborted',
          code: 'operator-abort',
          message: `Aborted by ${action.actor}: ${action.reason}`,
          finalPhase: 'Failed',
        },
        'aborted',
        'RolloutAborted',
      );
  }
}

function approve(c: Ctx, action: OperatorAction): Next {
  const pending = c.s.pendingGate;
  if (pending === null) return reissue(c); // unreachable: validated
  const override = pending.failingWebhooks.length > 0;
  pending.approvedBy = action.actor;
  c.s.approvals.push({
    gate: pending.gate,
    via: 'operator',
    by: action.actor,
    reason: action.reason,
    at: c.now,
    override,
  });
  logOperator(
    c,
    action,
    true,
    undefined,
    override ? `override: webhook(s) ${pending.failingWebhooks.join(', ')} failing` : undefined,
  );
  recordEvent(c, 'Normal', 'GateApproved', `${pending.gate} approved by ${action.actor}: ${action.reason}`);
  notify(c, 'info', 'approved', `${label(c)}: ${pending.gate} approved by ${action.actor}: ${action.reason}`);
  if (!awaitingResult(c)) return reissue(c); // paused: acts on resume
  return proceedAfterApproval(c) ?? reissue(c);
}

/**
 * An approved gate acts at once when the release is sitting at it: confirm-rollout always; traffic/promotion
 * gates between ticks when the last analysis passed (the guarded step is taken now and the interval restarts).
 * Otherwise (null) the approval is consumed when the gate is next evaluated, i.e. at the next passing tick.
 */
function proceedAfterApproval(c: Ctx): Next | null {
  const pending = c.s.pendingGate;
  if (pending === null || pending.approvedBy === undefined) return null;
  const cur = c.s.cursor;
  const g = pending.gate;
  if (cur.kind === 'hooks' && cur.hookType === g) return gate(c, g);
  if (g === 'confirm-rollout') {
    const atGate = cur.kind === 'manual-gate' || (cur.kind === 'timer' && cur.then === 'confirm-rollout');
    return atGate ? gate(c, g) : null;
  }
  if (cur.kind === 'timer' && cur.then === 'tick' && c.s.lastTickOk === true) {
    c.s.tickStartedAt = c.now;
    return advance(c);
  }
  return null;
}

function resume(c: Ctx, action: OperatorAction): Next {
  logOperator(c, action, true);
  clearPause(c);
  recordEvent(c, 'Normal', 'RolloutResumed', `Resumed by ${action.actor}: ${action.reason}`);
  notify(c, 'info', 'resumed', `${label(c)} resumed by ${action.actor}: ${action.reason}`);
  // Continue with an immediate tick (or poll) instead of waiting out the rest of the interval.
  if (c.s.infra !== null && c.s.infra.retryAt !== null) return retryNow(c);
  const approved = proceedAfterApproval(c);
  if (approved !== null) return approved;
  if (c.s.cursor.kind === 'timer') return fireTimer(c);
  return reissue(c);
}

/** End a pause: paused time does not count towards the progress deadline or the hold deadline. */
function clearPause(c: Ctx): void {
  const paused = c.s.paused;
  if (paused === null) return;
  const pausedFor = Math.max(0, c.now - paused.since);
  c.s.pausedMsTotal += pausedFor;
  if (c.s.waitingReadySince !== null) c.s.waitingReadySince += pausedFor;
  if (c.s.holdingSince !== null) c.s.holdingSince += pausedFor;
  c.s.paused = null;
}

function logOperator(
  c: Ctx,
  action: OperatorAction,
  accepted: boolean,
  rejectionReason?: string,
  note?: string,
): void {
  const entry: OperatorLogEntry = {
    action: action.action,
    actor: action.actor,
    reason: action.reason,
    at: c.now,
    accepted,
  };
  if (action.gate !== undefined) entry.gate = action.gate;
  if (action.identity !== undefined) entry.verified = action.identity.via;
  if (action.claimedActor !== undefined) entry.claimedActor = action.claimedActor;
  if (rejectionReason !== undefined) entry.rejectionReason = rejectionReason;
  if (note !== undefined) entry.note = note;
  c.s.operatorLog.push(entry);
  if (c.s.operatorLog.length > maxOperatorLogEntries)
    c.s.operatorLog.splice(0, c.s.operatorLog.length - maxOperatorLogEntries);
}
