// The MetricsProvider for MetricTemplates with `provider.type: prometheus` (the default), for inline queries and for
// the built-in checks (the router's queries, run on the worker's Prometheus as Flagger's observers do).
import { sleep, throwIfAborted } from '../../cancellation.js';
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
