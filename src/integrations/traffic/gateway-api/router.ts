// TrafficRouter for the Gateway API (gateway.networking.k8s.io/v1): an HTTPRoute `<svc>` whose default rule has
// weighted backendRefs `<svc>-primary`/`<svc>-canary`; A/B adds a first rule with header matches to the canary;
// mirroring uses the RequestMirror filter with `percent`. Server-side apply, read back after every write.
import type * as k8s from '@kubernetes/client-node';
import { applyCustomObject, readCustomObject, type CustomResourceRef } from '../../kubernetes/client.js';
import type { RequestBudget } from '../../kubernetes/budget.js';
import type { HeaderMatch, RouteWeights, RouterTarget, TrafficRouter } from '../router.js';

interface BackendRef {
  name: string;
  port?: number;
  weight?: number;
  filters?: Array<Record<string, unknown>>;
}
interface Rule {
  matches?: Array<Record<string, unknown>>;
  backendRefs?: BackendRef[];
  filters?: Array<
    { type: string; requestMirror?: { backendRef: BackendRef; percent?: number } } & Record<string, unknown>
  >;
}
interface HttpRoute {
  spec?: { rules?: Rule[] };
}

const ref = (t: RouterTarget) => ({
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
  namespace: t.namespace,
  name: t.service,
});

/** Istio-style header match → Gateway API header matches (Exact / RegularExpression; prefix as a regex). */
export function headerMatches(
  headers: Record<string, HeaderMatch>,
): Array<{ name: string; type: string; value: string }> {
  return Object.entries(headers).map(([name, m]) => {
    if (m.exact !== undefined) return { name, type: 'Exact', value: m.exact };
    if (m.regex !== undefined) return { name, type: 'RegularExpression', value: m.regex };
    const prefix = (m.prefix ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return { name, type: 'RegularExpression', value: `^${prefix}.*` };
  });
}

type StringMatch = { exact?: string; prefix?: string; regex?: string };

/** An Istio-style HTTPMatchRequest (the Canary's format) as a Gateway API HTTPRouteMatch. */
export function toGatewayMatch(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const uri = m.uri as StringMatch | undefined;
  if (uri?.exact !== undefined) out.path = { type: 'Exact', value: uri.exact };
  else if (uri?.prefix !== undefined) out.path = { type: 'PathPrefix', value: uri.prefix };
  else if (uri?.regex !== undefined) out.path = { type: 'RegularExpression', value: uri.regex };
  else out.path = { type: 'PathPrefix', value: '/' };
  if (m.headers) out.headers = headerMatches(m.headers as Record<string, HeaderMatch>);
  if (m.queryParams) out.queryParams = headerMatches(m.queryParams as Record<string, HeaderMatch>);
  const method = m.method as StringMatch | undefined;
  if (method?.exact) out.method = method.exact;
  return out;
}

type HeaderOps = { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] };
const headerModifier = (ops: HeaderOps): Record<string, unknown> => ({
  ...(ops.set ? { set: Object.entries(ops.set).map(([name, value]) => ({ name, value })) } : {}),
  ...(ops.add ? { add: Object.entries(ops.add).map(([name, value]) => ({ name, value })) } : {}),
  ...(ops.remove ? { remove: ops.remove } : {}),
});

/** Filters and timeouts every rule carries, from the Canary's service block. */
function ruleSettings(t: RouterTarget): { filters: Rule['filters']; extra: Record<string, unknown> } {
  const o = t.options ?? {};
  const filters: NonNullable<Rule['filters']> = [];
  const headers = o.headers as { request?: HeaderOps; response?: HeaderOps } | undefined;
  if (headers?.request)
    filters.push({ type: 'RequestHeaderModifier', requestHeaderModifier: headerModifier(headers.request) });
  if (headers?.response)
    filters.push({
      type: 'ResponseHeaderModifier',
      responseHeaderModifier: headerModifier(headers.response),
    });
  const rw = o.rewrite as
    { uri?: string; authority?: string; type?: 'ReplaceFullPath' | 'ReplacePrefixMatch' } | undefined;
  if (rw && (rw.uri !== undefined || rw.authority !== undefined)) {
    const type = rw.type ?? 'ReplacePrefixMatch';
    filters.push({
      type: 'URLRewrite',
      urlRewrite: {
        ...(rw.authority !== undefined ? { hostname: rw.authority } : {}),
        ...(rw.uri !== undefined
          ? {
              path:
                type === 'ReplaceFullPath'
                  ? { type, replaceFullPath: rw.uri }
                  : { type, replacePrefixMatch: rw.uri },
            }
          : {}),
      },
    });
  }
  for (const m of o.mirrors ?? [])
    filters.push({ type: 'RequestMirror', requestMirror: m as { backendRef: BackendRef } });
  // Flagger's makeHTTPRouteTimeouts: `timeout` → request, `backendTimeout` → backendRequest, on every rule.
  const timeouts = {
    ...(o.timeout ? { request: o.timeout } : {}),
    ...(o.backendTimeout ? { backendRequest: o.backendTimeout } : {}),
  };
  return { filters, extra: Object.keys(timeouts).length > 0 ? { timeouts } : {} };
}

export function buildHttpRoute(t: RouterTarget, w: RouteWeights): object {
  const primary = `${t.service}-primary`;
  const canary = `${t.service}-canary`;
  const settings = ruleSettings(t);
  const serviceMatches = (t.options?.match ?? []).map(toGatewayMatch);
  const main: Rule = {
    matches: serviceMatches.length > 0 ? serviceMatches : [{ path: { type: 'PathPrefix', value: '/' } }],
    ...settings.extra,
    backendRefs: [
      { name: primary, port: t.port, weight: w.primaryWeight },
      { name: canary, port: t.port, weight: w.canaryWeight },
    ],
  };
  main.filters = [...(settings.filters ?? [])];
  if (w.mirrorPercent !== null) {
    main.filters.push({
      type: 'RequestMirror',
      requestMirror: { backendRef: { name: canary, port: t.port }, percent: w.mirrorPercent },
    });
  }
  if (main.filters.length === 0) delete main.filters;
  const rules: Rule[] = [];
  if (w.abMatch && t.match && t.match.length > 0) {
    rules.push({
      matches: t.match.map((m) => toGatewayMatch(m)),
      ...settings.extra,
      ...(settings.filters && settings.filters.length > 0 ? { filters: settings.filters } : {}),
      backendRefs: [{ name: canary, port: t.port, weight: 100 }],
    });
  }
  const affinity = t.options?.sessionAffinity;
  if (affinity && !(w.abMatch && t.match && t.match.length > 0))
    rules.push(...stickyRules(t, w, main, settings, affinity));
  rules.push(main);
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name: t.service,
      namespace: t.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'fledge' },
    },
    spec: {
      parentRefs:
        t.options?.gatewayRefs && t.options.gatewayRefs.length > 0
          ? t.options.gatewayRefs
          : (t.gateways ?? []).map((g) => {
              const [gwNs, gwName] = g.includes('/') ? g.split('/', 2) : [undefined, g];
              return { name: gwName, ...(gwNs ? { namespace: gwNs } : {}) };
            }),
      ...(t.hosts && t.hosts.length > 0 ? { hostnames: t.hosts } : {}),
      rules,
    },
  };
}

type StickyCookies = NonNullable<NonNullable<RouterTarget['options']>['sessionAffinity']>;

const setCookieFilter = (value: string): Record<string, unknown> => ({
  type: 'ResponseHeaderModifier',
  responseHeaderModifier: { add: [{ name: 'Set-Cookie', value }] },
});

/** A request whose `Cookie` header matches `regex`, over each `service.match` (Flagger: headers replaced). */
function cookieMatches(t: RouterTarget, regex: string): Array<Record<string, unknown>> {
  const header = { name: 'Cookie', type: 'RegularExpression', value: regex };
  const service = (t.options?.match ?? []).map(toGatewayMatch);
  return service.length === 0
    ? [{ path: { type: 'PathPrefix', value: '/' }, headers: [header] }]
    : service.map((m) => ({ ...m, headers: [header] }));
}

/**
 * Flagger's session-affinity rules (pkg/router/gateway_api.go getSessionAffinityRouteRules), placed before the
 * weighted rule `main` (whose backendRefs get the Set-Cookie filters while the canary has weight).
 */
function stickyRules(
  t: RouterTarget,
  w: RouteWeights,
  main: Rule,
  settings: { filters: Rule['filters']; extra: Record<string, unknown> },
  affinity: StickyCookies,
): Rule[] {
  const primary = `${t.service}-primary`;
  const canary = `${t.service}-canary`;
  const filters = settings.filters ?? [];
  const withFilters = (f: NonNullable<Rule['filters']>) => (f.length > 0 ? { filters: f } : {});
  if (w.canaryWeight !== 0) {
    for (const ref of main.backendRefs ?? []) {
      if (ref.name === canary) ref.filters = [setCookieFilter(affinity.canary.setCookie)];
      if (ref.name === primary && affinity.primary)
        ref.filters = [setCookieFilter(affinity.primary.setCookie)];
    }
    const out: Rule[] = [
      {
        matches: cookieMatches(t, affinity.canary.match),
        ...settings.extra,
        ...withFilters(filters),
        backendRefs: [
          { name: primary, port: t.port, weight: 0 },
          { name: canary, port: t.port, weight: 100 },
        ],
      },
    ];
    if (affinity.primary)
      out.push({
        matches: cookieMatches(t, affinity.primary.match),
        ...settings.extra,
        ...withFilters(filters),
        backendRefs: [
          { name: primary, port: t.port, weight: 100 },
          { name: canary, port: t.port, weight: 0 },
        ],
      });
    return out;
  }
  // No canary traffic: a request still carrying the canary cookie is told to drop it (Max-Age=-1). One
  // ResponseHeaderModifier per rule (the CRD's rule): merged with service.headers.response if there is one.
  const expire = { name: 'Set-Cookie', value: affinity.expire };
  const existing = filters.find((f) => f.type === 'ResponseHeaderModifier');
  const merged = existing
    ? filters.map((f) => {
        if (f !== existing) return f;
        const m = (f.responseHeaderModifier ?? {}) as { add?: Array<Record<string, string>> };
        return { ...f, responseHeaderModifier: { ...m, add: [...(m.add ?? []), expire] } };
      })
    : [...filters, setCookieFilter(affinity.expire)];
  type Filters = NonNullable<Rule['filters']>;
  return [
    {
      matches: cookieMatches(t, affinity.canary.match),
      ...settings.extra,
      filters: merged as Filters,
      backendRefs: [
        { name: primary, port: t.port, weight: w.primaryWeight },
        { name: canary, port: t.port, weight: w.canaryWeight },
      ],
    },
  ];
}

export function parseHttpRoute(t: RouterTarget, route: HttpRoute): RouteWeights {
  const rules = route.spec?.rules ?? [];
  const isCanaryOnly = (r: Rule) =>
    (r.backendRefs ?? []).length === 1 && r.backendRefs?.[0]?.name === `${t.service}-canary`;
  // The weighted rule is the last one Fledge writes (A/B and session-affinity rules come first).
  const main = [...rules].reverse().find((r) => !isCanaryOnly(r)) ?? rules[rules.length - 1];
  const weightOf = (name: string): number => main?.backendRefs?.find((b) => b.name === name)?.weight ?? 0;
  const mirror = main?.filters?.find((f) => f.type === 'RequestMirror');
  return {
    primaryWeight: weightOf(`${t.service}-primary`),
    canaryWeight: weightOf(`${t.service}-canary`),
    mirrorPercent: mirror ? (mirror.requestMirror?.percent ?? 100) : null,
    abMatch: rules.some(isCanaryOnly),
  };
}

/** Every request goes through `budget` (the worker's shared QPS/burst limit, 429 Retry-After). */
export function createGatewayApiRouter(custom: k8s.CustomObjectsApi, budget: RequestBudget): TrafficRouter {
  const apply = <T extends object>(ref: CustomResourceRef, body: object): Promise<T> =>
    budget.call(() => applyCustomObject<T>(custom, ref, body));
  const read = <T extends object>(ref: CustomResourceRef): Promise<T | undefined> =>
    budget.call(() => readCustomObject<T>(custom, ref));
  const router: TrafficRouter = {
    kind: 'gatewayapi:v1',
    async reconcile(t) {
      const existing = await read<HttpRoute>(ref(t));
      const weights = existing
        ? parseHttpRoute(t, existing)
        : { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false };
      await apply(ref(t), buildHttpRoute(t, weights));
    },
    async setRoutes(t, w) {
      // The apply response is the object as stored: the read-back costs no extra request.
      const stored = await apply<HttpRoute>(ref(t), buildHttpRoute(t, w));
      return parseHttpRoute(t, stored);
    },
    async getRoutes(t) {
      const r = await read<HttpRoute>(ref(t));
      if (!r) throw new Error(`HTTPRoute ${t.namespace}/${t.service} not found`);
      return parseHttpRoute(t, r);
    },
  };
  return router;
}
