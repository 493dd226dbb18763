// FROZEN REFERENCE for decide-split-differential.test.ts — do not edit. A verbatim copy of src/domain/decide.ts as it
// was right before its split into src/domain/decision/ (issue 13, part 3); only the relative imports were re-pointed.
// The differential test drives this and the split decide() with the same random plans and events and asserts identical
// transitions (recorded histories replay only if they are). Delete both once the split has settled.
//
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
//  → confirm-rollout gate [webhooks re-polled each interval / manual approval; phase Waiting]
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
//  - Traffic/scale/initialise/promote failures are retried `maxInfraRetries` times, then the release fails
//    (Flagger retries every tick forever).
import type { HookPlan, ReleasePlan } from '../../../../src/domain/plan.js';
import type { Effect, EventReason, Next, NotifyKind } from '../../../../src/domain/effects.js';
import type {
  HookResult,
  InfraStep,
  MetricResult,
  OperatorAction,
  ReleaseEvent,
} from '../../../../src/domain/events.js';
import { operatorActionOf } from '../../../../src/domain/events.js';
import {
  evaluateAnalysis,
  hookFailingCheck,
  hooksOfType,
  infrastructureVerdict,
  summariseHooks,
  type AnalysisVerdict,
} from '../../../../src/domain/evaluate.js';
import type { FailingCheck, ReleaseResult } from '../../../../src/domain/result.js';
import { describeFailingCheck } from '../../../../src/domain/result.js';
import type {
  Finishing,
  GateName,
  HookSummary,
  OperatorLogEntry,
  Phase,
  PromotionInfo,
  ReleaseState,
  RunnableHookType,
  TimerThen,
  WaitReason,
  Workload,
} from '../../../../src/domain/state.js';
import { maxOperatorLogEntries } from '../../../../src/domain/state.js';
import { validateOperatorAction } from '../../../../src/domain/operator.js';
import {
  mirrorPercentOf,
  normaliseWeights,
  promotionStep,
  splitForCanaryWeight,
  totalSteps,
} from '../../../../src/domain/weights.js';

export interface Transition {
  state: ReleaseState;
  effects: Effect[];
  next: Next;
}

/** Readiness is re-polled this often (never more rarely than the analysis interval). */
export const readinessPollMs = 5_000;
/** A failed traffic/scale/initialise/promote operation is retried after this delay (at most the interval)… */
export const infraRetryDelayMs = 10_000;
/** …this many times, then the release ends with outcome Failed. */
export const maxInfraRetries = 3;

interface Ctx {
  readonly plan: ReleasePlan;
  readonly s: ReleaseState;
  readonly now: number;
  readonly effects: Effect[];
  /** The event being decided is an infrastructure error that may pass by itself (see ReleasePlan.infraRetry). */
  readonly transient?: boolean;
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

/** Not paused and not waiting for an infrastructure retry: a result event is expected. */
function awaitingResult(c: Ctx): boolean {
  return c.s.paused === null && (c.s.infra === null || c.s.infra.retryAt === null);
}

/** Re-derive the `next` the current state needs (used when an event changes nothing, after resume, …). */
function reissue(c: Ctx): Next {
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
      return { type: 'wait', ms: cur.until - c.now, until: cur.until, reason: cur.reason };
    case 'manual-gate':
      return { type: 'waitForOperator', reason: 'manual-approval' };
    case 'finish':
      return complete(c);
  }
}

// ─── lifecycle ──────────────────────────────────────────────────────────────────────────────────────────────

function start(c: Ctx): Next {
  c.s.cursor = { kind: 'initialize' };
  const images = Object.entries(c.plan.images)
    .map(([container, image]) => `${container}=${image}`)
    .join(', ');
  recordEvent(c, 'Normal', 'ReleaseStarted', `Release of ${label(c)} started${images ? `: ${images}` : ''}`);
  return { type: 'initialize' };
}

function onInitialized(c: Ctx): Next {
  c.s.infra = null;
  enterPhase(c, 'Initialized');
  recordEvent(
    c,
    'Normal',
    'Initialized',
    `Initialization done: ${c.plan.target.name}-primary serves 100% of traffic`,
  );
  scaleCanary(c, 'up');
  recordEvent(c, 'Normal', 'CanaryScaledUp', `Scaling up ${label(c)} with the new revision`);
  c.s.waitingReadySince = c.now;
  return checkReadiness(c, 'canary');
}

function checkReadiness(c: Ctx, workload: Workload): Next {
  c.s.cursor = { kind: 'readiness', workload };
  return { type: 'checkReadiness', workload };
}

function onReadiness(c: Ctx, workload: Workload, ready: boolean, message: string): Next {
  c.s.lastReadiness = { workload, ready, message, at: c.now };
  if (ready) {
    c.s.waitingReadySince = null;
    return workload === 'canary' ? canaryReady(c) : primaryReady(c);
  }
  const since = c.s.waitingReadySince ?? c.now;
  c.s.waitingReadySince = since;
  if (c.now - since > c.plan.progressDeadlineMs) {
    if (workload === 'primary') return promotionFailed(c, message);
    const deadline = `${Math.round(c.plan.progressDeadlineMs / 1000)}s`;
    return rollback(
      c,
      {
        outcome: 'RolledBack',
        code: 'progress-deadline',
        message: `Progress deadline exceeded: canary not ready after ${deadline}: ${message}`,
        failingCheck: { kind: 'progress-deadline', name: 'canary', message },
        finalPhase: 'Failed',
      },
      'progress-deadline',
      'ProgressDeadlineExceeded',
    );
  }
  const then: TimerThen = workload === 'canary' ? 'canary-readiness' : 'primary-readiness';
  return timer(c, c.now + Math.min(readinessPollMs, intervalOf(c.plan)), 'readiness-poll', then);
}

function canaryReady(c: Ctx): Next {
  recordEvent(c, 'Normal', 'CanaryReady', `Canary ${label(c)} is ready`);
  return gate(c, 'confirm-rollout');
}

function startProgressing(c: Ctx): Next {
  if (c.plan.skipAnalysis) {
    recordEvent(c, 'Normal', 'AnalysisSkipped', `Analysis of ${label(c)} skipped (skipAnalysis): promoting`);
    return startPromotion(c, { by: 'skip', at: c.now });
  }
  enterPhase(c, 'Progressing');
  notify(
    c,
    'info',
    'progressing',
    `${label(c)}: New revision detected, progressing canary analysis. ${trafficPlan(c)}`,
  );
  recordEvent(c, 'Normal', 'Progressing', `New revision detected! Starting canary analysis for ${label(c)}`);
  return beginTick(c);
}

// ─── gates ──────────────────────────────────────────────────────────────────────────────────────────────────

/** Evaluate a gate: approved → open; manual → closed until approved; webhooks → poll them; none → open. */
function gate(c: Ctx, g: GateName): Next {
  const pending = c.s.pendingGate;
  if (pending !== null && pending.gate === g && pending.approvedBy !== undefined) return gateOpened(c, g);
  if (c.plan.manualGates.includes(g)) return gateClosed(c, g, []);
  if (hooksOfType(c.plan, g).length === 0) return gateOpened(c, g);
  const payloadPhase: Phase = g === 'confirm-promotion' ? 'Progressing' : c.s.phase;
  return runHooks(c, g, payloadPhase);
}

function gateOpened(c: Ctx, g: GateName): Next {
  c.s.pendingGate = null;
  switch (g) {
    case 'confirm-rollout':
      return startProgressing(c);
    case 'confirm-traffic-increase':
      return stepUp(c);
    case 'confirm-promotion':
      return promotionApproved(c);
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

function gateClosed(c: Ctx, g: GateName, failingWebhooks: string[]): Next {
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

// ─── analysis ticks ─────────────────────────────────────────────────────────────────────────────────────────

function beginTick(c: Ctx): Next {
  c.s.tick += 1;
  c.s.tickStartedAt = c.now;
  if (hooksOfType(c.plan, 'rollback').length > 0) return runHooks(c, 'rollback', c.s.phase);
  return analysisStep(c);
}

function analysisStep(c: Ctx): Next {
  if (!c.s.preRolloutDone) {
    if (hooksOfType(c.plan, 'pre-rollout').length > 0) return runHooks(c, 'pre-rollout', c.s.phase);
    return preRolloutPassed(c, []);
  }
  // Canary strategy held before its first weight step (confirm-traffic-increase): no traffic reaches the canary,
  // so there is nothing to measure; Flagger would re-run the pre-rollout hooks here, Fledge does not.
  const st = c.plan.strategy;
  if (st.kind === 'canary' && c.s.canaryWeight === 0 && c.s.mirror === null) {
    c.s.lastTickOk = true;
    return advance(c);
  }
  c.s.cursor = { kind: 'analysis' };
  return { type: 'runAnalysis', phase: c.s.phase };
}

function preRolloutPassed(c: Ctx, hooks: HookSummary[]): Next {
  c.s.preRolloutDone = true;
  c.s.lastTickOk = true;
  if (hooks.length > 0) {
    c.s.lastAnalysis = {
      at: c.now,
      tick: c.s.tick,
      source: 'pre-rollout',
      ok: true,
      verdict: 'pass',
      hooks,
      metrics: [],
    };
  }
  recordEvent(
    c,
    'Normal',
    'PreRolloutPassed',
    `Starting canary analysis for ${label(c)}${hooks.length > 0 ? ' (pre-rollout hooks passed)' : ''}`,
  );
  return advance(c);
}

function onHooks(c: Ctx, hookType: RunnableHookType, results: readonly HookResult[]): Next {
  const summaries = summariseHooks(hooksOfType(c.plan, hookType), results);
  switch (hookType) {
    case 'confirm-rollout':
    case 'confirm-traffic-increase':
    case 'confirm-promotion': {
      const failing = summaries.filter((h) => !h.ok).map((h) => h.name);
      if (failing.length > 0) return gateClosed(c, hookType, failing);
      const names = summaries.map((h) => h.name).join(', ');
      c.s.approvals.push({
        gate: hookType,
        via: 'webhook',
        by: names,
        reason: 'all gate webhooks passed',
        at: c.now,
        override: false,
      });
      recordEvent(c, 'Normal', 'GateApproved', `${hookType} passed (webhooks ${names})`);
      return gateOpened(c, hookType);
    }
    case 'pre-rollout': {
      const failed = summaries.find((h) => !h.ok);
      if (failed === undefined) return preRolloutPassed(c, summaries);
      alertHookFailures(c, hookType, summaries);
      const check = hookFailingCheck(failed);
      c.s.lastAnalysis = {
        at: c.now,
        tick: c.s.tick,
        source: 'pre-rollout',
        ok: false,
        verdict: 'failed',
        hooks: summaries,
        metrics: [],
        failingCheck: check,
      };
      return failedCheck(c, check);
    }
    case 'rollback': {
      const trigger = summaries.find((h) => h.ok);
      if (trigger === undefined) return analysisStep(c);
      return rollback(
        c,
        {
          outcome: 'RolledBack',
          code: 'manual-rollback-webhook',
          message: `Rolling back: manual rollback webhook ${trigger.name} invoked`,
          failingCheck: {
            kind: 'webhook',
            name: trigger.name,
            message: `manual rollback requested (${trigger.message})`,
          },
          finalPhase: 'Failed',
        },
        'manual-rollback',
        'ManualRollback',
      );
    }
    case 'post-rollout': {
      alertHookFailures(c, hookType, summaries);
      for (const hook of summaries.filter((h) => !h.ok)) {
        recordEvent(
          c,
          'Warning',
          'PostRolloutHookFailed',
          `post-rollout webhook ${hook.name} failed: ${hook.message}`,
        );
      }
      return complete(c);
    }
  }
}

function onAnalysis(c: Ctx, hooks: readonly HookResult[], metrics: readonly MetricResult[]): Next {
  const evaluation = evaluateAnalysis(c.plan, hooks, metrics);
  const verdict = evaluation.verdict;
  c.s.lastAnalysis = {
    at: c.now,
    tick: c.s.tick,
    source: 'analysis',
    ok: verdict.kind === 'pass',
    verdict: verdict.kind,
    hooks: evaluation.hooks,
    metrics: evaluation.metrics,
  };
  if (verdict.kind !== 'pass') c.s.lastAnalysis.failingCheck = verdict.check;
  alertHookFailures(c, 'rollout', evaluation.hooks);
  return applyVerdict(c, verdict);
}

/** Flagger alerts on every failed rollout/pre-/post-rollout webhook unless the webhook sets `muteAlert`. */
function alertHookFailures(
  c: Ctx,
  hookType: RunnableHookType | 'rollout',
  summaries: readonly HookSummary[],
): void {
  for (const h of summaries) {
    if (h.ok) continue;
    const hook = hooksOfType(c.plan, hookType).find((p) => p.name === h.name);
    if (hook === undefined || hook.muteAlert) continue;
    const detail = `${h.status !== undefined ? `HTTP ${h.status}: ` : ''}${h.message}`;
    notify(c, 'warn', 'webhook-failed', `${label(c)}: ${hookType} webhook ${h.name} failed: ${detail}`);
  }
}

function applyVerdict(c: Ctx, verdict: AnalysisVerdict): Next {
  switch (verdict.kind) {
    case 'pass':
      c.s.lastTickOk = true;
      c.s.holdingSince = null;
      return advance(c);
    case 'failed':
      c.s.holdingSince = null;
      return failedCheck(c, verdict.check);
    case 'hold': {
      c.s.lastTickOk = false;
      const since = c.s.holdingSince ?? c.now;
      c.s.holdingSince = since;
      if (c.now - since > c.plan.progressDeadlineMs) {
        return rollback(
          c,
          {
            outcome: 'RolledBack',
            code: 'infrastructure-hold-deadline',
            message: `Analysis held on infrastructure errors for longer than the progress deadline: ${describeFailingCheck(verdict.check)}`,
            failingCheck: verdict.check,
            finalPhase: 'Failed',
          },
          'infrastructure-error',
          'InfrastructureError',
        );
      }
      recordEvent(
        c,
        'Warning',
        'AnalysisHeld',
        `Holding ${label(c)} (infrastructure error, policy hold): ${describeFailingCheck(verdict.check)}`,
      );
      return endTick(c);
    }
    case 'rollback':
      return rollback(
        c,
        {
          outcome: 'RolledBack',
          code: 'infrastructure-error',
          message: `Infrastructure error (policy rollback): ${describeFailingCheck(verdict.check)}`,
          failingCheck: verdict.check,
          finalPhase: 'Failed',
        },
        'infrastructure-error',
        'InfrastructureError',
      );
  }
}

/** One failed check; roll back in the same tick the threshold is reached (Flagger waits one more interval). */
function failedCheck(c: Ctx, check: FailingCheck): Next {
  c.s.failedChecks += 1;
  c.s.lastTickOk = false;
  c.s.lastFailure = check;
  const threshold = thresholdOf(c.plan);
  const n = c.s.failedChecks;
  recordEvent(
    c,
    'Warning',
    'AnalysisFailed',
    `Halt ${label(c)} advancement: ${describeFailingCheck(check)} (failed checks ${n}/${threshold})`,
  );
  if (n < threshold) return endTick(c);
  const infra = check.kind === 'infrastructure';
  return rollback(
    c,
    {
      outcome: 'RolledBack',
      code: infra ? 'infrastructure-threshold' : 'failed-checks-threshold',
      message: `Failed checks threshold reached ${n}: ${describeFailingCheck(check)}`,
      failingCheck: check,
      finalPhase: 'Failed',
    },
    infra ? 'infrastructure-error' : 'threshold-reached',
    'RolledBack',
  );
}

/** A passing tick: take the strategy's next step. */
function advance(c: Ctx): Next {
  const st = c.plan.strategy;
  switch (st.kind) {
    case 'canary':
      // Leaving the mirror phase: Flagger does not call confirm-traffic-increase while traffic is mirrored.
      if (c.s.mirror !== null) return stepUp(c);
      if (c.s.stepIndex < normaliseWeights(st.weights).length) return gate(c, 'confirm-traffic-increase');
      return gate(c, 'confirm-promotion');
    case 'ab-testing':
      if (c.s.iterations < st.iterations) {
        if (!c.s.abMatchActive) setRoutes(c, 100, 0, null, true);
        c.s.iterations += 1;
        recordEvent(
          c,
          'Normal',
          'IterationCompleted',
          `Advance ${label(c)} canary iteration ${c.s.iterations}/${st.iterations}`,
        );
        return endTick(c);
      }
      return gate(c, 'confirm-promotion');
    case 'blue-green':
      if (c.s.iterations < st.iterations) {
        if (st.mirror && c.s.mirror === null) {
          const percent = mirrorPercentOf(st.mirrorWeight);
          setRoutes(c, 100, 0, percent, false);
          recordEvent(
            c,
            'Normal',
            'TrafficMirrored',
            `Mirroring ${percent}% of ${label(c)} traffic to the canary`,
          );
        }
        c.s.iterations += 1;
        recordEvent(
          c,
          'Normal',
          'IterationCompleted',
          `Advance ${label(c)} canary iteration ${c.s.iterations}/${st.iterations}`,
        );
        return endTick(c);
      }
      if (c.s.iterations === st.iterations) return gate(c, 'confirm-promotion');
      return startPromotion(c, { by: 'analysis', at: c.now });
  }
}

/** Canary strategy: mirror on (first step in mirror mode), or the next weight. */
function stepUp(c: Ctx): Next {
  const st = c.plan.strategy;
  if (st.kind !== 'canary') return endTick(c);
  const weights = normaliseWeights(st.weights);
  if (st.mirror && c.s.stepIndex === 0 && c.s.mirror === null) {
    const percent = mirrorPercentOf(st.mirrorWeight);
    setRoutes(c, 100, 0, percent, false);
    recordEvent(c, 'Normal', 'TrafficMirrored', `Mirroring ${percent}% of ${label(c)} traffic to the canary`);
    return endTick(c);
  }
  const weight = weights[c.s.stepIndex];
  if (weight === undefined) return gate(c, 'confirm-promotion');
  const split = splitForCanaryWeight(weight);
  setRoutes(c, split.primaryWeight, split.canaryWeight, null, false);
  c.s.stepIndex += 1;
  recordEvent(
    c,
    'Normal',
    'TrafficWeightUpdated',
    `Advance ${label(c)} canary weight ${weight} (step ${c.s.stepIndex}/${weights.length})`,
  );
  return endTick(c);
}

/** confirm-promotion opened. Blue/green first routes all traffic to the canary for one interval (Flagger). */
function promotionApproved(c: Ctx): Next {
  const st = c.plan.strategy;
  if (st.kind === 'blue-green' && c.s.iterations <= st.iterations) {
    setRoutes(c, 0, 100, null, false);
    c.s.iterations = st.iterations + 1;
    enterPhase(c, 'Progressing');
    recordEvent(
      c,
      'Normal',
      'TrafficWeightUpdated',
      `Stop traffic mirroring and route all traffic to canary ${label(c)}`,
    );
    return endTick(c);
  }
  return startPromotion(c, { by: 'analysis', at: c.now });
}

/** Schedule the next tick one interval after this tick began (a ticker's cadence). */
function endTick(c: Ctx): Next {
  const began = c.s.tickStartedAt ?? c.now;
  return timer(c, began + intervalOf(c.plan), 'analysis-interval', 'tick');
}

// ─── promotion ──────────────────────────────────────────────────────────────────────────────────────────────

function startPromotion(c: Ctx, promotion: PromotionInfo): Next {
  const st = c.plan.strategy;
  c.s.pendingGate = null;
  c.s.promotion = promotion;
  if (promotion.by === 'skip') {
    if (!atPrimary(c)) setRoutes(c, 100, 0, null, false);
  } else if (st.kind === 'blue-green' && c.s.canaryWeight !== 100) {
    // As Flagger's blue/green: all traffic on the canary while the primary rolls, so no request is dropped.
    setRoutes(c, 0, 100, null, false);
    recordEvent(
      c,
      'Normal',
      'TrafficWeightUpdated',
      `Route all traffic to canary ${label(c)} before promotion`,
    );
  } else if (c.s.mirror !== null) {
    setRoutes(c, c.s.primaryWeight, c.s.canaryWeight, null, c.s.abMatchActive);
  }
  enterPhase(c, 'Promoting');
  recordEvent(c, 'Normal', 'Promoting', `Copying ${label(c)} template spec to ${c.plan.target.name}-primary`);
  c.s.cursor = { kind: 'promote' };
  return { type: 'promotePrimary' };
}

function onPromoted(c: Ctx): Next {
  c.s.primaryPromoted = true;
  c.s.waitingReadySince = c.now;
  recordEvent(
    c,
    'Normal',
    'PrimaryPromoted',
    `${c.plan.target.name}-primary updated; waiting for its rollout`,
  );
  return checkReadiness(c, 'primary');
}

function primaryReady(c: Ctx): Next {
  if (promotionStepWeight(c) > 0 && c.s.primaryWeight < 100) return routeBackStep(c);
  if (!atPrimary(c)) {
    setRoutes(c, 100, 0, null, false);
    recordEvent(c, 'Normal', 'TrafficWeightUpdated', `Route all traffic to ${c.plan.target.name}-primary`);
  }
  return finalise(c);
}

function promotionStepWeight(c: Ctx): number {
  const st = c.plan.strategy;
  return st.kind === 'canary' && c.s.promotion?.by !== 'skip' ? st.stepWeightPromotion : 0;
}

function routeBackStep(c: Ctx): Next {
  const split = promotionStep(c.s.primaryWeight, promotionStepWeight(c));
  setRoutes(c, split.primaryWeight, split.canaryWeight, null, false);
  recordEvent(
    c,
    'Normal',
    'TrafficWeightUpdated',
    `Promotion: ${c.plan.target.name}-primary weight ${split.primaryWeight}`,
  );
  if (split.primaryWeight >= 100) return finalise(c);
  return timer(c, c.now + intervalOf(c.plan), 'promotion-step', 'route-back');
}

function finalise(c: Ctx): Next {
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
function promotionFailed(c: Ctx, message: string): Next {
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
function primaryMissing(c: Ctx, message: string): Next {
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

// ─── rollback, termination, completion ──────────────────────────────────────────────────────────────────────

function rollback(c: Ctx, finishing: Finishing, kind: NotifyKind, reason: EventReason): Next {
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

function terminate(c: Ctx, kind: 'superseded' | 'cancelled', detail: string | undefined): Next {
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

function complete(c: Ctx): Next {
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
    stepsCompleted:
      plan.strategy.kind === 'canary' ? s.stepIndex : Math.min(s.iterations, totalSteps(plan.strategy)),
    primaryPromoted: s.primaryPromoted,
  };
  if (finishing.failingCheck !== undefined) result.failingCheck = finishing.failingCheck;
  return result;
}

function doneNext(plan: ReleasePlan, s: ReleaseState, now: number): Next {
  if (s.result !== null) return { type: 'done', result: s.result };
  const finishing: Finishing = s.finishing ?? {
    outcome: 'Failed',
    code: 'infrastructure-failure',
    message: 'release ended without a recorded outcome',
    finalPhase: s.phase,
  };
  return { type: 'done', result: buildResult(plan, s, finishing, now) };
}

/** Drop waits and gates that no longer apply; account for a pause that ends here. */
function clearWaiting(c: Ctx): void {
  c.s.pendingGate = null;
  c.s.waitingReadySince = null;
  c.s.holdingSince = null;
  if (c.s.paused !== null) {
    c.s.pausedMsTotal += Math.max(0, c.now - c.s.paused.since);
    c.s.paused = null;
  }
}

// ─── timers and infrastructure errors ───────────────────────────────────────────────────────────────────────

function timer(c: Ctx, until: number, reason: WaitReason, then: TimerThen): Next {
  c.s.cursor = { kind: 'timer', until, reason, then };
  if (until <= c.now) return fireTimer(c);
  return { type: 'wait', ms: until - c.now, until, reason };
}

function onTimer(c: Ctx): Next {
  if (c.s.paused !== null) return reissue(c);
  if (c.s.infra !== null && c.s.infra.retryAt !== null) return retryNow(c);
  if (c.s.cursor.kind !== 'timer') return reissue(c);
  return fireTimer(c);
}

function fireTimer(c: Ctx): Next {
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

function onInfraError(c: Ctx, step: InfraStep, message: string): Next {
  if (!awaitingResult(c)) return reissue(c);
  const cur = c.s.cursor;
  switch (step) {
    case 'notify':
    case 'recordEvent':
      return reissue(c);
    case 'setRoutes':
    case 'scaleCanary':
      return retryLater(c, step, message);
    case 'initialize':
      return cur.kind === 'initialize' ? retryLater(c, step, message) : reissue(c);
    case 'promotePrimary':
      return cur.kind === 'promote' ? retryLater(c, step, message) : reissue(c);
    case 'checkReadiness':
      if (cur.kind !== 'readiness') return reissue(c);
      return onReadiness(c, cur.workload, false, `readiness check failed: ${message}`);
    case 'runHooks':
      if (cur.kind !== 'hooks') return reissue(c);
      return hooksFailedToRun(c, cur.hookType, message);
    case 'runAnalysis': {
      if (cur.kind !== 'analysis') return reissue(c);
      const check: FailingCheck = { kind: 'infrastructure', name: 'runAnalysis', value: null, message };
      const verdict = infrastructureVerdict(c.plan, check);
      c.s.lastAnalysis = {
        at: c.now,
        tick: c.s.tick,
        source: 'analysis',
        ok: false,
        verdict: verdict.kind,
        hooks: [],
        metrics: [],
        failingCheck: check,
      };
      return applyVerdict(c, verdict);
    }
  }
}

/** The hook runner itself failed (not a webhook answering an error). */
function hooksFailedToRun(c: Ctx, hookType: RunnableHookType, message: string): Next {
  switch (hookType) {
    case 'confirm-rollout':
    case 'confirm-traffic-increase':
    case 'confirm-promotion':
      return gateClosed(
        c,
        hookType,
        hooksOfType(c.plan, hookType).map((h) => h.name),
      );
    case 'pre-rollout': {
      const check: FailingCheck = { kind: 'infrastructure', name: 'pre-rollout hooks', message };
      const verdict = infrastructureVerdict(c.plan, check);
      c.s.lastAnalysis = {
        at: c.now,
        tick: c.s.tick,
        source: 'pre-rollout',
        ok: false,
        verdict: verdict.kind,
        hooks: [],
        metrics: [],
        failingCheck: check,
      };
      return applyVerdict(c, verdict);
    }
    case 'rollback':
      return analysisStep(c);
    case 'post-rollout':
      recordEvent(
        c,
        'Warning',
        'PostRolloutHookFailed',
        `post-rollout webhooks could not be run: ${message}`,
      );
      return complete(c);
  }
}

function retryLater(c: Ctx, step: string, message: string): Next {
  const attempts = (c.s.infra?.attempts ?? 0) + 1;
  const since = c.s.infra?.since ?? c.now;
  // Slow is not failed: a transient error (timeout, 5xx, 429, connection) is retried while the progress deadline
  // allows; only then, or for a permanent error after maxInfraRetries, does the release give up.
  const patient = c.plan.infraRetry === 'until-deadline' && c.transient === true;
  const left = since + c.plan.progressDeadlineMs - c.now;
  const giveUp = attempts > maxInfraRetries && (!patient || left <= 0);
  if (giveUp) return infrastructureFailure(c, step, message, attempts - 1);
  const retryAt = c.now + Math.min(infraRetryDelayMs, intervalOf(c.plan));
  c.s.infra = { attempts, step, message, retryAt, since };
  recordEvent(
    c,
    'Warning',
    'InfrastructureError',
    patient
      ? `${step} failed: ${message}; retry ${attempts} (transient: retried for up to ${Math.ceil(Math.max(0, left) / 1000)} s more, the progress deadline)`
      : `${step} failed: ${message}; retry ${attempts}/${maxInfraRetries}`,
  );
  return { type: 'wait', ms: retryAt - c.now, until: retryAt, reason: 'infra-retry' };
}

function retryNow(c: Ctx): Next {
  const infra = c.s.infra;
  if (infra === null) return reissue(c);
  infra.retryAt = null;
  if (infra.step === 'setRoutes' || infra.step === 'scaleCanary') reapplyDesired(c, infra.step);
  return reissue(c);
}

/**
 * Re-emit the desired routes and canary scale (idempotent ensures) after a failed batch. Scale-up is only
 * re-emitted when it is what failed: it sets this release's images, which must never happen after a supersede.
 */
function reapplyDesired(c: Ctx, failedStep: 'setRoutes' | 'scaleCanary'): void {
  setRoutes(c, c.s.primaryWeight, c.s.canaryWeight, c.s.mirror, c.s.abMatchActive);
  if (c.s.canaryScale === 'zero' || failedStep === 'scaleCanary') scaleCanary(c, c.s.canaryScale);
}

function infrastructureFailure(c: Ctx, step: string, message: string, retries = maxInfraRetries): Next {
  const previous = c.s.finishing;
  const text = `${step} kept failing after ${retries} retries: ${message}`;
  if (previous === null) {
    // Give up on the release: try once more to put traffic on the primary and free the canary.
    if (c.s.phase !== 'Initializing') setRoutes(c, 100, 0, null, false);
    if (c.s.canaryScale === 'up' || step === 'scaleCanary') scaleCanary(c, 'zero');
  } else {
    // The outcome was decided (rollback, promotion, supersede…): one last attempt at its desired routes/scale.
    setRoutes(c, c.s.primaryWeight, c.s.canaryWeight, c.s.mirror, c.s.abMatchActive);
    if (c.s.canaryScale === 'zero') scaleCanary(c, 'zero');
  }
  notify(c, 'error', 'infrastructure-error', `${label(c)}: ${text}; restoring 100% primary (best effort)`);
  recordEvent(c, 'Warning', 'InfrastructureError', text);
  if (previous !== null && previous.outcome === 'Promoted') {
    c.s.finishing = { ...previous, message: `${previous.message} Warning: ${text}`, gaveUp: true };
  } else {
    const finishing: Finishing = {
      outcome: 'Failed',
      code: 'infrastructure-failure',
      message: previous !== null ? `${text} (while finishing: ${previous.message})` : text,
      finalPhase: 'Failed',
      gaveUp: true,
    };
    const check = previous?.failingCheck ?? { kind: 'infrastructure', name: step, message };
    finishing.failingCheck = check;
    c.s.finishing = finishing;
  }
  return complete(c);
}

// ─── operator actions ───────────────────────────────────────────────────────────────────────────────────────

function onOperator(c: Ctx, action: OperatorAction): Next {
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
        `${label(c)}: promotion requested by ${action.actor}: ${action.reason} (remaining analysis skipped at ${progressText(c)})`,
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

// ─── small helpers ──────────────────────────────────────────────────────────────────────────────────────────

function runHooks(c: Ctx, hookType: RunnableHookType, payloadPhase: Phase): Next {
  c.s.cursor = { kind: 'hooks', hookType, payloadPhase };
  return { type: 'runHooks', hookType, phase: payloadPhase };
}

function setRoutes(
  c: Ctx,
  primaryWeight: number,
  canaryWeight: number,
  mirrorPercent: number | null,
  abMatch: boolean,
): void {
  c.s.primaryWeight = primaryWeight;
  c.s.canaryWeight = canaryWeight;
  c.s.mirror = mirrorPercent;
  c.s.abMatchActive = abMatch;
  c.effects.push({ type: 'setRoutes', primaryWeight, canaryWeight, mirrorPercent, abMatch });
}

function atPrimary(c: Ctx): boolean {
  return c.s.primaryWeight === 100 && c.s.canaryWeight === 0 && c.s.mirror === null && !c.s.abMatchActive;
}

function scaleCanary(c: Ctx, to: 'up' | 'zero'): void {
  c.s.canaryScale = to;
  c.effects.push({ type: 'scaleCanary', to });
}

function notify(c: Ctx, severity: 'info' | 'warn' | 'error', kind: NotifyKind, message: string): void {
  c.effects.push({ type: 'notify', severity, kind, message });
}

function recordEvent(c: Ctx, eventType: 'Normal' | 'Warning', reason: EventReason, message: string): void {
  c.effects.push({ type: 'recordEvent', eventType, reason, message });
}

function enterPhase(c: Ctx, phase: Phase): void {
  const s = c.s;
  if (s.phase === phase) return;
  const spent = Math.max(0, c.now - s.phaseSince);
  s.phaseDurationsMs[s.phase] = (s.phaseDurationsMs[s.phase] ?? 0) + spent;
  s.phase = phase;
  s.phaseSince = c.now;
  if (s.phaseEnteredAt[phase] === undefined) s.phaseEnteredAt[phase] = c.now;
}

function cloneState(state: ReleaseState): ReleaseState {
  return JSON.parse(JSON.stringify(state)) as ReleaseState;
}

function intervalOf(plan: ReleasePlan): number {
  return Math.max(1, plan.intervalMs);
}

export function thresholdOf(plan: ReleasePlan): number {
  return Math.max(1, Math.floor(plan.threshold));
}

function label(c: Ctx): string {
  return `${c.plan.target.name}.${c.plan.target.namespace}`;
}

function trafficPlan(c: Ctx): string {
  const st = c.plan.strategy;
  switch (st.kind) {
    case 'canary':
      return `Traffic: weights ${normaliseWeights(st.weights).join(', ')}${st.mirror ? ' (after one interval of mirroring)' : ''}; failed checks threshold ${thresholdOf(c.plan)}.`;
    case 'ab-testing':
      return `A/B testing: ${st.iterations} iterations with match conditions; failed checks threshold ${thresholdOf(c.plan)}.`;
    case 'blue-green':
      return `Blue/green: ${st.iterations} iterations${st.mirror ? ' with traffic mirroring' : ''}; failed checks threshold ${thresholdOf(c.plan)}.`;
  }
}

function progressText(c: Ctx): string {
  const st = c.plan.strategy;
  if (st.kind === 'canary')
    return `step ${c.s.stepIndex}/${normaliseWeights(st.weights).length}, weight ${c.s.canaryWeight}`;
  return `iteration ${Math.min(c.s.iterations, st.iterations)}/${st.iterations}`;
}

/** Convenience for the workflow: the hooks a `runHooks` next refers to. */
export function hooksForNext(plan: ReleasePlan, next: Next & { type: 'runHooks' }): HookPlan[] {
  return hooksOfType(plan, next.hookType);
}
