// A/B testing strategy: the match route (primary 100%, requests matching `match` to the canary) is switched on at
// the first passing tick and held for `iterations` passing ticks, then confirm-promotion — waiting there holds the
// route (Flagger re-applies it with its `iterations = N-1` trick). After promotion all traffic returns to the
// primary at once. PURE.
import type { StrategyPlan } from '../../plan.js';
import { totalSteps } from '../../weights.js';
import { label, recordEvent, setRoutes } from '../context.js';
import { confirmPromotion, nextTick, promote, stopMirroring, type Strategy } from './strategy.js';

export type AbTestingPlan = Extract<StrategyPlan, { kind: 'ab-testing' }>;

export function abTestingStrategy(st: AbTestingPlan): Strategy {
  return {
    kind: 'ab-testing',
    describe: (threshold) =>
      `A/B testing: ${st.iterations} iterations with match conditions; failed checks threshold ${threshold}.`,
    progress: (s) => `iteration ${Math.min(s.iterations, st.iterations)}/${st.iterations}`,
    stepsCompleted: (s) => Math.min(s.iterations, totalSteps(st)),
    measures: () => true,
    advance: (c) => {
      if (c.s.iterations < st.iterations) {
        if (!c.s.abMatchActive) setRoutes(c, 100, 0, null, true);
        c.s.iterations += 1;
        recordEvent(
          c,
          'Normal',
          'IterationCompleted',
          `Advance ${label(c)} canary iteration ${c.s.iterations}/${st.iterations}`,
        );
        return nextTick;
      }
      return confirmPromotion;
    },
    // Not reached (only the canary strategy asks confirm-traffic-increase); a tick as for any other strategy.
    increaseTraffic: () => nextTick,
    promotionApproved: () => promote,
    routeForPromotion: stopMirroring,
    routeBackStepWeight: () => 0,
  };
}
