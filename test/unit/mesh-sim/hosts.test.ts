import { describe, expect, it } from 'vitest';
import { imageTag, resolveHost, serviceFqdn } from '../../../src/dev/mesh-sim/hosts.js';

describe('resolveHost', () => {
  it.each([
    ['podinfo-canary', 'demo', { name: 'podinfo-canary', namespace: 'demo' }],
    ['podinfo-canary.other', 'demo', { name: 'podinfo-canary', namespace: 'other' }],
    ['podinfo-canary.other.svc', 'demo', { name: 'podinfo-canary', namespace: 'other' }],
    ['podinfo-canary.other.svc.cluster.local', 'demo', { name: 'podinfo-canary', namespace: 'other' }],
    ['podinfo-canary.other.svc.cluster.local.', 'demo', { name: 'podinfo-canary', namespace: 'other' }],
    ['PodInfo.Demo', 'x', { name: 'podinfo', namespace: 'demo' }],
    ['api.example.com', 'demo', null],
    ['*.example.com', 'demo', null],
    ['', 'demo', null],
    ['a..b', 'demo', null],
  ])('%s (from %s)', (host, ns, want) => {
    expect(resolveHost(host, ns)).toEqual(want);
  });

  it('honours a custom cluster domain', () => {
    expect(resolveHost('web.shop.svc.corp.internal', 'x', 'corp.internal')).toEqual({
      name: 'web',
      namespace: 'shop',
    });
    expect(resolveHost('web.shop.svc.cluster.local', 'x', 'corp.internal')).toBeNull();
  });

  it('builds the FQDN Istio uses for destination_service', () => {
    expect(serviceFqdn({ name: 'podinfo-primary', namespace: 'demo' })).toBe(
      'podinfo-primary.demo.svc.cluster.local',
    );
  });
});

describe('imageTag', () => {
  it.each([
    ['ghcr.io/stefanprodan/podinfo:6.0.1', '6.0.1'],
    ['podinfo:bad-1', 'bad-1'],
    ['localhost:5000/podinfo', 'latest'],
    ['localhost:5000/podinfo:2.0', '2.0'],
    ['podinfo', 'latest'],
    ['podinfo:1.0@sha256:abcd', '1.0'],
    ['podinfo@sha256:abcd', 'sha256:abcd'],
  ])('%s → %s', (image, tag) => {
    expect(imageTag(image)).toBe(tag);
  });
});
