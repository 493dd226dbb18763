// The decision core: decide(plan, state, event) → { state, effects, next }. PURE — no Node built-ins, no I/O,
// no clock (time is the event's `now`), no randomness, no exceptions for expected situations; state is plain JSON.
//
// ─── Contract with the workflow (a thin interpreter) ──────────────────────────────────────────────────────────
//
//  1. Create the state with `initialState(plan, now)` and call `decide(plan, state, { type: 'started', now })`.
//  2. After EVERY decide call: keep the returned `state`, then run the returned `effects` in order.
//     - `setRoutes` / `scaleCanary` are idempotent "ensure" operations. If one fails after its activity retries,
//       stop running the remaining effects of that batch, do NOT perform `next`, and deliver
//       `{ type: 'infraError', step: <effect type>, message }` instead. The core re-applies the desired routes and
//       scale after a delay (`wait` reason `infra-retry`), up to `maxInfraRetries`, then ends with outcome Failed
//       while trying once more to restore 100% primary.
//     - `notify` / `recordEvent` are best-effort: swallow and log their failures, never report them.
//     - This holds for the batch returned with `done` too (e.g. restoring 100% primary after a rollback): report
//       the failure; decide then returns a retry (`wait` infra-retry, …) and, eventually, `done` again. Once it
//       returns `done` with no failing effect, return its result.
//  3. Then perform `next` — exactly one thing that produces the next event:
//       initialize → `initialized` · checkReadiness → `readiness` · runHooks → `hooks` · runAnalysis → `analysis`
//       promotePrimary → `promoted` · wait → `timer` · waitForOperator → (nothing; block until a message)
//       done → return `result` from the workflow once its effects ran (see 2), never call decide again.
//     If performing `next` fails with an infrastructure error after its retries, deliver
//     `{ type: 'infraError', step: next.type, message }` instead of its result.
//  4. Operator messages (approve/pause/resume/promote/abort), `superseded` and `cancelled` may arrive at any time.
//     Deliver each as its own event:
//     - while `next` is `wait` or `waitForOperator`: at once (interrupt the timer; do NOT deliver its `timer` event);
//     - while another `next` (an activity) is in flight: if `interruptsInFlight(plan, state, message)` holds for a
//       queued message, cancel the activity at once, do NOT deliver its result (not even a late one: a cancelled
//       analysis never counts as a check) and deliver the queued messages; otherwise, after it completes, deliver
//       its result event FIRST, then the queued messages;
//     - queued messages may also be delivered before performing a freshly returned `next`.
//     The `next` of the MOST RECENT decide call is the only one to perform: any earlier, unperformed `next` is
//     void. The core re-issues whatever it still needs (a wait is re-issued for its remaining time, `until` is
//     absolute).
//  5. Updates: call `validateOperatorAction(plan, state, action)` in the update validator (rejected requests never
//     enter history), then deliver the accepted request as an `operator` event; answer with `describeStatus`.
//     Signals: deliver every signal as an `operator` event; decide validates again, records invalid ones in the
//     operator log as rejected (with the reason) and otherwise ignores them.
//  6. Events that do not match what the state awaits (stale timer, duplicate result) are ignored: no effects,
//     the current `next` is re-issued. After `done`, decide returns the same state, no effects, and `done`.
//  7. Continue-as-new: pass `state` as is; in the new run call `continueFrom(plan, state, now)` to get the `next`
//     to perform (a pending wait resumes for its remaining time).
//
// ─── Flow (Flagger's analysis loop, deviations listed below) ──────────────────────────────────────────────────
//  started → initialize → scaleCanary up → checkReadiness(canary) [poll; progress deadline → rollback]
//  → confirm-rollout gate [webhooks re-polled each interval / manual approval; phase Waiting; with
//    plan.gatePollMs a closed gate is also watched during its waits: a `wait` with `watch` → `hooks` (gates.ts)]
//  → skipAnalysis? promote at once
//  → ticks (every `intervalMs`): [rollback webhooks: first 2xx → roll back] → first tick: pre-rollout hooks only,
//    later ticks: runAnalysis (rollout webhooks, metrics) → pass: advance one step | fail: failedChecks+1, and
//    roll back in the SAME tick the threshold is reached
//  → canary: [mirror one interval] weight steps with confirm-traffic-increase before each increase;
//    A/B: iterations with the match route; blue/green: iterations (mirroring all traffic if `mirror`), then 100%
//    to the canary → confirm-promotion (phase WaitingPromotion; analysis and the threshold still apply)
//  → promotePrimary → checkReadiness(primary) [deadline → traffic to canary, Failed] → route back (at once or by
//    stepWeightPromotion per interval) → Finalising: scaleCanary zero → post-rollout hooks → done Promoted.
//  Rollback: 100/0, mirror and match off, canary to zero, notify, event, post-rollout hooks (phase Failed).
//  Gates open when all their webhooks pass (not for `plan.manualGates`) or an operator approves (overriding failing
//  webhooks, recorded). An approval acts in the same decide call when the release sits at that gate and, for
//  traffic/promotion gates, the last analysis passed; otherwise it is consumed by the next passing tick.
//
// ─── Deliberate deviations from Flagger ───────────────────────────────────────────────────────────────────────
//  - The threshold rolls back in the tick that reaches it (Flagger acts one interval later).
//  - The canary is scaled up and ready BEFORE the confirm-rollout gate (DESIGN §4: approvers see a running canary);
//    Flagger asks first. skipAnalysis still honours confirm-rollout, as in Flagger.
//  - The first tick runs as soon as confirm-rollout opens (Flagger returns and waits one more interval).
//  - Ticks keep a ticker's cadence (next tick = tick start + interval); an approval between ticks takes the
//    guarded step at once and restarts the interval.
//  - A canary held at weight 0 by confirm-traffic-increase does not re-run pre-rollout hooks each tick (Flagger
//    does, as a side effect of its "first step" test) and runs no metrics (no traffic reaches it).
//  - Infrastructure errors follow `plan.onInfrastructureError` and stay distinguishable (kind/reason codes);
//    Flagger counts them as failed checks.
//  - Readiness is not re-checked on every analysis tick (the initialize activity waits for the primary; the
//    canary's own metrics show a broken canary), but the primary's existence is: a primary deleted mid-release
//    moves all traffic to the canary and ends Failed `primary-missing` (Flagger would later roll back onto it).
//  - A/B and blue/green waiting for confirm-promotion hold their routes instead of Flagger's `iterations = N-1`
//    trick that re-applies them.
//  - Operator actions (approve/pause/resume/promote/abort) with audit; paused time does not count towards the
//    progress deadline (as Argo). Superseded/cancelled restore the primary (Flagger restarts analysis on a new
//    revision) and do not run post-rollout hooks.
//  - Traffic/scale/initialise/promote failures are retried `maxInfraRetries` times (transient ones, with
//    `plan.infraRetry` until-deadline, while the progress deadline allows), then the release fails (Flagger retries
//    every tick forever).
//
// ─── Layout ───────────────────────────────────────────────────────────────────────────────────────────────────
//  This file is the entry point: the public API below and the dispatch of an event to its handler. The handlers
//  live in ./decision/, one concern per module, all working on one mutable context (a clone of the input state):
//    context.ts           the context and its primitives (effects that also record their state, phase bookkeeping)
//    cursor.ts            what the core waits for: re-issuing `next` from the state, timers
//    lifecycle.ts         start, initialise, readiness, confirm-rollout → analysis, promotion and route-back
//    gates.ts             the confirm-* gates (webhooks, manual approval)
//    analysis.ts          ticks, pre-rollout/rollback/post-rollout hooks, verdicts, failed checks, advance
//    outcomes.ts          finalise, promotion failed, primary missing, rollback, supersede/cancel, the result
//    infra.ts             infrastructure errors and retries
//    operator-actions.ts  approve, pause, resume, promote, abort
//    strategies/          canary, A/B testing, blue/green behind one `Strategy` interface (strategy.ts): steps and
//                         iterations, their routes (weights, mirror, A/B match), what advancing, an opened gate and
//                         promotion route-back mean for each.
//  The modules call each other (a tick leads to a gate, a gate to a step, a step to a timer, a timer to a tick), so
//  they import each other; they hold functions only and do nothing when loaded, so the cycles are harmless.
//  Strategies are leaves: they change the state through the context primitives and return a `Move` for the
//  lifecycle to perform.
import type { HookPlan, ReleasePlan } from './plan.js';
import type { Effect, Next } from './effects.js';
import type { ReleaseEvent } from './events.js';
import { operatorActionOf } from './events.js';
import { hooksOfType } from './evaluate.js';
import type { ReleaseState } from './state.js';
import { validateOperatorAction } from './operator.js';
import { awaitingResult, cloneState, type Ctx } from './decision/context.js';
import { reissue, onTimer } from './decision/cursor.js';
import { onAnalysis, onHooks } from './decision/analysis.js';
import { onInfraError, retryLater } from './decision/infra.js';
import { onInitialized, onPromoted, onReadiness, start } from './decision/lifecycle.js';
import { onGateWatched, watchedGate } from './decision/gates.js';
import { onOperator } from './decision/operator-actions.js';
import { doneNext, primaryMissing, terminate } from './decision/outcomes.js';

export { infraRetryDelayMs, maxInfraRetries, readinessPollMs, thresholdOf } from './decision/context.js';

export interface Transition {
  state: ReleaseState;
  effects: Effect[];
  next: Next;
}

// ─── public API ─────────────────────────────────────────────────────────────────────────────────────────────

export function decide(plan: ReleasePlan, state: ReleaseState, event: ReleaseEvent): Transition {
  if (state.cursor.kind === 'done' && !reopensFinalBatch(state, event)) {
    return { state, effects: [], next: doneNext(plan, state, event.now) };
  }
  const c: Ctx = {
    plan,
    s: cloneState(state),
    now: event.now,
    effects: [],
    transient: event.type === 'infraError' && event.transient === true,
  };
  const next = dispatch(c, event);
  c.s.updatedAt = Math.max(c.s.updatedAt, c.now);
  return { state: c.s, effects: c.effects, next };
}

/** The `next` to perform for a state (after continue-as-new or a worker restart). */
export function continueFrom(plan: ReleasePlan, state: ReleaseState, now: number): Transition {
  if (state.cursor.kind === 'done') return { state, effects: [], next: doneNext(plan, state, now) };
  const c: Ctx = { plan, s: cloneState(state), now, effects: [] };
  const next = reissue(c);
  return { state: c.s, effects: c.effects, next };
}

/**
 * Contract item 4: whether `event`, queued while the activity performing the current `next` is in flight
 * (initialize, runHooks, runAnalysis: a readiness wait, a webhook with a 60 s timeout, a metric query), cancels
 * that activity so the event acts now. The interrupted `next` is void: the core re-issues it when it still needs it
 * (after a resume, or a rejected action), so its result is never needed.
 *
 * - abort, promote, supersede (and cancel): always — they decide the release now.
 * - pause: yes. Pause freezes the release; the cancelled check is simply not delivered, so it is never counted
 *   (neither as a failed check nor as a pass), and resume re-runs it from scratch (webhooks are at-least-once in
 *   Flagger's contract anyway). Letting it finish instead would count its verdict after the operator paused.
 * - approve: only when the in-flight activity polls the very gate being approved (the approval opens it now);
 *   an approval of a traffic/promotion gate during an analysis is consumed by that analysis if it passes, so
 *   cancelling it would only delay the step.
 * - resume (cannot overlap an activity: a paused release performs none) and invalid actions (rejected by decide,
 *   after which the same `next` would be re-issued): never.
 * - nothing interrupts once the outcome is decided (`finishing`): post-rollout hooks run to completion.
 */
export function interruptsInFlight(plan: ReleasePlan, state: ReleaseState, event: ReleaseEvent): boolean {
  if (state.cursor.kind === 'done' || state.finishing !== null) return false;
  if (event.type === 'superseded' || event.type === 'cancelled') return true;
  if (event.type !== 'operator') return false;
  if (!validateOperatorAction(plan, state, operatorActionOf(event)).ok) return false;
  switch (event.action) {
    case 'abort':
    case 'promote':
    case 'pause':
      return true;
    case 'approve': {
      const cur = state.cursor;
      return cur.kind === 'hooks' && state.pendingGate !== null && state.pendingGate.gate === cur.hookType;
    }
    case 'resume':
      return false;
  }
}

/** Convenience for the workflow: the hooks a `runHooks` next refers to. */
export function hooksForNext(plan: ReleasePlan, next: Next & { type: 'runHooks' }): HookPlan[] {
  return hooksOfType(plan, next.hookType);
}

// ─── dispatch ───────────────────────────────────────────────────────────────────────────────────────────────

/**
 * A traffic/scale effect returned together with `done` failed (restoring 100% primary after a rollback, scaling the
 * canary down, …): the outcome stands, but the effects are retried like any other before the release really ends.
 */
function reopensFinalBatch(state: ReleaseState, event: ReleaseEvent): boolean {
  return (
    event.type === 'infraError' &&
    (event.step === 'setRoutes' || event.step === 'scaleCanary') &&
    state.finishing !== null &&
    state.finishing.gaveUp !== true
  );
}

function dispatch(c: Ctx, e: ReleaseEvent): Next {
  const cur = c.s.cursor;
  if (cur.kind === 'done') {
    // Only reached through reopensFinalBatch.
    c.s.cursor = { kind: 'finish' };
    return e.type === 'infraError' ? retryLater(c, e.step, e.message) : reissue(c);
  }
  switch (e.type) {
    case 'started':
      return cur.kind === 'start' ? start(c) : reissue(c);
    case 'initialized':
      if (!awaitingResult(c) || cur.kind !== 'initialize') return reissue(c);
      return onInitialized(c);
    case 'readiness':
      if (!awaitingResult(c) || cur.kind !== 'readiness' || cur.workload !== e.workload) return reissue(c);
      c.s.infra = null;
      return onReadiness(c, e.workload, e.ready, e.message);
    case 'hooks':
      // The results of a gate watched during a wait (plans with gatePollMs; see decision/gates.ts).
      if (cur.kind === 'timer' && watchedGate(c.plan, c.s) === e.hookType)
        return onGateWatched(c, e.hookType, e.results);
      if (!awaitingResult(c) || cur.kind !== 'hooks' || cur.hookType !== e.hookType) return reissue(c);
      c.s.infra = null;
      return onHooks(c, cur.hookType, e.results);
    case 'analysis':
      if (!awaitingResult(c) || cur.kind !== 'analysis') return reissue(c);
      c.s.infra = null;
      if (e.primaryMissing !== undefined) return primaryMissing(c, e.primaryMissing);
      return onAnalysis(c, e.hooks, e.metrics);
    case 'promoted':
      if (!awaitingResult(c) || cur.kind !== 'promote') return reissue(c);
      c.s.infra = null;
      return onPromoted(c);
    case 'timer':
      return onTimer(c);
    case 'operator':
      return onOperator(c, operatorActionOf(e));
    case 'superseded':
      return terminate(c, 'superseded', e.by);
    case 'cancelled':
      return terminate(c, 'cancelled', e.reason);
    case 'infraError':
      return onInfraError(c, e.step, e.message);
  }
}
