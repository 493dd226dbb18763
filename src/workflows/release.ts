// The release workflow: one execution per release. A thin interpreter of the pure decision core
// (src/domain/decide.ts, whose header is the contract): it runs effects and the one `next`, feeds results and
// operator messages back as events, keeps the Web UI's view current, and cleans up on cancellation. Operator
// actions act at once: a timer is interrupted, and so is a long activity in flight (see `unlessInterrupted`).
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  allHandlersFinished,
  setCurrentDetails,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type {
  EventsAfter,
  NotifyRequest,
  ObservedStatus,
  ReleaseActivities,
  ReleaseEventRecord,
} from '../activities/release.js';
import type { IdentityActivities } from '../activities/identity.js';
import type { IdentityVerdict } from '../integrations/identity/verify.js';
import { checkIdentityTokenShape } from '../domain/approvers.js';
import { formatRange } from '../domain/result.js';
import { continueFrom, decide, hooksForNext, interruptsInFlight, type Transition } from '../domain/decide.js';
import type { Effect, GateWatch, Next } from '../domain/effects.js';
import { hooksOfType } from '../domain/evaluate.js';
import type { InfraStep, ReleaseEvent } from '../domain/events.js';
import { validateOperatorAction } from '../domain/operator.js';
import type { ReleasePlan } from '../domain/plan.js';
import type { ReleaseResult } from '../domain/result.js';
import { initialState, type OperatorLogEntry, type ReleaseState } from '../domain/state.js';
import { describeStatus, type ReleaseStatus } from '../domain/status.js';
import type { ReleaseInput } from './prepare.js';
import { prepareCompiledInput } from './prepare-compiled.js';
import { isLegacyReleaseInput } from '../domain/compiled.js';
import { policyViolationType } from '../policy.js';
import {
  abortSignal,
  abortUpdate,
  approveSignal,
  approveUpdate,
  operatorActionNames,
  pauseSignal,
  pauseUpdate,
  promoteSignal,
  promoteUpdate,
  resumeSignal,
  resumeUpdate,
  statusQuery,
  supersedeSignal,
  type OperatorActionName,
  type OperatorRequest,
} from './messages.js';
import { fledgeOutcome, fledgePhase, fledgeWeight } from './search-attributes.js';
import { statusMarkdown } from './visibility.js';

export type { ReleaseInput } from './prepare.js';

/** Workflow time: the sandbox's Date is deterministic (it is the time of the current workflow task). */
// eslint-disable-next-line no-restricted-properties -- deterministic inside the workflow sandbox
const workflowNow = (): number => Date.now();

// Quick Kubernetes writes/reads and best-effort announcements run as LOCAL activities: one marker event each in
// history and no extra workflow-task round trip, which keeps a steady analysis tick small (see npm run bench).
// They are idempotent "ensure" operations, so a re-run after a worker crash is harmless.
const k8sWrite: LocalActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
  },
};
const identityOptions: LocalActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
};
const quickRead: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 ms', maximumAttempts: 3 },
};
const bestEffort: LocalActivityOptions = {
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 2 },
};

// Long-running steps (waiting for the primary, webhooks with their own timeouts, metric queries) are regular
// activities with their own timeouts. They heartbeat every second (src/activities/release.ts): a dead worker is
// noticed after `heartbeatTimeout`, and a cancellation (an operator acting now) reaches the activity within about
// a second. TRY_CANCEL: the workflow does not wait for the activity to acknowledge its cancellation.
const longActivityHeartbeatTimeout = '10 seconds';
const acts = proxyActivities<ReleaseActivities>({ startToCloseTimeout: '1 minute' });
/** Patch: a long activity in flight is cancelled when an operator message must act now (older runs waited). */
const interruptActivityPatch = 'operator-interrupts-activity';
const local = proxyLocalActivities<ReleaseActivities>(k8sWrite);
/**
 * Patch: verified approvers — `spec.fledge.approvers`, identity tokens verified by the `verifyIdentity` local
 * activity, strict text checks of operator messages (also for signals), and updates the core rejects fail.
 */
const verifiedApproversPatch = 'verified-approvers';
/**
 * Patch: the Kubernetes Events that directly follow a write in an effect batch ride with the write's local activity,
 * and a run of consecutive events is one local activity — one local activity per steady tick instead of two.
 */
const eventsWithWritesPatch = 'events-with-writes';
/** Patch: closed gates are watched during waits (plan.gatePollMs: one pollGate activity per wait). */
const gatePollPatch = 'gate-poll-watch';
/** The failure type of an operator update the release rejected after validation (e.g. its identity token). */
export const operatorRequestRejectedType = 'OperatorRequestRejected';
// Verifying a token is quick (a JWKS is cached or a local file); an unreachable JWKS is retried a few times, then
// the message is rejected saying so.
const identity = proxyLocalActivities<IdentityActivities>(identityOptions);

type Inbox = ReleaseEvent[];

function checkOptions(plan: ReleasePlan, hookCount: number): ActivityOptions {
  // Webhooks have their own timeouts and retries; leave room for all of them plus the metric queries.
  const hookBudget =
    plan.hooks.reduce((ms, h) => Math.max(ms, h.timeoutMs * (h.retries + 1)), 0) * Math.max(1, hookCount);
  return {
    startToCloseTimeout: Math.max(30_000, hookBudget + 20_000),
    heartbeatTimeout: longActivityHeartbeatTimeout,
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: { initialInterval: '1 second', maximumAttempts: 2 },
  };
}

export async function releaseWorkflow(input: ReleaseInput): Promise<ReleaseResult> {
  const info = workflowInfo();
  // The client validated and compiled the release; its envelope's structure is checked here (the Web UI or
  // `temporal workflow start` can start workflows with any input): a bad or unknown input fails at once, typed and
  // non-retryable — never a workflow-task retry loop. A legacy input (raw documents, from releases started on the
  // previous version) is validated and compiled here as before (src/workflows/prepare.ts), loaded only then: every
  // workflow evaluates its own copy of the modules it imports (reused V8 context), and the legacy path's manifest
  // schemas, compiler, zod and re2js cost ~36 ms and ~1.7 MiB each (npm run bench:cost). Awaiting the import records
  // nothing in history (no command); a compiled input takes the synchronous path, exactly as before.
  const prepared = isLegacyReleaseInput(input)
    ? (await import(/* webpackMode: "eager" */ './prepare.js')).prepareInput(input, info.workflowId)
    : prepareCompiledInput(input, info.workflowId);
  if (!prepared.ok) {
    throw ApplicationFailure.create({
      message: prepared.message,
      type: prepared.type,
      nonRetryable: true,
      details: [prepared.details],
    });
  }
  const { ctx } = prepared;
  // Transient infrastructure errors are waited out up to the progress deadline (slow is not failed); histories from
  // before this version keep their fixed retry count.
  // Gate watching (plan.gatePollMs) changes the commands of a release waiting at a gate, so it runs only where this
  // worker's code recorded the patch: a legacy input is compiled here by today's compiler (which sets gatePollMs),
  // and an envelope with gatePollMs may have been started on a worker of the previous version (clients first) —
  // both keep re-polling once per interval, as they did. Plans compiled before the field have none.
  const compiledPlan =
    prepared.legacy || (prepared.plan.gatePollMs !== undefined && !patched(gatePollPatch))
      ? withoutGatePolling(prepared.plan)
      : prepared.plan;
  const basePlan: ReleasePlan = patched('infra-retry-until-deadline')
    ? { ...compiledPlan, infraRetry: 'until-deadline' }
    : compiledPlan;
  // Decided once per run (a later call would answer differently once replay is over). Histories from before it
  // take none of the verified-approvers paths; their specs cannot carry approvers (the old schema refused them).
  const verifiedApprovers = patched(verifiedApproversPatch);
  const plan: ReleasePlan = verifiedApprovers ? { ...basePlan, operatorChecks: 'strict' } : basePlan;
  const inbox: Inbox = [];
  let state: ReleaseState = input.carried?.state ?? initialState(plan, workflowNow());
  let previousImages: Record<string, string> = input.carried?.previousImages ?? {};
  const threads: Record<string, { channel: string; ts: string }> = { ...input.carried?.threads };
  let processed = 0; // operator events delivered so far (updates wait for their own)
  let enqueued = 0;

  const status = (): ReleaseStatus => describeStatus(plan, state);

  // ── messages ────────────────────────────────────────────────────────────────────────────────────────────
  const updates = {
    approve: approveUpdate,
    pause: pauseUpdate,
    resume: resumeUpdate,
    promote: promoteUpdate,
    abort: abortUpdate,
  };
  const signals = {
    approve: approveSignal,
    pause: pauseSignal,
    resume: resumeSignal,
    promote: promoteSignal,
    abort: abortSignal,
  };
  const toEvent = (action: OperatorActionName, req: OperatorRequest): ReleaseEvent => ({
    type: 'operator',
    now: workflowNow(),
    action,
    actor: typeof req?.actor === 'string' && req.actor ? req.actor : 'unknown',
    reason: typeof req?.reason === 'string' ? req.reason : '',
    ...(typeof req?.gate === 'string' ? { gate: req.gate } : {}),
  });
  // Verified approvers: identity tokens used on this release (each once: a token read from history cannot be
  // replayed here), and what the core decided about each update (its operator log entry), by update sequence.
  const usedTokens = new Set<string>();
  const updateSeq = new WeakMap<ReleaseEvent, number>();
  const decided = new Map<number, OperatorLogEntry | undefined>();
  const carriesToken = (req: OperatorRequest): boolean =>
    verifiedApprovers && req !== null && typeof req === 'object' && req.idToken !== undefined;
  /**
   * The operator event for a message with an identity token: the `verifyIdentity` local activity's answer (recorded
   * in history, so replay is stable) replaces the claimed actor with the verified identity, or rejects it.
   */
  const verifiedEvent = async (action: OperatorActionName, req: OperatorRequest): Promise<ReleaseEvent> => {
    const claimed = toEvent(action, req);
    if (claimed.type !== 'operator') return claimed;
    const shape = checkIdentityTokenShape(req.idToken);
    let verdict: IdentityVerdict;
    if (!shape.ok) verdict = shape;
    else {
      const gate = action === 'approve' ? (claimed.gate ?? state.pendingGate?.gate) : undefined;
      verdict = await identity.verifyIdentity
        .executeWithOptions({ ...identityOptions, summary: `verify identity: ${action}` }, [
          {
            token: String(req.idToken),
            workflowId: info.workflowId,
            action,
            ...(gate !== undefined ? { gate } : {}),
          },
        ])
        .catch((err: unknown): IdentityVerdict => ({
          ok: false,
          reason: `the identity could not be verified: ${failureMessage(err)}`,
        }));
    }
    if (verdict.ok && usedTokens.has(verdict.tokenId))
      verdict = { ok: false, reason: 'this identity token was already used on this release; get a new one' };
    const at = { now: workflowNow() };
    if (!verdict.ok) return { ...claimed, ...at, rejection: `identity not verified: ${verdict.reason}` };
    usedTokens.add(verdict.tokenId);
    return {
      ...claimed,
      ...at,
      actor: verdict.identity.actor,
      identity: verdict.identity,
      ...(claimed.actor !== verdict.identity.actor ? { claimedActor: claimed.actor } : {}),
    };
  };
  const reject = (message: string): never => {
    throw ApplicationFailure.create({ message, type: operatorRequestRejectedType, nonRetryable: true });
  };
  for (const action of operatorActionNames) {
    setHandler(
      updates[action],
      async (req: OperatorRequest): Promise<ReleaseStatus> => {
        const event = carriesToken(req) ? await verifiedEvent(action, req) : toEvent(action, req);
        inbox.push(event);
        const mine = ++enqueued;
        if (verifiedApprovers) updateSeq.set(event, mine);
        await condition(() => processed >= mine);
        if (verifiedApprovers) {
          const entry = decided.get(mine);
          decided.delete(mine);
          if (entry !== undefined && !entry.accepted)
            reject(`${action} rejected: ${entry.rejectionReason ?? 'no reason recorded'}`);
        }
        return status();
      },
      {
        validator: (req: OperatorRequest) => {
          if (!req || typeof req.actor !== 'string' || req.actor.trim() === '')
            throw new Error('actor is required (who is acting)');
          if (typeof req.reason !== 'string') throw new Error('reason must be a string');
          const token = carriesToken(req);
          if (token) {
            const shape = checkIdentityTokenShape(req.idToken);
            if (!shape.ok) reject(shape.reason);
          }
          const v = validateOperatorAction(plan, state, {
            action,
            actor: req.actor,
            reason: req.reason,
            ...(req.gate ? { gate: req.gate } : {}),
            ...(token ? { pendingVerification: true } : {}),
          });
          if (!v.ok) {
            if (verifiedApprovers) reject(v.reason);
            throw new Error(v.reason);
          }
        },
      },
    );
    setHandler(signals[action], (req: OperatorRequest): Promise<void> | undefined => {
      if (!carriesToken(req)) {
        inbox.push(toEvent(action, req));
        enqueued++;
        return undefined;
      }
      // Verified first (a rejected token is recorded as a rejected action); async, so allHandlersFinished waits.
      return verifiedEvent(action, req).then((event) => {
        inbox.push(event);
        enqueued++;
      });
    });
  }
  setHandler(supersedeSignal, (req: { by: string }) => {
    inbox.push({ type: 'superseded', now: workflowNow(), by: String(req?.by ?? 'a newer release') });
    enqueued++;
  });
  setHandler(statusQuery, () => status());

  // ── visibility ──────────────────────────────────────────────────────────────────────────────────────────
  let shownPhase = '';
  let shownWeight = -1;
  const publish = (): void => {
    const st = status();
    // During A/B iterations the status reports canary 100 (Flagger's weight); histories from before that searched
    // by the route weight (0), and must upsert exactly what they did.
    const weight =
      st.weights.abMatch && !patched('ab-reported-weight') ? state.canaryWeight : st.weights.canary;
    if (st.phase !== shownPhase || weight !== shownWeight) {
      upsertSearchAttributes([
        { key: fledgePhase, value: st.phase },
        { key: fledgeWeight, value: weight },
      ]);
      shownPhase = st.phase;
      shownWeight = weight;
    }
    setCurrentDetails(statusMarkdown(st));
  };

  const observed = (): ObservedStatus => ({
    phase: state.phase,
    canaryWeight: state.canaryWeight,
    primaryWeight: state.primaryWeight,
    abMatch: state.abMatchActive,
  });

  const notifyRequest = (e: Pick<NotifyRequest, 'severity' | 'kind' | 'message'>): NotifyRequest => {
    const st = status();
    const failing = st.lastAnalysis?.metrics.find((m) => !m.ok);
    const failingPlan = failing ? plan.metrics.find((m) => m.name === failing.name) : undefined;
    return {
      severity: e.severity,
      kind: e.kind,
      message: e.message,
      at: workflowNow(),
      status: st,
      previousImages,
      ...(input.initiator ? { initiator: input.initiator } : {}),
      threads,
      ...(failing && failingPlan
        ? {
            failingMetric: {
              name: failing.name,
              value: failing.value,
              threshold: formatRange(failing.thresholdRange),
              plan: failingPlan,
            },
          }
        : {}),
    };
  };

  // ── the interpreter ─────────────────────────────────────────────────────────────────────────────────────
  const apply = (t: Transition): Transition => {
    state = t.state;
    publish();
    return t;
  };

  /** The `recordEvent` effects from `from` on, up to the first other effect. */
  const eventRun = (effects: Effect[], from: number): EventRecordEffect[] => {
    const run: EventRecordEffect[] = [];
    for (let i = from; i < effects.length; i++) {
      const e = effects[i];
      if (e?.type !== 'recordEvent') break;
      run.push(e);
    }
    return run;
  };
  const eventRecord = (e: EventRecordEffect): ReleaseEventRecord => ({
    eventType: e.eventType,
    reason: e.reason,
    message: e.message,
  });
  /**
   * The events that follow effects[index] and ride with it (events-with-writes): the run of events after a write, or
   * after a first event. Histories from before the patch ran one local activity per event.
   */
  const riders = (effects: Effect[], index: number): EventRecordEffect[] => {
    const run = eventRun(effects, index + 1);
    return run.length > 0 && patched(eventsWithWritesPatch) ? run : [];
  };
  /** The write activity's optional last argument: its riders, or nothing (the argument list of older histories). */
  const afterArg = (ride: EventRecordEffect[]): [] | [EventsAfter] =>
    ride.length > 0 ? [{ events: ride.map(eventRecord), observed: observed() }] : [];

  const runEffects = async (effects: Effect[]): Promise<ReleaseEvent | undefined> => {
    for (let index = 0; index < effects.length; index++) {
      const e = effects[index] as Effect;
      try {
        switch (e.type) {
          case 'setRoutes': {
            const ride = riders(effects, index);
            await local.setRoutes.executeWithOptions(
              {
                ...k8sWrite,
                summary: `route ${e.primaryWeight}/${e.canaryWeight}${e.mirrorPercent !== null ? ` mirror ${e.mirrorPercent}%` : ''}${e.abMatch ? ' +match' : ''}${eventsSummary(ride)}`,
              },
              [
                ctx,
                {
                  primaryWeight: e.primaryWeight,
                  canaryWeight: e.canaryWeight,
                  mirrorPercent: e.mirrorPercent,
                  abMatch: e.abMatch,
                },
                ...afterArg(ride),
              ],
            );
            index += ride.length;
            break;
          }
          case 'scaleCanary': {
            const ride = riders(effects, index);
            await local.scaleCanary.executeWithOptions(
              {
                ...k8sWrite,
                summary:
                  (e.to === 'up'
                    ? `canary: ${Object.values(ctx.newImages).join(', ')}, scale up`
                    : 'canary: scale to zero') + eventsSummary(ride),
              },
              [ctx, e.to, ...afterArg(ride)],
            );
            index += ride.length;
            break;
          }
          case 'notify': {
            // Webhook-failure alerts came with a later version: histories from before it never had them.
            if (e.kind === 'webhook-failed' && !patched('notify-webhook-failures')) break;
            const r = await local.notify
              .executeWithOptions({ ...bestEffort, summary: `notify ${e.severity}: ${e.kind}` }, [
                ctx,
                notifyRequest(e),
              ])
              .catch((err: unknown) => {
                log.warn('notify failed', { err: String(err) });
                return undefined;
              });
            // Histories recorded before threads returned a bare list of delivered notifiers.
            if (r && !Array.isArray(r) && r.threads) Object.assign(threads, r.threads);
            break;
          }
          case 'recordEvent': {
            const ride = riders(effects, index);
            const more: [] | [ReleaseEventRecord[]] = ride.length > 0 ? [ride.map(eventRecord)] : [];
            await local.recordEvent
              .executeWithOptions(
                {
                  ...bestEffort,
                  summary: `event ${[e, ...ride].map((x) => x.reason).join(', ')}`,
                },
                [ctx, e, observed(), ...more],
              )
              .catch((err: unknown) => log.warn('recordEvent failed', { err: String(err) }));
            index += ride.length;
            break;
          }
        }
      } catch (err) {
        if (isCancellation(err)) throw err;
        throwIfPolicyViolation(err);
        const failed: ReleaseEvent = {
          type: 'infraError',
          now: workflowNow(),
          step: e.type as InfraStep,
          message: failureMessage(err),
          transient: isTransient(err),
        };
        // The batch's announcements still go out (they never throw): a retry re-applies only the routes/scale, so
        // skipping them lost them for good — e.g. a release that gave up left its Slack thread at "progressing".
        // (Events that rode with the failed write were not recorded: they are among them.)
        const rest = effects.slice(index + 1).filter((x) => x.type === 'notify' || x.type === 'recordEvent');
        if (rest.length > 0 && patched('announce-after-failed-write')) await runEffects(rest);
        return failed;
      }
    }
    return undefined;
  };

  /**
   * Runs a long activity (initialise, webhooks, analysis) so that a queued message that must act now — abort,
   * promote, pause, supersede, approving the gate being polled (`interruptsInFlight`, contract item 4) — cancels it
   * at once instead of queueing behind it (a webhook may take its whole 60 s timeout, initialise waits up to the
   * progress deadline for the primary). The cancelled activity's result is never delivered (TRY_CANCEL: its
   * promise rejects as soon as the cancellation is requested), so a cancelled analysis never counts as a check;
   * the core re-issues the `next` if it still needs it (e.g. on resume). Returns undefined when interrupted.
   */
  const unlessInterrupted = async <T>(run: () => Promise<T>): Promise<{ value: T } | undefined> => {
    const interrupts = (): boolean => inbox.some((e) => interruptsInFlight(plan, state, e));
    return CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const work = run().then((value) => ({ value }));
      const message = condition(interrupts).then(() => undefined);
      message.catch(() => undefined);
      try {
        const first = await Promise.race([work, message]);
        // The result and the message can land in the same activation (e.g. a workflow task retried after the
        // activity completed meanwhile): the result resolves first in microtask order, but the operator acted
        // before it was used — the message wins, the result is discarded (never half-applied, then undone).
        if (first !== undefined && !(interrupts() && patched(interruptActivityPatch))) return first;
        if (first !== undefined) return undefined;
        if (patched(interruptActivityPatch)) {
          work.catch(() => undefined); // rejects with a CancelledFailure once the scope is cancelled (finally)
          return undefined;
        }
        // A history from before the patch: the message waited for the activity's result.
        return await work;
      } finally {
        // Interrupted: requests the activity's cancellation. Otherwise it only stops the condition (no command).
        scope.cancel();
      }
    });
  };

  /**
   * A wait that watches a closed gate (plans with gatePollMs, decision/gates.ts): ONE `pollGate` activity polls the
   * gate's webhooks every `everyMs` until `until` — a `hooks` event as soon as they pass, or with the last poll's
   * results at the end. Any message interrupts it as it interrupts a timer (contract item 4: the activity is
   * cancelled, its result never delivered; the core re-issues the rest of the wait). 'sleep': nothing to watch
   * (less than one period left) or the activity failed — the caller sleeps out the rest as a plain wait (slow gate
   * polling never fails a release).
   */
  const watchGate = async (watch: GateWatch, until: number): Promise<ReleaseEvent | undefined | 'sleep'> => {
    const windowMs = until - workflowNow();
    if (inbox.length > 0) return undefined;
    if (windowMs < watch.everyMs) return 'sleep';
    const hooks = hooksOfType(plan, watch.gate);
    const hookBudget = hooks.reduce((t, h) => t + h.timeoutMs * (h.retries + 1), 0);
    try {
      const polled = await CancellationScope.cancellable(async () => {
        const scope = CancellationScope.current();
        const work = acts.pollGate.executeWithOptions(
          {
            startToCloseTimeout: windowMs + hookBudget + 30_000,
            heartbeatTimeout: longActivityHeartbeatTimeout,
            cancellationType: ActivityCancellationType.TRY_CANCEL,
            retry: { initialInterval: '1 second', maximumAttempts: 2 },
            summary: `${watch.gate}: poll ${hooks.map((h) => h.name).join(', ')} every ${watch.everyMs / 1000} s for ${Math.round(windowMs / 1000)} s`,
          },
          [ctx, hooks, watch.phase, { everyMs: watch.everyMs, windowMs }],
        );
        const message = condition(() => inbox.length > 0).then(() => undefined);
        message.catch(() => undefined);
        try {
          const first = await Promise.race([work, message]);
          // A message that landed with the result wins (as with a timer): the core re-issues the watch if needed.
          return first === undefined || inbox.length > 0 ? undefined : first;
        } finally {
          work.catch(() => undefined);
          scope.cancel(); // interrupted: requests the activity's cancellation; otherwise only stops the condition
        }
      });
      if (polled === undefined) return undefined;
      if (polled.results === null) return 'sleep';
      return { type: 'hooks', now: workflowNow(), hookType: watch.gate, results: polled.results };
    } catch (err) {
      if (isCancellation(err)) throw err;
      throwIfPolicyViolation(err);
      log.warn('gate watch failed; waiting out the rest of the interval', { err: failureMessage(err) });
      return 'sleep';
    }
  };

  /** Performs `next`; returns its event, or undefined when interrupted by a message (then the inbox has one). */
  const perform = async (next: Next): Promise<ReleaseEvent | undefined> => {
    try {
      switch (next.type) {
        case 'initialize': {
          const run = await unlessInterrupted(() =>
            acts.initializeRelease.executeWithOptions(
              {
                // Liveness is the heartbeat (every second); an attempt may take long on a slow apiserver — slow is
                // not failed — and the progress deadline bounds the whole.
                startToCloseTimeout: Math.max(60_000, plan.progressDeadlineMs),
                scheduleToCloseTimeout: Math.max(60_000, plan.progressDeadlineMs),
                heartbeatTimeout: longActivityHeartbeatTimeout,
                cancellationType: ActivityCancellationType.TRY_CANCEL,
                retry: { initialInterval: '1 second', backoffCoefficient: 1.5, maximumInterval: '5 seconds' },
                summary: 'initialise: primary, services, routes at 100% primary',
              },
              [ctx, plan.primaryReadyThreshold],
            ),
          );
          if (!run) return undefined;
          const init = run.value;
          // Absent in histories recorded before the images were returned.
          if (init.primaryImages) previousImages = init.primaryImages;
          return { type: 'initialized', now: workflowNow() };
        }
        case 'checkReadiness': {
          const r = await local.checkReadiness.executeWithOptions(
            { ...quickRead, summary: `readiness of ${next.workload}` },
            [
              ctx,
              next.workload,
              next.workload === 'primary' ? plan.primaryReadyThreshold : plan.canaryReadyThreshold,
            ],
          );
          return {
            type: 'readiness',
            now: workflowNow(),
            workload: next.workload,
            ready: r.ready,
            message: r.message,
          };
        }
        case 'runHooks': {
          const hooks = hooksForNext(plan, next);
          const run = await unlessInterrupted(() =>
            acts.runHooks.executeWithOptions(
              {
                ...checkOptions(plan, hooks.length),
                summary: `${next.hookType} hooks (${hooks.map((h) => h.name).join(', ')})`,
              },
              [ctx, hooks, next.phase],
            ),
          );
          if (!run) return undefined;
          return { type: 'hooks', now: workflowNow(), hookType: next.hookType, results: run.value };
        }
        case 'runAnalysis': {
          const hooks = hooksOfType(plan, 'rollout');
          const run = await unlessInterrupted(() =>
            acts.runAnalysis.executeWithOptions(
              {
                ...checkOptions(plan, hooks.length),
                summary: `analysis: ${[...hooks.map((h) => h.name), ...plan.metrics.map((m) => m.name)].join(', ') || 'no checks'}`,
              },
              [ctx, hooks, plan.metrics, next.phase],
            ),
          );
          if (!run) return undefined;
          return {
            type: 'analysis',
            now: workflowNow(),
            hooks: run.value.hooks,
            metrics: run.value.metrics,
            ...(run.value.primaryMissing ? { primaryMissing: run.value.primaryMissing } : {}),
          };
        }
        case 'promotePrimary':
          await local.promotePrimary.executeWithOptions(
            { ...k8sWrite, summary: `promote ${Object.values(ctx.newImages).join(', ')} to primary` },
            [ctx],
          );
          return { type: 'promoted', now: workflowNow() };
        case 'wait': {
          if (next.watch !== undefined) {
            const watched = await watchGate(next.watch, next.until);
            if (watched !== 'sleep') return watched;
          }
          const ms = Math.max(0, next.until - workflowNow());
          const fired = await interruptibleSleep(
            ms,
            `${next.reason} (${Math.round(ms / 1000)} s)`,
            () => inbox.length > 0,
          );
          return fired ? { type: 'timer', now: workflowNow() } : undefined;
        }
        case 'waitForOperator':
          await condition(() => inbox.length > 0);
          return undefined;
        case 'done':
          return undefined;
      }
    } catch (err) {
      if (isCancellation(err)) throw err;
      throwIfPolicyViolation(err);
      return {
        type: 'infraError',
        now: workflowNow(),
        step: next.type as InfraStep,
        message: failureMessage(err),
        transient: isTransient(err),
      };
    }
  };

  const loop = async (start: Transition): Promise<ReleaseResult> => {
    let t = apply(start);
    for (;;) {
      const infra = await runEffects(t.effects);
      if (infra) {
        // A failed traffic/scale effect (also in the final batch, e.g. a rollback's 100% primary) is reported;
        // the core retries it.
        t = apply(decide(plan, state, infra));
        continue;
      }
      if (t.next.type === 'done') return t.next.result;
      let event: ReleaseEvent | undefined;
      if (!event && inbox.length > 0) {
        event = inbox.shift();
        processed++;
      }
      if (!event) {
        if (t.next.type === 'wait' && workflowInfo().continueAsNewSuggested) {
          await condition(allHandlersFinished);
          await continueAsNew<typeof releaseWorkflow>({
            ...input,
            carried: { state, previousImages, threads },
          });
        }
        event = await perform(t.next);
        if (!event) {
          event = inbox.shift();
          if (event) processed++;
        }
      }
      if (!event) continue;
      t = apply(decide(plan, state, event));
      const seq = updateSeq.get(event);
      if (seq !== undefined) decided.set(seq, state.operatorLog[state.operatorLog.length - 1]);
    }
  };

  let result: ReleaseResult;
  try {
    const first = input.carried
      ? continueFrom(plan, state, workflowNow())
      : decide(plan, state, { type: 'started', now: workflowNow() });
    result = await loop(first);
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled (e.g. `temporal workflow cancel`): roll back in a scope that cannot itself be cancelled.
    result = await CancellationScope.nonCancellable(() =>
      loop(decide(plan, state, { type: 'cancelled', now: workflowNow(), reason: 'workflow cancelled' })),
    );
  }
  upsertSearchAttributes([{ key: fledgeOutcome, value: result.outcome }]);
  // Every release message (the Slack parent) shows the final state: the last notification may have gone out before
  // the post-rollout hooks ran, or been dropped by a provider's severity filter. Refreshes only (came later: gated).
  if (Object.keys(threads).length > 0 && patched('notify-final-state')) {
    const final = result;
    await CancellationScope.nonCancellable(() =>
      local.notify
        .executeWithOptions({ ...bestEffort, summary: `notify info: final state (${final.outcome})` }, [
          ctx,
          notifyRequest({ severity: 'info', kind: 'final-state', message: final.reason.message }),
        ])
        .catch((err: unknown) => log.warn('notify failed', { err: String(err) })),
    );
  }
  // Release metrics (outcome counters, duration histogram) came with a later version: gated for old histories.
  if (patched('release-metrics-outcome')) {
    const final = result;
    await CancellationScope.nonCancellable(() =>
      local.recordOutcome
        .executeWithOptions({ ...bestEffort, summary: `outcome ${final.outcome}` }, [
          ctx,
          {
            outcome: final.outcome,
            strategy: plan.strategy.kind,
            durationMs: final.durationMs,
            analysisSkipped: final.reason.code === 'analysis-skipped',
            status: observed(),
          },
        ])
        .catch((err: unknown) => log.warn('recordOutcome failed', { err: String(err) })),
    );
  }
  // Non-cancellable: after a cancellation the root scope is cancelled, and a plain wait would end the run as
  // "cancelled" instead of returning the rollback's result.
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return result;
}

/** The plan without gate polling (legacy inputs: see releaseWorkflow). */
function withoutGatePolling(plan: ReleasePlan): ReleasePlan {
  if (plan.gatePollMs === undefined) return plan;
  const { gatePollMs: _dropped, ...rest } = plan;
  return rest;
}

type EventRecordEffect = Extract<Effect, { type: 'recordEvent' }>;

/** The local activity's summary suffix naming the events that ride with it. */
function eventsSummary(ride: EventRecordEffect[]): string {
  return ride.length > 0 ? ` + event ${ride.map((x) => x.reason).join(', ')}` : '';
}

/** Sleeps `ms` with a summary (visible in the Web UI timeline); returns false if `interrupt` became true first. */
async function interruptibleSleep(ms: number, summary: string, interrupt: () => boolean): Promise<boolean> {
  if (interrupt()) return false;
  return CancellationScope.cancellable(async () => {
    const scope = CancellationScope.current();
    const timer = sleep(ms, { summary }).then(() => true);
    const message = condition(interrupt).then(() => false);
    const fired = await Promise.race([timer, message]);
    scope.cancel();
    timer.catch(() => undefined);
    message.catch(() => undefined);
    return fired;
  });
}

/**
 * The worker refused the release (src/policy.ts: namespace or image not allowed; nothing was done): the workflow
 * fails at once with the same typed, non-retryable failure instead of retrying what the policy will never allow.
 */
function throwIfPolicyViolation(err: unknown): void {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type === policyViolationType)
    throw ApplicationFailure.create({
      message: cause.message,
      type: policyViolationType,
      nonRetryable: true,
      ...(cause.details ? { details: [...cause.details] } : {}),
    });
}

/** Whether a failed step may pass by itself: everything except a non-retryable ApplicationFailure (403, 422, …). */
function isTransient(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return !(cause instanceof ApplicationFailure && cause.nonRetryable);
}

function failureMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
