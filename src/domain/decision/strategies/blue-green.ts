// Blue/green strategy: `iterations` passing ticks against the idle canary (mirroring `mirrorWeight`% of traffic to
// it when `mirror`), then confirm-promotion — waiting there holds the routes (Flagger re-applies them with its
// `iterations = N-1` trick). Once approved, all traffic goes to the canary for one more interval (iterations
// reaches N+1; its analysis still counts), then the primary is promoted with traffic kept on the canary, so no
// request is dropped while it rolls; after promotion all traffic returns to the primary at once. PURE.
import type { StrategyPlan } from '../../plan.js';
import { mirrorPercentOf, totalSteps } from '../../weights.js';
import { enterPhase, label, recordEvent, setRoutes } from '../context.js';
import { confirmPromotion, nextTick, promote, stopMirroring, type Strategy } from './strategy.js';

export type BlueGreenPlan = Extract<StrategyPlan, { kind: 'blue-green' }>;

export function blueGreenStrategy(st: BlueGreenPlan): Strategy {
  return {
    kind: 'blue-green',
    describe: (threshold) =>
      `Blue/green: ${st.iterations} iterations${st.mirror ? ' with traffic mirroring' : ''}; failed checks threshold ${threshold}.`,
    progress: (s) => `iteration ${Math.min(s.iterations, st.iterations)}/${st.iterations}`,
    stepsCompleted: (s) => Math.min(s.iterations, totalSteps(st)),
    measures: () => true,
    advance: (c) => {
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
        return nextTick;
      }
      if (c.s.iterations === st.iterations) return confirmPromotion;
      return promote;
    },
    // Not reached (only the canary strategy asks confirm-traffic-increase); a tick as for any other strategy.
    increaseTraffic: () => nextTick,
    // As Flagger: all traffic to the canary for one interval before the promotion.
    promotionApproved: (c) => {
      if (c.s.iterations <= st.iterations) {
        setRoutes(c, 0, 100, null, false);
        c.s.iterations = st.iterations + 1;
        enterPhase(c, 'Progressing');
        recordEvent(
          c,
          'Normal',
          'TrafficWeightUpdated',
          `Stop traffic mirroring and route all traffic to canary ${label(c)}`,
        );
        return nextTick;
      }
      return promote;
    },
    routeForPromotion: (c) => {
      if (c.s.canaryWeight !== 100) {
        // As Flagger's blue/green: all traffic on the canary while the primary rolls, so no request is dropped.
        setRoutes(c, 0, 100, null, false);
        recordEvent(
          c,
          'Normal',
          'TrafficWeightUpdated',
          `Route all traffic to canary ${label(c)} before promotion`,
        );
      } else stopMirroring(c);
    },
    routeBackStepWeight: () => 0,
  };
}
