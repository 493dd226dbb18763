// The cursor: what the core waits for (src/domain/state.ts `Cursor`), and the `next` it implies. `reissue`
// re-derives the `next` from the state alone — after an event that changes nothing, a resume, a continue-as-new —
// which is why the workflow may always drop an unperformed `next` (contract items 4 and 7 in ../decide.ts).
// Timers: a wait whose time has come fires in the same decide call (`until` is absolute); a timer's wait may watch
// a closed gate (./gates.ts, `plan.gatePollMs`). PURE.
import type { Next } from '../effects.js';
import type { TimerThen, WaitReason } from '../state.js';
import { checkReadiness, type Ctx } from './context.js';
import { beginTick } from './analysis.js';
import { gate, gateWatchOf } from './gates.js';
import { retryNow } from './infra.js';
import { routeBackStep, start } from './lifecycle.js';
import { complete, doneNext } from './outcomes.js';

/** Re-derive the `next` the current state needs (used when an event changes nothing, after resume, …). */
export function reissue(c: Ctx): Next {
  const s = c.s;
  const cur = s.cursor;
  if (cur.kind === 'done') return doneNext(c.plan, s, c.now);
  if (s.paused !== null) return { type: 'waitForOperator', reason: 'paused' };
  if (s.infra !== null && s.infra.retryAt !== null) {
    if (s.infra.retryAt <= c.now) return retryNow(c);
    return { type: 'wait', ms: s.infra.retryAt - c.now, until: s.infra.retryAt, reason: 'infra-retry' };
  }
  switch (cur.kind) {
    case 'start':
      return start(c);
    case 'initialize':
      return { type: 'initialize' };
    case 'readiness':
      return { type: 'checkReadiness', workload: cur.workload };
    case 'hooks':
      return { type: 'runHooks', hookType: cur.hookType, phase: cur.payloadPhase };
    case 'analysis':
      return { type: 'runAnalysis', phase: s.phase };
    case 'promote':
      return { type: 'promotePrimary' };
    case 'timer':
      if (cur.until <= c.now) return fireTimer(c);
      return waitUntil(c, cur.until, cur.reason);
    case 'manual-gate':
      return { type: 'waitForOperator', reason: 'manual-approval' };
    case 'finish':
      return complete(c);
  }
}

export function timer(c: Ctx, until: number, reason: WaitReason, then: TimerThen): Next {
  c.s.cursor = { kind: 'timer', until, reason, then };
  if (until <= c.now) return fireTimer(c);
  return waitUntil(c, until, reason);
}

/** The `wait` of a timer cursor; it watches a closed gate meanwhile when the plan polls gates (./gates.ts). */
function waitUntil(c: Ctx, until: number, reason: WaitReason): Next {
  const watch = gateWatchOf(c.plan, c.s, c.now, until);
  const next: Next = { type: 'wait', ms: until - c.now, until, reason };
  return watch === null ? next : { ...next, watch };
}

export function onTimer(c: Ctx): Next {
  if (c.s.paused !== null) return reissue(c);
  if (c.s.infra !== null && c.s.infra.retryAt !== null) return retryNow(c);
  if (c.s.cursor.kind !== 'timer') return reissue(c);
  return fireTimer(c);
}

export function fireTimer(c: Ctx): Next {
  const cur = c.s.cursor;
  if (cur.kind !== 'timer') return reissue(c);
  switch (cur.then) {
    case 'tick':
      return beginTick(c);
    case 'canary-readiness':
      return checkReadiness(c, 'canary');
    case 'primary-readiness':
      return checkReadiness(c, 'primary');
    case 'confirm-rollout':
      return gate(c, 'confirm-rollout');
    case 'route-back':
      return routeBackStep(c);
  }
}
