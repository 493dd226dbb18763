// Metric and webhook evaluation for one analysis tick (Flagger's runAnalysis, `scheduler_metrics.go`). PURE.
import type { HookPlan, MetricPlan, ReleasePlan, ThresholdRange } from './plan.js';
import type { HookResult, MetricResult } from './events.js';
import type { FailingCheck } from './result.js';
import { formatNumber } from './result.js';
import type { HookSummary, MetricSummary } from './state.js';

/** Flagger's bounds are inclusive: `value < min` fails, `value > max` fails. */
export function withinRange(value: number, range: ThresholdRange): boolean {
  if (range.min !== undefined && value < range.min) return false;
  if (range.max !== undefined && value > range.max) return false;
  return true;
}

/** Evaluate one metric against its threshold. A missing result is `not-evaluated` (and not ok). */
export function evaluateMetric(metric: MetricPlan, result: MetricResult | undefined): MetricSummary {
  const base = { name: metric.name, thresholdRange: metric.thresholdRange };
  if (result === undefined) {
    return {
      ...base,
      value: null,
      ok: false,
      kind: 'not-evaluated',
      message: `${metric.name}: not evaluated`,
    };
  }
  if (result.error === 'infrastructure') {
    const detail = result.message ?? 'metrics provider unavailable';
    return { ...base, value: null, ok: false, kind: 'infrastructure', message: `${metric.name}: ${detail}` };
  }
  const value = result.value;
  if (result.error === 'no-values' || value === null || Number.isNaN(value)) {
    const detail = result.message ?? 'no values found';
    return { ...base, value: null, ok: false, kind: 'no-values', message: `${metric.name}: ${detail}` };
  }
  const range = metric.thresholdRange;
  if (range.min !== undefined && value < range.min) {
    return {
      ...base,
      value,
      ok: false,
      kind: 'breach',
      message: `${metric.name} ${formatNumber(value)} < min ${formatNumber(range.min)}`,
    };
  }
  if (range.max !== undefined && value > range.max) {
    return {
      ...base,
      value,
      ok: false,
      kind: 'breach',
      message: `${metric.name} ${formatNumber(value)} > max ${formatNumber(range.max)}`,
    };
  }
  return {
    ...base,
    value,
    ok: true,
    kind: 'pass',
    message: `${metric.name} ${formatNumber(value)} within range`,
  };
}

/** Match hook results to the plan's hooks (by name, in plan order). A hook without a result failed ("not run"). */
export function summariseHooks(hooks: readonly HookPlan[], results: readonly HookResult[]): HookSummary[] {
  return hooks.map((hook) => {
    const result = results.find((r) => r.name === hook.name);
    if (result === undefined) return { name: hook.name, ok: false, message: 'not run' };
    const summary: HookSummary = { name: hook.name, ok: result.ok, message: result.message };
    if (result.status !== undefined) summary.status = result.status;
    return summary;
  });
}

export function hooksOfType(plan: ReleasePlan, type: HookPlan['type']): HookPlan[] {
  return plan.hooks.filter((hook) => hook.type === type);
}

export type AnalysisVerdict =
  | { kind: 'pass' }
  /** Count one failed check. */
  | { kind: 'failed'; check: FailingCheck }
  /** Infrastructure error under policy `hold`: no count, no advance. */
  | { kind: 'hold'; check: FailingCheck }
  /** Infrastructure error under policy `rollback`. */
  | { kind: 'rollback'; check: FailingCheck };

export interface AnalysisEvaluation {
  verdict: AnalysisVerdict;
  hooks: HookSummary[];
  metrics: MetricSummary[];
}

/** The failing check for a failed webhook. */
export function hookFailingCheck(hook: HookSummary): FailingCheck {
  return {
    kind: 'webhook',
    name: hook.name,
    message: hook.status !== undefined ? `HTTP ${hook.status}: ${hook.message}` : hook.message,
  };
}

function metricCheck(metric: MetricSummary): FailingCheck {
  if (metric.kind === 'infrastructure') {
    return {
      kind: 'infrastructure',
      name: metric.name,
      value: null,
      thresholdRange: metric.thresholdRange,
      message: metric.message,
    };
  }
  return {
    kind: 'metric',
    name: metric.name,
    value: metric.value,
    thresholdRange: metric.thresholdRange,
    message: metric.message,
  };
}

/** How an infrastructure failure is treated under the plan's policy. */
export function infrastructureVerdict(plan: ReleasePlan, check: FailingCheck): AnalysisVerdict {
  switch (plan.onInfrastructureError) {
    case 'count-as-failed-check':
      return { kind: 'failed', check };
    case 'hold':
      return { kind: 'hold', check };
    case 'rollback':
      return { kind: 'rollback', check };
  }
}

/**
 * One tick's verdict. Items are checked in Flagger's order — rollout webhooks, then metrics, in plan order — and
 * the first failing item decides (one failed check per tick at most):
 * - a failing webhook, a breach or no values → `failed`;
 * - an infrastructure error → the plan's policy; under `hold`, a later *evaluated* failure (webhook, breach,
 *   no values) still counts, since that is real evidence; unevaluated items after it are ignored.
 */
export function evaluateAnalysis(
  plan: ReleasePlan,
  hookResults: readonly HookResult[],
  metricResults: readonly MetricResult[],
): AnalysisEvaluation {
  const rolloutHooks = hooksOfType(plan, 'rollout');
  const hooks = summariseHooks(rolloutHooks, hookResults);
  const metrics = plan.metrics.map((metric) =>
    evaluateMetric(
      metric,
      metricResults.find((r) => r.name === metric.name),
    ),
  );
  const items: Array<{ ok: boolean; infra: boolean; evaluated: boolean; check: () => FailingCheck }> = [
    ...hooks.map((h) => ({
      ok: h.ok,
      infra: false,
      evaluated: hookResults.some((r) => r.name === h.name),
      check: () => hookFailingCheck(h),
    })),
    ...metrics.map((m) => ({
      ok: m.ok,
      infra: m.kind === 'infrastructure',
      evaluated: m.kind !== 'not-evaluated',
      check: () => metricCheck(m),
    })),
  ];
  const firstIndex = items.findIndex((item) => !item.ok);
  const first = items[firstIndex];
  if (first === undefined) return { verdict: { kind: 'pass' }, hooks, metrics };
  if (!first.infra) return { verdict: { kind: 'failed', check: first.check() }, hooks, metrics };
  const policyVerdict = infrastructureVerdict(plan, first.check());
  if (policyVerdict.kind === 'hold') {
    const evidence = items.slice(firstIndex + 1).find((item) => !item.ok && !item.infra && item.evaluated);
    if (evidence !== undefined)
      return { verdict: { kind: 'failed', check: evidence.check() }, hooks, metrics };
  }
  return { verdict: policyVerdict, hooks, metrics };
}
