// The decision context and its primitives: the one mutable object a decide() call works on (a clone of the input
// state, the effects emitted so far, the event's `now`) and the small operations every concern uses to change it.
// PURE (see src/domain/decide.ts for the contract). Every state change that has an outside effect goes through a
// primitive here, so the effect and the state's record of it never drift apart: `setRoutes` writes the weights it
// asks for, `scaleCanary` the desired scale, `enterPhase` the phase bookkeeping.
import type { ReleasePlan } from '../plan.js';
import type { Effect, EventReason, Next, NotifyKind } from '../effects.js';
import type { Phase, ReleaseState, RunnableHookType, Workload } from '../state.js';

/** Readiness is re-polled this often (never more rarely than the analysis interval). */
export const readinessPollMs = 5_000;
/** A failed traffic/scale/initialise/promote operation is retried after this delay (at most the interval)… */
export const infraRetryDelayMs = 10_000;
/** …this many times, then the release ends with outcome Failed. */
export const maxInfraRetries = 3;

export interface Ctx {
  readonly plan: ReleasePlan;
  readonly s: ReleaseState;
  readonly now: number;
  readonly effects: Effect[];
  /** The event being decided is an infrastructure error that may pass by itself (see ReleasePlan.infraRetry). */
  readonly transient?: boolean;
}

export function cloneState(state: ReleaseState): ReleaseState {
  return JSON.parse(JSON.stringify(state)) as ReleaseState;
}

// ─── effects (each also records what it asked for in the state) ─────────────────────────────────────────────

export function setRoutes(
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

/** All traffic on the primary: no canary weight, no mirror, no A/B match route. */
export function atPrimary(c: Ctx): boolean {
  return c.s.primaryWeight === 100 && c.s.canaryWeight === 0 && c.s.mirror === null && !c.s.abMatchActive;
}

export function scaleCanary(c: Ctx, to: 'up' | 'zero'): void {
  c.s.canaryScale = to;
  c.effects.push({ type: 'scaleCanary', to });
}

export function notify(c: Ctx, severity: 'info' | 'warn' | 'error', kind: NotifyKind, message: string): void {
  c.effects.push({ type: 'notify', severity, kind, message });
}

export function recordEvent(
  c: Ctx,
  eventType: 'Normal' | 'Warning',
  reason: EventReason,
  message: string,
): void {
  c.effects.push({ type: 'recordEvent', eventType, reason, message });
}

export function enterPhase(c: Ctx, phase: Phase): void {
  const s = c.s;
  if (s.phase === phase) return;
  const spent = Math.max(0, c.now - s.phaseSince);
  s.phaseDurationsMs[s.phase] = (s.phaseDurationsMs[s.phase] ?? 0) + spent;
  s.phase = phase;
  s.phaseSince = c.now;
  if (s.phaseEnteredAt[phase] === undefined) s.phaseEnteredAt[phase] = c.now;
}

// ─── nexts that only move the cursor ────────────────────────────────────────────────────────────────────────

export function runHooks(c: Ctx, hookType: RunnableHookType, payloadPhase: Phase): Next {
  c.s.cursor = { kind: 'hooks', hookType, payloadPhase };
  return { type: 'runHooks', hookType, phase: payloadPhase };
}

export function checkReadiness(c: Ctx, workload: Workload): Next {
  c.s.cursor = { kind: 'readiness', workload };
  return { type: 'checkReadiness', workload };
}

// ─── small helpers ──────────────────────────────────────────────────────────────────────────────────────────

/** Drop waits and gates that no longer apply; account for a pause that ends here. */
export function clearWaiting(c: Ctx): void {
  c.s.pendingGate = null;
  c.s.waitingReadySince = null;
  c.s.holdingSince = null;
  if (c.s.paused !== null) {
    c.s.pausedMsTotal += Math.max(0, c.now - c.s.paused.since);
    c.s.paused = null;
  }
}

/** Not paused and not waiting for an infrastructure retry: a result event is expected. */
export function awaitingResult(c: Ctx): boolean {
  return c.s.paused === null && (c.s.infra === null || c.s.infra.retryAt === null);
}

export function intervalOf(plan: ReleasePlan): number {
  return Math.max(1, plan.intervalMs);
}

export function thresholdOf(plan: ReleasePlan): number {
  return Math.max(1, Math.floor(plan.threshold));
}

export function label(c: Ctx): string {
  return `${c.plan.target.name}.${c.plan.target.namespace}`;
}
