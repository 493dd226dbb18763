// I/O: reads the objects the simulator needs from the apiserver (list calls; the caller polls).
import * as k8s from '@kubernetes/client-node';
import { configMapName, configMapNamespace } from './config.js';
import type { ClusterSnapshot } from './world.js';

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

function itemsOf(list: unknown): unknown[] {
  const items = (list as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as unknown[]) : [];
}

export function createKubeSource(
  kubeconfigPath: string,
  configMap = { namespace: configMapNamespace, name: configMapName },
): KubeSource {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);

  const listCustom = async (
    group: string,
    version: string,
    plural: string,
    warnings: string[],
  ): Promise<unknown[]> => {
    try {
      const list: unknown = await custom.listClusterCustomObject({ group, version, plural });
      return itemsOf(list);
    } catch (e) {
      if (isStatus(e, 404)) {
        warnings.push(`${plural}.${group}/${version} is not served (CRD not installed)`);
        return [];
      }
      throw e;
    }
  };

  return {
    async read() {
      const warnings: string[] = [];
      const [virtualServices, httpRoutes, services, deployments, pods, configData] = await Promise.all([
        listCustom('networking.istio.io', 'v1', 'virtualservices', warnings),
        listCustom('gateway.networking.k8s.io', 'v1', 'httproutes', warnings),
        core.listServiceForAllNamespaces().then((l) => l.items),
        apps.listDeploymentForAllNamespaces().then((l) => l.items),
        core.listPodForAllNamespaces().then((l) => l.items),
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
