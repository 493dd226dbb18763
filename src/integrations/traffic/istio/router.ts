// TrafficRouter for Istio: a VirtualService `<svc>` with weighted routes to `<svc>-primary`/`<svc>-canary`,
// optional A/B match route and mirroring, carrying the Canary's service settings (service.match, timeout,
// retries, headers, corsPolicy, rewrite, gateways, hosts); DestinationRules `<svc>-primary`/`<svc>-canary`
// carry `service.trafficPolicy`. Server-side apply (field manager "fledge"); weights are read back from the
// apply response, so a weight change costs one request.
import type * as k8s from '@kubernetes/client-node';
import { applyCustomObject, readCustomObject, type CustomResourceRef } from '../../kubernetes/client.js';
import type { RequestBudget } from '../../kubernetes/budget.js';
import type { RouteWeights, RouterTarget, TrafficRouter } from '../router.js';

interface Destination {
  destination: { host: string; port?: { number: number } };
  weight?: number;
  headers?: { response?: { add?: Record<string, string> } };
}
interface HttpRoute {
  name?: string;
  match?: Array<Record<string, unknown>>;
  route: Destination[];
  mirror?: { host: string; port?: { number: number } };
  mirrorPercentage?: { value: number };
  [option: string]: unknown;
}
interface TcpRoute {
  match?: Array<{ port?: number }>;
  route: Destination[];
}
interface VirtualService {
  spec?: { http?: HttpRoute[]; tcp?: TcpRoute[] };
}

const vsRef = (t: RouterTarget) => ({
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
  namespace: t.namespace,
  name: t.service,
});
const drRef = (t: RouterTarget, host: string) => ({
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'destinationrules',
  namespace: t.namespace,
  name: host,
});
const managed = { 'app.kubernetes.io/managed-by': 'fledge' };

/** Per-route settings from the Canary's service block (Istio HTTPRoute fields). */
function routeSettings(t: RouterTarget): Record<string, unknown> {
  const o = t.options ?? {};
  return {
    ...(o.rewrite ? { rewrite: o.rewrite } : {}),
    ...(o.timeout ? { timeout: o.timeout } : {}),
    ...(o.retries ? { retries: o.retries } : {}),
    ...(o.headers ? { headers: o.headers } : {}),
    ...(o.corsPolicy ? { corsPolicy: o.corsPolicy } : {}),
  };
}

/** Names of the session-affinity rules (Flagger's are unnamed; the names let the parser skip them). */
export const stickyRuleNames = {
  canary: 'sticky-canary',
  primary: 'sticky-primary',
  expire: 'sticky-expire',
} as const;

/**
 * A match on the request's `Cookie` header, over each `service.match` condition (Flagger's mergeMatchConditions:
 * the condition's headers replaced by the cookie's).
 */
function cookieMatch(t: RouterTarget, regex: string): Array<Record<string, unknown>> {
  const cookie = { headers: { Cookie: { regex } } };
  const serviceMatch = t.options?.match ?? [];
  return serviceMatch.length === 0 ? [cookie] : serviceMatch.map((m) => ({ ...m, ...cookie }));
}

const setCookie = (value: string): Destination['headers'] => ({
  response: { add: { 'Set-Cookie': value } },
});

/**
 * The VirtualService's hosts, as Flagger's reconcileVirtualService: `service.hosts` plus the apex Service's name
 * unless a host already is it or `*`. (The apex comes first, as Fledge always wrote it.)
 */
export function virtualServiceHosts(t: RouterTarget): string[] {
  const hosts = [...new Set(t.hosts ?? [])];
  if (hosts.includes('*')) return hosts;
  return [t.service, ...hosts.filter((h) => h !== t.service)];
}

/**
 * Flagger's TCP route (pkg/router/istio.go isTcp, canaryToL4Match): the weighted destinations, matched on the ports
 * of `service.match` when it names any. No HTTP settings, no mirror, no A/B or cookie rules.
 */
function tcpRoutes(t: RouterTarget, w: RouteWeights): TcpRoute[] {
  const ports = (t.options?.match ?? [])
    .map((m) => m.port)
    .filter((p): p is number => typeof p === 'number' && p > 0);
  const dest = (host: string, weight: number): Destination => ({
    destination: { host, port: { number: t.port } },
    weight,
  });
  return [
    {
      ...(ports.length > 0 ? { match: ports.map((port) => ({ port })) } : {}),
      route: [dest(`${t.service}-primary`, w.primaryWeight), dest(`${t.service}-canary`, w.canaryWeight)],
    },
  ];
}

export function buildVirtualService(t: RouterTarget, w: RouteWeights): object {
  const primary = `${t.service}-primary`;
  const canary = `${t.service}-canary`;
  const delegate = t.options?.delegation === true;
  const placement = {
    ...(delegate ? {} : { hosts: virtualServiceHosts(t) }),
    ...(!delegate && t.gateways && t.gateways.length > 0 ? { gateways: t.gateways } : {}),
  };
  const metadata = { name: t.service, namespace: t.namespace, labels: managed };
  if (t.options?.tcp === true)
    return {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata,
      spec: { ...placement, tcp: tcpRoutes(t, w) },
    };
  const dest = (host: string, weight: number): Destination => ({
    destination: { host, port: { number: t.port } },
    weight,
  });
  const serviceMatch = t.options?.match && t.options.match.length > 0 ? { match: t.options.match } : {};
  const main: HttpRoute = {
    name: 'primary',
    ...serviceMatch,
    ...routeSettings(t),
    route: [dest(primary, w.primaryWeight), dest(canary, w.canaryWeight)],
  };
  if (w.mirrorPercent !== null) {
    main.mirror = { host: canary, port: { number: t.port } };
    main.mirrorPercentage = { value: w.mirrorPercent };
  }
  const http: HttpRoute[] = [];
  if (w.abMatch && t.match && t.match.length > 0) {
    // The A/B match conditions are already merged with service.match by the spec compiler.
    http.push({ name: 'canary', match: t.match, ...routeSettings(t), route: [dest(canary, 100)] });
  }
  const affinity = t.options?.sessionAffinity;
  if (affinity && !(w.abMatch && t.match && t.match.length > 0)) {
    // Flagger's "Canary Release with Session Affinity" (pkg/router/istio.go getSessionAffinityRouteRules).
    if (w.canaryWeight !== 0) {
      // The canary's responses (weighted rule) set its cookie; requests carrying it stay on the canary.
      const [p, c] = main.route as [Destination, Destination];
      c.headers = setCookie(affinity.canary.setCookie);
      if (affinity.primary) p.headers = setCookie(affinity.primary.setCookie);
      http.push({
        name: stickyRuleNames.canary,
        match: cookieMatch(t, affinity.canary.match),
        ...routeSettings(t),
        route: [dest(primary, 0), dest(canary, 100)],
      });
      if (affinity.primary)
        http.push({
          name: stickyRuleNames.primary,
          match: cookieMatch(t, affinity.primary.match),
          ...routeSettings(t),
          route: [dest(primary, 100), dest(canary, 0)],
        });
    } else {
      // No canary traffic (before the first step, after promotion or rollback): a request still carrying the
      // canary cookie is routed like any other and told to drop the cookie (Max-Age=-1).
      const settings = routeSettings(t);
      const headers = (settings.headers ?? {}) as { response?: { add?: Record<string, string> } };
      http.push({
        name: stickyRuleNames.expire,
        match: cookieMatch(t, affinity.canary.match),
        ...settings,
        headers: {
          ...headers,
          response: {
            ...(headers.response ?? {}),
            add: { ...(headers.response?.add ?? {}), 'Set-Cookie': affinity.expire },
          },
        },
        route: [dest(primary, w.primaryWeight), dest(canary, w.canaryWeight)],
      });
    }
  }
  http.push(main);
  // Delegation (Flagger: service.delegation): a delegate VirtualService has neither hosts nor gateways.
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata,
    spec: { ...placement, http },
  };
}

export function buildDestinationRule(t: RouterTarget, host: string): object {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: host, namespace: t.namespace, labels: managed },
    spec: { host, ...(t.options?.trafficPolicy ? { trafficPolicy: t.options.trafficPolicy } : {}) },
  };
}

export function parseVirtualService(t: RouterTarget, vs: VirtualService): RouteWeights {
  if (t.options?.tcp === true) {
    // Flagger's GetRoutes for TCP: the tcp route that has the canary; never mirrored, no A/B rule.
    const route = (vs.spec?.tcp ?? []).find((r) =>
      r.route.some((d) => d.destination.host === `${t.service}-canary`),
    );
    const weight = (host: string) => route?.route.find((d) => d.destination.host === host)?.weight ?? 0;
    return {
      primaryWeight: weight(`${t.service}-primary`),
      canaryWeight: weight(`${t.service}-canary`),
      mirrorPercent: null,
      abMatch: false,
    };
  }
  // Session-affinity rules route by cookie; the weights are the weighted rule's.
  const sticky = new Set<string>(Object.values(stickyRuleNames));
  const http = (vs.spec?.http ?? []).filter((r) => !sticky.has(r.name ?? ''));
  const isCanaryOnly = (r: HttpRoute): boolean =>
    r.name === 'canary' ||
    (r.route.length === 1 && r.route[0]?.destination.host.startsWith(`${t.service}-canary`) === true);
  const main = http.find((r) => !isCanaryOnly(r)) ?? http[http.length - 1];
  const weightOf = (suffix: string): number =>
    main?.route.find(
      (d) =>
        d.destination.host === `${t.service}${suffix}` ||
        d.destination.host.startsWith(`${t.service}${suffix}.`),
    )?.weight ?? 0;
  return {
    primaryWeight: weightOf('-primary'),
    canaryWeight: weightOf('-canary'),
    mirrorPercent: main?.mirror ? (main.mirrorPercentage?.value ?? 100) : null,
    abMatch: http.some((r) => r !== main && isCanaryOnly(r)),
  };
}

/** Every request goes through `budget` (the worker's shared QPS/burst limit, 429 Retry-After). */
export function createIstioRouter(custom: k8s.CustomObjectsApi, budget: RequestBudget): TrafficRouter {
  const apply = <T extends object>(ref: CustomResourceRef, body: object): Promise<T> =>
    budget.call(() => applyCustomObject<T>(custom, ref, body));
  const read = <T extends object>(ref: CustomResourceRef): Promise<T | undefined> =>
    budget.call(() => readCustomObject<T>(custom, ref));
  const router: TrafficRouter = {
    kind: 'istio',
    async reconcile(t) {
      for (const host of [`${t.service}-primary`, `${t.service}-canary`]) {
        await apply(drRef(t, host), buildDestinationRule(t, host));
      }
      const existing = await read<VirtualService>(vsRef(t));
      const weights = existing
        ? parseVirtualService(t, existing)
        : { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false };
      await apply(vsRef(t), buildVirtualService(t, weights));
    },
    async setRoutes(t, w) {
      // The apply response is the object as stored: the read-back costs no extra request.
      const stored = await apply<VirtualService>(vsRef(t), buildVirtualService(t, w));
      return parseVirtualService(t, stored);
    },
    async getRoutes(t) {
      const vs = await read<VirtualService>(vsRef(t));
      if (!vs) throw new Error(`VirtualService ${t.namespace}/${t.service} not found`);
      return parseVirtualService(t, vs);
    },
  };
  return router;
}
