// Datadog, the pure half (see ../metric-provider-manifest.ts): MetricTemplates with `provider.type: datadog`.
// Rules beyond Flagger's common provider fields (schema.ts has the whole block): `secretRef` is required (a Secret
// with datadog_api_key and datadog_application_key), `headers` are refused (Flagger's Datadog provider sends only
// its two key headers). Queries are Datadog's language, rendered by query.ts (tag-alphabet values only). PURE.
import { z } from 'zod';
import type { MetricProviderManifest } from '../metric-provider-manifest.js';
import { renderDatadogQuery } from './query.js';
import { datadogProviderSchema } from './schema.js';

export const datadogManifest = {
  type: 'datadog',
  rules: z.looseObject({
    secretRef: datadogProviderSchema.shape.secretRef,
    headers: datadogProviderSchema.shape.headers,
  }),
  render: renderDatadogQuery,
} as const satisfies MetricProviderManifest;
