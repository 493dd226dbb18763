// Traffic weight maths (Flagger's `nextStepWeight`, `maxWeight`, `runPromotionTrafficShift`). PURE.
// Weights are integer percentages 0..100; primary + canary = 100 always (Flagger's totalWeight() is 100).
import type { StrategyPlan } from './plan.js';

export interface RouteSplit {
  primaryWeight: number;
  canaryWeight: number;
}

/** Clamp to 0..100 and round to an integer; non-finite values become 0. */
export function clampWeight(weight: number): number {
  if (!Number.isFinite(weight)) return 0;
  return Math.min(100, Math.max(0, Math.round(weight)));
}

/**
 * Flagger's linear schedule for `stepWeight` + `maxWeight`: add `stepWeight` while the canary weight is below
 * `maxWeight`, clamped to 100. Like Flagger, the last step may overshoot `maxWeight` (step 30, max 50 → 30, 60).
 */
export function linearWeights(stepWeight: number, maxWeight: number): number[] {
  const step = clampWeight(stepWeight);
  const max = clampWeight(maxWeight);
  const weights: number[] = [];
  if (step <= 0 || max <= 0) return weights;
  let weight = 0;
  while (weight < max) {
    weight = Math.min(100, weight + step);
    weights.push(weight);
  }
  return weights;
}

/**
 * The schedule as the decision core uses it: every entry clamped to 0..100, strictly ascending, zero dropped.
 * A non-ascending entry is skipped (a weight step never lowers canary traffic).
 */
export function normaliseWeights(weights: readonly number[]): number[] {
  const out: number[] = [];
  for (const raw of weights) {
    const weight = clampWeight(raw);
    const last = out[out.length - 1] ?? 0;
    if (weight > last) out.push(weight);
  }
  return out;
}

/** Flagger's stepWeights: maxWeight = min(100, last entry). */
export function maxWeightOf(weights: readonly number[]): number {
  const normalised = normaliseWeights(weights);
  return normalised[normalised.length - 1] ?? 0;
}

/** The canary weight of step `stepIndex` (0-based), or null when every step was taken. */
export function weightAtStep(weights: readonly number[], stepIndex: number): number | null {
  return normaliseWeights(weights)[stepIndex] ?? null;
}

/** Primary/canary split for a canary weight. */
export function splitForCanaryWeight(canaryWeight: number): RouteSplit {
  const canary = clampWeight(canaryWeight);
  return { primaryWeight: 100 - canary, canaryWeight: canary };
}

/**
 * One step of `stepWeightPromotion` (after the primary was promoted and is ready): move `step` percent from the
 * canary back to the primary, never past 100. A step ≤ 0 moves everything at once.
 */
export function promotionStep(primaryWeight: number, step: number): RouteSplit {
  const primary = clampWeight(primaryWeight);
  const delta = clampWeight(step);
  const next = delta <= 0 ? 100 : Math.min(100, primary + delta);
  return { primaryWeight: next, canaryWeight: 100 - next };
}

/** Mirror percentage (Istio `mirrorPercentage`): `mirrorWeight` if set, else 100. */
export function mirrorPercentOf(mirrorWeight: number | undefined): number {
  return mirrorWeight === undefined ? 100 : clampWeight(mirrorWeight);
}

/** Steps (canary) or iterations (A/B, blue/green) a strategy has. */
export function totalSteps(strategy: StrategyPlan): number {
  return strategy.kind === 'canary'
    ? normaliseWeights(strategy.weights).length
    : Math.max(0, strategy.iterations);
}
