import { describe, expect, it } from 'vitest';
import {
  buildWorld,
  describeFlow,
  podReady,
  podWorkload,
  selectorMatches,
  type PodLike,
} from '../../../src/dev/mesh-sim/world.js';
import { deploymentsAndPods, flaggerCluster, service, virtualService, weighted } from './fixtures.js';

describe('selectorMatches', () => {
  it.each([
    [{ matchLabels: { app: 'a' } }, { app: 'a', x: '1' }, true],
    [{ matchLabels: { app: 'a' } }, { app: 'b' }, false],
    [{ matchLabels: {} }, { app: 'a' }, false],
    [undefined, { app: 'a' }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, { tier: 'api' }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, { tier: 'web' }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, {}, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, {}, true],
  ])('%j selects %j → %s', (sel, labels, want) => {
    expect(selectorMatches(sel, labels)).toBe(want);
  });
});

describe('service → workload resolution', () => {
  it('maps ready pods to their Deployment through the ReplicaSet owner and records the image tag', () => {
    const world = buildWorld(flaggerCluster({}));
    const canary = world.services.get('demo/podinfo-canary');
    expect(canary?.fqdn).toBe('podinfo-canary.demo.svc.cluster.local');
    expect(canary?.endpoints).toEqual([
      {
        pod: 'podinfo-abc123-0',
        workload: 'podinfo',
        namespace: 'demo',
        image: 'ghcr.io/stefanprodan/podinfo:6.0.1',
        version: '6.0.1',
      },
    ]);
    expect(world.services.get('demo/podinfo-primary')?.endpoints.map((e) => e.workload)).toEqual([
      'podinfo-primary',
      'podinfo-primary',
    ]);
  });

  it('a Service selecting pods of two Deployments spreads over both', () => {
    const { deployments, pods } = deploymentsAndPods('demo', [
      { name: 'web-v1', image: 'web:1', labels: { app: 'web', v: '1' } },
      { name: 'web-v2', image: 'web:2', labels: { app: 'web', v: '2' } },
    ]);
    const world = buildWorld({
      virtualServices: [],
      httpRoutes: [],
      services: [service('demo', 'web', { app: 'web' })],
      deployments,
      pods,
    });
    expect(world.services.get('demo/web')?.endpoints.map((e) => `${e.workload}@${e.version}`)).toEqual([
      'web-v1@1',
      'web-v2@2',
    ]);
  });

  it('falls back to selector matching when a pod has no ReplicaSet owner', () => {
    const { deployments } = deploymentsAndPods('demo', [{ name: 'api', image: 'api:1' }]);
    const pod: PodLike = { metadata: { name: 'api-x', namespace: 'demo', labels: { app: 'api' } } };
    expect(podWorkload(pod, deployments)).toBe('api');
    expect(
      podWorkload({ metadata: { name: 'bare', namespace: 'demo', labels: { app: 'other' } } }, deployments),
    ).toBe('bare');
  });

  it('readiness: condition Ready=True and not terminating', () => {
    expect(podReady({ status: { conditions: [{ type: 'Ready', status: 'True' }] } })).toBe(true);
    expect(podReady({ status: { conditions: [{ type: 'Ready', status: 'False' }] } })).toBe(false);
    expect(podReady({ status: {} })).toBe(false);
    expect(
      podReady({
        metadata: { deletionTimestamp: '2024-01-01T00:00:00Z' },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      }),
    ).toBe(false);
  });

  it('without ready pods, the fallback is the Deployment whose template the selector matches, else unknown', () => {
    const world = buildWorld({
      ...flaggerCluster({}, { canaryReady: 0 }),
      services: [...flaggerCluster({}).services, service('demo', 'ghost', { app: 'ghost' })],
    });
    expect(world.services.get('demo/podinfo-canary')?.endpoints).toEqual([]);
    expect(world.services.get('demo/podinfo-canary')?.fallback).toEqual({
      workload: 'podinfo',
      namespace: 'demo',
      image: 'ghcr.io/stefanprodan/podinfo:6.0.1',
      version: '6.0.1',
    });
    expect(world.services.get('demo/ghost')?.fallback).toEqual({
      workload: 'unknown',
      namespace: 'demo',
      image: '',
      version: 'unknown',
    });
  });

  it('reports unreadable routes as problems and keeps the others', () => {
    const world = buildWorld({
      ...flaggerCluster({
        virtualServices: [
          virtualService('demo', 'podinfo', [weighted(90, 10)]),
          { metadata: { name: 'broken', namespace: 'demo' }, spec: { http: 'nope' } },
        ],
      }),
    });
    expect(world.flows.map((f) => f.key)).toEqual(['VirtualService/demo/podinfo']);
    expect(world.problems[0]).toMatch(/^VirtualService demo\/broken: /);
  });

  it('describes the effective routing in one line', () => {
    const world = buildWorld(
      flaggerCluster({
        virtualServices: [
          virtualService('demo', 'podinfo', [
            {
              match: [{ headers: { cookie: { regex: '^(.*?;)?(canary=always)(;.*)?$' } } }],
              route: [{ destination: { host: 'podinfo-canary' } }],
            },
            { ...weighted(90, 10), mirror: { host: 'podinfo-canary' }, mirrorPercentage: { value: 20 } },
          ]),
        ],
      }),
    );
    expect(describeFlow(world.flows[0]!, world)).toBe(
      'VirtualService demo/podinfo: [0] cookie regex:^(.*?;)?(canary=always)(;.*)?$ → podinfo-canary(podinfo 1 ready 6.0.1) 100; ' +
        '[1] * → podinfo-primary(podinfo-primary 2 ready 6.0.0) 90, podinfo-canary(podinfo 1 ready 6.0.1) 10 mirror podinfo-canary(podinfo 1 ready 6.0.1) 20%',
    );
  });
});
