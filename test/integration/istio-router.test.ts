// The Istio TrafficRouter against the real apiserver with Istio's CRDs (schema-validated writes, read-back).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIstioRouter } from '../../src/integrations/traffic/istio.js';
import { createRequestBudget, type RequestBudget } from '../../src/integrations/kubernetes/budget.js';
import type { RouterTarget, TrafficRouter } from '../../src/integrations/traffic/router.js';
import { kube, withNamespace, type KubeClients } from '../support/stack.js';

let c: KubeClients;
let ns: { name: string; cleanup: () => Promise<void> };
let router: TrafficRouter;
let t: RouterTarget;
let budget: RequestBudget;

beforeAll(async () => {
  c = kube();
  ns = await withNamespace(c, 'it-istio');
  budget = createRequestBudget({ qps: 1000, burst: 1000, max429Retries: 0 });
  router = createIstioRouter(c.custom, budget);
  t = {
    namespace: ns.name,
    service: 'podinfo',
    port: 9898,
    match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
  };
});
afterAll(async () => {
  await ns?.cleanup();
});

describe('Istio router', () => {
  it('creates the VirtualService at 100% primary and keeps existing weights on reconcile', async () => {
    await router.reconcile(t);
    expect(await router.getRoutes(t)).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrorPercent: null,
      abMatch: false,
    });
    await router.setRoutes(t, { primaryWeight: 70, canaryWeight: 30, mirrorPercent: null, abMatch: false });
    await router.reconcile(t);
    expect((await router.getRoutes(t)).canaryWeight).toBe(30);
  });

  it('writes weights, mirroring and the A/B match route and reads them back', async () => {
    expect(
      await router.setRoutes(t, { primaryWeight: 90, canaryWeight: 10, mirrorPercent: null, abMatch: false }),
    ).toEqual({
      primaryWeight: 90,
      canaryWeight: 10,
      mirrorPercent: null,
      abMatch: false,
    });
    expect(
      await router.setRoutes(t, { primaryWeight: 100, canaryWeight: 0, mirrorPercent: 25, abMatch: false }),
    ).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrorPercent: 25,
      abMatch: false,
    });
    expect(
      await router.setRoutes(t, { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: true }),
    ).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrorPercent: null,
      abMatch: true,
    });
    const vs = (await c.custom.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'virtualservices',
      namespace: ns.name,
      name: 'podinfo',
    })) as { spec: { http: Array<{ match?: unknown[]; mirror?: unknown }> } };
    expect(vs.spec.http).toHaveLength(2);
    expect(vs.spec.http[0]?.match).toEqual([{ headers: { 'x-canary': { exact: 'insider' } } }]);
    // Turning A/B and mirroring off removes the match route and the mirror (no stale fields owned by Fledge).
    await router.setRoutes(t, { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false });
    const after = (await c.custom.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'virtualservices',
      namespace: ns.name,
      name: 'podinfo',
    })) as { spec: { http: Array<{ match?: unknown[]; mirror?: unknown }> } };
    expect(after.spec.http).toHaveLength(1);
    expect(after.spec.http[0]?.mirror).toBeUndefined();
  });
});

describe('Istio router with the Canary service settings', () => {
  it('writes service.match, timeout, retries, headers, corsPolicy, rewrite and DestinationRules with trafficPolicy that the CRD schema accepts', async () => {
    const full: RouterTarget = {
      namespace: ns.name,
      service: 'web',
      port: 80,
      hosts: ['web.example.com'],
      gateways: ['istio-system/public'],
      match: [{ headers: { 'x-canary': { exact: 'insider' } }, uri: { prefix: '/api' } }],
      options: {
        match: [{ uri: { prefix: '/api' } }],
        timeout: '5s',
        retries: { attempts: 3, perTryTimeout: '1s', retryOn: 'gateway-error,connect-failure' },
        headers: { request: { add: { 'x-release': 'fledge' } }, response: { remove: ['x-powered-by'] } },
        corsPolicy: {
          allowOrigins: [{ exact: 'https://example.com' }],
          allowMethods: ['GET'],
          maxAge: '24h',
        },
        rewrite: { uri: '/' },
        trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' }, loadBalancer: { simple: 'LEAST_REQUEST' } },
      },
    };
    await router.reconcile(full);
    expect(
      await router.setRoutes(full, {
        primaryWeight: 100,
        canaryWeight: 0,
        mirrorPercent: null,
        abMatch: true,
      }),
    ).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrorPercent: null,
      abMatch: true,
    });
    const get = (plural: string, name: string) =>
      c.custom.getNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        plural,
        namespace: ns.name,
        name,
      }) as Promise<{
        spec: Record<string, unknown> & { http?: Array<Record<string, unknown>> };
      }>;
    const vs = await get('virtualservices', 'web');
    expect(vs.spec.gateways).toEqual(['istio-system/public']);
    expect(vs.spec.hosts).toEqual(['web', 'web.example.com']);
    const main = vs.spec.http?.[1];
    expect(main).toMatchObject({
      match: [{ uri: { prefix: '/api' } }],
      timeout: '5s',
      retries: { attempts: 3 },
      rewrite: { uri: '/' },
    });
    expect(main?.corsPolicy).toMatchObject({ allowMethods: ['GET'] });
    expect(vs.spec.http?.[0]).toMatchObject({
      match: [{ headers: { 'x-canary': { exact: 'insider' } }, uri: { prefix: '/api' } }],
      timeout: '5s',
    });
    for (const host of ['web-primary', 'web-canary']) {
      const dr = await get('destinationrules', host);
      expect(dr.spec).toEqual({
        host,
        trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' }, loadBalancer: { simple: 'LEAST_REQUEST' } },
      });
    }
  });
  it('sends every request through the request budget (QPS/burst, 429 Retry-After)', async () => {
    const other = { ...t, service: 'budgeted' };
    const before = budget.stats.requests;
    await router.reconcile(other);
    expect(budget.stats.requests - before).toBe(4);
    await router.setRoutes(other, {
      primaryWeight: 90,
      canaryWeight: 10,
      mirrorPercent: null,
      abMatch: false,
    });
    await router.getRoutes(other);
    expect(budget.stats.requests - before).toBe(6);
  });
});
