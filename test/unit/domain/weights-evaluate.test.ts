import { describe, expect, it } from 'vitest';
import { evaluateAnalysis, evaluateMetric, withinRange } from '../../../src/domain/evaluate.js';
import type { MetricResult } from '../../../src/domain/events.js';
import type { ReleasePlan } from '../../../src/domain/plan.js';
import {
  clampWeight,
  linearWeights,
  maxWeightOf,
  mirrorPercentOf,
  normaliseWeights,
  promotionStep,
  splitForCanaryWeight,
  totalSteps,
  weightAtStep,
} from '../../../src/domain/weights.js';
import { hook, makePlan, metric } from './scenario.js';

describe('weights', () => {
  it.each([
    [-5, 0],
    [0, 0],
    [42, 42],
    [100, 100],
    [140, 100],
    [12.6, 13],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 0],
  ])('clampWeight(%d) = %d', (input, expected) => {
    expect(clampWeight(input)).toBe(expected);
  });

  it.each([
    { step: 10, max: 50, weights: [10, 20, 30, 40, 50] },
    { step: 20, max: 50, weights: [20, 40, 60] }, // Flagger overshoots maxWeight on the last step
    { step: 30, max: 100, weights: [30, 60, 90, 100] },
    { step: 5, max: 5, weights: [5] },
    { step: 0, max: 50, weights: [] },
    { step: 10, max: 0, weights: [] },
  ])('linearWeights(step $step, max $max)', ({ step, max, weights }) => {
    expect(linearWeights(step, max)).toEqual(weights);
  });

  it.each([
    [
      [1, 2, 10, 80],
      [1, 2, 10, 80],
    ],
    [
      [0, 5, 5, 3, 50, 200],
      [5, 50, 100],
    ],
    [[], []],
  ])('normaliseWeights(%j) = %j', (input, expected) => {
    expect(normaliseWeights(input)).toEqual(expected);
  });

  it('maxWeightOf / weightAtStep / totalSteps', () => {
    expect(maxWeightOf([1, 2, 10, 80])).toBe(80);
    expect(maxWeightOf([])).toBe(0);
    expect(weightAtStep([10, 20], 1)).toBe(20);
    expect(weightAtStep([10, 20], 2)).toBeNull();
    expect(totalSteps({ kind: 'canary', weights: [10, 20, 30], stepWeightPromotion: 0, mirror: false })).toBe(
      3,
    );
    expect(totalSteps({ kind: 'ab-testing', iterations: 7, match: [] })).toBe(7);
    expect(totalSteps({ kind: 'blue-green', iterations: 4, mirror: true })).toBe(4);
  });

  it.each([
    { primary: 50, step: 20, next: { primaryWeight: 70, canaryWeight: 30 } },
    { primary: 90, step: 20, next: { primaryWeight: 100, canaryWeight: 0 } },
    { primary: 0, step: 100, next: { primaryWeight: 100, canaryWeight: 0 } },
    { primary: 40, step: 0, next: { primaryWeight: 100, canaryWeight: 0 } },
  ])('promotionStep($primary, $step)', ({ primary, step, next }) => {
    expect(promotionStep(primary, step)).toEqual(next);
  });

  it('splits and mirror percentages', () => {
    expect(splitForCanaryWeight(35)).toEqual({ primaryWeight: 65, canaryWeight: 35 });
    expect(splitForCanaryWeight(120)).toEqual({ primaryWeight: 0, canaryWeight: 100 });
    expect(mirrorPercentOf(undefined)).toBe(100);
    expect(mirrorPercentOf(25)).toBe(25);
  });
});

describe('metric evaluation (Flagger: inclusive bounds)', () => {
  const sr = metric('request-success-rate', { min: 99 });
  const lat = metric('request-duration', { max: 500 });
  const band = metric('cpu', { min: 0.1, max: 0.8 });
  it.each([
    { m: sr, value: 99, ok: true, kind: 'pass' },
    { m: sr, value: 98.999, ok: false, kind: 'breach', message: 'request-success-rate 98.999 < min 99' },
    { m: lat, value: 500, ok: true, kind: 'pass' },
    { m: lat, value: 500.5, ok: false, kind: 'breach', message: 'request-duration 500.5 > max 500' },
    { m: band, value: 0.1, ok: true, kind: 'pass' },
    { m: band, value: 0.8, ok: true, kind: 'pass' },
    { m: band, value: 0.05, ok: false, kind: 'breach' },
    { m: band, value: 0.81, ok: false, kind: 'breach' },
    { m: metric('anything', {}), value: -1e9, ok: true, kind: 'pass' },
  ])('$m.name = $value → $kind', ({ m, value, ok, kind, message }) => {
    const summary = evaluateMetric(m, { name: m.name, value });
    expect(summary).toMatchObject({ ok, kind, value });
    if (message !== undefined) expect(summary.message).toBe(message);
    expect(withinRange(value, m.thresholdRange)).toBe(ok);
  });

  it.each<[string, MetricResult | undefined, string]>([
    ['null', { name: 'request-success-rate', value: null }, 'no-values'],
    ['NaN', { name: 'request-success-rate', value: Number.NaN }, 'no-values'],
    ['no-values error', { name: 'request-success-rate', value: 100, error: 'no-values' }, 'no-values'],
    [
      'infrastructure',
      { name: 'request-success-rate', value: null, error: 'infrastructure', message: 'dial tcp: refused' },
      'infrastructure',
    ],
    ['missing', undefined, 'not-evaluated'],
  ])('%s → %s (not ok)', (_name, result, kind) => {
    expect(evaluateMetric(sr, result)).toMatchObject({ ok: false, kind, value: null });
  });
});

describe('analysis verdicts', () => {
  const plan = (policy: ReleasePlan['onInfrastructureError']) =>
    makePlan({
      onInfrastructureError: policy,
      hooks: [hook('load', 'rollout')],
      metrics: [metric('a', { min: 1 }), metric('b', { max: 1 })],
    });
  const ok = [{ name: 'load', ok: true, message: '' }];
  const infra = { name: 'a', value: null, error: 'infrastructure' as const };

  it.each([
    {
      name: 'all pass',
      policy: 'hold' as const,
      hooks: ok,
      metrics: [
        { name: 'a', value: 1 },
        { name: 'b', value: 1 },
      ],
      verdict: 'pass',
      check: undefined,
    },
    {
      name: 'hook fails first',
      policy: 'hold' as const,
      hooks: [{ name: 'load', ok: false, status: 502, message: 'bad gateway' }],
      metrics: [],
      verdict: 'failed',
      check: 'load',
    },
    {
      name: 'missing hook result',
      policy: 'hold' as const,
      hooks: [],
      metrics: [
        { name: 'a', value: 1 },
        { name: 'b', value: 1 },
      ],
      verdict: 'failed',
      check: 'load',
    },
    {
      name: 'breach',
      policy: 'rollback' as const,
      hooks: ok,
      metrics: [{ name: 'a', value: 0 }, infra],
      verdict: 'failed',
      check: 'a',
    },
    {
      name: 'infra, count',
      policy: 'count-as-failed-check' as const,
      hooks: ok,
      metrics: [infra],
      verdict: 'failed',
      check: 'a',
    },
    {
      name: 'infra, rollback',
      policy: 'rollback' as const,
      hooks: ok,
      metrics: [infra, { name: 'b', value: 1 }],
      verdict: 'rollback',
      check: 'a',
    },
    {
      name: 'infra, hold',
      policy: 'hold' as const,
      hooks: ok,
      metrics: [infra, { name: 'b', value: 1 }],
      verdict: 'hold',
      check: 'a',
    },
    {
      name: 'infra then breach, hold',
      policy: 'hold' as const,
      hooks: ok,
      metrics: [infra, { name: 'b', value: 2 }],
      verdict: 'failed',
      check: 'b',
    },
    {
      name: 'infra then unevaluated, hold',
      policy: 'hold' as const,
      hooks: ok,
      metrics: [infra],
      verdict: 'hold',
      check: 'a',
    },
  ])('$name → $verdict', ({ policy, hooks, metrics, verdict, check }) => {
    const evaluation = evaluateAnalysis(plan(policy), hooks, metrics);
    expect(evaluation.verdict.kind).toBe(verdict);
    if (evaluation.verdict.kind !== 'pass') expect(evaluation.verdict.check.name).toBe(check);
    expect(evaluation.metrics).toHaveLength(2);
    expect(evaluation.hooks).toHaveLength(1);
  });

  it('infrastructure failing checks are distinguishable from breaches', () => {
    const evaluation = evaluateAnalysis(plan('count-as-failed-check'), ok, [infra]);
    expect(evaluation.verdict).toEqual({
      kind: 'failed',
      check: {
        kind: 'infrastructure',
        name: 'a',
        value: null,
        thresholdRange: { min: 1 },
        message: 'a: metrics provider unavailable',
      },
    });
  });
});
