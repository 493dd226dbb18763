// Fake Datadog API for dev and tests: the v1 metrics query endpoint and the key validation endpoint as Datadog
// documents them (OpenAPI `QueryMetrics`, `Validate`), answering with series configured through control endpoints.
//
// Datadog API (as documented)
//   GET /api/v1/query?from=<unix s>&to=<unix s>&query=<query>
//       headers DD-API-KEY and DD-APPLICATION-KEY. Missing or unknown key → 403 {"errors":["Forbidden"]}.
//       from/to/query required, from/to integers, from <= to; else 400 {"errors":["<what is wrong>"]}.
//       200 {status:"ok", res_type:"time_series", resp_version:1, query, message:"", error:"", group_by:[],
//            from_date: from×1000, to_date: to×1000, series:[{metric, display_name, expression, scope, aggr,
//            pointlist:[[ms, value|null], …], start, end, interval, length, query_index:0, tag_set:[], unit:null}]}
//       A query nothing is configured for answers series [] (Datadog's "no data").
//       Other methods → 405; other /api/ paths → 404 {"errors":["Not found"]}.
//   GET /api/v1/validate   DD-API-KEY only (Datadog: "the API key, not the APP key") → 200 {"valid":true}, else 403.
//   The error texts are the fake's own: Datadog documents only their shape ({"errors": [string]}).
//
// Control endpoints
//   PUT /_series {query, series:[{metric?, scope?, aggr?, values:[number|null, …]}]}
//       answer requests whose `query` equals `query` (both whitespace-collapsed; `*` = any query not configured)
//       with these series. The n values of a series become its pointlist, spread evenly over the request's window:
//       value i at (from + i × step) seconds, step = max(1, floor((to - from) / n)) — so the first value sits at
//       `from` (the point Flagger's provider reads). Replaces an earlier answer for the same query. → {ok:true}
//   GET /_series   the configured answers      DELETE /_series   forget them
//   PUT /_fail {status: 4xx|5xx, times?: 1, errors?: [string], body?: string}
//       the next `times` query requests (after the auth check) answer `status` with {"errors": errors} (default
//       by status), or with `body` verbatim (e.g. not JSON). → {ok:true}     DELETE /_fail
//   GET /_requests  every /api/ request, oldest first: {method, path, params (all query parameters), apiKey and
//                   applicationKey ("valid" | "invalid" | "missing" — never the key), status, receivedAt}
//   DELETE /_requests        POST /_reset (series, failures, requests)        GET /healthz
// Keys: with `apiKeys`/`applicationKeys` (options; main.ts --api-key/--app-key) only those are valid; otherwise any
// non-empty key is.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { readBody } from '../../integrations/http-body.js';
import { closeServer, listen } from '../http.js';

export interface FakeDatadogOptions {
  /** 0 = an ephemeral port. */
  port: number;
  host?: string;
  /** Valid API keys; default any non-empty one. */
  apiKeys?: string[];
  /** Valid application keys; default any non-empty one. */
  applicationKeys?: string[];
  /** One line per API request and control action; default silent. */
  log?: (line: string) => void;
}

export interface RunningFakeDatadog {
  /** The API address: what a MetricTemplate's `provider.address` names. */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

export const seriesSpecSchema = z.strictObject({
  query: z.string().min(1),
  series: z.array(
    z.strictObject({
      metric: z.string().optional(),
      scope: z.string().optional(),
      aggr: z.string().optional(),
      values: z.array(z.number().nullable()),
    }),
  ),
});
export type SeriesSpec = z.infer<typeof seriesSpecSchema>;

export const failSpecSchema = z.strictObject({
  status: z.int().min(400).max(599),
  times: z.int().min(1).default(1),
  errors: z.array(z.string()).optional(),
  body: z.string().optional(),
});
export type FailSpec = z.infer<typeof failSpecSchema>;

export type KeyCheck = 'valid' | 'invalid' | 'missing';

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  apiKey: KeyCheck;
  applicationKey: KeyCheck;
  status: number;
  receivedAt: string;
}

const collapse = (q: string): string => q.replace(/\s+/g, ' ').trim();

const defaultErrors: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not found',
  429: 'Too many requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The points of `values` over [from, to] (see the header). */
export function spreadPoints(
  values: Array<number | null>,
  from: number,
  to: number,
): Array<[number, number | null]> {
  const step = Math.max(1, Math.floor((to - from) / Math.max(1, values.length)));
  return values.map((v, i) => [(from + i * step) * 1000, v]);
}

export async function startFakeDatadog(opts: FakeDatadogOptions): Promise<RunningFakeDatadog> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => undefined);
  const answers = new Map<string, SeriesSpec>();
  let failures: Array<FailSpec & { remaining: number }> = [];
  let requests: RecordedRequest[] = [];

  const check = (given: string | undefined, valid: string[] | undefined): KeyCheck =>
    given === undefined || given === ''
      ? 'missing'
      : valid === undefined || valid.includes(given)
        ? 'valid'
        : 'invalid';

  const query = (url: URL): { status: number; body: unknown } => {
    const p = url.searchParams;
    const missing = ['from', 'to', 'query'].filter((k) => !p.has(k) || p.get(k) === '');
    if (missing.length > 0)
      return { status: 400, body: { errors: [`Missing required parameter(s): ${missing.join(', ')}`] } };
    const from = Number(p.get('from'));
    const to = Number(p.get('to'));
    for (const [k, v] of [
      ['from', from],
      ['to', to],
    ] as const)
      if (!Number.isSafeInteger(v))
        return {
          status: 400,
          body: { errors: [`Parameter '${k}' must be an integer (seconds since the Unix epoch)`] },
        };
    if (from > to) return { status: 400, body: { errors: ["Parameter 'from' must not be after 'to'"] } };
    const failure = failures.find((f) => f.remaining > 0);
    if (failure) {
      failure.remaining--;
      failures = failures.filter((f) => f.remaining > 0);
      return {
        status: failure.status,
        body: failure.body ?? {
          errors: failure.errors ?? [defaultErrors[failure.status] ?? `HTTP ${failure.status}`],
        },
      };
    }
    const q = p.get('query') ?? '';
    const spec = answers.get(collapse(q)) ?? answers.get('*');
    const series = (spec?.series ?? []).map((s) => {
      const pointlist = spreadPoints(s.values, from, to);
      const metric = s.metric ?? 'fake.metric';
      const step = pointlist.length > 1 ? (pointlist[1]?.[0] ?? 0) - (pointlist[0]?.[0] ?? 0) : 1000;
      return {
        metric,
        display_name: metric,
        expression: q,
        scope: s.scope ?? '*',
        aggr: s.aggr ?? 'avg',
        pointlist,
        start: from * 1000,
        end: to * 1000,
        interval: step,
        length: pointlist.length,
        query_index: 0,
        tag_set: [],
        unit: null,
      };
    });
    return {
      status: 200,
      body: {
        status: 'ok',
        res_type: 'time_series',
        resp_version: 1,
        query: q,
        message: '',
        error: '',
        group_by: [],
        from_date: from * 1000,
        to_date: to * 1000,
        series,
      },
    };
  };

  const api = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const apiKey = check(header(req, 'dd-api-key'), opts.apiKeys);
    const applicationKey = check(header(req, 'dd-application-key'), opts.applicationKeys);
    let r: { status: number; body: unknown; headers?: Record<string, string> };
    if (url.pathname !== '/api/v1/query' && url.pathname !== '/api/v1/validate')
      r = { status: 404, body: { errors: ['Not found'] } };
    else if (req.method !== 'GET')
      r = { status: 405, body: { errors: ['Method Not Allowed'] }, headers: { Allow: 'GET' } };
    else if (url.pathname === '/api/v1/validate')
      r =
        apiKey === 'valid'
          ? { status: 200, body: { valid: true } }
          : { status: 403, body: { errors: ['Forbidden'] } };
    else if (apiKey !== 'valid' || applicationKey !== 'valid')
      r = { status: 403, body: { errors: ['Forbidden'] } };
    else r = query(url);
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      params: Object.fromEntries(url.searchParams),
      apiKey,
      applicationKey,
      status: r.status,
      receivedAt: new Date().toISOString(),
    });
    log(`${req.method ?? ''} ${url.pathname} ${url.searchParams.get('query') ?? ''} → ${r.status}`);
    send(res, r.status, r.body, r.headers);
  };

  const control = (req: IncomingMessage, res: ServerResponse, url: URL, raw: string): void => {
    const m = req.method ?? 'GET';
    const parse = <T>(schema: z.ZodType<T>): T | undefined => {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (e) {
        send(res, 400, { error: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` });
        return undefined;
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        send(res, 400, {
          error: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        });
        return undefined;
      }
      return parsed.data;
    };
    const notAllowed = (allow: string): void => send(res, 405, { error: `use ${allow}` }, { Allow: allow });
    switch (url.pathname) {
      case '/healthz':
        return send(res, 200, { ok: true });
      case '/_series':
        if (m === 'GET') return send(res, 200, { answers: [...answers.values()] });
        if (m === 'DELETE') {
          answers.clear();
          return send(res, 200, { ok: true });
        }
        if (m === 'PUT') {
          const spec = parse(seriesSpecSchema);
          if (!spec) return;
          const key = spec.query === '*' ? '*' : collapse(spec.query);
          answers.set(key, { ...spec, query: key });
          log(`answer ${key}: ${spec.series.length} series`);
          return send(res, 200, { ok: true });
        }
        return notAllowed('GET, PUT, DELETE');
      case '/_fail':
        if (m === 'DELETE') {
          failures = [];
          return send(res, 200, { ok: true });
        }
        if (m === 'PUT') {
          const spec = parse(failSpecSchema);
          if (!spec) return;
          failures.push({ ...spec, remaining: spec.times });
          log(`next ${spec.times} query request(s) answer HTTP ${spec.status}`);
          return send(res, 200, { ok: true });
        }
        return notAllowed('PUT, DELETE');
      case '/_requests':
        if (m === 'GET') return send(res, 200, { requests });
        if (m === 'DELETE') {
          requests = [];
          return send(res, 200, { ok: true });
        }
        return notAllowed('GET, DELETE');
      case '/_reset':
        if (m !== 'POST') return notAllowed('POST');
        answers.clear();
        failures = [];
        requests = [];
        return send(res, 200, { ok: true });
      default:
        return send(res, 404, {
          error: `not found: ${url.pathname}; try /api/v1/query, /api/v1/validate, /_series, /_fail, /_requests, /_reset, /healthz`,
        });
    }
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-datadog.local');
    readBody(req, 1024 * 1024)
      .then((raw) => {
        if (raw === null) return send(res, 413, { errors: ['Request too large'] });
        if (url.pathname.startsWith('/api/')) return api(req, res, url);
        return control(req, res, url, raw);
      })
      .catch((e: unknown) => send(res, 500, { errors: [e instanceof Error ? e.message : String(e)] }));
  });

  const port = await listen(server, opts.port, host);
  return { url: `http://${host}:${port}`, host, port, close: () => closeServer(server) };
}
