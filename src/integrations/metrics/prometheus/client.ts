// Prometheus over its HTTP API: instant queries returning one number, or null for "no values" (empty vector / NaN).
import { z } from 'zod';
import { requestSignal, throwIfAborted } from '../../cancellation.js';
// Every request goes through the outbound guard (allowed addresses only, no redirects, short escaped excerpts).
import {
  excerpt,
  OutboundRefusedError,
  outboundFetch,
  redirectNotFollowed,
  type OutboundFetch,
} from '../../outbound.js';

const sample = z.tuple([z.number(), z.string()]);
const responseSchema = z.object({
  status: z.enum(['success', 'error']),
  error: z.string().optional(),
  errorType: z.string().optional(),
  data: z
    .object({
      resultType: z.string(),
      result: z.union([
        z.array(z.object({ metric: z.record(z.string(), z.string()), value: sample })),
        sample,
      ]),
    })
    .optional(),
});

export class PrometheusError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'bad-query' | 'bad-response' | 'refused',
  ) {
    super(message);
    this.name = 'PrometheusError';
  }
}

export interface PrometheusClient {
  /**
   * Instant query. Returns the last series' value (Flagger keeps the last), or null when there is none or it is NaN.
   * `signal` (the caller's cancellation) abandons the request: it rejects with the signal's reason.
   */
  queryScalar(promql: string, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<number | null>;
  isOnline(): Promise<boolean>;
}

/** Collapses whitespace as Flagger does before sending a query. */
export function trimQuery(q: string): string {
  return q.replace(/\s+/g, ' ').trim();
}

export function createPrometheusClient(
  baseUrl: string,
  headers: Record<string, string> = {},
  fetch: OutboundFetch = outboundFetch,
): PrometheusClient {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    async queryScalar(promql, opts = {}) {
      let res: Response;
      const cancel = opts.signal;
      try {
        res = await fetch(`${base}/api/v1/query`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams({ query: trimQuery(promql) }),
          redirect: 'manual',
          signal: requestSignal(opts.timeoutMs ?? 10_000, cancel),
        });
      } catch (e) {
        throwIfAborted(cancel);
        if (e instanceof OutboundRefusedError)
          throw new PrometheusError(`Prometheus ${base}: ${e.message}`, 'refused');
        throw new PrometheusError(
          `Prometheus ${base} unreachable: ${e instanceof Error ? e.message : String(e)}`,
          'unreachable',
        );
      }
      if (res.status >= 300 && res.status < 400)
        throw new PrometheusError(`Prometheus ${base}: ${redirectNotFollowed(res)}`, 'bad-response');
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new PrometheusError(
          `Prometheus answered ${res.status} with non-JSON: ${excerpt(text)}`,
          res.status >= 500 ? 'unreachable' : 'bad-response',
        );
      }
      const parsed = responseSchema.safeParse(json);
      if (!parsed.success)
        throw new PrometheusError(`unexpected Prometheus response: ${excerpt(text)}`, 'bad-response');
      const body = parsed.data;
      if (body.status === 'error') {
        throw new PrometheusError(
          `Prometheus ${excerpt(body.errorType ?? 'error', 40)}: ${excerpt(body.error ?? '')}`,
          res.status >= 500 ? 'unreachable' : 'bad-query',
        );
      }
      const data = body.data;
      let raw: string | undefined;
      if (data && data.resultType === 'scalar' && !Array.isArray(data.result[0])) {
        raw = (data.result as [number, string])[1];
      } else if (data && Array.isArray(data.result)) {
        const series = data.result as Array<{ value: [number, string] }>;
        raw = series.length > 0 ? series[series.length - 1]?.value[1] : undefined;
      }
      if (raw === undefined) return null;
      const v = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
      return Number.isNaN(v) ? null : v;
    },
    async isOnline() {
      try {
        const res = await fetch(`${base}/-/ready`, {
          signal: AbortSignal.timeout(3000),
          headers,
          redirect: 'manual',
        });
        return res.ok;
      } catch {
        return false;
      }
    },
  };
}
