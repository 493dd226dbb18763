// The MetricsProvider port: turns one metric check of the plan into a value, "no values", or an infrastructure error
// (the provider unreachable after retries) — kept distinct on purpose. Implementations, one folder each, are in the
// registry (manifests.ts: pure half; providers.ts: runtime half): prometheus/, datadog/.
import { renderQuery, type RenderResult, type TemplateContext } from '../../domain/promql.js';
import type { MetricPlan } from '../../domain/plan.js';
import { defaultRouter, routerManifests, type RouterProvider } from '../traffic/manifests.js';
import { isMetricProviderType, metricProviderManifests } from './manifests.js';

export interface MetricTemplateDef {
  name: string;
  namespace: string;
  provider: {
    type: string;
    address?: string;
    headers?: Record<string, string>;
    secretRef?: { name: string };
  };
  query: string;
}

export interface MetricContext {
  namespace: string;
  target: string;
  service: string;
  /** The release's router: its built-in checks are that router's queries (Flagger's observers). Default istio. */
  router?: RouterProvider;
}

export interface MetricOutcome {
  name: string;
  value: number | null;
  error?: 'no-values' | 'infrastructure';
  message?: string;
  query?: string;
}

export interface MetricsProvider {
  /**
   * Never rejects for a query problem (the outcome says what happened) — only when `opts.signal` aborts (the
   * analysis was cancelled): then it rejects with the signal's reason, at once, and there is no outcome.
   */
  evaluate(
    metric: MetricPlan,
    ctx: MetricContext,
    templates: MetricTemplateDef[],
    opts?: { signal?: AbortSignal },
  ): Promise<MetricOutcome>;
}

/**
 * The query a metric check runs (template resolved and rendered) and where; an error says why not. `render`: the
 * query language (default: the template's provider's renderer from the registry; PromQL for built-in and inline).
 */
export function resolveMetricQuery(
  metric: MetricPlan,
  ctx: MetricContext,
  templates: MetricTemplateDef[],
  render?: (template: string, ctx: TemplateContext) => RenderResult,
):
  | {
      ok: true;
      query: string;
      address?: string;
      headers?: Record<string, string>;
      /** The template's credentials, to resolve on the worker (namespace = the template's). */
      secretRef?: { namespace: string; name: string };
    }
  | { ok: false; error: string } {
  let template: string;
  let address: string | undefined;
  let headers: Record<string, string> | undefined;
  let secretRef: { namespace: string; name: string } | undefined;
  if (metric.source.kind === 'builtin')
    template = routerManifests[ctx.router ?? defaultRouter].builtins[metric.source.builtin];
  else if (metric.source.kind === 'inline') template = metric.source.query;
  else {
    const src = metric.source;
    const def = templates.find((t) => t.name === src.templateName && t.namespace === src.templateNamespace);
    if (!def)
      return { ok: false, error: `MetricTemplate ${src.templateNamespace}/${src.templateName} not found` };
    template = def.query;
    const manifest = isMetricProviderType(def.provider.type)
      ? metricProviderManifests[def.provider.type]
      : undefined;
    render ??= manifest?.render;
    address = def.provider.address;
    headers = def.provider.headers;
    if (def.provider.secretRef) secretRef = { namespace: def.namespace, name: def.provider.secretRef.name };
  }
  const rendered = (render ?? renderQuery)(template, {
    namespace: ctx.namespace,
    target: ctx.target,
    service: ctx.service,
    interval: metric.interval,
    variables: metric.templateVariables,
  });
  if (!rendered.ok) return { ok: false, error: `query template: ${rendered.error}` };
  return {
    ok: true,
    query: rendered.query,
    ...(address ? { address } : {}),
    ...(headers ? { headers } : {}),
    ...(secretRef ? { secretRef } : {}),
  };
}
