// Route tables: VirtualService / HTTPRoute objects normalised to one model, request matching with each
// API's semantics, and generation of requests that satisfy a match block. Pure.
import { z } from 'zod';
import { resolveHost, type ServiceRef } from './hosts.js';
import { fullMatch, sampleRegex } from './regex.js';

export interface SimRequest {
  method: string;
  path: string;
  authority: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  query: Record<string, string>;
}

export type StringCond =
  | { type: 'exact' | 'prefix' | 'regex'; value: string; ignoreCase?: boolean }
  /** Istio: a header match with an empty StringMatch checks presence only. */
  | { type: 'present' };

export interface KeyedCond {
  name: string;
  cond: StringCond;
}

export interface MatchBlock {
  headers: KeyedCond[];
  /** Istio `withoutHeaders`: the request matches only if none of these match. */
  withoutHeaders: KeyedCond[];
  query: KeyedCond[];
  path?: StringCond;
  /** Gateway API PathPrefix is element-wise (`/a` matches `/a/b`, not `/ab`). */
  pathPrefixElementWise?: boolean;
  method?: StringCond;
  authority?: StringCond;
  /** Conditions the simulator cannot evaluate (sourceLabels, gateways, port, …): treated as satisfied. */
  ignored: string[];
  /** Gateway API precedence: [path type rank, path length, has method, #headers, #query params]. */
  precedence: number[];
}

export interface Destination {
  host: string;
  service: ServiceRef | null;
  weight: number;
}

export interface Mirror {
  host: string;
  service: ServiceRef | null;
  /** 0..100 */
  percent: number;
}

export interface RouteRule {
  name?: string;
  /** Empty: matches every request. Otherwise the rule matches if any block matches (blocks are ORed). */
  matches: MatchBlock[];
  destinations: Destination[];
  mirrors: Mirror[];
}

export type RouteKind = 'VirtualService' | 'HTTPRoute';

export interface Flow {
  /** `<kind>/<namespace>/<name>` */
  key: string;
  kind: RouteKind;
  namespace: string;
  name: string;
  /** Authority of the plain simulated request (first host / hostname, else the route name). */
  authority: string;
  rules: RouteRule[];
}

// ---------------------------------------------------------------------------------------------------------
// Parsing (zod schemas list only the fields the simulator reads; other fields are ignored).

const stringMatchSchema = z.object({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
});
type IstioStringMatch = z.infer<typeof stringMatchSchema>;

const istioMatchSchema = z.object({
  uri: stringMatchSchema.optional(),
  method: stringMatchSchema.optional(),
  authority: stringMatchSchema.optional(),
  scheme: stringMatchSchema.optional(),
  headers: z.record(z.string(), stringMatchSchema).optional(),
  withoutHeaders: z.record(z.string(), stringMatchSchema).optional(),
  queryParams: z.record(z.string(), stringMatchSchema).optional(),
  ignoreUriCase: z.boolean().optional(),
  sourceLabels: z.record(z.string(), z.string()).optional(),
  sourceNamespace: z.string().optional(),
  gateways: z.array(z.string()).optional(),
  port: z.number().optional(),
});

const istioDestinationSchema = z.object({ host: z.string() });

const istioHttpSchema = z.object({
  name: z.string().optional(),
  match: z.array(istioMatchSchema).optional(),
  route: z.array(z.object({ destination: istioDestinationSchema, weight: z.number().optional() })).optional(),
  mirror: istioDestinationSchema.optional(),
  mirrorPercentage: z.object({ value: z.number().optional() }).optional(),
  mirrorPercent: z.number().optional(),
  mirrors: z
    .array(
      z.object({
        destination: istioDestinationSchema,
        percentage: z.object({ value: z.number().optional() }).optional(),
      }),
    )
    .optional(),
});

const metadataSchema = z.object({ name: z.string(), namespace: z.string().optional() });

const virtualServiceSchema = z.object({
  metadata: metadataSchema,
  spec: z
    .object({ hosts: z.array(z.string()).optional(), http: z.array(istioHttpSchema).optional() })
    .optional(),
});

const gwKeyedSchema = z.object({ type: z.string().optional(), name: z.string(), value: z.string() });
const gwBackendSchema = z.object({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string(),
  namespace: z.string().optional(),
  weight: z.number().optional(),
});
const gwRuleSchema = z.object({
  name: z.string().optional(),
  matches: z
    .array(
      z.object({
        path: z.object({ type: z.string().optional(), value: z.string().optional() }).optional(),
        headers: z.array(gwKeyedSchema).optional(),
        queryParams: z.array(gwKeyedSchema).optional(),
        method: z.string().optional(),
      }),
    )
    .optional(),
  backendRefs: z.array(gwBackendSchema).optional(),
  filters: z
    .array(
      z.object({
        type: z.string(),
        requestMirror: z
          .object({
            backendRef: gwBackendSchema,
            percent: z.number().optional(),
            fraction: z.object({ numerator: z.number(), denominator: z.number().optional() }).optional(),
          })
          .optional(),
      }),
    )
    .optional(),
});
const httpRouteSchema = z.object({
  metadata: metadataSchema,
  spec: z
    .object({ hostnames: z.array(z.string()).optional(), rules: z.array(gwRuleSchema).optional() })
    .optional(),
});

export type ParseResult = { ok: true; flow: Flow } | { ok: false; error: string };

const clampPercent = (v: number): number => Math.min(100, Math.max(0, v));

function istioCond(m: IstioStringMatch, ignoreCase = false): StringCond {
  if (m.exact !== undefined) return { type: 'exact', value: m.exact, ignoreCase };
  if (m.prefix !== undefined) return { type: 'prefix', value: m.prefix, ignoreCase };
  if (m.regex !== undefined) return { type: 'regex', value: m.regex };
  return { type: 'present' };
}

const keyed = (rec: Record<string, IstioStringMatch> | undefined): KeyedCond[] =>
  Object.entries(rec ?? {}).map(([name, m]) => ({ name: name.toLowerCase(), cond: istioCond(m) }));

export function parseVirtualService(obj: unknown, clusterDomain = 'cluster.local'): ParseResult {
  const parsed = virtualServiceSchema.safeParse(obj);
  if (!parsed.success) return { ok: false, error: z.prettifyError(parsed.error) };
  const vs = parsed.data;
  const namespace = vs.metadata.namespace ?? 'default';
  const resolve = (host: string): ServiceRef | null => resolveHost(host, namespace, clusterDomain);
  const rules: RouteRule[] = (vs.spec?.http ?? []).map((h) => {
    const route = h.route ?? [];
    const destinations: Destination[] = route.map((r) => ({
      host: r.destination.host,
      service: resolve(r.destination.host),
      // Istio: a single destination takes all traffic; with several, a missing weight is 0.
      weight: route.length === 1 && r.weight === undefined ? 100 : Math.max(0, r.weight ?? 0),
    }));
    const mirrors: Mirror[] = [];
    if (h.mirror) {
      const pct = h.mirrorPercentage?.value ?? h.mirrorPercent ?? 100;
      mirrors.push({ host: h.mirror.host, service: resolve(h.mirror.host), percent: clampPercent(pct) });
    }
    for (const m of h.mirrors ?? []) {
      mirrors.push({
        host: m.destination.host,
        service: resolve(m.destination.host),
        percent: clampPercent(m.percentage?.value ?? 100),
      });
    }
    const matches: MatchBlock[] = (h.match ?? []).map((m) => {
      const ignored: string[] = [];
      if (m.sourceLabels) ignored.push('sourceLabels');
      if (m.sourceNamespace !== undefined) ignored.push('sourceNamespace');
      if (m.gateways) ignored.push('gateways');
      if (m.port !== undefined) ignored.push('port');
      if (m.scheme) ignored.push('scheme');
      const block: MatchBlock = {
        headers: keyed(m.headers),
        withoutHeaders: keyed(m.withoutHeaders),
        query: keyed(m.queryParams),
        ignored,
        precedence: [],
      };
      if (m.uri) block.path = istioCond(m.uri, m.ignoreUriCase ?? false);
      if (m.method) block.method = istioCond(m.method);
      if (m.authority) block.authority = istioCond(m.authority);
      return block;
    });
    return { ...(h.name !== undefined ? { name: h.name } : {}), matches, destinations, mirrors };
  });
  return {
    ok: true,
    flow: {
      key: `VirtualService/${namespace}/${vs.metadata.name}`,
      kind: 'VirtualService',
      namespace,
      name: vs.metadata.name,
      authority: vs.spec?.hosts?.find((h) => !h.includes('*')) ?? vs.metadata.name,
      rules,
    },
  };
}

function gwCond(type: string | undefined, value: string): StringCond {
  return type === 'RegularExpression' ? { type: 'regex', value } : { type: 'exact', value };
}

export function parseHttpRoute(obj: unknown): ParseResult {
  const parsed = httpRouteSchema.safeParse(obj);
  if (!parsed.success) return { ok: false, error: z.prettifyError(parsed.error) };
  const route = parsed.data;
  const namespace = route.metadata.namespace ?? 'default';
  const backend = (b: z.infer<typeof gwBackendSchema>): ServiceRef | null =>
    (b.group ?? '') === '' && (b.kind ?? 'Service') === 'Service'
      ? { name: b.name, namespace: b.namespace ?? namespace }
      : null;
  const rules: RouteRule[] = (route.spec?.rules ?? []).map((r) => {
    // Gateway API: a rule without matches has one implicit match, PathPrefix "/".
    const rawMatches = r.matches && r.matches.length > 0 ? r.matches : [{}];
    const matches: MatchBlock[] = rawMatches.map((m) => {
      const pathType = m.path?.type ?? 'PathPrefix';
      const pathValue = m.path?.value ?? '/';
      const path: StringCond =
        pathType === 'Exact'
          ? { type: 'exact', value: pathValue }
          : pathType === 'RegularExpression'
            ? { type: 'regex', value: pathValue }
            : { type: 'prefix', value: pathValue };
      const headers = (m.headers ?? []).map((h) => ({
        name: h.name.toLowerCase(),
        cond: gwCond(h.type, h.value),
      }));
      const query = (m.queryParams ?? []).map((q) => ({ name: q.name, cond: gwCond(q.type, q.value) }));
      const block: MatchBlock = {
        headers,
        withoutHeaders: [],
        query,
        path,
        pathPrefixElementWise: true,
        ignored: [],
        precedence: [
          pathType === 'Exact' ? 2 : pathType === 'PathPrefix' ? 1 : 0,
          pathValue.length,
          m.method ? 1 : 0,
          headers.length,
          query.length,
        ],
      };
      if (m.method) block.method = { type: 'exact', value: m.method };
      return block;
    });
    const destinations: Destination[] = (r.backendRefs ?? []).map((b) => ({
      host: b.namespace ? `${b.name}.${b.namespace}` : b.name,
      service: backend(b),
      weight: Math.max(0, b.weight ?? 1), // Gateway API default weight is 1
    }));
    const mirrors: Mirror[] = (r.filters ?? []).flatMap((f) => {
      if (f.type !== 'RequestMirror' || !f.requestMirror) return [];
      const rm = f.requestMirror;
      const pct =
        rm.percent ?? (rm.fraction ? (100 * rm.fraction.numerator) / (rm.fraction.denominator ?? 100) : 100);
      const b = rm.backendRef;
      return [
        {
          host: b.namespace ? `${b.name}.${b.namespace}` : b.name,
          service: backend(b),
          percent: clampPercent(pct),
        },
      ];
    });
    return { ...(r.name !== undefined ? { name: r.name } : {}), matches, destinations, mirrors };
  });
  return {
    ok: true,
    flow: {
      key: `HTTPRoute/${namespace}/${route.metadata.name}`,
      kind: 'HTTPRoute',
      namespace,
      name: route.metadata.name,
      authority: route.spec?.hostnames?.find((h) => !h.includes('*')) ?? route.metadata.name,
      rules,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Matching

export function condMatches(cond: StringCond, value: string | undefined): boolean {
  if (value === undefined) return false;
  switch (cond.type) {
    case 'present':
      return true;
    case 'exact':
      return cond.ignoreCase ? value.toLowerCase() === cond.value.toLowerCase() : value === cond.value;
    case 'prefix':
      return cond.ignoreCase
        ? value.toLowerCase().startsWith(cond.value.toLowerCase())
        : value.startsWith(cond.value);
    case 'regex':
      return fullMatch(cond.value, value);
  }
}

function pathPrefixElementWise(prefix: string, path: string): boolean {
  const p = prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return p === '/' || path === p || path.startsWith(`${p}/`);
}

export function blockMatches(block: MatchBlock, req: SimRequest): boolean {
  if (block.path) {
    const ok =
      block.path.type === 'prefix' && block.pathPrefixElementWise
        ? pathPrefixElementWise(block.path.value, req.path)
        : condMatches(block.path, req.path);
    if (!ok) return false;
  }
  if (block.method && !condMatches(block.method, req.method)) return false;
  if (block.authority && !condMatches(block.authority, req.authority)) return false;
  if (!block.headers.every((h) => condMatches(h.cond, req.headers[h.name]))) return false;
  if (block.withoutHeaders.some((h) => condMatches(h.cond, req.headers[h.name]))) return false;
  return block.query.every((q) => condMatches(q.cond, req.query[q.name]));
}

const ruleMatches = (rule: RouteRule, req: SimRequest): boolean =>
  rule.matches.length === 0 || rule.matches.some((m) => blockMatches(m, req));

function comparePrecedence(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Index of the rule that serves the request, or -1. Istio: the first http route (in order) whose match
 * matches. Gateway API: the most specific matching match across all rules (exact path, longest prefix,
 * method, most headers, most query params), ties broken by rule order.
 */
export function selectRule(flow: Flow, req: SimRequest): number {
  if (flow.kind === 'VirtualService') return flow.rules.findIndex((r) => ruleMatches(r, req));
  let best = -1;
  let bestPrec: number[] = [];
  flow.rules.forEach((rule, i) => {
    for (const m of rule.matches) {
      if (blockMatches(m, req) && (best < 0 || comparePrecedence(m.precedence, bestPrec) > 0)) {
        best = i;
        bestPrec = m.precedence;
      }
    }
  });
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// Requests

export function plainRequest(flow: Flow): SimRequest {
  return { method: 'GET', path: '/', authority: flow.authority, headers: {}, query: {} };
}

/** A value satisfying the condition (null if none found); `current` is kept when it already satisfies it. */
export function satisfyingValue(cond: StringCond, current?: string): string | null {
  if (current !== undefined && condMatches(cond, current)) return current;
  switch (cond.type) {
    case 'present':
      return current ?? '1';
    case 'exact':
    case 'prefix':
      return cond.value;
    case 'regex':
      return sampleRegex(cond.value);
  }
}

/** The base request changed just enough to satisfy the block, or null if the simulator cannot build one. */
export function satisfy(block: MatchBlock, base: SimRequest): SimRequest | null {
  const req: SimRequest = { ...base, headers: { ...base.headers }, query: { ...base.query } };
  for (const h of block.headers) {
    const v = satisfyingValue(h.cond, req.headers[h.name]);
    if (v === null) return null;
    req.headers[h.name] = v;
  }
  for (const q of block.query) {
    const v = satisfyingValue(q.cond, req.query[q.name]);
    if (v === null) return null;
    req.query[q.name] = v;
  }
  if (block.path) {
    const v = block.path.type === 'prefix' ? block.path.value : satisfyingValue(block.path, req.path);
    if (v === null) return null;
    req.path = v;
  }
  if (block.method) {
    const v = satisfyingValue(block.method, req.method);
    if (v === null) return null;
    req.method = v;
  }
  if (block.authority) {
    const v = satisfyingValue(block.authority, req.authority);
    if (v === null) return null;
    req.authority = v;
  }
  return blockMatches(block, req) ? req : null;
}

/**
 * The requests "matching users" send: one per match block the plain request does not already satisfy
 * (the A/B header/cookie routes). A user in the match share picks one of these.
 */
export function matchRequests(flow: Flow): SimRequest[] {
  const plain = plainRequest(flow);
  const out = new Map<string, SimRequest>();
  for (const rule of flow.rules) {
    for (const block of rule.matches) {
      if (blockMatches(block, plain)) continue;
      const req = satisfy(block, plain);
      if (req) out.set(JSON.stringify(req), req);
    }
  }
  return [...out.values()];
}

function condText(c: StringCond): string {
  return c.type === 'present' ? 'present' : `${c.type}:${c.value}`;
}

/** One-line description of a match block, for logs and /debug. */
export function describeMatch(block: MatchBlock): string {
  const parts: string[] = [];
  if (block.path && !(block.path.type === 'prefix' && block.path.value === '/'))
    parts.push(`path ${condText(block.path)}`);
  if (block.method) parts.push(`method ${condText(block.method)}`);
  if (block.authority) parts.push(`authority ${condText(block.authority)}`);
  for (const h of block.headers) parts.push(`${h.name} ${condText(h.cond)}`);
  for (const h of block.withoutHeaders) parts.push(`!${h.name} ${condText(h.cond)}`);
  for (const q of block.query) parts.push(`?${q.name} ${condText(q.cond)}`);
  return parts.length === 0 ? '*' : parts.join(' & ');
}
