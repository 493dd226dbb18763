// TrafficRouter for Istio: a VirtualService `<svc>` with weighted routes to `<svc>-primary`/`<svc>-canary`,
// optional A/B match route and mirroring. Written with server-side apply (field manager "fledge").
import type * as k8s from '@kubernetes/client-node';
import { applyCustomObject, readCustomObject } from '../kubernetes/client.js';
import type { RouteWeights, RouterTarget, TrafficRouter } from './router.js';

interface Destination {
  destination: { host: string; port?: { number: number } };
  weight?: number;
}
interface HttpRoute {
  name?: string;
  match?: Array<Record<string, unknown>>;
  route: Destination[];
  mirror?: { host: string; port?: { number: number } };
  mirrorPercentage?: { value: number };
}
interface VirtualService {
  spec?: { http?: HttpRoute[] };
}

const vsRef = (t: RouterTarget) => ({
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
  namespace: t.namespace,
  name: t.service,
});

export function buildVirtualService(t: RouterTarget, w: RouteWeights): object {
  const primary = `${t.service}-primary`;
  const canary = `${t.service}-canary`;
  const dest = (host: string, weight: number): Destination => ({ destination: { host, port: { number: t.port } }, weight });
  const main: HttpRoute = { name: 'primary', route: [dest(primary, w.primaryWeight), dest(canary, w.canaryWeight)] };
  if (w.mirrorPercent !== null) {
    main.mirror = { host: canary, port: { number: t.port } };
    main.mirrorPercentage = { value: w.mirrorPercent };
  }
  const http: HttpRoute[] = [];
  if (w.abMatch && t.match && t.match.length > 0) {
    http.push({ name: 'canary', match: t.match, route: [dest(canary, 100)] });
  }
  http.push(main);
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: t.service, namespace: t.namespace, labels: { 'app.kubernetes.io/managed-by': 'fledge' } },
    spec: { hosts: [t.service, ...(t.hosts ?? [])], ...(t.gateways ? { gateways: t.gateways } : {}), http },
  };
}

export function parseVirtualService(t: RouterTarget, vs: VirtualService): RouteWeights {
  const http = vs.spec?.http ?? [];
  const main = http.find((r) => !r.match) ?? http[http.length - 1];
  const weightOf = (suffix: string): number =>
    main?.route.find((d) => d.destination.host === `${t.service}${suffix}` || d.destination.host.startsWith(`${t.service}${suffix}.`))?.weight ?? 0;
  return {
    primaryWeight: weightOf('-primary'),
    canaryWeight: weightOf('-canary'),
    mirrorPercent: main?.mirror ? (main.mirrorPercentage?.value ?? 100) : null,
    abMatch: http.some((r) => r.match && r.route.some((d) => d.destination.host.startsWith(`${t.service}-canary`))),
  };
}

export function createIstioRouter(custom: k8s.CustomObjectsApi): TrafficRouter {
  const router: TrafficRouter = {
    kind: 'istio',
    async reconcile(t) {
      const existing = await readCustomObject<VirtualService>(custom, vsRef(t));
      const weights = existing ? parseVirtualService(t, existing) : { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false };
      await applyCustomObject(custom, vsRef(t), buildVirtualService(t, weights));
    },
    async setRoutes(t, w) {
      // The apply response is the object as stored: the read-back costs no extra request.
      const stored = await applyCustomObject<VirtualService>(custom, vsRef(t), buildVirtualService(t, w));
      return parseVirtualService(t, stored);
    },
    async getRoutes(t) {
      const vs = await readCustomObject<VirtualService>(custom, vsRef(t));
      if (!vs) throw new Error(`VirtualService ${t.namespace}/${t.service} not found`);
      return parseVirtualService(t, vs);
    },
  };
  return router;
}
