// The metrics provider registry, pure half: MetricTemplate `spec.provider.type` → MetricProviderManifest (schema
// rules, query renderer). Imported by the manifest layer; the runtime half (MetricsProvider factories, worker only)
// is `providers.ts`, keyed by the same names. Adding a provider: a folder `<type>/` with `manifest.ts` and its
// MetricsProvider, one line here, one line in providers.ts. PURE.
import { datadogManifest } from './datadog/manifest.js';
import type { MetricProviderManifest } from './metric-provider-manifest.js';
import { prometheusManifest } from './prometheus/manifest.js';

export const metricProviderManifests = {
  prometheus: prometheusManifest,
  datadog: datadogManifest,
} as const satisfies Record<string, MetricProviderManifest>;

/** A MetricTemplate `spec.provider.type` Fledge supports. */
export type MetricProviderType = keyof typeof metricProviderManifests;

export const metricProviderTypes = Object.keys(metricProviderManifests) as MetricProviderType[];

/** Flagger's default MetricTemplate provider type (an omitted `type`). */
export const defaultMetricProvider: MetricProviderType = 'prometheus';

export function isMetricProviderType(type: unknown): type is MetricProviderType {
  return typeof type === 'string' && Object.hasOwn(metricProviderManifests, type);
}
