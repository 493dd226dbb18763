// TrafficRouter for the Gateway API (gateway.networking.k8s.io/v1): an HTTPRoute `<svc>` whose default rule has
// weighted backendRefs `<svc>-primary`/`<svc>-canary`; A/B adds a first rule with header matches to the canary;
// mirroring uses the RequestMirror filter with `percent`. Server-side apply, read back after every write.
import type * as k8s from '@kubernetes/client-node';
import { applyCustomObject, readCustomObject } from '../kubernetes/client.js';
import type { HeaderMatch, RouteWeights, RouterTarget, TrafficRouter } from './router.js';

interface BackendRef {
  name: string;
  port?: number;
  weight?: number;
}
interface Rule {
  matches?: Array<Record<string, unknown>>;
  backendRefs?: BackendRef[];
  filters?: Array<{ type: string; requestMirror?: { backendRef: BackendRef; percent?: number } }>;
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
export function headerMatches(headers: Record<string, HeaderMatch>): Array<{ name: string; type: string; value: string }> {
  return Object.entries(headers).map(([name, m]) => {
    if (m.exact !== undefined) return { name, type: 'Exact', value: m.exact };
    if (m.regex !== undefined) return { name, type: 'RegularExpression', value: m.regex };
    const prefix = (m.prefix ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return { name, type: 'RegularExpression', value: `^${prefix}.*` };
  });
}

export function buildHttpRoute(t: RouterTarget, w: RouteWeights): object {
  const primary = `${t.service}-primary`;
  const canary = `${t.service}-canary`;
  const main: Rule = {
    matches: [{ path: { type: 'PathPrefix', value: '/' } }],
    backendRefs: [
      { name: primary, port: t.port, weight: w.primaryWeight },
      { name: canary, port: t.port, weight: w.canaryWeight },
    ],
  };
  if (w.mirrorPercent !== null) {
    main.filters = [{ type: 'RequestMirror', requestMirror: { backendRef: { name: canary, port: t.port }, percent: w.mirrorPercent } }];
  }
  const rules: Rule[] = [];
  if (w.abMatch && t.match && t.match.length > 0) {
    rules.push({
      matches: t.match.map((m) => ({ path: { type: 'PathPrefix', value: '/' }, headers: headerMatches(m.headers ?? {}) })),
      backendRefs: [{ name: canary, port: t.port, weight: 100 }],
    });
  }
  rules.push(main);
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: t.service, namespace: t.namespace, labels: { 'app.kubernetes.io/managed-by': 'fledge' } },
    spec: {
      parentRefs: (t.gateways ?? []).map((g) => {
        const [gwNs, gwName] = g.includes('/') ? g.split('/', 2) : [undefined, g];
        return { name: gwName, ...(gwNs ? { namespace: gwNs } : {}) };
      }),
      ...(t.hosts && t.hosts.length > 0 ? { hostnames: t.hosts } : {}),
      rules,
    },
  };
}

export function parseHttpRoute(t: RouterTarget, route: HttpRoute): RouteWeights {
  const rules = route.spec?.rules ?? [];
  const isCanaryOnly = (r: Rule) => (r.backendRefs ?? []).every((b) => b.name === `${t.service}-canary`) && (r.matches ?? []).some((m) => 'headers' in m);
  const main = rules.find((r) => !isCanaryOnly(r)) ?? rules[rules.length - 1];
  const weightOf = (name: string): number => main?.backendRefs?.find((b) => b.name === name)?.weight ?? 0;
  const mirror = main?.filters?.find((f) => f.type === 'RequestMirror');
  return {
    primaryWeight: weightOf(`${t.service}-primary`),
    canaryWeight: weightOf(`${t.service}-canary`),
    mirrorPercent: mirror ? (mirror.requestMirror?.percent ?? 100) : null,
    abMatch: rules.some(isCanaryOnly),
  };
}

export function createGatewayApiRouter(custom: k8s.CustomObjectsApi): TrafficRouter {
  const router: TrafficRouter = {
    kind: 'gatewayapi:v1',
    async reconcile(t) {
      const existing = await readCustomObject<HttpRoute>(custom, ref(t));
      const weights = existing ? parseHttpRoute(t, existing) : { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false };
      await applyCustomObject(custom, ref(t), buildHttpRoute(t, weights));
    },
    async setRoutes(t, w) {
      // The apply response is the object as stored: the read-back costs no extra request.
      const stored = await applyCustomObject<HttpRoute>(custom, ref(t), buildHttpRoute(t, w));
      return parseHttpRoute(t, stored);
    },
    async getRoutes(t) {
      const r = await readCustomObject<HttpRoute>(custom, ref(t));
      if (!r) throw new Error(`HTTPRoute ${t.namespace}/${t.service} not found`);
      return parseHttpRoute(t, r);
    },
  };
  return router;
}
