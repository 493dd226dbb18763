// The mesh simulator against the real local stack: routes written to the apiserver drive the simulated
// traffic, and Prometheus (scraping the simulator every second) answers Flagger's Istio queries with the
// expected canary share, success rate and latency. Needs the stack with the simulator running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { loadStackConfig } from '../../src/dev/stack/config.js';
import type { DebugView } from '../../src/dev/mesh-sim/engine.js';
import { eventually, kube, withNamespace, type KubeClients } from '../support/stack.js';

const cfg = loadStackConfig();
const window = '10s';
let c: KubeClients;
const cleanups: Array<() => Promise<void>> = [];

// ---- Prometheus ----------------------------------------------------------------------------------------

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/** Value of an instant query's first sample; undefined for an empty vector or NaN (Flagger's "no values"). */
async function promValue(query: string): Promise<number | undefined> {
  const res = await fetch(`${cfg.urls.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as PromResponse;
  if (body.status !== 'success') throw new Error(`prometheus: ${body.error ?? res.status}`);
  const raw = body.data?.result[0]?.value[1];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

const requestRate = (ns: string, target: string): string =>
  `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}",destination_workload=~"${target}"}[${window}]))`;

// Flagger's built-in Istio checks (pkg/metrics/observers/istio.go), with a short interval.
const successRate = (ns: string, target: string): string => `
  sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}",destination_workload=~"${target}",response_code!~"5.*"}[${window}]))
  /
  sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}",destination_workload=~"${target}"}[${window}]))
  * 100`;
const p99Latency = (ns: string, target: string): string => `
  histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="${ns}",destination_workload=~"${target}"}[${window}])) by (le))`;

/** Canary share of requests in percent, from the per-workload request rates. */
async function canaryShare(ns: string): Promise<{ share: number; total: number } | undefined> {
  const [primary, canary] = await Promise.all([
    promValue(requestRate(ns, 'podinfo-primary')),
    promValue(requestRate(ns, 'podinfo')),
  ]);
  if (primary === undefined || canary === undefined || primary + canary === 0) return undefined;
  return { share: (100 * canary) / (primary + canary), total: primary + canary };
}

/** Polls until `read` is within want ± tolerance on `consecutive` polls in a row (1 s apart). */
async function settlesAt(
  what: string,
  read: () => Promise<number | undefined>,
  want: number,
  tolerance: number,
  timeoutMs = 30_000,
  consecutive = 3,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const seen: string[] = [];
  let streak = 0;
  for (;;) {
    const v = await read();
    seen.push(v === undefined ? 'none' : v.toFixed(1));
    streak = v !== undefined && Math.abs(v - want) <= tolerance ? streak + 1 : 0;
    if (streak >= consecutive && v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`${what}: wanted ${want} ± ${tolerance}, saw ${seen.slice(-15).join(', ')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---- Kubernetes objects (Flagger's layout) -------------------------------------------------------------

function deployment(name: string, namespace: string, image: string): k8s.V1Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'podinfod', image, ports: [{ containerPort: 9898, name: 'http' }] }],
        },
      },
    },
  };
}

function service(name: string, namespace: string, app: string): k8s.V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app }, ports: [{ name: 'http', port: 9898, targetPort: 9898 }] },
  };
}

const vsRef = (namespace: string) => ({
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
  namespace,
});
const routeRef = (namespace: string) => ({
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
  namespace,
});

interface IstioHttpRoute {
  route: Array<{ destination: { host: string; port?: { number: number } }; weight: number }>;
}
interface VirtualService {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { hosts: string[]; http: IstioHttpRoute[] };
}

function virtualService(namespace: string, primary: number, canary: number): VirtualService {
  return {
    metadata: { name: 'podinfo', namespace },
    spec: {
      hosts: ['podinfo'],
      http: [
        {
          route: [
            { destination: { host: 'podinfo-primary', port: { number: 9898 } }, weight: primary },
            { destination: { host: 'podinfo-canary', port: { number: 9898 } }, weight: canary },
          ],
        },
      ],
    },
  };
}

/** podinfo-primary + podinfo (canary) Deployments and their -primary/-canary Services, pods Ready. */
async function deployPodinfo(
  prefix: string,
  canaryImage = 'ghcr.io/stefanprodan/podinfo:6.0.1',
): Promise<string> {
  const ns = await withNamespace(c, prefix);
  cleanups.push(ns.cleanup);
  const namespace = ns.name;
  await c.apps.createNamespacedDeployment({
    namespace,
    body: deployment('podinfo-primary', namespace, 'ghcr.io/stefanprodan/podinfo:6.0.0'),
  });
  await c.apps.createNamespacedDeployment({ namespace, body: deployment('podinfo', namespace, canaryImage) });
  await c.core.createNamespacedService({
    namespace,
    body: service('podinfo-primary', namespace, 'podinfo-primary'),
  });
  await c.core.createNamespacedService({ namespace, body: service('podinfo-canary', namespace, 'podinfo') });
  await podsReady(namespace, 2);
  return namespace;
}

async function podsReady(namespace: string, n: number): Promise<void> {
  await eventually(
    `${n} Ready pods in ${namespace}`,
    async () => {
      const list = await c.core.listNamespacedPod({ namespace });
      const ready = list.items.filter(
        (p) =>
          !p.metadata?.deletionTimestamp &&
          p.status?.conditions?.some((cd) => cd.type === 'Ready' && cd.status === 'True'),
      );
      return ready.length === n && list.items.length === n ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

async function debugView(): Promise<DebugView> {
  const res = await fetch(`${cfg.urls.meshSim}/debug`);
  return (await res.json()) as DebugView;
}

/** Until the simulator's routing table has the flow with ready endpoints behind every destination. */
async function simulatorRoutes(key: string, weights: number[]): Promise<void> {
  await eventually(`mesh-sim routing ${key} with weights ${weights.join('/')}`, async () => {
    const flow = (await debugView()).flows.find((f) => f.key === key);
    const dests = flow?.rules[0]?.destinations ?? [];
    const ok =
      dests.length === weights.length && dests.every((d, i) => d.weight === weights[i] && d.endpoints > 0);
    return ok ? true : undefined;
  });
}

beforeAll(async () => {
  c = kube(cfg);
  const health = await fetch(`${cfg.urls.meshSim}/healthz`).then(
    (r) => r.ok,
    () => false,
  );
  if (!health)
    throw new Error(
      `mesh-sim is not running at ${cfg.urls.meshSim} (start: node --import tsx src/dev/mesh-sim/main.ts)`,
    );
  await eventually('Prometheus scraping mesh-sim (up{job="mesh-sim"} == 1)', async () =>
    (await promValue('max(up{job="mesh-sim"})')) === 1 ? true : undefined,
  );
});

afterAll(async () => {
  await Promise.all(cleanups.map((f) => f()));
});

describe('mesh simulator', () => {
  it('splits traffic by the live VirtualService weights (90/10, then 50/50) as Flagger sees it', async () => {
    const ns = await deployPodinfo('it-mesh-vs');
    await c.custom.createNamespacedCustomObject({
      ...vsRef(ns),
      body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', ...virtualService(ns, 90, 10) },
    });
    await simulatorRoutes(`VirtualService/${ns}/podinfo`, [90, 10]);

    const share = await settlesAt('canary share at 90/10', async () => (await canaryShare(ns))?.share, 10, 5);
    expect(share).toBeGreaterThanOrEqual(5);
    expect(share).toBeLessThanOrEqual(15);

    // Total traffic is the simulator's configured rate for this route (once the rate window is full: a series
    // younger than the window makes rate() underestimate).
    const rps =
      (await debugView()).flows.find((f) => f.key === `VirtualService/${ns}/podinfo`)?.requestsPerSecond ??
      20;
    await settlesAt('total request rate', async () => (await canaryShare(ns))?.total, rps, rps * 0.2);
    expect(Math.abs(((await canaryShare(ns))?.share ?? 0) - 10)).toBeLessThanOrEqual(5);

    // Flagger's built-in checks: a healthy image has ~100 % success and p99 below the 80 ms default (bucket 100).
    expect(await promValue(successRate(ns, 'podinfo-primary'))).toBe(100);
    const p99 = await promValue(p99Latency(ns, 'podinfo-primary'));
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThanOrEqual(250);

    // Shift the weights as Fledge would: read, change, write back.
    const vs = (await c.custom.getNamespacedCustomObject({
      ...vsRef(ns),
      name: 'podinfo',
    })) as VirtualService;
    vs.spec.http = virtualService(ns, 50, 50).spec.http;
    await c.custom.replaceNamespacedCustomObject({ ...vsRef(ns), name: 'podinfo', body: vs });
    await settlesAt('canary share at 50/50', async () => (await canaryShare(ns))?.share, 50, 5, 30_000);
  });

  it('splits traffic by HTTPRoute backendRef weights (80/20)', async () => {
    const ns = await deployPodinfo('it-mesh-gw');
    await c.custom.createNamespacedCustomObject({
      ...routeRef(ns),
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'podinfo', namespace: ns },
        spec: {
          rules: [
            {
              backendRefs: [
                { name: 'podinfo-primary', port: 9898, weight: 80 },
                { name: 'podinfo-canary', port: 9898, weight: 20 },
              ],
            },
          ],
        },
      },
    });
    await simulatorRoutes(`HTTPRoute/${ns}/podinfo`, [80, 20]);
    await settlesAt('canary share at 80/20', async () => (await canaryShare(ns))?.share, 20, 5);
  });

  it("a bad canary image fails Flagger's success-rate check; no ready canary gives 503s", async () => {
    const ns = await deployPodinfo('it-mesh-bad', 'ghcr.io/stefanprodan/podinfo:6.0.1-bad');
    await c.custom.createNamespacedCustomObject({
      ...vsRef(ns),
      body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', ...virtualService(ns, 50, 50) },
    });
    await simulatorRoutes(`VirtualService/${ns}/podinfo`, [50, 50]);

    // Built-in behaviour: tag contains "bad" → 20 % errors.
    await settlesAt('canary success rate', () => promValue(successRate(ns, 'podinfo')), 80, 6);
    expect(await promValue(successRate(ns, 'podinfo-primary'))).toBe(100);

    // Scale the canary to 0: requests routed to it are 503 (recorded against the canary workload).
    const dep = await c.apps.readNamespacedDeployment({ name: 'podinfo', namespace: ns });
    dep.spec = { ...(dep.spec as k8s.V1DeploymentSpec), replicas: 0 };
    await c.apps.replaceNamespacedDeployment({ name: 'podinfo', namespace: ns, body: dep });
    await settlesAt(
      'canary success rate without ready replicas',
      () => promValue(successRate(ns, 'podinfo')),
      0,
      2,
      40_000,
    );
    const e503 = await promValue(
      `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}",destination_workload="podinfo",response_code="503"}[${window}]))`,
    );
    expect(e503).toBeGreaterThan(0);
  });
});
