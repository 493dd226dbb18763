// The MetricsProvider port and its Prometheus implementation: turns one metric check of the plan into a value,
// "no values", or an infrastructure error (Prometheus unreachable after retries) — kept distinct on purpose.
import { builtinQueries, renderQuery, type RenderResult, type TemplateContext } from '../../domain/promql.js';
import type { MetricPlan } from '../../domain/plan.js';
import { sleep, throwIfAborted } from '../cancellation.js';
import { credentialHeaders, type SecretSource } from '../secrets.js';
import { createPrometheusClient, PrometheusError, type PrometheusClient } from './prometheus.js';

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
 * provider's query language (default PromQL; Datadog's provider passes its own).
 */
export function resolveMetricQuery(
  metric: MetricPlan,
  ctx: MetricContext,
  templates: MetricTemplateDef[],
  render: (template: string, ctx: TemplateContext) => RenderResult = renderQuery,
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
  if (metric.source.kind === 'builtin') template = builtinQueries.istio[metric.source.builtin];
  else if (metric.source.kind === 'inline') template = metric.source.query;
  else {
    const src = metric.source;
    const def = templates.find((t) => t.name === src.templateName && t.namespace === src.templateNamespace);
    if (!def)
      return { ok: false, error: `MetricTemplate ${src.templateNamespace}/${src.templateName} not found` };
    template = def.query;
    address = def.provider.address;
    headers = def.provider.headers;
    if (def.provider.secretRef) secretRef = { namespace: def.namespace, name: def.provider.secretRef.name };
  }
  const rendered = render(template, {
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

export function createPrometheusProvider(
  defaultUrl: string,
  opts: { retries?: number; timeoutMs?: number; backoffMs?: number; secrets?: SecretSource } = {},
): MetricsProvider {
  const clients = new Map<string, PrometheusClient>();
  const client = (url: string, headers?: Record<string, string>): PrometheusClient => {
    const key = `${url}|${JSON.stringify(headers ?? {})}`;
    let c = clients.get(key);
    if (!c) {
      c = createPrometheusClient(url, headers);
      clients.set(key, c);
    }
    return c;
  };
  return {
    async evaluate(metric, ctx, templates, evalOpts = {}) {
      const cancel = evalOpts.signal;
      const r = resolveMetricQuery(metric, ctx, templates);
      if (!r.ok) return { name: metric.name, value: null, error: 'infrastructure', message: r.error };
      const rendered = r;
      const url = r.address ?? defaultUrl;
      let headers = r.headers;
      if (r.secretRef) {
        const ref = `Secret ${r.secretRef.namespace}/${r.secretRef.name}`;
        const data = opts.secrets?.read(r.secretRef.namespace, r.secretRef.name);
        if (!data)
          return {
            name: metric.name,
            value: null,
            error: 'infrastructure',
            message: `provider.secretRef: the worker has no ${ref} (mount it under FLEDGE_SECRETS_DIR/${r.secretRef.namespace}/${r.secretRef.name}/ or set FLEDGE_SECRET_<NAMESPACE>__<NAME>__<KEY>)`,
          };
        const creds = credentialHeaders(data);
        if ('error' in creds)
          return {
            name: metric.name,
            value: null,
            error: 'infrastructure',
            message: `${ref}: ${creds.error}`,
          };
        headers = { ...(headers ?? {}), ...creds };
      }
      const retries = opts.retries ?? 2;
      for (let attempt = 0; ; attempt++) {
        try {
          const value = await client(url, headers).queryScalar(rendered.query, {
            timeoutMs: opts.timeoutMs ?? 5000,
            ...(cancel ? { signal: cancel } : {}),
          });
          if (value === null)
            return {
              name: metric.name,
              value: null,
              error: 'no-values',
              message: 'no values found (is the target receiving traffic?)',
              query: rendered.query,
            };
          return { name: metric.name, value, query: rendered.query };
        } catch (e) {
          throwIfAborted(cancel);
          const retryable = e instanceof PrometheusError && e.kind === 'unreachable';
          if (retryable && attempt < retries) {
            await sleep((opts.backoffMs ?? 300) * (attempt + 1), cancel);
            continue;
          }
          return {
            name: metric.name,
            value: null,
            error: 'infrastructure',
            message: e instanceof Error ? e.message : String(e),
            query: rendered.query,
          };
        }
      }
    },
  };
}
