// Gate webhooks watched while waiting (plan.gatePollMs, spec.fledge.gatePollInterval; issue 12 part 5): a closed
// `confirm-*` gate is polled every gatePollMs during the wait that follows it, and acts when its webhooks pass —
// within one poll period, not at the next interval. Plans without gatePollMs behave exactly as before.
import { describe, expect, it } from 'vitest';
import { continueFrom, decide } from '../../../src/domain/decide.js';
import type { Next } from '../../../src/domain/effects.js';
import type { HookResult } from '../../../src/domain/events.js';
import type { HookPlan, HookType, ReleasePlan } from '../../../src/domain/plan.js';
import type { GateName } from '../../../src/domain/state.js';
import { canary, hook, makePlan, metricsWith, Scenario, type TraceEntry, type World } from './scenario.js';

const interval = 60_000;
const poll = 2_000;

/** Gate webhooks that answer 403 until `openAt` (absolute ms), 200 from then on. */
function gateOpensAt(gate: GateName, openAt: () => number): World['hooks'] {
  return (type: HookType, hooks: HookPlan[], ctx) => results(hooks, type !== gate || ctx.now >= openAt());
}

function results(hooks: HookPlan[], ok: boolean): HookResult[] {
  return hooks.map((h) => ({
    name: h.name,
    ok,
    status: ok ? 200 : 403,
    message: ok ? 'Approved' : 'Forbidden',
  }));
}

/**
 * The scenario interpreter plus the workflow's gate watch: a `wait` with `watch` polls the world's gate hooks at
 * start + k·everyMs (k ≥ 1) up to `until`, and feeds a `hooks` event at the first passing poll, else the last
 * poll's results at `until` (what the pollGate activity does).
 */
class WatchingScenario extends Scenario {
  polls: number[] = [];

  override step(): TraceEntry {
    const next = this.next;
    if (next?.type !== 'wait' || next.watch === undefined) return super.step();
    const { gate, everyMs } = next.watch;
    const hooks = this.plan.hooks.filter((h) => h.type === gate);
    let last: HookResult[] | null = null;
    for (let at = this.now + everyMs; at <= next.until; at += everyMs) {
      this.polls.push(at);
      const answer =
        this.world.hooks?.(gate, hooks, {
          plan: this.plan,
          state: this.state,
          analysisCall: this.analysisCalls,
          now: at,
        }) ?? results(hooks, true);
      last = answer;
      if (answer.every((r) => r.ok)) {
        this.now = at;
        return this.feed({ type: 'hooks', hookType: gate, results: answer });
      }
    }
    this.now = next.until;
    if (last === null) return this.feed({ type: 'timer' });
    return this.feed({ type: 'hooks', hookType: gate, results: last });
  }
}

const watchOf = (n: Next | null) => (n?.type === 'wait' ? n.watch : undefined);

function gatedPlan(gate: GateName, extra: Partial<ReleasePlan> = {}): ReleasePlan {
  return makePlan({
    intervalMs: interval,
    strategy: canary([50]),
    hooks: [hook('gate', gate)],
    gatePollMs: poll,
    ...extra,
  });
}

/** What the gate opening leads to, and when it happened. */
function actedAt(s: Scenario, gate: GateName): number | undefined {
  const t = s.trace.find((e) =>
    gate === 'confirm-rollout'
      ? e.phase === 'Progressing'
      : gate === 'confirm-traffic-increase'
        ? e.effects.some((x) => x.type === 'setRoutes' && x.canaryWeight === 50)
        : e.next.type === 'promotePrimary',
  );
  return t?.event.now;
}

const gates: GateName[] = ['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion'];

describe.each(gates)('%s watched while waiting', (gate) => {
  it('a gate opened mid-wait acts within one poll period, not at the next interval', () => {
    let openAt = Number.POSITIVE_INFINITY;
    const s = new WatchingScenario(gatedPlan(gate), { hooks: gateOpensAt(gate, () => openAt) });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    const wait = s.next as Extract<Next, { type: 'wait' }>;
    expect(wait.watch).toEqual({
      gate,
      phase: gate === 'confirm-promotion' ? 'Progressing' : s.state.phase,
      everyMs: poll,
    });
    // Opened 25.5 s into a 60 s wait.
    openAt = s.now + 25_500;
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    const at = actedAt(s, gate);
    expect(at).toBeDefined();
    expect(at! - openAt).toBeGreaterThanOrEqual(0);
    expect(at! - openAt).toBeLessThanOrEqual(poll);
    expect(result.approvals).toEqual([expect.objectContaining({ gate, via: 'webhook', by: 'gate' })]);
    expect(s.notifications().filter((n) => n.kind.startsWith('waiting-'))).toHaveLength(1);
    if (gate === 'confirm-traffic-increase') {
      // As after an approval between ticks: the interval restarts with the new weight.
      const stepped = s.trace.find(
        (t) => t.event.now === at && t.effects.some((x) => x.type === 'setRoutes'),
      );
      expect(stepped?.next).toMatchObject({
        type: 'wait',
        until: at! + interval,
        reason: 'analysis-interval',
      });
    }
  });

  it('without gatePollMs (plans compiled before it) no wait watches: re-polled once per interval as before', () => {
    const plan = gatedPlan(gate);
    delete plan.gatePollMs;
    let openAt = Number.POSITIVE_INFINITY;
    const s = new WatchingScenario(plan, { hooks: gateOpensAt(gate, () => openAt) });
    s.runUntil((x) => x.state.pendingGate !== null && x.next?.type === 'wait');
    openAt = s.now + 25_500;
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(s.nexts().filter((n) => watchOf(n) !== undefined)).toEqual([]);
    expect(s.polls).toEqual([]);
    // Acted on at the next interval's poll: 34.5 s after it opened.
    expect(actedAt(s, gate)! - openAt).toBe(interval - 25_500);
  });

  it('still closed at the end of the wait: its results are the poll, then the wait (or the tick) goes on', () => {
    const openAt = Number.POSITIVE_INFINITY;
    const s = new WatchingScenario(gatedPlan(gate), { hooks: gateOpensAt(gate, () => openAt) });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    const first = s.next as Extract<Next, { type: 'wait' }>;
    const out = s.step();
    expect(out.event).toMatchObject({ type: 'hooks', hookType: gate });
    expect(out.event.now).toBe(first.until);
    expect(s.state.pendingGate).toMatchObject({ gate, failingWebhooks: ['gate'], lastPolledAt: first.until });
    if (gate === 'confirm-rollout') {
      // The next window starts at once: no separate poll (that one just happened), no timer of its own.
      expect(out.next).toMatchObject({ type: 'wait', until: first.until + interval, reason: 'gate-poll' });
      expect(watchOf(out.next)).toBeDefined();
    } else if (gate === 'confirm-promotion') {
      // The tick: analysis first (the threshold still applies), then the gate again.
      expect(out.next).toEqual({ type: 'runAnalysis', phase: s.state.phase });
    } else {
      // The tick of a canary held at weight 0 measures nothing: the gate is asked again at once.
      expect(out.next).toMatchObject({ type: 'runHooks', hookType: gate });
    }
    // Polls of that window: every 2 s, 30 of them in 60 s, none after its end.
    expect(s.polls).toHaveLength(interval / poll);
    expect(s.polls.every((p) => p <= first.until)).toBe(true);
  });

  it('closed results arriving before the end (e.g. a retried attempt) continue the same wait, watched', () => {
    const s = new WatchingScenario(gatedPlan(gate), { hooks: gateOpensAt(gate, () => Infinity) });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    const wait = s.next as Extract<Next, { type: 'wait' }>;
    s.elapse(10_000);
    const out = s.feed({ type: 'hooks', hookType: gate, results: results(s.plan.hooks, false) });
    expect(out.effects).toEqual([]);
    expect(out.next).toMatchObject({
      type: 'wait',
      until: wait.until,
      reason: wait.reason,
      watch: wait.watch,
    });
    expect(out.next).toMatchObject({ ms: wait.ms - 10_000 });
    // Less than one poll period left: a plain wait.
    s.elapse(wait.ms - 10_000 - 1_500);
    const late = s.feed({ type: 'hooks', hookType: gate, results: results(s.plan.hooks, false) });
    expect(late.next).toEqual({ type: 'wait', ms: 1_500, until: wait.until, reason: wait.reason });
  });

  it('an operator approval during a watched wait acts at once (the activity is interrupted)', () => {
    const s = new WatchingScenario(gatedPlan(gate), { hooks: gateOpensAt(gate, () => Infinity) });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    s.elapse(5_000);
    s.operator('approve', { actor: 'carol', reason: 'ticket 7' });
    expect(s.state.pendingGate).toBeNull();
    const result = s.run();
    expect(result.outcome).toBe('Promoted');
    expect(result.approvals).toEqual([expect.objectContaining({ gate, via: 'operator', override: true })]);
  });

  it('continueFrom (continue-as-new) re-issues the watched wait for its remaining time', () => {
    const s = new WatchingScenario(gatedPlan(gate), { hooks: gateOpensAt(gate, () => Infinity) });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    const wait = s.next as Extract<Next, { type: 'wait' }>;
    const t = continueFrom(s.plan, s.state, s.now + 7_000);
    expect(t.next).toEqual({ ...wait, ms: wait.ms - 7_000 });
  });
});

describe('what is not watched', () => {
  const cases: Array<{ name: string; plan: ReleasePlan }> = [
    {
      name: 'a manual gate (only an operator opens it)',
      plan: makePlan({ strategy: canary([50]), manualGates: ['confirm-promotion'], gatePollMs: poll }),
    },
    {
      name: 'a poll period longer than any wait (never more than one poll per period)',
      plan: gatedPlan('confirm-promotion', { gatePollMs: interval + 1 }),
    },
  ];
  it.each(cases)('$name', ({ plan }) => {
    const s = new WatchingScenario(plan, { hooks: (_type, hooks) => results(hooks, false) });
    for (let i = 0; i < 60; i++) s.step();
    expect(s.state.pendingGate).toMatchObject({ gate: 'confirm-promotion' });
    expect(s.state.phase).toBe('WaitingPromotion');
    expect(s.nexts().filter((n) => watchOf(n) !== undefined)).toEqual([]);
  });

  it('the wait after a FAILING tick at a traffic/promotion gate (an opened gate could not act there)', () => {
    let failing = false;
    const plan = gatedPlan('confirm-promotion', { threshold: 5 });
    const s = new WatchingScenario(plan, {
      hooks: gateOpensAt('confirm-promotion', () => Infinity),
      metrics: (ctx) => metricsWith(ctx.plan, failing ? { 'request-success-rate': { value: 50 } } : {}),
    });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    failing = true;
    s.step(); // the watch ends closed → the tick
    const ticked = s.step(); // the analysis fails
    expect(ticked.after.lastTickOk).toBe(false);
    expect(ticked.next).toMatchObject({ type: 'wait', reason: 'analysis-interval' });
    expect(watchOf(ticked.next)).toBeUndefined();
    // A late gate result then is stale: ignored, the plain wait goes on.
    const stale = s.feed({
      type: 'hooks',
      hookType: 'confirm-promotion',
      results: results(plan.hooks, true),
    });
    expect(stale.effects).toEqual([]);
    expect(stale.after.pendingGate).toMatchObject({ gate: 'confirm-promotion' });
    expect(stale.next).toMatchObject({ type: 'wait', reason: 'analysis-interval' });
  });

  it('a paused release: the wait becomes an operator wait; resume re-issues the watch', () => {
    const s = new WatchingScenario(gatedPlan('confirm-rollout'), {
      hooks: gateOpensAt('confirm-rollout', () => Infinity),
    });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    const paused = s.operator('pause', { reason: 'freeze' });
    expect(paused.next).toEqual({ type: 'waitForOperator', reason: 'paused' });
    const late = s.feed({ type: 'hooks', hookType: 'confirm-rollout', results: results(s.plan.hooks, true) });
    expect(late.after.pendingGate).not.toBeNull(); // not acted on while paused
    const resumed = s.operator('resume', { reason: 'go' });
    // resume polls at once (as before), then the watch follows that closed poll
    expect(resumed.next).toMatchObject({ type: 'runHooks', hookType: 'confirm-rollout' });
    expect(watchOf(s.step().next)).toBeDefined();
  });
});

describe('history cost: one watch per wait, not per poll', () => {
  it('a gate closed for an hour at a 10 s interval: 360 watched waits, 1,800 polls (2 s)', () => {
    const plan = gatedPlan('confirm-rollout', { intervalMs: 10_000, interval: '10s' });
    let openAt = Number.POSITIVE_INFINITY;
    const s = new WatchingScenario(plan, { hooks: gateOpensAt('confirm-rollout', () => openAt) });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    const since = s.now;
    openAt = since + 3_600_000 + 1;
    s.runUntil((x) => x.state.phase === 'Progressing', 5_000);
    const watched = s.trace.filter((t) => t.event.now > since && t.event.type === 'hooks');
    expect(watched).toHaveLength(360 + 1); // every window's end, plus the one that opened
    expect(s.polls).toHaveLength(1_800 + 1);
    // and no runHooks activity or timer per window
    expect(s.trace.filter((t) => t.event.now > since && t.next.type === 'runHooks')).toEqual([]);
  });
});

describe('decide() accepts gate results only while that gate is watched', () => {
  it('a hooks event of another gate during a watched wait is ignored', () => {
    const plan = gatedPlan('confirm-rollout');
    const s = new WatchingScenario(plan, { hooks: gateOpensAt('confirm-rollout', () => Infinity) });
    s.runUntil((x) => x.state.pendingGate !== null && watchOf(x.next) !== undefined);
    const out = decide(plan, s.state, {
      type: 'hooks',
      now: s.now + 1_000,
      hookType: 'confirm-promotion',
      results: [{ name: 'gate', ok: true, status: 200, message: 'ok' }],
    });
    expect(out.state.pendingGate).toEqual(s.state.pendingGate);
    expect(out.effects).toEqual([]);
    expect(watchOf(out.next)).toBeDefined();
  });
});
