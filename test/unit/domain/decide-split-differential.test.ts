// Differential test for the split of src/domain/decide.ts into src/domain/decision/ (issue 13, part 3): a pure
// refactor of deterministic workflow code, so for every input the output (state, effects, next) must be identical,
// or recorded release histories stop replaying. Random plans (wider than the invariants test's: odd weight lists,
// route-back steps, mirror weights, zero iterations, infraRetry, strict operator checks) and random event sequences
// (world answers, operator messages, stale and duplicate events, infrastructure errors, transient or not, a primary
// gone missing) drive the split decide() and the frozen pre-split copy (./reference/decide-before-split.ts) with the
// same inputs; every transition, every continueFrom and every interruptsInFlight answer must be identical, down to
// the key order of the JSON. The coverage check at the end makes sure the runs went through every strategy's
// branches, so a green run means something. Remove this file and the reference once the split has settled.
import { describe, expect, it } from 'vitest';
import * as split from '../../../src/domain/decide.js';
import type { Effect } from '../../../src/domain/effects.js';
import type { OperatorAction, ReleaseEvent } from '../../../src/domain/events.js';
import type { ReleasePlan, StrategyPlan } from '../../../src/domain/plan.js';
import type { ReleaseState } from '../../../src/domain/state.js';
import { initialState } from '../../../src/domain/state.js';
import * as before from './reference/decide-before-split.js';
import { actions, infraSteps, prng, randomPlan, respond } from './random-release.js';
import type { EventInput } from './scenario.js';
import { T0 } from './scenario.js';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

function randomStrategy(r: Rand): StrategyPlan {
  const x = r();
  if (x < 0.45) {
    const values = [-5, 0, 1, 5, 10, 20, 25, 33.4, 50, 50, 80, 99, 100, 120];
    const weights = Array.from({ length: Math.floor(r() * 6) }, () => pick(r, values));
    if (r() < 0.6) weights.sort((a, b) => a - b);
    const st: StrategyPlan = {
      kind: 'canary',
      weights,
      stepWeightPromotion: pick(r, [0, 0, 10, 35, 100, -5]),
      mirror: r() < 0.4,
    };
    const mirrorWeight = pick(r, [undefined, 0, 40, 100, 150]);
    if (mirrorWeight !== undefined) st.mirrorWeight = mirrorWeight;
    return st;
  }
  if (x < 0.7) return { kind: 'ab-testing', iterations: Math.floor(r() * 5), match: [] };
  const st: StrategyPlan = { kind: 'blue-green', iterations: Math.floor(r() * 5), mirror: r() < 0.5 };
  const mirrorWeight = pick(r, [undefined, 25, 100]);
  if (mirrorWeight !== undefined) st.mirrorWeight = mirrorWeight;
  return st;
}

/** The invariants test's plans, half of them widened. */
function widePlan(r: Rand): ReleasePlan {
  const plan = randomPlan(r);
  if (r() < 0.5) return plan;
  plan.strategy = randomStrategy(r);
  plan.threshold = pick(r, [0, 1, 2, 2.5, 5]);
  plan.intervalMs = pick(r, [0, 1_000, 10_000, 60_000]);
  const infraRetry = pick(r, [undefined, 'count', 'until-deadline'] as const);
  if (infraRetry !== undefined) plan.infraRetry = infraRetry;
  if (r() < 0.3) plan.operatorChecks = 'strict';
  return plan;
}

function randomEvent(plan: ReleasePlan, state: ReleaseState, out: split.Transition, r: Rand): EventInput {
  for (const e of out.effects) {
    if ((e.type === 'setRoutes' || e.type === 'scaleCanary') && r() < 0.03)
      return { type: 'infraError', step: e.type, message: 'boom', ...(r() < 0.5 ? { transient: true } : {}) };
  }
  // Operator promotions, rare in the invariants test's mix, take every strategy's promotion routes mid-release.
  if (r() < 0.02) return { type: 'operator', action: 'promote', actor: 'op', reason: 'ship it' };
  const x = r();
  if (x < 0.08 || out.next.type === 'waitForOperator') {
    const action: OperatorAction['action'] =
      out.next.type === 'waitForOperator' && r() < 0.7
        ? state.paused !== null
          ? 'resume'
          : 'approve'
        : r() < 0.15
          ? pick(r, actions)
          : pick(r, ['approve', 'pause', 'resume'] as const);
    const gate = r() < 0.1 ? { gate: pick(r, ['confirm-rollout', 'confirm-promotion', 'nope']) } : {};
    return {
      type: 'operator',
      action,
      actor: r() < 0.05 ? '' : 'op',
      reason: r() < 0.05 ? '' : 'random',
      ...gate,
    };
  }
  if (x < 0.085) return { type: 'superseded', by: 'newer' };
  if (x < 0.09) return { type: 'cancelled', ...(r() < 0.5 ? { reason: 'ci' } : {}) };
  if (x < 0.12)
    return {
      type: 'infraError',
      step: pick(r, infraSteps),
      message: 'flaky',
      ...(r() < 0.5 ? { transient: r() < 0.7 } : {}),
    };
  if (x < 0.14)
    return respond(plan, state, { type: 'runAnalysis', phase: 'Progressing' }, r) ?? { type: 'timer' };
  if (x < 0.145) return { type: 'promoted' };
  if (x < 0.15)
    return {
      type: 'readiness',
      workload: pick(r, ['canary', 'primary'] as const),
      ready: true,
      message: 'm',
    };
  const answer = respond(plan, state, out.next, r) ?? { type: 'timer' };
  if (answer.type === 'analysis' && r() < 0.01)
    return { ...answer, primaryMissing: 'deployments "podinfo-primary" not found' };
  return answer;
}

/** What the random runs went through: strategy branches, outcomes. Filled by runOne. */
type Seen = Set<string>;

function observe(seen: Seen, plan: ReleasePlan, prev: ReleaseState, out: split.Transition): void {
  const kind = plan.strategy.kind;
  const events = out.effects.filter(
    (e): e is Extract<Effect, { type: 'recordEvent' }> => e.type === 'recordEvent',
  );
  const notes = out.effects.filter((e): e is Extract<Effect, { type: 'notify' }> => e.type === 'notify');
  const has = (pattern: RegExp): boolean => events.some((e) => pattern.test(e.message));
  if (has(/canary weight \d+ \(step/)) seen.add(`${kind}: weight step`);
  if (events.some((e) => e.reason === 'TrafficMirrored')) seen.add(`${kind}: mirror on`);
  if (events.some((e) => e.reason === 'IterationCompleted')) seen.add(`${kind}: iteration`);
  if (out.effects.some((e) => e.type === 'setRoutes' && e.abMatch)) seen.add(`${kind}: match route`);
  if (has(/^Stop traffic mirroring and route all traffic/))
    seen.add(`${kind}: all traffic to canary after approval`);
  if (has(/before promotion$/)) seen.add(`${kind}: all traffic to canary for promotion`);
  if (prev.mirror !== null && events.some((e) => e.reason === 'Promoting'))
    seen.add(`${kind}: mirror off at promotion`);
  if (has(/^Promotion: .*-primary weight/)) seen.add(`${kind}: route-back step`);
  // A canary held at weight 0 (confirm-traffic-increase) ticks without measuring.
  const held = prev.preRolloutDone && prev.canaryWeight === 0 && prev.mirror === null;
  if (held && out.state.tick > prev.tick && out.next.type !== 'runAnalysis' && out.next.type !== 'runHooks')
    seen.add(`${kind}: tick without analysis`);
  for (const n of notes) {
    if (n.kind === 'progressing') seen.add(`${kind}: progressing text`);
    if (n.kind === 'promoting') seen.add(`${kind}: operator promotion`);
  }
  if (out.next.type === 'done') {
    seen.add(`${kind}: ${out.next.result.outcome}`);
    seen.add(`steps: ${out.next.result.stepsCompleted > 0 ? 'some' : 'none'}`);
  }
}

function sameTransition(actual: split.Transition, expected: split.Transition, where: string): void {
  expect(actual, where).toStrictEqual(expected);
  expect(JSON.stringify(actual), where).toBe(JSON.stringify(expected));
}

function runOne(seed: number, seen: Seen): void {
  const r = prng(seed);
  const plan = widePlan(r);
  let state = initialState(plan, T0);
  let now = T0;
  let event: ReleaseEvent = { type: 'started', now };
  for (let step = 0; step < 5_000; step++) {
    const where = `seed ${seed}, step ${step}, event ${JSON.stringify(event)}`;
    const snapshot = JSON.stringify(state);
    const out = split.decide(plan, state, event);
    const ref = before.decide(plan, state, event);
    expect(JSON.stringify(state), where).toBe(snapshot); // input never mutated
    sameTransition(out, ref, where);
    observe(seen, plan, state, out);
    // A worker restart / continue-as-new at any point re-derives the same `next`.
    const later = now + Math.floor(r() * 90_000);
    sameTransition(
      split.continueFrom(plan, out.state, later),
      before.continueFrom(plan, out.state, later),
      where,
    );
    const probe: EventInput =
      r() < 0.2
        ? { type: 'superseded', by: 'x' }
        : { type: 'operator', action: pick(r, actions), actor: 'op', reason: 'p' };
    const probed = { ...probe, now } as ReleaseEvent;
    expect(split.interruptsInFlight(plan, out.state, probed), where).toBe(
      before.interruptsInFlight(plan, out.state, probed),
    );
    state = out.state;
    if (out.next.type === 'done' && r() < 0.7) return;
    const input = randomEvent(plan, state, out, r);
    if (out.next.type === 'wait' && input.type === 'timer') now = out.next.until;
    else now += Math.floor(r() * 3_000);
    event = { ...input, now } as ReleaseEvent;
  }
  throw new Error(`seed ${seed}: release did not finish (phase ${state.phase})`);
}

describe('the split decide() (src/domain/decision/) against the pre-split decide.ts', () => {
  it('makes identical transitions for 500 seeded random releases, through every strategy branch', () => {
    const seen: Seen = new Set();
    for (let seed = 1; seed <= 500; seed++) runOne(seed, seen);
    const expected = [
      'canary: weight step',
      'canary: mirror on',
      'canary: mirror off at promotion',
      'canary: route-back step',
      'canary: progressing text',
      'canary: operator promotion',
      'canary: tick without analysis',
      'ab-testing: match route',
      'ab-testing: iteration',
      'ab-testing: progressing text',
      'ab-testing: operator promotion',
      'blue-green: mirror on',
      'blue-green: iteration',
      'blue-green: all traffic to canary after approval',
      'blue-green: all traffic to canary for promotion',
      'blue-green: mirror off at promotion',
      'blue-green: progressing text',
      'blue-green: operator promotion',
      'steps: some',
      'steps: none',
      ...(['canary', 'ab-testing', 'blue-green'] as const).flatMap((k) =>
        ['Promoted', 'RolledBack', 'Aborted', 'Superseded', 'Failed'].map((o) => `${k}: ${o}`),
      ),
    ];
    expect([...seen].filter((s) => expected.includes(s)).sort()).toEqual([...expected].sort());
  }, 120_000); // CPU-bound (500 releases, two decide implementations): allow for a loaded 2-core machine
});
