// The Gateway API TrafficRouter against the real apiserver with the Gateway API standard CRDs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApiRouter } from '../../src/integrations/traffic/gateway-api.js';
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
  ns = await withNamespace(c, 'it-gwapi');
  budget = createRequestBudget({ qps: 1000, burst: 1000, max429Retries: 0 });
  router = createGatewayApiRouter(c.custom, budget);
  t = {
    namespace: ns.name,
    service: 'podinfo',
    port: 9898,
    gateways: ['istio-ingress/public'],
    hosts: ['app.example.com'],
    match: [
      { headers: { 'x-canary': { exact: 'insider' } } },
      { headers: { cookie: { regex: '^(.*?;)?(canary=always)(;.*)?$' } } },
    ],
  };
});
afterAll(async () => {
  await ns?.cleanup();
});

describe('Gateway API router', () => {
  it('creates the HTTPRoute at 100% primary, then writes and reads back weights, mirror and A/B rules', async () => {
    await router.reconcile(t);
    expect(await router.getRoutes(t)).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrorPercent: null,
      abMatch: false,
    });
    expect(
      await router.setRoutes(t, { primaryWeight: 80, canaryWeight: 20, mirrorPercent: null, abMatch: false }),
    ).toEqual({
      primaryWeight: 80,
      canaryWeight: 20,
      mirrorPercent: null,
      abMatch: false,
    });
    expect(
      (await router.setRoutes(t, { primaryWeight: 100, canaryWeight: 0, mirrorPercent: 30, abMatch: false }))
        .mirrorPercent,
    ).toBe(30);
    expect(
      await router.setRoutes(t, { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: true }),
    ).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrorPercent: null,
      abMatch: true,
    });
    const obj = (await c.custom.getNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'httproutes',
      namespace: ns.name,
      name: 'podinfo',
    })) as { spec: { parentRefs: unknown[]; rules: Array<{ matches: Array<{ headers?: unknown[] }> }> } };
    expect(obj.spec.parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'istio-ingress' },
    ]);
    expect(obj.spec.rules[0]?.matches).toHaveLength(2);
    expect(obj.spec.rules[0]?.matches[1]?.headers).toEqual([
      { name: 'cookie', type: 'RegularExpression', value: '^(.*?;)?(canary=always)(;.*)?$' },
    ]);
  });
});

describe('Gateway API router with the Canary service settings', () => {
  it('writes gatewayRefs, service.match, timeouts, header modifiers, URL rewrite and extra mirrors that the CRD schema accepts', async () => {
    const full: RouterTarget = {
      namespace: ns.name,
      service: 'web',
      port: 80,
      hosts: ['web.example.com'],
      match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
      options: {
        gatewayRefs: [{ name: 'public', namespace: 'gw', sectionName: 'https' }],
        match: [{ uri: { prefix: '/api' }, method: { exact: 'GET' } }],
        timeout: '5s',
        headers: { request: { set: { 'x-release': 'fledge' } }, response: { remove: ['x-powered-by'] } },
        rewrite: { uri: '/', type: 'ReplacePrefixMatch' },
        mirrors: [{ backendRef: { name: 'shadow', port: 80 } }],
      },
    };
    await router.reconcile(full);
    expect(
      await router.setRoutes(full, {
        primaryWeight: 60,
        canaryWeight: 40,
        mirrorPercent: null,
        abMatch: false,
      }),
    ).toMatchObject({ primaryWeight: 60, canaryWeight: 40 });
    const obj = (await c.custom.getNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'httproutes',
      namespace: ns.name,
      name: 'web',
    })) as {
      spec: {
        parentRefs: unknown[];
        rules: Array<Record<string, unknown> & { filters?: Array<{ type: string }> }>;
      };
    };
    expect(obj.spec.parentRefs).toMatchObject([{ name: 'public', namespace: 'gw', sectionName: 'https' }]);
    const rule = obj.spec.rules[0];
    expect(rule).toMatchObject({
      matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'GET' }],
      timeouts: { request: '5s' },
    });
    expect(rule?.filters?.map((f) => f.type)).toEqual([
      'RequestHeaderModifier',
      'ResponseHeaderModifier',
      'URLRewrite',
      'RequestMirror',
    ]);
  });
  it('sends every request through the request budget (QPS/burst, 429 Retry-After)', async () => {
    const other = { ...t, service: 'budgeted' };
    const before = budget.stats.requests;
    await router.reconcile(other);
    expect(budget.stats.requests - before).toBe(2);
    await router.setRoutes(other, {
      primaryWeight: 90,
      canaryWeight: 10,
      mirrorPercent: null,
      abMatch: false,
    });
    await router.getRoutes(other);
    expect(budget.stats.requests - before).toBe(4);
  });
});
