import { describe, expect, it } from 'vitest';
import { parseHttpRoute } from '../../../src/dev/mesh-sim/routes.js';
import {
  config,
  flaggerCluster,
  httpRoute,
  served,
  simulator,
  virtualService,
  weighted,
} from './fixtures.js';

const mirrored = (percent?: number): object => ({
  ...weighted(100, 0),
  mirror: { host: 'podinfo-canary' },
  ...(percent !== undefined ? { mirrorPercentage: { value: percent } } : {}),
});

describe('mirroring', () => {
  it.each([
    [30, 300],
    [100, 1000],
    [0, 0],
    [12.5, 125],
    [undefined, 1000], // Istio: no mirrorPercentage mirrors everything
  ])('mirrorPercentage %s → %i of 1000 requests also reach the mirror', (pct, want) => {
    const sim = simulator(
      flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [mirrored(pct) as never])] }),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 1000, 0);
    expect(served(sim, 'demo', 'podinfo-primary')).toBe(1000);
    expect(served(sim, 'demo', 'podinfo')).toBe(want);
    expect(sim.workload('demo', 'podinfo')?.mirrored ?? 0).toBe(want);
    expect(sim.flowStatsOf('VirtualService/demo/podinfo')).toMatchObject({ requests: 1000, mirrored: want });
  });

  it('random sampling: 20 % of 10,000 ± 2 points', () => {
    const sim = simulator(
      flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [mirrored(20) as never])] }),
      config({ sampling: 'random' }),
      3,
    );
    sim.simulate(sim.currentWorld().flows[0]!, 10_000, 0);
    const share = served(sim, 'demo', 'podinfo') / 10_000;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.22);
  });

  it('mirrors only the requests served by the route that carries the mirror', () => {
    const sim = simulator(
      flaggerCluster({
        virtualServices: [
          virtualService('demo', 'podinfo', [
            {
              match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
              route: [{ destination: { host: 'podinfo-canary' } }],
            },
            { ...weighted(100, 0), mirror: { host: 'podinfo-canary' }, mirrorPercentage: { value: 50 } },
          ]),
        ],
      }),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 1000, 0);
    expect(served(sim, 'demo', 'podinfo-primary')).toBe(900);
    expect(sim.workload('demo', 'podinfo')).toMatchObject({ requests: 100 + 450, mirrored: 450 });
  });

  it("mirrored requests get the mirror workload's behaviour and appear in its metrics", () => {
    const sim = simulator(
      flaggerCluster(
        { virtualServices: [virtualService('demo', 'podinfo', [mirrored(100) as never])] },
        { canaryImage: 'ghcr.io/stefanprodan/podinfo:6.0.1-bad' },
      ),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 1000, 0);
    expect(sim.workload('demo', 'podinfo')?.byCode).toEqual({ '200': 800, '500': 200 });
    expect(sim.workload('demo', 'podinfo-primary')?.byCode).toEqual({ '200': 1000 });
    expect(sim.renderMetrics()).toMatch(
      /istio_requests_total\{[^}]*destination_service="podinfo-canary\.demo\.svc\.cluster\.local"[^}]*destination_workload="podinfo"[^}]*response_code="500"[^}]*\} 200/,
    );
  });

  it('mirror to a workload without ready replicas records 503s there', () => {
    const sim = simulator(
      flaggerCluster(
        { virtualServices: [virtualService('demo', 'podinfo', [mirrored(10) as never])] },
        { canaryReady: 0 },
      ),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 100, 0);
    expect(sim.workload('demo', 'podinfo')?.byCode).toEqual({ '503': 10 });
  });

  it('Istio `mirrors` list and Gateway API RequestMirror (percent and fraction)', () => {
    const sim = simulator(
      flaggerCluster({
        virtualServices: [
          virtualService('demo', 'podinfo', [
            {
              ...weighted(100, 0),
              mirrors: [{ destination: { host: 'podinfo-canary' }, percentage: { value: 40 } }],
            } as never,
          ]),
        ],
      }),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 100, 0);
    expect(served(sim, 'demo', 'podinfo')).toBe(40);

    const filters = (rm: object): object[] => [
      { type: 'RequestMirror', requestMirror: { backendRef: { name: 'podinfo-canary', port: 9898 }, ...rm } },
    ];
    for (const [rm, want] of [
      [{ percent: 25 }, 25],
      [{ fraction: { numerator: 1, denominator: 4 } }, 25],
      [{ fraction: { numerator: 5 } }, 5],
      [{}, 100],
    ] as const) {
      const route = httpRoute('demo', 'podinfo', [
        { backendRefs: [{ name: 'podinfo-primary' }], filters: filters(rm) },
      ]);
      const parsed = parseHttpRoute(route);
      expect(parsed.ok && parsed.flow.rules[0]?.mirrors[0]?.percent).toBe(want);
      const gw = simulator(flaggerCluster({ httpRoutes: [route] }));
      gw.simulate(gw.currentWorld().flows[0]!, 100, 0);
      expect(served(gw, 'demo', 'podinfo')).toBe(want);
    }
  });
});
