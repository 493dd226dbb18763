// Datadog's v1 metrics query API over HTTP: `GET <address>/api/v1/query?from=&to=&query=` with the `DD-API-KEY`
// and `DD-APPLICATION-KEY` headers, returning the first point of the first series (query.ts), or null for
// "no values". Every request goes through the outbound guard (src/integrations/outbound.ts). The keys are request
// headers only: no message, error or result contains them.
import { z } from 'zod';
import { requestSignal, throwIfAborted } from '../../cancellation.js';
import {
  excerpt,
  OutboundRefusedError,
  outboundFetch,
  redirectNotFollowed,
  type OutboundFetch,
} from '../../outbound.js';
import { firstPointValue } from './query.js';

/** Flagger's `datadogDefaultHost`: the address when a template gives none. */
export const datadogDefaultAddress = 'https://api.datadoghq.com';
export const datadogQueryPath = '/api/v1/query';

/**
 * - `unreachable`: no answer, or a 5xx — transient, retried by the provider;
 * - `rate-limited`: HTTP 429 — transient, retried;
 * - `auth`: HTTP 401/403 — the keys are wrong or lack the `timeseries_query` permission;
 * - `bad-query`: HTTP 400, or `status: "error"` in a 200 — the query (or window) is wrong;
 * - `bad-response`: anything else unexpected (a redirect, non-JSON, another status);
 * - `refused`: the outbound guard refused the address.
 */
export type DatadogErrorKind =
  'unreachable' | 'rate-limited' | 'auth' | 'bad-query' | 'bad-response' | 'refused';

export class DatadogError extends Error {
  constructor(
    message: string,
    readonly kind: DatadogErrorKind,
  ) {
    super(message);
    this.name = 'DatadogError';
  }
}

export interface DatadogKeys {
  apiKey: string;
  applicationKey: string;
}

export interface DatadogQuery {
  query: string;
  /** Unix seconds. */
  from: number;
  /** Unix seconds. */
  to: number;
}

export interface DatadogClient {
  /**
   * Runs a v1 query: the first point of the first series, or null ("no values"). Rejects with a DatadogError, or
   * with the signal's reason when `signal` (the caller's cancellation) aborts.
   */
  queryValue(q: DatadogQuery, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<number | null>;
}

const point = z.array(z.number().nullable());
const responseSchema = z.looseObject({
  status: z.string().optional(),
  error: z.string().nullish(),
  series: z.array(z.looseObject({ pointlist: z.array(point).nullish() })).nullish(),
});
const errorsSchema = z.looseObject({ errors: z.array(z.string()) });

/** Datadog's `{"errors": [...]}` as one short line, else an excerpt of the body. */
function errorText(text: string): string {
  try {
    const parsed = errorsSchema.safeParse(JSON.parse(text));
    if (parsed.success && parsed.data.errors.length > 0) return excerpt(parsed.data.errors.join('; '));
  } catch {
    // not JSON
  }
  return excerpt(text) || '(empty body)';
}

/** The URL of a v1 query (parameters in Go's url.Values.Encode order: from, query, to). */
export function datadogQueryUrl(address: string, q: DatadogQuery): string {
  const base = address.replace(/\/+$/, '');
  const params = new URLSearchParams({ from: String(q.from), query: q.query, to: String(q.to) });
  return `${base}${datadogQueryPath}?${params.toString()}`;
}

export function createDatadogClient(
  address: string,
  keys: DatadogKeys,
  fetch: OutboundFetch = outboundFetch,
): DatadogClient {
  const base = address.replace(/\/+$/, '');
  return {
    async queryValue(q, opts = {}) {
      const cancel = opts.signal;
      let res: Response;
      try {
        res = await fetch(datadogQueryUrl(base, q), {
          method: 'GET',
          headers: {
            Accept: 'application/json',
            'DD-API-KEY': keys.apiKey,
            'DD-APPLICATION-KEY': keys.applicationKey,
          },
          redirect: 'manual',
          signal: requestSignal(opts.timeoutMs ?? 5000, cancel),
        });
      } catch (e) {
        throwIfAborted(cancel);
        if (e instanceof OutboundRefusedError)
          throw new DatadogError(`Datadog ${base}: ${e.message}`, 'refused');
        throw new DatadogError(
          `Datadog ${base} unreachable: ${e instanceof Error ? e.message : String(e)}`,
          'unreachable',
        );
      }
      if (res.status >= 300 && res.status < 400)
        throw new DatadogError(`Datadog ${base}: ${redirectNotFollowed(res)}`, 'bad-response');
      const text = await res.text();
      if (res.status === 401 || res.status === 403)
        throw new DatadogError(
          `Datadog ${base} refused the credentials (HTTP ${res.status}: ${errorText(text)}): check datadog_api_key and datadog_application_key (the application key needs the timeseries_query permission)`,
          'auth',
        );
      if (res.status === 429)
        throw new DatadogError(`Datadog ${base} rate limit (HTTP 429: ${errorText(text)})`, 'rate-limited');
      if (res.status >= 500)
        throw new DatadogError(
          `Datadog ${base} answered HTTP ${res.status}: ${errorText(text)}`,
          'unreachable',
        );
      if (res.status === 400)
        throw new DatadogError(`Datadog rejected the query (HTTP 400): ${errorText(text)}`, 'bad-query');
      if (res.status !== 200)
        throw new DatadogError(
          `Datadog ${base} answered HTTP ${res.status}: ${errorText(text)}`,
          'bad-response',
        );
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new DatadogError(`Datadog answered 200 with non-JSON: ${excerpt(text)}`, 'bad-response');
      }
      const parsed = responseSchema.safeParse(json);
      if (!parsed.success)
        throw new DatadogError(`unexpected Datadog response: ${excerpt(text)}`, 'bad-response');
      const body = parsed.data;
      if (body.status !== undefined && body.status !== 'ok')
        throw new DatadogError(
          `Datadog query ${excerpt(body.status, 40)}: ${excerpt(body.error ?? '') || '(no error message)'}`,
          'bad-query',
        );
      return firstPointValue(body.series);
    },
  };
}
