// Cluster mode inside the worker (FLEDGE_CLUSTER_MODE=true) and `spec.revertOnDeletion` on the real local stack: a
// Canary that takes over a user's VirtualService and apex Service gets Flagger's finalizer and keeps the route's
// original spec; deleting it mid-release aborts the release, then puts every object back — the target scaled to the
// primary's replicas, the apex Service selecting the target's pods, the VirtualService's original spec — and the
// Canary goes away. Ends with a check of each of those objects.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Client } from '@temporalio/client';
import * as k8s from '@kubernetes/client-node';
import { loadFledgeConfig } from '../../src/config.js';
import { loadToolPaths, projectRoot } from '../../src/dev/stack/config.js';
import { applyCrds, crdFiles } from '../../src/dev/stack/kube.js';
import { connectClient, releaseResult } from '../../src/starter.js';
import type { CanaryStatus } from '../../src/cluster/status.js';
import { originalConfigAnnotation } from '../../src/cluster/revert.js';
import { deployment, eventually, kube, withNamespace, type KubeClients } from '../support/stack.js';
import { canaryYaml, deploymentState } from './support.js';

const taskQueue = `e2e-cluster-revert-${Date.now().toString(36)}`;
let client: Client;
let k: KubeClients;
const children: ChildProcess[] = [];
const v0 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const canaryRef = { group: 'flagger.app', version: 'v1beta1', plural: 'canaries', name: 'podinfo' };
const vsRef = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', name: 'podinfo' };

/** The production worker with cluster mode on, watching `ns` (the namespace its release policy allows). */
function startWorker(ns: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: projectRoot,
    env: {
      ...process.env,
      FLEDGE_TASK_QUEUE: taskQueue,
      FLEDGE_CLUSTER_MODE: 'true',
      FLEDGE_ALLOWED_NAMESPACES: ns,
      FLEDGE_METRICS_PORT: 'off',
      // Leader election (on by default): a Lease of this test's own, so concurrent tests do not wait for each other.
      FLEDGE_LEASE_NAMESPACE: ns,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      output.push(b.toString());
      if (process.env.FLEDGE_TEST_VERBOSE) process.stderr.write(`[worker] ${b.toString()}`);
      if (output.join('').includes('fledge worker: cluster mode on')) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}: ${output.join('')}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

type CanaryObj = { status?: CanaryStatus; metadata: { finalizers?: string[] } };
const getCanary = async (ns: string): Promise<CanaryObj | undefined> =>
  (await k.custom.getNamespacedCustomObject({ ...canaryRef, namespace: ns }).catch((e: unknown) => {
    if (e instanceof k8s.ApiException && e.code === 404) return undefined;
    throw e;
  })) as CanaryObj | undefined;

type VsObj = { metadata: { annotations?: Record<string, string> }; spec: Record<string, unknown> };
const getVs = async (ns: string): Promise<VsObj> =>
  (await k.custom.getNamespacedCustomObject({ ...vsRef, namespace: ns })) as VsObj;

beforeAll(async () => {
  client = await connectClient(loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue }));
  k = kube();
  await applyCrds(k.kc, crdFiles(loadToolPaths().crdsDir));
});
afterAll(async () => {
  for (const c of children) await stop(c);
  await client?.connection.close();
});

describe('cluster mode in the worker: revertOnDeletion', () => {
  it('deleting a Canary with revertOnDeletion mid-release aborts it and restores the target, apex Service and route', async () => {
    const ns = await withNamespace(k, 'e2e-cluster-revert');
    try {
      await k.apps.createNamespacedDeployment({
        namespace: ns.name,
        body: deployment('podinfo', ns.name, v0, { app: 'podinfo' }, 2),
      });
      // What the team had before the Canary: an apex Service on the app's pods and a VirtualService of its own.
      await k.core.createNamespacedService({
        namespace: ns.name,
        body: {
          metadata: { name: 'podinfo' },
          spec: { selector: { app: 'podinfo' }, ports: [{ name: 'http', port: 9898, targetPort: 9898 }] },
        },
      });
      const originalSpec = {
        hosts: ['podinfo'],
        http: [{ name: 'default', route: [{ destination: { host: 'podinfo' }, weight: 100 }] }],
      };
      await k.custom.createNamespacedCustomObject({
        ...vsRef,
        namespace: ns.name,
        body: {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'podinfo', namespace: ns.name },
          spec: originalSpec,
        },
      });
      const worker = await startWorker(ns.name);

      const canary = parse(
        canaryYaml(ns.name, {
          analysis: '    interval: 2s\n    threshold: 2\n    stepWeight: 10\n    maxWeight: 50',
        }),
      ) as { spec: Record<string, unknown> };
      canary.spec.revertOnDeletion = true;
      await k.custom.createNamespacedCustomObject({ ...canaryRef, namespace: ns.name, body: canary });
      const init = await eventually(
        'Canary Initialized',
        async () => {
          const c = await getCanary(ns.name);
          return c?.status?.phase === 'Initialized' ? c : undefined;
        },
        { timeoutMs: 90_000 },
      );
      // Flagger's finalizer, and the taken-over route's original spec kept in Flagger's annotation.
      expect(init.metadata.finalizers).toContain('finalizer.flagger.app');
      const taken = await getVs(ns.name);
      expect(JSON.parse(taken.metadata.annotations?.[originalConfigAnnotation] ?? '{}')).toEqual(
        originalSpec,
      );
      expect(JSON.stringify(taken.spec)).toContain('podinfo-primary');
      const apexBefore = await k.core.readNamespacedService({ name: 'podinfo', namespace: ns.name });
      expect(apexBefore.spec?.selector).toEqual({ app: 'podinfo-primary' });
      expect((await deploymentState(k, ns.name, 'podinfo')).replicas).toBe(0);

      // A release under way (cluster mode started it from the image change)…
      await k.apps.patchNamespacedDeployment(
        {
          name: 'podinfo',
          namespace: ns.name,
          body: { spec: { template: { spec: { containers: [{ name: 'app', image: v1 }] } } } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
      await eventually(
        'canary weight > 0',
        async () => ((await getCanary(ns.name))?.status?.canaryWeight ?? 0) > 0 || undefined,
        { timeoutMs: 90_000, intervalMs: 200 },
      );
      // …when the Canary is deleted: the finalizer holds it until the revert is done.
      await k.custom.deleteNamespacedCustomObject({ ...canaryRef, namespace: ns.name });
      await eventually('Canary gone', async () => ((await getCanary(ns.name)) ? undefined : true), {
        timeoutMs: 150_000,
        intervalMs: 500,
      });

      const id = `fledge/${ns.name}/podinfo/6.5.1`;
      const aborted = await releaseResult(client, id, { timeoutMs: 10_000 });
      expect(aborted.outcome).toBe('Aborted');
      expect(aborted.operatorActions.at(-1)).toMatchObject({
        actor: 'fledge-cluster-mode',
        reason: 'Canary deleted',
      });
      // Every object as before the Canary: the route's original spec, the apex on the target's pods, the target at
      // the primary's replicas (running the image GitOps set).
      const vs = await getVs(ns.name);
      expect(vs.spec).toEqual(originalSpec);
      const apex = await k.core.readNamespacedService({ name: 'podinfo', namespace: ns.name });
      expect(apex.spec?.selector).toEqual({ app: 'podinfo' });
      expect(apex.spec?.ports?.map((p) => p.port)).toEqual([9898]);
      const primary = await deploymentState(k, ns.name, 'podinfo-primary');
      expect(primary.image).toBe(v0);
      const target = await deploymentState(k, ns.name, 'podinfo');
      expect(target).toEqual({ replicas: primary.replicas, image: v1 });
      expect(target.replicas).toBe(2);
      const ready = await k.apps.readNamespacedDeployment({ name: 'podinfo', namespace: ns.name });
      expect(ready.status?.readyReplicas).toBe(2);

      // The worker drains and exits on SIGTERM with cluster mode in it.
      expect(await stop(worker)).toBe(0);
    } finally {
      await ns.cleanup();
    }
  }, 300_000);
});
