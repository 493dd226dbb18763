import { describe, expect, it } from 'vitest';
import {
  config,
  flaggerCluster,
  httpRoute,
  served,
  simulator,
  virtualService,
  weighted,
} from './fixtures.js';

const flowKey = 'VirtualService/demo/podinfo';

describe('weighted split', () => {
  it('random sampling: 10,000 requests at 90/10 give 90 ± 2 % to the primary', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const sim = simulator(
        flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(90, 10)])] }),
        config({ sampling: 'random' }),
        seed,
      );
      sim.simulate(sim.currentWorld().flows[0]!, 10_000, 0);
      const primary = served(sim, 'demo', 'podinfo-primary');
      const canary = served(sim, 'demo', 'podinfo');
      expect(primary + canary).toBe(10_000);
      expect(primary / 10_000).toBeGreaterThanOrEqual(0.88);
      expect(primary / 10_000).toBeLessThanOrEqual(0.92);
    }
  });

  it.each([
    [100, 0, 1000, 0],
    [0, 100, 0, 1000],
    [90, 10, 900, 100],
    [50, 50, 500, 500],
    [80, 20, 800, 200],
    [99, 1, 990, 10],
    [33, 67, 330, 670],
  ])('smooth sampling: %i/%i over 1000 requests is exact (%i/%i)', (p, c, wantP, wantC) => {
    const sim = simulator(
      flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(p, c)])] }),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 1000, 0);
    expect(served(sim, 'demo', 'podinfo-primary')).toBe(wantP);
    expect(served(sim, 'demo', 'podinfo')).toBe(wantC);
  });

  it('smooth sampling interleaves: 90/10 sends exactly 1 of every 10 consecutive requests to the canary', () => {
    const sim = simulator(
      flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(90, 10)])] }),
    );
    const flow = sim.currentWorld().flows[0]!;
    for (let i = 1; i <= 10; i++) {
      sim.simulate(flow, 10, 0);
      expect(served(sim, 'demo', 'podinfo')).toBe(i);
    }
  });

  it('a single destination without weight takes everything; several without weight count as 0', () => {
    const one = simulator(
      flaggerCluster({
        virtualServices: [
          virtualService('demo', 'podinfo', [{ route: [{ destination: { host: 'podinfo-primary' } }] }]),
        ],
      }),
    );
    one.simulate(one.currentWorld().flows[0]!, 100, 0);
    expect(served(one, 'demo', 'podinfo-primary')).toBe(100);

    const zero = simulator(
      flaggerCluster({
        virtualServices: [
          virtualService('demo', 'podinfo', [
            {
              route: [
                { destination: { host: 'podinfo-primary' } },
                { destination: { host: 'podinfo-canary' } },
              ],
            },
          ]),
        ],
      }),
    );
    zero.simulate(zero.currentWorld().flows[0]!, 100, 0);
    expect(served(zero, 'demo', 'podinfo-primary') + served(zero, 'demo', 'podinfo')).toBe(0);
    expect(zero.flowStatsOf(flowKey)?.unrouted).toBe(100);
  });

  it('Gateway API: weights from backendRefs (default 1), 80/20 exact with smooth sampling', () => {
    const sim = simulator(
      flaggerCluster({
        httpRoutes: [
          httpRoute('demo', 'podinfo', [
            {
              backendRefs: [
                { name: 'podinfo-primary', port: 9898, weight: 80 },
                { name: 'podinfo-canary', port: 9898, weight: 20 },
              ],
            },
          ]),
        ],
      }),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 1000, 0);
    expect(served(sim, 'demo', 'podinfo-primary')).toBe(800);
    expect(served(sim, 'demo', 'podinfo')).toBe(200);

    const equal = simulator(
      flaggerCluster({
        httpRoutes: [
          httpRoute('demo', 'podinfo', [
            { backendRefs: [{ name: 'podinfo-primary' }, { name: 'podinfo-canary' }] },
          ]),
        ],
      }),
    );
    equal.simulate(equal.currentWorld().flows[0]!, 1000, 0);
    expect(served(equal, 'demo', 'podinfo-primary')).toBe(500);
  });

  it('a destination that is not an existing Service is counted as unresolved, not as metrics', () => {
    const sim = simulator(
      flaggerCluster({
        virtualServices: [
          virtualService('demo', 'podinfo', [
            {
              route: [
                { destination: { host: 'nope' }, weight: 50 },
                { destination: { host: 'podinfo-primary' }, weight: 50 },
              ],
            },
          ]),
        ],
      }),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 100, 0);
    expect(sim.flowStatsOf(flowKey)).toMatchObject({ requests: 100, unresolved: 50 });
    expect(served(sim, 'demo', 'podinfo-primary')).toBe(50);
  });

  it('resolves destinations in other namespaces by host', () => {
    const snap = flaggerCluster({}, { ns: 'backend' });
    snap.virtualServices.push(
      virtualService('frontend', 'edge', [
        { route: [{ destination: { host: 'podinfo-canary.backend.svc.cluster.local' } }] },
      ]),
    );
    const sim = simulator(snap);
    sim.simulate(sim.currentWorld().flows[0]!, 10, 0);
    expect(served(sim, 'backend', 'podinfo')).toBe(10);
  });
});

describe('ready replicas', () => {
  it('returns 503 (flag UH) recorded against the destination workload when it has no ready replica', () => {
    const sim = simulator(
      flaggerCluster(
        { virtualServices: [virtualService('demo', 'podinfo', [weighted(50, 50)])] },
        { canaryReady: 0 },
      ),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 100, 0);
    expect(sim.workload('demo', 'podinfo')?.byCode).toEqual({ '503': 50 });
    expect(sim.workload('demo', 'podinfo-primary')?.byCode).toEqual({ '200': 50 });
    const text = sim.renderMetrics();
    expect(text).toMatch(
      /istio_requests_total\{[^}]*destination_workload="podinfo"[^}]*response_code="503",response_flags="UH"[^}]*\} 50/,
    );
  });

  it('pods that are not Ready get no traffic', () => {
    const snap = flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(0, 100)])] });
    for (const p of snap.pods)
      if (p.metadata?.name?.startsWith('podinfo-abc'))
        p.status = { conditions: [{ type: 'Ready', status: 'False' }] };
    const sim = simulator(snap);
    sim.simulate(sim.currentWorld().flows[0]!, 10, 0);
    expect(sim.workload('demo', 'podinfo')?.byCode).toEqual({ '503': 10 });
  });

  it('terminating pods are not endpoints', () => {
    const snap = flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(0, 100)])] });
    for (const p of snap.pods)
      if (p.metadata?.name?.startsWith('podinfo-abc')) p.metadata.deletionTimestamp = new Date(0);
    const sim = simulator(snap);
    sim.simulate(sim.currentWorld().flows[0]!, 10, 0);
    expect(sim.workload('demo', 'podinfo')?.byCode).toEqual({ '503': 10 });
  });
});

describe('pacing', () => {
  it('generates requestsPerSecond evenly across ticks, carrying fractions', () => {
    const sim = simulator(
      flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(90, 10)])] }),
      config({ requestsPerSecond: 3 }),
    );
    const perTick: number[] = [];
    for (let i = 0; i < 10; i++) perTick.push(sim.advance(0.1, i * 100));
    expect(perTick.reduce((a, b) => a + b, 0)).toBe(3);
    expect(Math.max(...perTick)).toBe(1);
  });

  it('default 20 rps per routed service; per-route override', () => {
    const snap = flaggerCluster({
      virtualServices: [
        virtualService('demo', 'podinfo', [weighted(90, 10)]),
        virtualService('demo', 'other', [{ route: [{ destination: { host: 'podinfo-primary' } }] }]),
      ],
    });
    const sim = simulator(snap, config({ routes: { 'demo/other': { requestsPerSecond: 5 } } }));
    let total = 0;
    for (let i = 0; i < 100; i++) total += sim.advance(0.1, i * 100);
    expect(total).toBe(200 + 50);
    expect(sim.flowStatsOf('VirtualService/demo/podinfo')?.requests).toBe(200);
  });

  it('caps a long pause to a few seconds of traffic', () => {
    const sim = simulator(
      flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(90, 10)])] }),
    );
    expect(sim.advance(600, 0)).toBe(100);
  });
});
