// The drop-in Flagger fields against the real local stack: the routes `analysis.sessionAffinity` writes are
// accepted by the apiserver's Istio and Gateway API CRD schemas and, read back, are routed by the mesh simulator's
// route engine as Flagger's are (a request carrying the canary cookie goes to the canary, the primary cookie to the
// primary, others by weight; at weight 0 the cookie is expired). The simulator does not emulate response headers
// (Set-Cookie), so the cookie a canary response sets is checked on the stored object. Also: `service.delegation`
// (no hosts/gateways, removed from an existing VirtualService), `service.portDiscovery` on the generated Services,
// and reading MetricTemplates/AlertProviders through the flagger-refs adapter (found, not found, refused).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { createIstioRouter } from '../../src/integrations/traffic/istio.js';
import { createGatewayApiRouter } from '../../src/integrations/traffic/gateway-api.js';
import { createRequestBudget } from '../../src/integrations/kubernetes/budget.js';
import { createWorkloadController } from '../../src/integrations/kubernetes/workloads.js';
import { createFlaggerRefLookup } from '../../src/integrations/kubernetes/flagger-refs.js';
import type { RouterTarget } from '../../src/integrations/traffic/router.js';
import { sessionAffinityRoutes } from '../../src/domain/manifest/session-affinity.js';
import {
  parseHttpRoute as simHttpRoute,
  parseVirtualService as simVirtualService,
  selectRule,
  type Flow,
  type SimRequest,
} from '../../src/dev/mesh-sim/routes.js';
import { deployment, kube, withNamespace, type KubeClients } from '../support/stack.js';

let c: KubeClients;
let ns: { name: string; cleanup: () => Promise<void> };
const budget = createRequestBudget({ qps: 1000, burst: 1000, max429Retries: 0 });

beforeAll(async () => {
  c = kube();
  ns = await withNamespace(c, 'it-dropin');
});
afterAll(async () => {
  await ns?.cleanup();
});

const affinity = sessionAffinityRoutes(
  { cookieName: 'canary-cookie', primaryCookieName: 'primary-cookie', maxAge: 600, path: '/', secure: true },
  'a1b2c3d4',
  15,
);

const request = (cookie?: string): SimRequest => ({
  method: 'GET',
  path: '/',
  authority: 'podinfo',
  headers: cookie ? { cookie } : {},
  query: {},
});

/** Where the simulator sends a request: the chosen rule's destinations as host → weight. */
function routed(flow: Flow, req: SimRequest): Record<string, number> {
  const rule = flow.rules[selectRule(flow, req)];
  return Object.fromEntries((rule?.destinations ?? []).map((d) => [d.host.split('.')[0] ?? '', d.weight]));
}

async function read(group: string, plural: string, name: string): Promise<Record<string, unknown>> {
  return (await c.custom.getNamespacedCustomObject({
    group,
    version: 'v1',
    namespace: ns.name,
    plural,
    name,
  })) as Record<string, unknown>;
}

describe('session affinity routes (Istio)', () => {
  const t = (): RouterTarget => ({
    namespace: ns.name,
    service: 'sticky',
    port: 9898,
    gateways: ['istio-system/public'],
    hosts: ['app.example.com'],
    options: { sessionAffinity: affinity },
  });

  it('while the canary has weight: cookie holders stick, canary responses set the cookie', async () => {
    const router = createIstioRouter(c.custom, budget);
    await router.reconcile(t());
    const w = { primaryWeight: 70, canaryWeight: 30, mirrorPercent: null, abMatch: false };
    expect(await router.setRoutes(t(), w)).toEqual(w);
    expect(await router.getRoutes(t())).toEqual(w);
    const stored = await read('networking.istio.io', 'virtualservices', 'sticky');
    const sim = simVirtualService(stored);
    if (!sim.ok) throw new Error(sim.error);
    expect(routed(sim.flow, request(`a=b; ${affinity.canary.cookie}`))).toEqual({
      'sticky-primary': 0,
      'sticky-canary': 100,
    });
    expect(routed(sim.flow, request(affinity.primary?.cookie))).toEqual({
      'sticky-primary': 100,
      'sticky-canary': 0,
    });
    expect(routed(sim.flow, request('other=1'))).toEqual({ 'sticky-primary': 70, 'sticky-canary': 30 });
    const http = (stored.spec as { http: Array<{ name: string; route: Array<Record<string, unknown>> }> })
      .http;
    const main = http.find((r) => r.name === 'primary');
    expect(main?.route.map((d) => d.headers)).toEqual([
      { response: { add: { 'Set-Cookie': 'primary-cookie=a1b2c3d4; Max-Age=15; Path=/; Secure' } } },
      { response: { add: { 'Set-Cookie': 'canary-cookie=a1b2c3d4; Max-Age=600; Path=/; Secure' } } },
    ]);
  });

  it('at weight 0 (promotion, rollback): the sticky routes go; a cookie holder is routed by weight and the cookie expired', async () => {
    const router = createIstioRouter(c.custom, budget);
    const w = { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false };
    expect(await router.setRoutes(t(), w)).toEqual(w);
    const stored = await read('networking.istio.io', 'virtualservices', 'sticky');
    const http = (stored.spec as { http: Array<Record<string, unknown>> }).http;
    expect(http.map((r) => r.name)).toEqual(['sticky-expire', 'primary']);
    expect(http[0]?.headers).toEqual({
      response: { add: { 'Set-Cookie': 'canary-cookie=a1b2c3d4; Max-Age=-1' } },
    });
    const sim = simVirtualService(stored);
    if (!sim.ok) throw new Error(sim.error);
    expect(routed(sim.flow, request(affinity.canary.cookie))).toEqual({
      'sticky-primary': 100,
      'sticky-canary': 0,
    });
    expect(selectRule(sim.flow, request(affinity.canary.cookie))).toBe(0);
    expect(selectRule(sim.flow, request())).toBe(1);
  });
});

describe('session affinity routes (Gateway API)', () => {
  const t = (): RouterTarget => ({
    namespace: ns.name,
    service: 'sticky-gw',
    port: 9898,
    hosts: ['app.example.com'],
    options: {
      gatewayRefs: [{ name: 'gateway', namespace: 'istio-ingress' }],
      sessionAffinity: affinity,
      headers: { response: { set: { 'x-served-by': 'fledge' } } },
    },
  });

  it('while the canary has weight, and at weight 0, as Flagger writes them', async () => {
    const router = createGatewayApiRouter(c.custom, budget);
    await router.reconcile(t());
    const w = { primaryWeight: 60, canaryWeight: 40, mirrorPercent: null, abMatch: false };
    expect(await router.setRoutes(t(), w)).toEqual(w);
    let stored = await read('gateway.networking.k8s.io', 'httproutes', 'sticky-gw');
    let sim = simHttpRoute(stored);
    if (!sim.ok) throw new Error(sim.error);
    expect(routed(sim.flow, request(`x=1; ${affinity.canary.cookie}; y=2`))).toEqual({
      'sticky-gw-primary': 0,
      'sticky-gw-canary': 100,
    });
    expect(routed(sim.flow, request(affinity.primary?.cookie))).toEqual({
      'sticky-gw-primary': 100,
      'sticky-gw-canary': 0,
    });
    expect(routed(sim.flow, request())).toEqual({ 'sticky-gw-primary': 60, 'sticky-gw-canary': 40 });
    const rules = (stored.spec as { rules: Array<{ backendRefs: Array<{ filters?: unknown }> }> }).rules;
    expect(rules.at(-1)?.backendRefs.map((b) => b.filters)).toEqual([
      [
        {
          type: 'ResponseHeaderModifier',
          responseHeaderModifier: {
            add: [{ name: 'Set-Cookie', value: 'primary-cookie=a1b2c3d4; Max-Age=15; Path=/; Secure' }],
          },
        },
      ],
      [
        {
          type: 'ResponseHeaderModifier',
          responseHeaderModifier: {
            add: [{ name: 'Set-Cookie', value: 'canary-cookie=a1b2c3d4; Max-Age=600; Path=/; Secure' }],
          },
        },
      ],
    ]);

    const zero = { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false };
    expect(await router.setRoutes(t(), zero)).toEqual(zero);
    stored = await read('gateway.networking.k8s.io', 'httproutes', 'sticky-gw');
    sim = simHttpRoute(stored);
    if (!sim.ok) throw new Error(sim.error);
    const after = (stored.spec as { rules: Array<{ filters?: Array<Record<string, unknown>> }> }).rules;
    expect(after).toHaveLength(2);
    // One ResponseHeaderModifier per rule (the CRD's rule): the service's header ops and the expiry together.
    expect(after[0]?.filters).toEqual([
      {
        type: 'ResponseHeaderModifier',
        responseHeaderModifier: {
          set: [{ name: 'x-served-by', value: 'fledge' }],
          add: [{ name: 'Set-Cookie', value: 'canary-cookie=a1b2c3d4; Max-Age=-1' }],
        },
      },
    ]);
    expect(selectRule(sim.flow, request(affinity.canary.cookie))).toBe(0);
    expect(routed(sim.flow, request(affinity.canary.cookie))).toEqual({
      'sticky-gw-primary': 100,
      'sticky-gw-canary': 0,
    });
  });
});

describe('service.delegation (Istio)', () => {
  it('writes a delegate VirtualService without hosts and gateways, removing those of an existing one', async () => {
    const router = createIstioRouter(c.custom, budget);
    const base: RouterTarget = {
      namespace: ns.name,
      service: 'delegate',
      port: 80,
      gateways: ['istio-system/public'],
      hosts: ['app.example.com'],
    };
    await router.reconcile(base);
    let vs = (await read('networking.istio.io', 'virtualservices', 'delegate')).spec as Record<
      string,
      unknown
    >;
    expect(vs.hosts).toEqual(['delegate', 'app.example.com']);
    await router.reconcile({ ...base, hosts: [], gateways: [], options: { delegation: true } });
    vs = (await read('networking.istio.io', 'virtualservices', 'delegate')).spec as Record<string, unknown>;
    expect(vs.hosts).toBeUndefined();
    expect(vs.gateways).toBeUndefined();
    expect(await router.getRoutes(base)).toMatchObject({ primaryWeight: 100, canaryWeight: 0 });
  });
});

describe('service.portDiscovery', () => {
  it('the generated Services expose every container port (Flagger names), sidecars and the main port excluded', async () => {
    const ctl = createWorkloadController(c.kc, budget);
    const d = deployment('multi', ns.name, 'ghcr.io/stefanprodan/podinfo:6.5.0', { app: 'multi' }, 1);
    const pod = d.spec?.template.spec;
    if (!pod) throw new Error('no pod spec');
    pod.containers = [
      {
        name: 'podinfod',
        image: 'ghcr.io/stefanprodan/podinfo:6.5.0',
        ports: [
          { name: 'http', containerPort: 9898 },
          { name: 'http-metrics', containerPort: 9797 },
          { containerPort: 9999 },
        ],
      },
      {
        name: 'istio-proxy',
        image: 'istio/proxyv2',
        ports: [{ name: 'http-envoy-prom', containerPort: 15090 }],
      },
    ];
    await c.apps.createNamespacedDeployment({ namespace: ns.name, body: d });
    const t = { namespace: ns.name, name: 'multi' };
    await ctl.ensureServices(t, { service: 'multi', port: 80, targetPort: 9898, portDiscovery: true });
    for (const name of ['multi', 'multi-primary', 'multi-canary']) {
      const svc = await c.core.readNamespacedService({ namespace: ns.name, name });
      expect(
        svc.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]),
        name,
      ).toEqual([
        ['http', 80, 9898],
        ['http-metrics', 9797, 9797],
        ['tcp-podinfod-2', 9999, 9999],
      ]);
    }
    // Turned off: the discovered ports go again (server-side apply drops what Fledge no longer writes).
    await ctl.ensureServices(t, { service: 'multi', port: 80, targetPort: 9898 });
    const svc = await c.core.readNamespacedService({ namespace: ns.name, name: 'multi' });
    expect(svc.spec?.ports?.map((p) => p.name)).toEqual(['http']);
  });
});

describe('MetricTemplates and AlertProviders read from the cluster (flagger-refs adapter)', () => {
  it('finds one, reports a missing one as not found, and a refused read with its reason', async () => {
    await c.custom.createNamespacedCustomObject({
      group: 'flagger.app',
      version: 'v1beta1',
      namespace: ns.name,
      plural: 'metrictemplates',
      body: {
        apiVersion: 'flagger.app/v1beta1',
        kind: 'MetricTemplate',
        metadata: { name: 'error-rate', namespace: ns.name },
        spec: { provider: { type: 'prometheus' }, query: 'vector(1)' },
      },
    });
    const lookup = createFlaggerRefLookup(c.kc);
    const [found, missing] = await lookup([
      { kind: 'MetricTemplate', namespace: ns.name, name: 'error-rate' },
      { kind: 'AlertProvider', namespace: ns.name, name: 'on-call' },
    ]);
    expect(found).toMatchObject({ outcome: 'found', object: { spec: { query: 'vector(1)' } } });
    expect(missing).toEqual({
      kind: 'AlertProvider',
      namespace: ns.name,
      name: 'on-call',
      outcome: 'not-found',
    });

    // A service account without RBAC on them: forbidden, named.
    await c.core.createNamespacedServiceAccount({
      namespace: ns.name,
      body: { metadata: { name: 'nobody' } },
    });
    const token = await c.core.createNamespacedServiceAccountToken({
      namespace: ns.name,
      name: 'nobody',
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const refused = await createFlaggerRefLookup(asToken(c.kc, token.status?.token ?? ''))([
      { kind: 'MetricTemplate', namespace: ns.name, name: 'error-rate' },
    ]);
    expect(refused[0]).toMatchObject({ outcome: 'error' });
    expect((refused[0] as { reason: string }).reason).toMatch(
      new RegExp(
        `^forbidden \\(HTTP 403\\): the caller may not get metrictemplates.flagger.app in namespace \`${ns.name}\``,
      ),
    );
  });
});

/** The same apiserver, authenticated with a bearer token instead. */
function asToken(kc: k8s.KubeConfig, token: string): k8s.KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  const out = new k8s.KubeConfig();
  out.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'nobody', token }],
    contexts: [{ name: 'nobody', cluster: cluster.name, user: 'nobody' }],
    currentContext: 'nobody',
  });
  return out;
}
