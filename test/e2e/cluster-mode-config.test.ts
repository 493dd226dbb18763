// Cluster mode on the real local stack, part 2: config tracking as a trigger and leader election.
// - Editing a ConfigMap the target tracks starts a release of the target's current images; it is Promoted and the
//   primary's `-primary` copy holds the new data (the end-state oracle checks it); `status.trackedConfigs` carries
//   Flagger's checksums. Editing a ConfigMap nobody references, or one annotated `flagger.app/config-tracking:
//   disabled`, starts nothing.
// - Two `fledge cluster-mode` processes share a Lease: only the leader acts; SIGKILL it and the follower takes over
//   and starts the next release (one release, no duplicate).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { loadFledgeConfig } from '../../src/config.js';
import { loadToolPaths } from '../../src/dev/stack/config.js';
import { applyCrds, crdFiles } from '../../src/dev/stack/kube.js';
import { connectClient, releaseResult } from '../../src/starter.js';
import { configChecksum } from '../../src/cluster/configs.js';
import { deployment, kube, withNamespace, type KubeClients } from '../support/stack.js';
import { canaryYaml, endState } from './support.js';
import {
  canaryApi,
  promotedOf,
  readCanary,
  releasesOf,
  setConfigMapData,
  setImage,
  startNode,
  stopProc,
  waitPhase,
  withoutMetrics,
  type Proc,
} from './cluster-mode-support.js';

const taskQueue = `e2e-cluster-cfg-${Date.now().toString(36)}`;
let client: Client;
let k: KubeClients;
const procs: Proc[] = [];
const v0 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const analysis = '    interval: 2s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50';

const startController = (ns: string, label: string): Proc =>
  startNode(
    ['src/cli/main.ts', 'cluster-mode', '-n', ns],
    label,
    {
      FLEDGE_TASK_QUEUE: taskQueue,
      FLEDGE_LEASE_NAMESPACE: ns,
      FLEDGE_LEASE_DURATION: '4s',
      FLEDGE_LEASE_RENEW_DEADLINE: '3s',
      FLEDGE_LEASE_RETRY_PERIOD: '1s',
    },
    procs,
  );

async function applyCanary(ns: string): Promise<string> {
  const yaml = withoutMetrics(canaryYaml(ns, { analysis }));
  await k.custom.createNamespacedCustomObject({ ...canaryApi, namespace: ns, body: parse(yaml) as object });
  return yaml;
}

beforeAll(async () => {
  client = await connectClient(loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue }));
  k = kube();
  await applyCrds(k.kc, crdFiles(loadToolPaths().crdsDir));
  const worker = startNode(['src/worker.ts'], 'worker', { FLEDGE_TASK_QUEUE: taskQueue }, procs);
  await worker.waitFor('fledge worker: task queue');
});
afterAll(async () => {
  for (const p of procs) await stopProc(p);
  await client?.connection.close();
});

describe('cluster mode: config tracking', () => {
  it('a tracked ConfigMap edit releases the current images and promotes the new data to the -primary copy; untracked edits start nothing', async () => {
    const ns = await withNamespace(k, 'e2e-cm-config');
    try {
      const cm = (name: string, data: Record<string, string>, annotations?: Record<string, string>) =>
        k.core.createNamespacedConfigMap({
          namespace: ns.name,
          body: { metadata: { name, ...(annotations ? { annotations } : {}) }, data },
        });
      await cm('podinfo-env', { PODINFO_UI_COLOR: '#34577c' });
      await cm('podinfo-static', { motd: 'hello' }, { 'flagger.app/config-tracking': 'disabled' });
      await cm('unrelated', { x: '1' });
      await k.core.createNamespacedSecret({
        namespace: ns.name,
        body: { metadata: { name: 'podinfo-secret' }, type: 'Opaque', stringData: { token: 's3cret' } },
      });
      const dep = deployment('podinfo', ns.name, v0, { app: 'podinfo' }, 2);
      const pod = dep.spec?.template.spec;
      if (!pod) throw new Error('no pod spec');
      const app = pod.containers[0];
      if (!app) throw new Error('no container');
      app.envFrom = [{ configMapRef: { name: 'podinfo-env' } }];
      app.env = [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'podinfo-secret', key: 'token' } } }];
      app.volumeMounts = [{ name: 'static', mountPath: '/static' }];
      pod.volumes = [{ name: 'static', configMap: { name: 'podinfo-static' } }];
      await k.apps.createNamespacedDeployment({ namespace: ns.name, body: dep });
      const controller = startController(ns.name, 'cluster-mode');
      await controller.waitFor('fledge cluster-mode: ready');
      const yaml = await applyCanary(ns.name);
      const init = await waitPhase(k, ns.name, ['Initialized'], 120_000);
      // Flagger's keys and checksums: the ConfigMap and the Secret, not the opted-out ConfigMap.
      expect(init.trackedConfigs).toEqual({
        'configmap/podinfo-env': configChecksum({ PODINFO_UI_COLOR: '#34577c' }),
        'secret/podinfo-secret': configChecksum({ token: Buffer.from('s3cret').toString('base64') }),
      });
      expect(await releasesOf(client, ns.name)).toEqual([]);

      // Edits of a ConfigMap nobody references and of an opted-out one: nothing starts, the status stays.
      await setConfigMapData(k, ns.name, 'unrelated', { x: '2' });
      await setConfigMapData(k, ns.name, 'podinfo-static', { motd: 'changed' });
      await new Promise((r) => setTimeout(r, 4000));
      expect(await releasesOf(client, ns.name)).toEqual([]);
      const still = (await readCanary(k, ns.name)).status;
      expect(still?.phase).toBe('Initialized');
      expect(still?.lastTransitionTime).toBe(init.lastTransitionTime);

      // The tracked ConfigMap: a release of the current images; promoted, the copy holds the new data.
      const oracle = await endState({ kube: k }, yaml);
      await setConfigMapData(k, ns.name, 'podinfo-env', { PODINFO_UI_COLOR: '#ff0000' });
      await waitPhase(k, ns.name, ['Progressing'], 60_000);
      const done = await waitPhase(k, ns.name, ['Succeeded', 'Failed']);
      expect(done.phase).toBe('Succeeded');
      expect(promotedOf(done)).toMatchObject({ status: 'True', reason: 'Succeeded' });
      expect(done.lastAppliedSpec).toBe(init.lastAppliedSpec); // same template: a config revision
      expect(done.trackedConfigs?.['configmap/podinfo-env']).toBe(
        configChecksum({ PODINFO_UI_COLOR: '#ff0000' }),
      );
      const releases = await releasesOf(client, ns.name);
      expect(releases).toEqual([
        {
          id: `fledge/${ns.name}/podinfo/6.5.0`,
          runId: expect.any(String),
          initiator: `cluster-mode@${done.lastAppliedSpec}`,
        },
      ]);
      const result = await releaseResult(client, `fledge/${ns.name}/podinfo/6.5.0`, { timeoutMs: 10_000 });
      expect(result.outcome).toBe('Promoted');
      await oracle.verify(result, { app: v0 });
      const copy = await k.core.readNamespacedConfigMap({ name: 'podinfo-env-primary', namespace: ns.name });
      expect(copy.data).toEqual({ PODINFO_UI_COLOR: '#ff0000' });

      // Nothing more starts once recorded (the same configs are not released twice).
      await new Promise((r) => setTimeout(r, 3000));
      expect(await releasesOf(client, ns.name)).toHaveLength(1);
    } finally {
      await ns.cleanup();
    }
  }, 240_000);
});

describe('cluster mode: leader election', () => {
  it('two processes, one Lease: only the leader acts; SIGKILL it and the follower starts the next release', async () => {
    const ns = await withNamespace(k, 'e2e-cm-lease');
    try {
      await k.apps.createNamespacedDeployment({
        namespace: ns.name,
        body: deployment('podinfo', ns.name, v0, { app: 'podinfo' }, 2),
      });
      const a = startController(ns.name, 'cluster-mode-a');
      await a.waitFor('fledge cluster-mode: ready');
      const b = startController(ns.name, 'cluster-mode-b');
      await b.waitFor('fledge cluster-mode: ready');
      expect(a.output()).toMatch(/leading as/);
      expect(b.output()).toMatch(/following \(held by /);
      const lease = await k.kc
        .makeApiClient(k8s.CoordinationV1Api)
        .readNamespacedLease({ name: 'fledge-cluster-mode', namespace: ns.name });
      const yaml = await applyCanary(ns.name);
      await waitPhase(k, ns.name, ['Initialized'], 120_000);
      expect(a.output()).toMatch(/initialised/);
      expect(b.output()).not.toMatch(/initialised|leading as/);

      // The leader dies without releasing the Lease: the follower leads once it expired (4 s here).
      await stopProc(a, 'SIGKILL');
      const from = b.output().length;
      await b.waitFor('leading as', 30_000, from);
      const held = await k.kc
        .makeApiClient(k8s.CoordinationV1Api)
        .readNamespacedLease({ name: 'fledge-cluster-mode', namespace: ns.name });
      expect(held.spec?.holderIdentity).not.toBe(lease.spec?.holderIdentity);
      expect(held.spec?.leaseTransitions).toBe((lease.spec?.leaseTransitions ?? 0) + 1);

      const oracle = await endState({ kube: k }, yaml);
      const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
      await setImage(k, ns.name, v1);
      const done = await waitPhase(k, ns.name, ['Succeeded', 'Failed']);
      expect(done.phase).toBe('Succeeded');
      const id = `fledge/${ns.name}/podinfo/6.5.1`;
      const result = await releaseResult(client, id, { timeoutMs: 10_000 });
      expect(result.outcome).toBe('Promoted');
      await oracle.verify(result, { app: v1 });
      expect(b.output()).toContain(`release ${id} started`);
      expect((await releasesOf(client, ns.name)).map((r) => r.id)).toEqual([id]);

      // SIGTERM releases the Lease (empty holder): a new process leads at once, without waiting for expiry.
      await stopProc(b, 'SIGTERM');
      const released = await k.kc
        .makeApiClient(k8s.CoordinationV1Api)
        .readNamespacedLease({ name: 'fledge-cluster-mode', namespace: ns.name });
      expect(released.spec?.holderIdentity ?? '').toBe('');
      const c = startController(ns.name, 'cluster-mode-c');
      await c.waitFor('fledge cluster-mode: ready');
      expect(c.output()).toMatch(/leading as/);
    } finally {
      await ns.cleanup();
    }
  }, 240_000);
});
