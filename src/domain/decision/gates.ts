// Gates (confirm-rollout, confirm-traffic-increase, confirm-promotion): open when every webhook of the gate
// passes (not for `plan.manualGates`) or an operator approved (./operator-actions.ts); closed gates notify once,
// then are re-polled — confirm-rollout every interval (phase Waiting), the traffic/promotion gates at every
// passing tick (phase WaitingPromotion for confirm-promotion; analysis and the threshold still apply). What an
// opened gate leads to is the strategy's (./strategies).
// With `plan.gatePollMs` (spec.fledge.gatePollInterval), a closed gate is also WATCHED while the core waits for its
// next poll (confirm-rollout) or for the next tick after a passing one (traffic/promotion gates): the `wait` carries
// the gate, the workflow polls its webhooks every gatePollMs inside one activity, and the gate acts as soon as they
// pass — as an operator approval between ticks does (traffic/promotion: the guarded step now, the interval
// restarts). The watch's last results at the end of the wait count as the gate's poll. PURE.
import type { GateWatch, NotifyKind, Next } from '../effects.js';
import type { HookResult } from '../events.js';
import { hooksOfType, summariseHooks } from '../evaluate.js';
import type { ReleasePlan } from '../plan.js';
import type { GateName, HookSummary, Phase, ReleaseState } from '../state.js';
import { enterPhase, intervalOf, label, notify, recordEvent, runHooks, type Ctx } from './context.js';
import { endTick, perform } from './analysis.js';
import { fireTimer, reissue, timer } from './cursor.js';
import { startProgressing } from './lifecycle.js';
import { strategyOf } from './strategies/index.js';

/** Evaluate a gate: approved → open; manual → closed until approved; webhooks → poll them; none → open. */
export function gate(c: Ctx, g: GateName): Next {
  const pending = c.s.pendingGate;
  if (pending !== null && pending.gate === g && pending.approvedBy !== undefined) return gateOpened(c, g);
  if (c.plan.manualGates.includes(g)) return gateClosed(c, g, []);
  if (hooksOfType(c.plan, g).length === 0) return gateOpened(c, g);
  return runHooks(c, g, gatePayloadPhase(g, c.s.phase));
}

/** The phase a gate's webhooks receive (Flagger asks confirm-promotion while Progressing). */
function gatePayloadPhase(g: GateName, phase: Phase): Phase {
  return g === 'confirm-promotion' ? 'Progressing' : phase;
}

/** Every webhook of the gate passed: recorded as a webhook approval. */
export function gateWebhooksPassed(c: Ctx, g: GateName, summaries: readonly HookSummary[]): void {
  const names = summaries.map((h) => h.name).join(', ');
  c.s.approvals.push({
    gate: g,
    via: 'webhook',
    by: names,
    reason: 'all gate webhooks passed',
    at: c.now,
    override: false,
  });
  recordEvent(c, 'Normal', 'GateApproved', `${g} passed (webhooks ${names})`);
}

/**
 * The gate watched during the current wait, if any (without the time left): a closed, not manual, not yet approved
 * gate with webhooks, while the core waits for its next poll (confirm-rollout) or for the tick after a PASSING one
 * (traffic/promotion gates: what an approval between ticks also needs). Only plans with `gatePollMs`.
 */
export function watchedGate(plan: ReleasePlan, s: ReleaseState): GateName | null {
  const every = plan.gatePollMs;
  if (typeof every !== 'number' || !(every > 0)) return null;
  const cur = s.cursor;
  if (cur.kind !== 'timer' || s.paused !== null || s.finishing !== null) return null;
  if (s.infra !== null && s.infra.retryAt !== null) return null;
  const p = s.pendingGate;
  if (p === null || p.manualRequired || p.approvedBy !== undefined) return null;
  if (plan.manualGates.includes(p.gate) || hooksOfType(plan, p.gate).length === 0) return null;
  const waitsForIt =
    p.gate === 'confirm-rollout'
      ? cur.then === 'confirm-rollout'
      : cur.then === 'tick' && s.lastTickOk === true;
  return waitsForIt ? p.gate : null;
}

/** Gates are never polled more often than this, whatever a (hand-made) plan says. */
export const minGatePollMs = 1_000;

/** What a `wait` until `until` watches: the watched gate, when at least one poll period is left. */
export function gateWatchOf(
  plan: ReleasePlan,
  s: ReleaseState,
  now: number,
  until: number,
): GateWatch | null {
  const g = watchedGate(plan, s);
  if (g === null) return null;
  const everyMs = Math.max(minGatePollMs, plan.gatePollMs ?? 0);
  if (until - now < everyMs) return null;
  return { gate: g, phase: gatePayloadPhase(g, s.phase), everyMs };
}

/**
 * Results of the watch of the gate the core waits at (the caller checked `watchedGate`): all pass → the gate opens
 * now (traffic/promotion: the interval restarts, as after an approval between ticks); otherwise they are the gate's
 * latest poll, and the wait goes on — or, its time come, confirm-rollout is re-polled (a new watch: the poll just
 * happened) and a tick begins.
 */
export function onGateWatched(c: Ctx, g: GateName, results: readonly HookResult[]): Next {
  const summaries = summariseHooks(hooksOfType(c.plan, g), results);
  const failing = summaries.filter((h) => !h.ok).map((h) => h.name);
  if (failing.length === 0) {
    gateWebhooksPassed(c, g, summaries);
    if (g !== 'confirm-rollout') c.s.tickStartedAt = c.now;
    return gateOpened(c, g);
  }
  const pending = c.s.pendingGate;
  if (pending !== null) {
    pending.failingWebhooks = failing;
    pending.lastPolledAt = c.now;
  }
  const cur = c.s.cursor;
  if (cur.kind === 'timer' && cur.until > c.now) return reissue(c);
  if (g === 'confirm-rollout') return gateClosed(c, g, failing);
  return fireTimer(c);
}

export function gateOpened(c: Ctx, g: GateName): Next {
  c.s.pendingGate = null;
  switch (g) {
    case 'confirm-rollout':
      return startProgressing(c);
    case 'confirm-traffic-increase':
      return perform(c, strategyOf(c.plan).increaseTraffic(c));
    case 'confirm-promotion':
      return perform(c, strategyOf(c.plan).promotionApproved(c));
  }
}

const gateTexts: Record<GateName, { kind: NotifyKind; text: string }> = {
  'confirm-rollout': { kind: 'waiting-approval', text: 'Canary is waiting for approval.' },
  'confirm-traffic-increase': {
    kind: 'waiting-traffic-approval',
    text: 'Canary traffic increase is waiting for approval.',
  },
  'confirm-promotion': {
    kind: 'waiting-promotion-approval',
    text: 'Canary promotion is waiting for approval.',
  },
};

export function gateClosed(c: Ctx, g: GateName, failingWebhooks: string[]): Next {
  const manual = c.plan.manualGates.includes(g);
  const pending = c.s.pendingGate;
  if (pending === null || pending.gate !== g) {
    c.s.pendingGate = {
      gate: g,
      since: c.now,
      manualRequired: manual,
      failingWebhooks,
      lastPolledAt: manual ? null : c.now,
    };
    const how = manual
      ? `operator approval required (approve gate ${g})`
      : `webhook(s) ${failingWebhooks.join(', ')} not passing yet; an operator approval also opens it`;
    notify(c, 'warn', gateTexts[g].kind, `${label(c)}: ${gateTexts[g].text} ${how}`);
    recordEvent(c, 'Normal', 'WaitingForApproval', `Halt ${label(c)} advancement: waiting for ${g} (${how})`);
  } else {
    pending.failingWebhooks = failingWebhooks;
    if (!manual) pending.lastPolledAt = c.now;
  }
  switch (g) {
    case 'confirm-rollout':
      enterPhase(c, 'Waiting');
      if (manual) {
        c.s.cursor = { kind: 'manual-gate' };
        return { type: 'waitForOperator', reason: 'manual-approval' };
      }
      return timer(c, c.now + intervalOf(c.plan), 'gate-poll', 'confirm-rollout');
    case 'confirm-traffic-increase':
      return endTick(c);
    case 'confirm-promotion':
      enterPhase(c, 'WaitingPromotion');
      return endTick(c);
  }
}
