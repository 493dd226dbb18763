// The MetricsProvider for MetricTemplates with `provider.type: prometheus` (the default), for inline queries and for
// the built-in checks (the router's queries, run on the worker's Prometheus as Flagger's observers do).
import { throwIfAborted } from '../../cancellation.js';
import { withRetries, type RetryPolicy } from '../../retry.js';
import { credentialHeaders, type SecretSource } from '../../secrets.js';
import { resolveMetricQuery, type MetricsProvider } from '../provider.js';
import { createPrometheusClient, PrometheusError, type PrometheusClient } from './client.js';

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
      // Only an unreachable Prometheus is worth another attempt (a bad query or answer will not change).
      const policy: RetryPolicy = {
        retries: opts.retries ?? 2,
        backoff: { kind: 'linear', baseMs: opts.backoffMs ?? 300 },
      };
      try {
        const value = await withRetries(
          () =>
            client(url, headers).queryScalar(rendered.query, {
              timeoutMs: opts.timeoutMs ?? 5000,
              ...(cancel ? { signal: cancel } : {}),
            }),
          policy,
          {
            onError: (e) => ({ retry: e instanceof PrometheusError && e.kind === 'unreachable' }),
            ...(cancel ? { signal: cancel } : {}),
          },
        );
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
        return {
          name: metric.name,
          value: null,
          error: 'infrastructure',
          message: e instanceof Error ? e.message : String(e),
          query: rendered.query,
        };
      }
    },
  };
}
