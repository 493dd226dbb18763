// Kubernetes client construction and server-side apply helpers shared by the integrations.
import * as k8s from '@kubernetes/client-node';

export const fieldManager = 'fledge';

/** Kubeconfig from an explicit path, $KUBECONFIG, or the in-cluster service account. */
export function loadKubeConfig(path?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const file = path ?? process.env.KUBECONFIG;
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export const applyPatchOptions = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
export const mergePatchOptions = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export interface CustomResourceRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

/** Server-side apply of a custom object: only the fields in `body` are owned by Fledge. */
export async function applyCustomObject<T extends object>(
  custom: k8s.CustomObjectsApi,
  ref: CustomResourceRef,
  body: object,
): Promise<T> {
  return (await custom.patchNamespacedCustomObject(
    { ...ref, body, fieldManager, force: true },
    applyPatchOptions,
  )) as T;
}

export async function readCustomObject<T extends object>(
  custom: k8s.CustomObjectsApi,
  ref: CustomResourceRef,
): Promise<T | undefined> {
  try {
    return (await custom.getNamespacedCustomObject(ref)) as T;
  } catch (e) {
    if (e instanceof k8s.ApiException && e.code === 404) return undefined;
    throw e;
  }
}
