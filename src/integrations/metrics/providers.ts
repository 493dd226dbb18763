// The metrics provider registry, runtime half: MetricTemplate `spec.provider.type` → MetricsProvider factory (worker
// only: HTTP clients). Keyed by the same names as manifests.ts — a name missing here is a type error. The worker's
// MetricsProvider (createMetricsProvider) sends each check to its provider: a MetricTemplate check to its template's
// type, a built-in check (the router's query) or an inline query to Prometheus, as Flagger does.
import type { SecretSource } from '../secrets.js';
import { datadogProvider } from './datadog/index.js';
import { defaultMetricProvider, isMetricProviderType, type MetricProviderType } from './manifests.js';
import { createPrometheusProvider } from './prometheus/provider.js';
import type { MetricsProvider } from './provider.js';

export interface MetricProviderOptions {
  /** The worker's Prometheus (built-in checks, inline queries, templates without an address). */
  prometheusUrl: string;
  /** Where templates' `secretRef` Secrets are read. */
  secrets: SecretSource;
}

export const metricProviderFactories = {
  prometheus: (o) => createPrometheusProvider(o.prometheusUrl, { secrets: o.secrets }),
  datadog: (o) => datadogProvider.create({ secrets: o.secrets }),
} as const satisfies Record<MetricProviderType, (o: MetricProviderOptions) => MetricsProvider>;

/** One MetricsProvider that dispatches each check by its template's provider type. */
export function createMetricsProvider(
  opts: MetricProviderOptions,
  factories: Record<
    MetricProviderType,
    (o: MetricProviderOptions) => MetricsProvider
  > = metricProviderFactories,
): MetricsProvider {
  const providers = new Map<MetricProviderType, MetricsProvider>();
  const get = (type: MetricProviderType): MetricsProvider => {
    let p = providers.get(type);
    if (!p) {
      p = factories[type](opts);
      providers.set(type, p);
    }
    return p;
  };
  return {
    evaluate(metric, ctx, templates, evalOpts) {
      const src = metric.source;
      if (src.kind !== 'template')
        return get(defaultMetricProvider).evaluate(metric, ctx, templates, evalOpts);
      const def = templates.find((t) => t.name === src.templateName && t.namespace === src.templateNamespace);
      const type = def?.provider.type ?? defaultMetricProvider;
      if (!isMetricProviderType(type))
        return Promise.resolve({
          name: metric.name,
          value: null,
          error: 'infrastructure',
          message: `MetricTemplate ${src.templateNamespace}/${src.templateName}: provider type ${JSON.stringify(type).slice(0, 60)} is not supported by this worker`,
        });
      return get(type).evaluate(metric, ctx, templates, evalOpts);
    },
  };
}
