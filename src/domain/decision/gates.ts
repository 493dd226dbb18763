// Gates (confirm-rollout, confirm-traffic-increase, confirm-promotion): open when every webhook of the gate
// passes (not for `plan.manualGates`) or an operator approved (./operator-actions.ts); closed gates notify once,
// then are re-polled — confirm-rollout every interval (phase Waiting), the traffic/promotion gates at every
// passing tick (phase WaitingPromotion for confirm-promotion; analysis and the threshold still apply). What an
// opened gate leads to is the strategy's (./strategies). PURE.
import type { NotifyKind, Next } from '../effects.js';
import { hooksOfType } from '../evaluate.js';
import type { GateName, Phase } from '../state.js';
import { enterPhase, intervalOf, label, notify, recordEvent, runHooks, type Ctx } from './context.js';
import { endTick, perform } from './analysis.js';
import { timer } from './cursor.js';
import { startProgressing } from './lifecycle.js';
import { strategyOf } from './strategies/index.js';

/** Evaluate a gate: approved → open; manual → closed until approved; webhooks → poll them; none → open. */
export function gate(c: Ctx, g: GateName): Next {
  const pending = c.s.pendingGate;
  if (pending !== null && pending.gate === g && pending.approvedBy !== undefined) return gateOpened(c, g);
  if (c.plan.manualGates.includes(g)) return gateClosed(c, g, []);
  if (hooksOfType(c.plan, g).length === 0) return gateOpened(c, g);
  const payloadPhase: Phase = g === 'confirm-promotion' ? 'Progressing' : c.s.phase;
  return runHooks(c, g, payloadPhase);
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
