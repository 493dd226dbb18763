// Canary strategy: [one interval of mirroring] then weight steps, each after a passing tick and behind
// confirm-traffic-increase (not while leaving the mirror phase: Flagger does not ask then); after the last step,
// confirm-promotion. After promotion the primary takes its traffic back at once or by `stepWeightPromotion` per
// interval. A canary held at weight 0 by confirm-traffic-increase runs no metrics (no traffic reaches it). PURE.
import type { StrategyPlan } from '../../plan.js';
import type { ReleaseState } from '../../state.js';
import { mirrorPercentOf, normaliseWeights, splitForCanaryWeight } from '../../weights.js';
import { label, recordEvent, setRoutes, type Ctx } from '../context.js';
import { confirmPromotion, nextTick, promote, stopMirroring, type Move, type Strategy } from './strategy.js';

export type CanaryPlan = Extract<StrategyPlan, { kind: 'canary' }>;

export function canaryStrategy(st: CanaryPlan): Strategy {
  /** Mirror on (first step in mirror mode), or the next weight. */
  const stepUp = (c: Ctx): Move => {
    const weights = normaliseWeights(st.weights);
    if (st.mirror && c.s.stepIndex === 0 && c.s.mirror === null) {
      const percent = mirrorPercentOf(st.mirrorWeight);
      setRoutes(c, 100, 0, percent, false);
      recordEvent(
        c,
        'Normal',
        'TrafficMirrored',
        `Mirroring ${percent}% of ${label(c)} traffic to the canary`,
      );
      return nextTick;
    }
    const weight = weights[c.s.stepIndex];
    if (weight === undefined) return confirmPromotion;
    const split = splitForCanaryWeight(weight);
    setRoutes(c, split.primaryWeight, split.canaryWeight, null, false);
    c.s.stepIndex += 1;
    recordEvent(
      c,
      'Normal',
      'TrafficWeightUpdated',
      `Advance ${label(c)} canary weight ${weight} (step ${c.s.stepIndex}/${weights.length})`,
    );
    return nextTick;
  };

  return {
    kind: 'canary',
    describe: (threshold) =>
      `Traffic: weights ${normaliseWeights(st.weights).join(', ')}${st.mirror ? ' (after one interval of mirroring)' : ''}; failed checks threshold ${threshold}.`,
    progress: (s: ReleaseState) =>
      `step ${s.stepIndex}/${normaliseWeights(st.weights).length}, weight ${s.canaryWeight}`,
    stepsCompleted: (s) => s.stepIndex,
    // Held before its first weight step (confirm-traffic-increase): no traffic reaches the canary, so there is
    // nothing to measure; Flagger would re-run the pre-rollout hooks here, Fledge does not.
    measures: (s) => !(s.canaryWeight === 0 && s.mirror === null),
    advance: (c) => {
      // Leaving the mirror phase: Flagger does not call confirm-traffic-increase while traffic is mirrored.
      if (c.s.mirror !== null) return stepUp(c);
      if (c.s.stepIndex < normaliseWeights(st.weights).length)
        return { to: 'gate', gate: 'confirm-traffic-increase' };
      return confirmPromotion;
    },
    increaseTraffic: stepUp,
    promotionApproved: () => promote,
    routeForPromotion: stopMirroring,
    routeBackStepWeight: () => st.stepWeightPromotion,
  };
}
