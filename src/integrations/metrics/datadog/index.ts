// The Datadog metrics provider, as the metrics provider registry takes it: the MetricTemplate `provider.type` it
// serves, the zod rules for that provider block, the factory, and its built-in metrics — none: Flagger's built-in
// checks (request-success-rate, request-duration) always query the mesh's Prometheus (pkg/metrics/observers), never
// a MetricTemplate provider, so Datadog has no built-ins.
import { createDatadogProvider, datadogProviderType, type DatadogProviderOptions } from './provider.js';
import { datadogProviderSchema } from './schema.js';

export {
  createDatadogProvider,
  datadogKeys,
  datadogApiKeyKey,
  datadogApplicationKeyKey,
} from './provider.js';
export type { DatadogProviderOptions } from './provider.js';
export { datadogProviderSchema, type DatadogProviderBlock } from './schema.js';
export { createDatadogClient, datadogDefaultAddress, DatadogError, type DatadogErrorKind } from './client.js';
export { firstPointValue, queryWindow, renderDatadogQuery, windowIntervals } from './query.js';

export const datadogProvider = {
  type: datadogProviderType,
  schema: datadogProviderSchema,
  create: (opts: DatadogProviderOptions) => createDatadogProvider(opts),
  /** Built-in metric name → query template: none for Datadog (see the header). */
  builtins: {} as Readonly<Record<string, string>>,
} as const;
