// The MetricsProvider for MetricTemplates with `spec.provider.type: datadog`, with the outcome shape of the
// Prometheus provider (src/integrations/metrics/provider.ts): a value; `no-values` when Datadog has no series or
// points (or a null first point); `infrastructure` for everything else (template/Secret problems, credentials
// refused, bad query, Datadog unreachable or rate-limited after retries). Only transient failures (no answer, 5xx,
// 429) are retried. The keys come from the template's `secretRef` Secret (`datadog_api_key`,
// `datadog_application_key`, Flagger's names), read on the worker (src/integrations/secrets.ts): they become
// request headers and never reach an outcome, a message or workflow history.
import { throwIfAborted } from '../../cancellation.js';
import { withRetries, type RetryPolicy } from '../../retry.js';
import type { OutboundFetch } from '../../outbound.js';
import type { SecretData, SecretSource } from '../../secrets.js';
import { resolveMetricQuery, type MetricOutcome, type MetricsProvider } from '../provider.js';
import { createDatadogClient, datadogDefaultAddress, DatadogError, type DatadogKeys } from './client.js';
import { queryWindow, renderDatadogQuery } from './query.js';

export const datadogProviderType = 'datadog';
/** Flagger's Secret keys for the Datadog provider. */
export const datadogApiKeyKey = 'datadog_api_key';
export const datadogApplicationKeyKey = 'datadog_application_key';

export interface DatadogProviderOptions {
  /** Where the templates' `secretRef` Secrets are read (the worker's createSecretSource()). */
  secrets: SecretSource;
  /** Used when a template has no `provider.address`. Default https://api.datadoghq.com (Flagger's). */
  defaultAddress?: string;
  /** Retries of a transient failure (no answer, 5xx, 429). Default 2. */
  retries?: number;
  /** Per request. Default 5000 (Flagger's 5 s). */
  timeoutMs?: number;
  /** Backoff before retry n is backoffMs × n. Default 300. */
  backoffMs?: number;
  /** The outbound fetch (default: the worker's guarded one). */
  fetch?: OutboundFetch;
  /** Clock (ms since the epoch) for the query window. Default Date.now. */
  now?: () => number;
}

const printable = /^[\x21-\x7e]+$/;

/** The two keys from a Secret's data, or why not (never echoing a value). */
export function datadogKeys(data: SecretData): DatadogKeys | { error: string } {
  const missing = [datadogApiKeyKey, datadogApplicationKeyKey].filter((k) => !data[k]);
  if (missing.length > 0)
    return {
      error: `the Secret has no ${missing.join(' and no ')} (the datadog provider needs ${datadogApiKeyKey} and ${datadogApplicationKeyKey})`,
    };
  const apiKey = data[datadogApiKeyKey] ?? '';
  const applicationKey = data[datadogApplicationKeyKey] ?? '';
  const bad = [
    ...(printable.test(apiKey) ? [] : [datadogApiKeyKey]),
    ...(printable.test(applicationKey) ? [] : [datadogApplicationKeyKey]),
  ];
  if (bad.length > 0)
    return { error: `${bad.join(' and ')} must be one line of printable ASCII without spaces` };
  return { apiKey, applicationKey };
}

export function createDatadogProvider(opts: DatadogProviderOptions): MetricsProvider {
  const now = opts.now ?? Date.now;
  return {
    async evaluate(metric, ctx, templates, evalOpts = {}) {
      const cancel = evalOpts.signal;
      throwIfAborted(cancel);
      const fail = (message: string, query?: string): MetricOutcome => ({
        name: metric.name,
        value: null,
        error: 'infrastructure',
        message,
        ...(query !== undefined ? { query } : {}),
      });
      const src = metric.source;
      if (src.kind !== 'template')
        return fail(
          `the datadog provider evaluates MetricTemplate checks only (built-in and inline metrics use Prometheus)`,
        );
      const def = templates.find((t) => t.name === src.templateName && t.namespace === src.templateNamespace);
      if (def && def.provider.type !== datadogProviderType)
        return fail(
          `MetricTemplate ${def.namespace}/${def.name} has provider type ${JSON.stringify(def.provider.type)}, not ${datadogProviderType}`,
        );
      const r = resolveMetricQuery(metric, ctx, templates, renderDatadogQuery);
      if (!r.ok) return fail(r.error);
      const query = r.query;
      if (!r.secretRef)
        return fail(
          `provider.secretRef is required for the datadog provider (a Secret with ${datadogApiKeyKey} and ${datadogApplicationKeyKey})`,
          query,
        );
      const ref = `Secret ${r.secretRef.namespace}/${r.secretRef.name}`;
      const data = opts.secrets.read(r.secretRef.namespace, r.secretRef.name);
      if (!data)
        return fail(
          `provider.secretRef: the worker has no ${ref} (mount it under FLEDGE_SECRETS_DIR/${r.secretRef.namespace}/${r.secretRef.name}/ or set FLEDGE_SECRET_<NAMESPACE>__<NAME>__<KEY>)`,
          query,
        );
      const keys = datadogKeys(data);
      if ('error' in keys) return fail(`${ref}: ${keys.error}`, query);
      const client = createDatadogClient(
        r.address ?? opts.defaultAddress ?? datadogDefaultAddress,
        keys,
        opts.fetch,
      );
      // No answer, 5xx and 429 are worth another attempt; refused keys or a bad query are not.
      const policy: RetryPolicy = {
        retries: opts.retries ?? 2,
        backoff: { kind: 'linear', baseMs: opts.backoffMs ?? 300 },
      };
      const attempt = (): Promise<{ value: number | null } | { windowError: string }> => {
        const window = queryWindow(metric.interval, now());
        if (!window.ok) return Promise.resolve({ windowError: window.error });
        return client
          .queryValue(
            { query, from: window.from, to: window.to },
            { timeoutMs: opts.timeoutMs ?? 5000, ...(cancel ? { signal: cancel } : {}) },
          )
          .then((value) => ({ value }));
      };
      try {
        const r = await withRetries(attempt, policy, {
          onError: (e) => ({
            retry: e instanceof DatadogError && (e.kind === 'unreachable' || e.kind === 'rate-limited'),
          }),
          ...(cancel ? { signal: cancel } : {}),
        });
        if ('windowError' in r) return fail(r.windowError, query);
        if (r.value === null)
          return {
            name: metric.name,
            value: null,
            error: 'no-values',
            message: 'no values found (is the target receiving traffic?)',
            query,
          };
        return { name: metric.name, value: r.value, query };
      } catch (e) {
        throwIfAborted(cancel);
        return fail(e instanceof Error ? e.message : String(e), query);
      }
    },
  };
}
