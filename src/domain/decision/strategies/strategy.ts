// The Strategy interface: everything in the decision core that differs between canary, A/B testing and blue/green.
// PURE. The lifecycle (src/domain/decision/*) owns the order of things — ticks, gates, analysis verdicts, promotion,
// rollback — and asks the release's strategy only these questions:
//
//  - measures(s):           does this tick run the analysis? (a canary held at weight 0 has no traffic to measure)
//  - advance(c):            a tick passed: take the strategy's next step (weight step, A/B or blue/green iteration)
//                           or say which gate comes next;
//  - increaseTraffic(c):    confirm-traffic-increase opened: the guarded step (canary: mirror on, or next weight);
//  - promotionApproved(c):  confirm-promotion opened: promote now, or first one more interval (blue/green: all
//                           traffic to the canary);
//  - routeForPromotion(c):  the routes while the primary is being promoted (analysis or operator promotion; a
//                           skipped analysis always goes straight back to 100% primary, whatever the strategy);
//  - routeBackStepWeight(): promotion route-back — the primary weight regained per interval once the promoted
//                           primary is ready (0: all at once);
//  - describe/progress/stepsCompleted: the texts and counts of notifications and of the result.
//
// Strategy methods change the state only through the context primitives (setRoutes, recordEvent, enterPhase) and
// return a Move; the lifecycle performs it (opens the gate, schedules the next tick, starts the promotion).
import type { GateName, ReleaseState } from '../../state.js';
import type { StrategyPlan } from '../../plan.js';
import { setRoutes, type Ctx } from '../context.js';

/** What the lifecycle does after a strategy step. */
export type Move =
  /** Evaluate a gate (its webhooks, a manual approval): it leads to increaseTraffic / promotionApproved. */
  | { to: 'gate'; gate: Extract<GateName, 'confirm-traffic-increase' | 'confirm-promotion'> }
  /** Done for this tick: the next tick one interval after this one began. */
  | { to: 'next-tick' }
  /** Promote the primary now (promotion by analysis). */
  | { to: 'promote' };

export interface Strategy {
  readonly kind: StrategyPlan['kind'];
  /** The traffic plan announced when analysis starts (the `progressing` notification). */
  describe(threshold: number): string;
  /** Where the release stands ("step 2/5, weight 20", "iteration 1/3"). */
  progress(s: ReleaseState): string;
  /** Weight steps (canary) or iterations (A/B, blue/green) completed, for the result. */
  stepsCompleted(s: ReleaseState): number;
  /** Whether a tick (after the pre-rollout tick) runs the analysis; if not it passes as is. */
  measures(s: ReleaseState): boolean;
  /** A passing tick (or an approval acting between ticks): the strategy's next step. */
  advance(c: Ctx): Move;
  /** confirm-traffic-increase opened. */
  increaseTraffic(c: Ctx): Move;
  /** confirm-promotion opened. */
  promotionApproved(c: Ctx): Move;
  /** Routes while the primary is promoted by analysis or an operator. */
  routeForPromotion(c: Ctx): void;
  /** Primary weight regained per interval after the promoted primary is ready; 0: all traffic back at once. */
  routeBackStepWeight(): number;
}

export const nextTick: Move = { to: 'next-tick' };
export const promote: Move = { to: 'promote' };
export const confirmPromotion: Move = { to: 'gate', gate: 'confirm-promotion' };

/** Mirroring stops when the primary is promoted; weights and the A/B match route stay as they are. */
export function stopMirroring(c: Ctx): void {
  if (c.s.mirror !== null) setRoutes(c, c.s.primaryWeight, c.s.canaryWeight, null, c.s.abMatchActive);
}
