// Proves the local Kubernetes control plane is real: controllers run, pods become Ready on the kwok node,
// and CRD schemas are enforced by the apiserver.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { PooledKubeConfig } from '../../src/integrations/kubernetes/client.js';
import { deployment, stack, eventually, kube, withNamespace, type KubeClients } from '../support/stack.js';

let c: KubeClients;
let ns: { name: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  c = kube();
  ns = await withNamespace(c, 'it-kube');
});
afterAll(async () => {
  await ns?.cleanup();
});

/** TLS connections opened by `kc`'s clients for `n` sequential reads. */
async function connectionsFor(kc: k8s.KubeConfig, n: number): Promise<number> {
  const spy = vi.spyOn(https.Agent.prototype, 'createConnection');
  try {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < n; i++) await core.readNamespace({ name: ns.name });
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('local Kubernetes', () => {
  it("the worker's clients reuse their TLS connection (the library alone opens one per request)", async () => {
    const plain = new k8s.KubeConfig();
    plain.loadFromFile(stack().kubeconfig);
    expect(await connectionsFor(plain, 5)).toBeGreaterThanOrEqual(5);
    const pooled = new PooledKubeConfig();
    pooled.loadFromFile(stack().kubeconfig);
    try {
      expect(await connectionsFor(pooled, 5)).toBe(1);
    } finally {
      pooled.closeConnections();
    }
  });

  it("the worker's pooled clients answer many concurrent reads without a false 'Premature close'", async () => {
    // Responses of a few KiB come back chunked; with a capped keep-alive pool a socket was handed to a queued
    // request before the previous response had emitted 'close', and node-fetch reported 'Premature close' for
    // a complete response (node-fetch #1767). With 16 sockets ~270 of these 300 concurrent reads failed: steps of
    // 100+ releases at once failed and retried (npm run bench:scale).
    for (const name of ['wide-a', 'wide-b']) {
      const d = deployment(name, ns.name, 'ghcr.io/acme/web:1.0.0', { app: name });
      d.metadata = { ...d.metadata, annotations: { 'bench.fledge.dev/padding': 'x'.repeat(1000) } };
      await c.apps.createNamespacedDeployment({ namespace: ns.name, body: d });
    }
    const pooled = new PooledKubeConfig();
    pooled.loadFromFile(stack().kubeconfig);
    try {
      const apps = pooled.makeApiClient(k8s.AppsV1Api);
      for (let round = 0; round < 2; round++) {
        const results = await Promise.allSettled(
          Array.from({ length: 300 }, (_, i) =>
            apps.readNamespacedDeployment({ namespace: ns.name, name: i % 2 ? 'wide-a' : 'wide-b' }),
          ),
        );
        const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
        expect({ round, failed: failed.length, first: failed[0] }).toEqual({
          round,
          failed: 0,
          first: undefined,
        });
      }
    } finally {
      pooled.closeConnections();
    }
  });

  it('serves the version it was built as', async () => {
    const v = await c.kc.makeApiClient(k8s.VersionApi).getCode();
    expect(v.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
  });

  it('turns a Deployment into a ReplicaSet with Ready pods on the kwok node', async () => {
    await c.apps.createNamespacedDeployment({
      namespace: ns.name,
      body: deployment('web', ns.name, 'ghcr.io/acme/web:1.0.0', { app: 'web' }, 2),
    });
    const rs = await eventually('a ReplicaSet owned by the Deployment', async () => {
      const list = await c.apps.listNamespacedReplicaSet({ namespace: ns.name });
      return list.items.find((r) =>
        r.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'web'),
      );
    });
    expect(rs.spec?.replicas).toBe(2);
    const pods = await eventually(
      '2 Ready pods',
      async () => {
        const list = await c.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' });
        const ready = list.items.filter((p) =>
          p.status?.conditions?.some((cd) => cd.type === 'Ready' && cd.status === 'True'),
        );
        return ready.length === 2 ? ready : undefined;
      },
      { timeoutMs: 60_000 },
    );
    for (const p of pods) {
      // kwok-node-0, or another kwok node a scale run added (src/dev/stack/kube.ts ensureKwokNodes)
      expect(p.spec?.nodeName).toMatch(/^kwok-node-\d+$/);
      expect(p.status?.phase).toBe('Running');
    }
    const d = await eventually('deployment status readyReplicas=2', async () => {
      const dep = await c.apps.readNamespacedDeployment({ name: 'web', namespace: ns.name });
      return dep.status?.readyReplicas === 2 ? dep : undefined;
    });
    expect(d.status?.availableReplicas).toBe(2);
  });

  it('accepts a valid VirtualService and rejects one with a string weight', async () => {
    const vs = (weight: unknown): object => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: `web-${typeof weight}`, namespace: ns.name },
      spec: {
        hosts: ['web'],
        http: [
          {
            route: [
              { destination: { host: 'web-primary' }, weight: 90 },
              { destination: { host: 'web-canary' }, weight },
            ],
          },
        ],
      },
    });
    const created = (await c.custom.createNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      namespace: ns.name,
      plural: 'virtualservices',
      body: vs(10),
    })) as { spec: { http: Array<{ route: Array<{ weight: number }> }> } };
    expect(created.spec.http[0]?.route[1]?.weight).toBe(10);

    const err = await c.custom
      .createNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        namespace: ns.name,
        plural: 'virtualservices',
        body: vs('ten'),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect((err as k8s.ApiException<string>).code).toBe(422);
    expect(String((err as k8s.ApiException<string>).body)).toMatch(/weight/);
  });

  it('accepts a valid HTTPRoute and rejects one with a string weight', async () => {
    const route = (weight: unknown): object => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: `web-${typeof weight}`, namespace: ns.name },
      spec: {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            backendRefs: [
              { name: 'web-primary', port: 80, weight: 90 },
              { name: 'web-canary', port: 80, weight },
            ],
          },
        ],
      },
    });
    const args = {
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      namespace: ns.name,
      plural: 'httproutes',
    };
    const created = (await c.custom.createNamespacedCustomObject({ ...args, body: route(10) })) as {
      spec: { rules: Array<{ backendRefs: Array<{ weight: number }> }> };
    };
    expect(created.spec.rules[0]?.backendRefs[1]?.weight).toBe(10);
    const err = await c.custom.createNamespacedCustomObject({ ...args, body: route('ten') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as k8s.ApiException<string>).code).toBe(422);
    expect(String((err as k8s.ApiException<string>).body)).toMatch(/weight/);
  });
});
