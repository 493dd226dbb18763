// The routes session affinity and delegation build (pure builders; the apiserver and the mesh simulator's route
// engine check them in test/integration/flagger-dropin.test.ts): Flagger's rule order, the cookie match over each
// service.match condition (Flagger's mergeMatchConditions replaces the condition's headers), no sticky rules with
// A/B, the weights read back from the weighted rule only, and a delegate VirtualService without hosts/gateways.
import { describe, expect, it } from 'vitest';
import { buildVirtualService, parseVirtualService } from '../../../src/integrations/traffic/istio/router.js';
import { buildHttpRoute, parseHttpRoute } from '../../../src/integrations/traffic/gateway-api/router.js';
import type { RouteWeights, RouterTarget } from '../../../src/integrations/traffic/router.js';
import { sessionAffinityRoutes } from '../../../src/domain/manifest/session-affinity.js';

const affinity = sessionAffinityRoutes({ cookieName: 'c.k', primaryCookieName: 'p' }, 'abc123', 60);
const w = (canary: number, abMatch = false): RouteWeights => ({
  primaryWeight: 100 - canary,
  canaryWeight: canary,
  mirrorPercent: null,
  abMatch,
});
const t: RouterTarget = {
  namespace: 'ns',
  service: 'app',
  port: 80,
  match: [{ headers: { 'x-canary': { exact: 'on' } } }],
  options: {
    sessionAffinity: affinity,
    match: [{ uri: { prefix: '/api' }, headers: { 'x-tenant': { exact: 'a' } } }, { uri: { prefix: '/v2' } }],
  },
};
type Vs = { spec: { hosts?: string[]; gateways?: string[]; http: Array<Record<string, unknown>> } };
type Hr = { spec: { rules: Array<Record<string, unknown>> } };

describe('Istio', () => {
  it('weight > 0: sticky canary, sticky primary, then the weighted rule; the cookie over each service.match', () => {
    const vs = buildVirtualService(t, w(20)) as Vs;
    expect(vs.spec.http.map((r) => r.name)).toEqual(['sticky-canary', 'sticky-primary', 'primary']);
    expect(vs.spec.http[0]?.match).toEqual([
      { uri: { prefix: '/api' }, headers: { Cookie: { regex: '.*c\\.k.*abc123.*' } } },
      { uri: { prefix: '/v2' }, headers: { Cookie: { regex: '.*c\\.k.*abc123.*' } } },
    ]);
    expect(affinity.canary.setCookie).toBe('c.k=abc123; Max-Age=86400');
    expect(affinity.primary?.setCookie).toBe('p=abc123; Max-Age=60');
    expect(parseVirtualService(t, vs as Parameters<typeof parseVirtualService>[1])).toEqual(w(20));
  });

  it('weight 0: only the expiring rule before the weighted one; A/B: no sticky rules', () => {
    const vs = buildVirtualService(t, w(0)) as Vs;
    expect(vs.spec.http.map((r) => r.name)).toEqual(['sticky-expire', 'primary']);
    expect(parseVirtualService(t, vs as Parameters<typeof parseVirtualService>[1])).toEqual(w(0));
    const ab = buildVirtualService(t, w(0, true)) as Vs;
    expect(ab.spec.http.map((r) => r.name)).toEqual(['canary', 'primary']);
  });

  it('delegation: no hosts, no gateways', () => {
    const plain = buildVirtualService({ ...t, gateways: ['gw'], options: {} }, w(0)) as Vs;
    expect(plain.spec.hosts).toEqual(['app']);
    expect(plain.spec.gateways).toEqual(['gw']);
    const delegate = buildVirtualService(
      { ...t, gateways: ['gw'], options: { delegation: true } },
      w(0),
    ) as Vs;
    expect(delegate.spec.hosts).toBeUndefined();
    expect(delegate.spec.gateways).toBeUndefined();
  });
});

describe('Gateway API', () => {
  it('weight > 0: two sticky rules then the weighted one, whose backendRefs set the cookies', () => {
    const hr = buildHttpRoute(t, w(30)) as Hr;
    expect(hr.spec.rules).toHaveLength(3);
    expect(hr.spec.rules[0]?.matches).toEqual([
      {
        path: { type: 'PathPrefix', value: '/api' },
        headers: [{ name: 'Cookie', type: 'RegularExpression', value: '.*c\\.k.*abc123.*' }],
      },
      {
        path: { type: 'PathPrefix', value: '/v2' },
        headers: [{ name: 'Cookie', type: 'RegularExpression', value: '.*c\\.k.*abc123.*' }],
      },
    ]);
    expect(parseHttpRoute(t, hr as Parameters<typeof parseHttpRoute>[1])).toEqual(w(30));
  });

  it('weight 0: the expiring rule only; A/B: no sticky rules', () => {
    const hr = buildHttpRoute(t, w(0)) as Hr;
    expect(hr.spec.rules).toHaveLength(2);
    expect(parseHttpRoute(t, hr as Parameters<typeof parseHttpRoute>[1])).toEqual(w(0));
    const ab = buildHttpRoute(t, w(0, true)) as Hr;
    expect(ab.spec.rules).toHaveLength(2);
    expect(parseHttpRoute(t, ab as Parameters<typeof parseHttpRoute>[1])).toEqual(w(0, true));
  });
});
