// Builders of cluster snapshots for the mesh simulator's unit tests.
import { defaultSimConfig, simConfigSchema, type SimConfig } from '../../../src/dev/mesh-sim/config.js';
import { MeshSimulator } from '../../../src/dev/mesh-sim/engine.js';
import {
  buildWorld,
  type ClusterSnapshot,
  type DeploymentLike,
  type PodLike,
  type ServiceLike,
} from '../../../src/dev/mesh-sim/world.js';

export interface WorkloadSpec {
  name: string;
  image: string;
  ready?: number;
  notReady?: number;
  /** pod template labels; default { app: name } */
  labels?: Record<string, string>;
}

export function deploymentsAndPods(
  ns: string,
  workloads: WorkloadSpec[],
): { deployments: DeploymentLike[]; pods: PodLike[] } {
  const deployments: DeploymentLike[] = [];
  const pods: PodLike[] = [];
  for (const w of workloads) {
    const labels = w.labels ?? { app: w.name };
    deployments.push({
      metadata: { name: w.name, namespace: ns },
      spec: {
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ image: w.image }] } },
      },
    });
    const hash = 'abc123';
    const total = (w.ready ?? 1) + (w.notReady ?? 0);
    for (let i = 0; i < total; i++) {
      const ready = i < (w.ready ?? 1);
      pods.push({
        metadata: {
          name: `${w.name}-${hash}-${i}`,
          namespace: ns,
          labels: { ...labels, 'pod-template-hash': hash },
          ownerReferences: [{ kind: 'ReplicaSet', name: `${w.name}-${hash}` }],
        },
        spec: { containers: [{ image: w.image }] },
        status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
      });
    }
  }
  return { deployments, pods };
}

export const service = (ns: string, name: string, selector: Record<string, string>): ServiceLike => ({
  metadata: { name, namespace: ns },
  spec: { selector },
});

export interface IstioHttp {
  name?: string;
  match?: Array<Record<string, unknown>>;
  route: Array<{ destination: { host: string }; weight?: number }>;
  mirror?: { host: string };
  mirrorPercentage?: { value: number };
}

export const virtualService = (ns: string, name: string, http: IstioHttp[]): object => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name, namespace: ns },
  spec: { hosts: [name], http },
});

export const weighted = (primary: number, canary: number, svc = 'podinfo'): IstioHttp => ({
  route: [
    { destination: { host: `${svc}-primary` }, weight: primary },
    { destination: { host: `${svc}-canary` }, weight: canary },
  ],
});

export const httpRoute = (ns: string, name: string, rules: object[]): object => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: ns },
  spec: { rules },
});

/** The Flagger layout: podinfo-primary + podinfo (canary) Deployments, -primary/-canary Services. */
export function flaggerCluster(
  routes: { virtualServices?: object[]; httpRoutes?: object[] },
  opts: {
    ns?: string;
    primaryImage?: string;
    canaryImage?: string;
    primaryReady?: number;
    canaryReady?: number;
  } = {},
): ClusterSnapshot {
  const ns = opts.ns ?? 'demo';
  const { deployments, pods } = deploymentsAndPods(ns, [
    {
      name: 'podinfo-primary',
      image: opts.primaryImage ?? 'ghcr.io/stefanprodan/podinfo:6.0.0',
      ready: opts.primaryReady ?? 2,
    },
    {
      name: 'podinfo',
      image: opts.canaryImage ?? 'ghcr.io/stefanprodan/podinfo:6.0.1',
      ready: opts.canaryReady ?? 1,
    },
  ]);
  return {
    virtualServices: routes.virtualServices ?? [],
    httpRoutes: routes.httpRoutes ?? [],
    services: [
      service(ns, 'podinfo', { app: 'podinfo-primary' }),
      service(ns, 'podinfo-primary', { app: 'podinfo-primary' }),
      service(ns, 'podinfo-canary', { app: 'podinfo' }),
    ],
    deployments,
    pods,
  };
}

export function config(overrides: Record<string, unknown> = {}): SimConfig {
  return Object.keys(overrides).length === 0 ? defaultSimConfig : simConfigSchema.parse(overrides);
}

export function simulator(snap: ClusterSnapshot, cfg: SimConfig = config(), seed = 42): MeshSimulator {
  const sim = new MeshSimulator({ seed });
  sim.update(buildWorld(snap, cfg.clusterDomain), cfg);
  return sim;
}

/** Requests recorded per workload (all codes). */
export function served(sim: MeshSimulator, ns: string, workload: string): number {
  return sim.workload(ns, workload)?.requests ?? 0;
}
