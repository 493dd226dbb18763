// Test helpers for the real local stack (started by scripts/test.sh or `fledge dev up`).
import * as k8s from '@kubernetes/client-node';
import { loadStackConfig, type StackConfig } from '../../src/dev/stack/config.js';

export interface KubeClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
}

export function stack(): StackConfig {
  return loadStackConfig();
}

export function kube(cfg: StackConfig = stack()): KubeClients {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cfg.kubeconfig);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
}

/** A fresh namespace per test file; deleted afterwards (errors ignored). */
export async function withNamespace(
  clients: KubeClients,
  prefix: string,
): Promise<{ name: string; cleanup: () => Promise<void> }> {
  const name = `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
  await clients.core.createNamespace({ body: { metadata: { name } } });
  return {
    name,
    cleanup: async () => {
      await clients.core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}

export function deployment(
  name: string,
  namespace: string,
  image: string,
  labels: Record<string, string>,
  replicas = 1,
): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 9898, name: 'http' }] }] },
      },
    },
  };
}
