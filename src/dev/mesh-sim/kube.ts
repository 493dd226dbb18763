// I/O: reads the objects the simulator needs from the apiserver. Routes, Services, Deployments and Pods come from
// list + watch caches (watch-cache.ts: plain JSON, only changes after the first list — polling full lists every
// second did not hold hundreds of targets, `npm run bench:scale`); the caller polls `read()`, which reads the caches
// and the simulator's ConfigMap.
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { configMapName, configMapNamespace } from './config.js';
import { WatchCache } from './watch-cache.js';
import type { ClusterSnapshot, DeploymentLike, PodLike, ServiceLike } from './world.js';

export interface KubeRead {
  snapshot: ClusterSnapshot;
  /** data of ConfigMap fledge-system/fledge-mesh-sim, undefined when it does not exist */
  configData: Record<string, string> | undefined;
  /** non-fatal conditions, e.g. a CRD that is not installed */
  warnings: string[];
}

export interface KubeSource {
  read(): Promise<KubeRead>;
}

const isStatus = (e: unknown, code: number): boolean => e instanceof k8s.ApiException && e.code === code;

export function createKubeSource(
  kubeconfigPath: string,
  configMap = { namespace: configMapNamespace, name: configMapName },
): KubeSource {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const server = new URL(kc.getCurrentCluster()?.server ?? 'https://127.0.0.1');
  const agent = new https.Agent({ keepAlive: true });
  const cache = (path: string): WatchCache => {
    const c = new WatchCache({ path, server, agent, authorize: (o) => kc.applyToHTTPSOptions(o) });
    c.start();
    return c;
  };
  const caches = {
    virtualServices: cache('/apis/networking.istio.io/v1/virtualservices'),
    httpRoutes: cache('/apis/gateway.networking.k8s.io/v1/httproutes'),
    services: cache('/api/v1/services'),
    deployments: cache('/apis/apps/v1/deployments'),
    pods: cache('/api/v1/pods'),
  };
  const custom = async (c: WatchCache, what: string, warnings: string[]): Promise<unknown[]> => {
    const items = await c.read();
    if (c.notServed) warnings.push(`${what} is not served (CRD not installed)`);
    return items;
  };

  return {
    async read() {
      const warnings: string[] = [];
      const [virtualServices, httpRoutes, services, deployments, pods, configData] = await Promise.all([
        custom(caches.virtualServices, 'virtualservices.networking.istio.io/v1', warnings),
        custom(caches.httpRoutes, 'httproutes.gateway.networking.k8s.io/v1', warnings),
        caches.services.read() as Promise<ServiceLike[]>,
        caches.deployments.read() as Promise<DeploymentLike[]>,
        caches.pods.read() as Promise<PodLike[]>,
        core.readNamespacedConfigMap(configMap).then(
          (cm) => cm.data ?? {},
          (e: unknown) => {
            if (isStatus(e, 404)) return undefined;
            throw e;
          },
        ),
      ]);
      return { snapshot: { virtualServices, httpRoutes, services, deployments, pods }, configData, warnings };
    },
  };
}
