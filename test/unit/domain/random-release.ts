// Random releases for property tests (decide-invariants, decide-split-differential): a seeded PRNG, random plans
// and the world's random answers to a `next`. Deterministic per seed.
import type { Next } from '../../../src/domain/effects.js';
import type { InfraStep, OperatorAction } from '../../../src/domain/events.js';
import type { HookType, ReleasePlan, StrategyPlan } from '../../../src/domain/plan.js';
import type { ReleaseState } from '../../../src/domain/state.js';
import type { EventInput } from './scenario.js';
import { hook, makePlan, metric } from './scenario.js';

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomPlan(r: () => number): ReleasePlan {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const strategies: StrategyPlan[] = [
    { kind: 'canary', weights: [10, 20, 30, 40, 50], stepWeightPromotion: 0, mirror: false },
    { kind: 'canary', weights: [5, 50], stepWeightPromotion: 30, mirror: true, mirrorWeight: 40 },
    { kind: 'canary', weights: [1, 2, 10, 80], stepWeightPromotion: 0, mirror: false },
    { kind: 'ab-testing', iterations: 1 + Math.floor(r() * 4), match: [] },
    { kind: 'blue-green', iterations: 1 + Math.floor(r() * 4), mirror: r() < 0.5 },
  ];
  const hookTypes: HookType[] = [
    'confirm-rollout',
    'pre-rollout',
    'rollout',
    'confirm-traffic-increase',
    'confirm-promotion',
    'post-rollout',
    'rollback',
  ];
  const hooks = hookTypes.filter(() => r() < 0.3).map((t, i) => hook(`h${i}-${t}`, t));
  return makePlan({
    threshold: 1 + Math.floor(r() * 4),
    intervalMs: pick([1_000, 10_000, 60_000]),
    progressDeadlineMs: pick([5_000, 60_000, 600_000]),
    skipAnalysis: r() < 0.1,
    strategy: pick(strategies),
    metrics: r() < 0.2 ? [] : [metric('sr', { min: 99 }), metric('lat', { max: 500 })],
    hooks,
    manualGates: (['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion'] as const).filter(
      () => r() < 0.2,
    ),
    onInfrastructureError: pick(['count-as-failed-check', 'hold', 'rollback'] as const),
  });
}

export const actions: OperatorAction['action'][] = ['approve', 'pause', 'resume', 'promote', 'abort'];
export const infraSteps: InfraStep[] = [
  'setRoutes',
  'scaleCanary',
  'notify',
  'recordEvent',
  'runAnalysis',
  'runHooks',
  'checkReadiness',
  'initialize',
  'promotePrimary',
];

export function respond(
  plan: ReleasePlan,
  state: ReleaseState,
  next: Next,
  r: () => number,
): EventInput | null {
  switch (next.type) {
    case 'initialize':
      return { type: 'initialized' };
    case 'checkReadiness':
      return { type: 'readiness', workload: next.workload, ready: r() < 0.7, message: 'replicas' };
    case 'runHooks':
      return {
        type: 'hooks',
        hookType: next.hookType,
        results: plan.hooks
          .filter((h) => h.type === next.hookType)
          .map((h) => ({
            name: h.name,
            ok: r() < (next.hookType === 'rollback' ? 0.05 : 0.75),
            message: 'm',
          })),
      };
    case 'runAnalysis':
      return {
        type: 'analysis',
        hooks: plan.hooks
          .filter((h) => h.type === 'rollout')
          .map((h) => ({ name: h.name, ok: r() < 0.9, message: 'm' })),
        metrics: plan.metrics.map((m) => {
          const x = r();
          if (x < 0.05) return { name: m.name, value: null, error: 'infrastructure' as const };
          if (x < 0.08) return { name: m.name, value: null };
          return { name: m.name, value: x < 0.2 ? 50 : (m.thresholdRange.min ?? m.thresholdRange.max ?? 0) };
        }),
      };
    case 'promotePrimary':
      return { type: 'promoted' };
    case 'wait':
      return { type: 'timer' };
    case 'waitForOperator':
      return null;
    case 'done':
      return null;
  }
  void state;
}
