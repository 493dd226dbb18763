// docs/migration.md, "Switching a Flux / Argo CD managed cluster from Flagger" and "Rolling back to Flagger", step by
// step on the local stack, with Flagger's real controller (the binary `bash scripts/install-tools.sh flagger` builds
// from the Go module proxy for bench:peer; without it this test is skipped, saying so):
//   0. Flagger manages a Canary (initialised, one release promoted by Flagger);
//   1. no analysis in flight (`kubectl get canaries`: Succeeded);
//   2. Flagger's controller stopped; the Canary, its CRD and the objects Flagger made stay;
//   3. the worker started with cluster mode on (FLEDGE_CLUSTER_MODE=true, as the kustomize overlay sets it);
//   4. the Canary is taken over without a release (Flagger's trackedConfigs checksums are Fledge's too);
//   5. `kubectl set image` → a release, Promoted; the status conditions are the ones Flagger wrote;
//   rollback: the worker stopped after its release ended; the Canary object untouched; Flagger started again adopts it
//   (a Flagger analysis of the version the primary runs, promoted).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Client } from '@temporalio/client';
import { loadFledgeConfig } from '../../src/config.js';
import { flaggerBinary, loadToolPaths } from '../../src/dev/stack/config.js';
import { applyCrds, crdFiles } from '../../src/dev/stack/kube.js';
import { connectClient, releaseResult } from '../../src/starter.js';
import { configChecksum } from '../../src/cluster/configs.js';
import { deployment, kube, stack, withNamespace, type KubeClients } from '../support/stack.js';
import { canaryYaml, deploymentState, endState } from './support.js';
import {
  canaryApi,
  promotedOf,
  readCanary,
  releasesOf,
  setImage,
  startNode,
  startProc,
  stopProc,
  waitPhase,
  withoutMetrics,
  type Proc,
} from './cluster-mode-support.js';

const { bin: flaggerBin } = flaggerBinary();
const haveFlagger = existsSync(flaggerBin);
if (!haveFlagger)
  console.warn(
    `cluster-mode-switchover: skipped — Flagger's binary is not built (${flaggerBin}); run \`bash scripts/install-tools.sh flagger\``,
  );

const taskQueue = `e2e-switch-${Date.now().toString(36)}`;
let client: Client;
let k: KubeClients;
const procs: Proc[] = [];
const v0 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.2';
const run = promisify(execFile);
const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', stack().kubeconfig, ...args]);

const startFlagger = (ns: string): Proc =>
  startProc(
    flaggerBin,
    [
      `-kubeconfig=${stack().kubeconfig}`,
      '-mesh-provider=istio',
      `-metrics-server=${stack().urls.prometheus}`,
      `-namespace=${ns}`,
      `-port=${20000 + Math.floor(Math.random() * 9000)}`,
      '-log-level=info',
    ],
    'flagger',
    {},
    procs,
  );

/** The production worker with cluster mode on, as overlays/cluster-mode runs it (FLEDGE_CLUSTER_MODE=true). */
const startWorker = (ns: string): Proc =>
  startNode(
    ['src/worker.ts'],
    'worker',
    {
      FLEDGE_TASK_QUEUE: taskQueue,
      FLEDGE_CLUSTER_MODE: 'true',
      FLEDGE_ALLOWED_NAMESPACES: ns,
      FLEDGE_METRICS_PORT: 'off',
      FLEDGE_LEASE_NAMESPACE: ns,
    },
    procs,
  );

/** The Promoted condition without its timestamps: what Flagger and Fledge must agree on. */
const conditionOf = (s: Parameters<typeof promotedOf>[0]) => {
  const c = promotedOf(s);
  return c ? { type: c.type, status: c.status, reason: c.reason, message: c.message } : undefined;
};

beforeAll(async () => {
  client = await connectClient(loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue }));
  k = kube();
  await applyCrds(k.kc, crdFiles(loadToolPaths().crdsDir));
});
afterAll(async () => {
  for (const p of procs) await stopProc(p);
  await client?.connection.close();
});

describe.skipIf(!haveFlagger)('docs/migration.md: switching from Flagger to cluster mode and back', () => {
  it('Flagger → Fledge cluster mode → Flagger, step by step', async () => {
    const ns = await withNamespace(k, 'e2e-switch');
    try {
      // 0. A cluster as Flagger runs it: the target (with a tracked ConfigMap) and its Canary, managed by Flagger.
      const envData = { PODINFO_UI_MESSAGE: 'hello' };
      await k.core.createNamespacedConfigMap({
        namespace: ns.name,
        body: { metadata: { name: 'podinfo-env' }, data: envData },
      });
      const dep = deployment('podinfo', ns.name, v0, { app: 'podinfo' }, 2);
      const app = dep.spec?.template.spec?.containers[0];
      if (app) app.envFrom = [{ configMapRef: { name: 'podinfo-env' } }];
      await k.apps.createNamespacedDeployment({ namespace: ns.name, body: dep });
      let flagger = startFlagger(ns.name);
      const yaml = withoutMetrics(
        canaryYaml(ns.name, {
          analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
        }),
      );
      await k.custom.createNamespacedCustomObject({
        ...canaryApi,
        namespace: ns.name,
        body: parse(yaml) as object,
      });
      const flaggerInit = await waitPhase(k, ns.name, ['Initialized'], 90_000);
      // Flagger's own trackedConfigs: the checksum Fledge computes is the same.
      expect(flaggerInit.trackedConfigs).toEqual({ 'configmap/podinfo-env': configChecksum(envData) });
      // A release under Flagger, let finish (step 1 of the doc: no analysis in flight).
      await setImage(k, ns.name, v1);
      await waitPhase(k, ns.name, ['Progressing'], 60_000);
      const byFlagger = await waitPhase(k, ns.name, ['Succeeded', 'Failed'], 120_000);
      expect(byFlagger.phase).toBe('Succeeded');
      expect(await deploymentState(k, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });

      // 1. `kubectl get canaries -A`: nothing in flight.
      expect((await kubectl('get', 'canaries', '-n', ns.name)).stdout).toMatch(/podinfo\s+Succeeded\s+0/);

      // 2. Stop Flagger's controller (scaled to zero; here: its process ends). Nothing is deleted.
      const before = await readCanary(k, ns.name);
      await stopProc(flagger, 'SIGTERM');
      expect((await readCanary(k, ns.name)).metadata.generation).toBe(before.metadata.generation);

      // 3. The worker with cluster mode on.
      const worker = startWorker(ns.name);
      await worker.waitFor('cluster mode on', 90_000);

      // 4. Taken over from Flagger's status: no release (the primary runs the target's images, configs unchanged).
      await worker.waitFor('taken over from Flagger', 30_000);
      const adopted = (await readCanary(k, ns.name)).status;
      expect(adopted?.phase).toBe('Succeeded');
      expect(adopted?.lastAppliedSpec).not.toBe(byFlagger.lastAppliedSpec);
      expect(adopted?.trackedConfigs).toEqual(byFlagger.trackedConfigs);
      expect(await releasesOf(client, ns.name)).toEqual([]);

      // 5. An image bump as GitOps applies it: released by Fledge; the status follows as Flagger's did.
      const oracle = await endState({ kube: k }, yaml);
      await setImage(k, ns.name, v2);
      await waitPhase(k, ns.name, ['Progressing'], 60_000);
      const byFledge = await waitPhase(k, ns.name, ['Succeeded', 'Failed'], 180_000);
      expect(byFledge.phase, JSON.stringify(promotedOf(byFledge))).toBe('Succeeded');
      // What Flux's health check and a pipeline wait on.
      const waited = await kubectl(
        'wait',
        'canary/podinfo',
        '-n',
        ns.name,
        '--for=condition=promoted',
        '--timeout=30s',
      );
      expect(waited.stdout).toContain('condition met');
      expect(conditionOf(byFledge)).toEqual(conditionOf(byFlagger));
      const id = `fledge/${ns.name}/podinfo/6.5.2`;
      const result = await releaseResult(client, id, { timeoutMs: 10_000 });
      expect(result.outcome).toBe('Promoted');
      await oracle.verify(result, { app: v2 });

      // Rolling back to Flagger: stop the worker (its release ended); the Canary object is as it was applied.
      await stopProc(worker, 'SIGTERM');
      const left = await readCanary(k, ns.name);
      expect(left.metadata.generation).toBe(before.metadata.generation);
      expect(left.spec).toEqual(before.spec);
      expect(left.metadata.finalizers ?? []).toEqual([]);
      // Flagger again: its hashes are not Fledge's, so it runs one analysis of what the primary runs, and promotes.
      flagger = startFlagger(ns.name);
      await waitPhase(k, ns.name, ['Progressing'], 60_000);
      const back = await waitPhase(k, ns.name, ['Succeeded', 'Failed'], 120_000);
      expect(back.phase).toBe('Succeeded');
      expect(back.trackedConfigs).toEqual({ 'configmap/podinfo-env': configChecksum(envData) });
      expect(await deploymentState(k, ns.name, 'podinfo-primary')).toMatchObject({ image: v2 });
      await stopProc(flagger, 'SIGTERM');
    } finally {
      await ns.cleanup();
    }
  }, 540_000);
});
