// The Deployment WorkloadController against the real control plane (controllers + kwok make pods Ready).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { createRequestBudget } from '../../src/integrations/kubernetes/budget.js';
import {
  createWorkloadController,
  WorkloadError,
  type WorkloadController,
} from '../../src/integrations/kubernetes/workloads.js';
import { deployment, eventually, kube, withNamespace, type KubeClients } from '../support/stack.js';

let c: KubeClients;
let ns: { name: string; cleanup: () => Promise<void> };
let ctl: WorkloadController;

beforeAll(async () => {
  c = kube();
  ns = await withNamespace(c, 'it-wl');
  ctl = createWorkloadController(c.kc, createRequestBudget({ qps: 50, burst: 100, max429Retries: 3 }));
  await c.apps.createNamespacedDeployment({
    namespace: ns.name,
    body: deployment('podinfo', ns.name, 'ghcr.io/stefanprodan/podinfo:6.5.0', { app: 'podinfo' }, 2),
  });
});
afterAll(async () => {
  await ns?.cleanup();
});

describe('Deployment workload controller', () => {
  const t = () => ({ namespace: ns.name, name: 'podinfo' });

  it('creates <name>-primary from the target once, with the selector label suffixed', async () => {
    const first = await ctl.ensurePrimary(t());
    expect(first).toEqual({ created: true, primaryImages: { app: 'ghcr.io/stefanprodan/podinfo:6.5.0' } });
    expect((await ctl.ensurePrimary(t())).created).toBe(false);
    const primary = await c.apps.readNamespacedDeployment({ name: 'podinfo-primary', namespace: ns.name });
    expect(primary.spec?.selector.matchLabels).toEqual({ app: 'podinfo-primary' });
    expect(primary.spec?.replicas).toBe(2);
    const r = await eventually(
      'primary ready',
      async () => {
        const rd = await ctl.readiness(t(), 'primary', 100);
        return rd.ready ? rd : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(r.readyReplicas).toBe(2);
  });

  it('creates the three Services with Flagger selectors', async () => {
    await ctl.ensureServices(t(), { service: 'podinfo', port: 9898 });
    const sel = async (n: string) =>
      (await c.core.readNamespacedService({ name: n, namespace: ns.name })).spec?.selector;
    expect(await sel('podinfo')).toEqual({ app: 'podinfo-primary' });
    expect(await sel('podinfo-primary')).toEqual({ app: 'podinfo-primary' });
    expect(await sel('podinfo-canary')).toEqual({ app: 'podinfo' });
  });

  it('scales the canary to zero and up, sets images, and promotes the template to the primary', async () => {
    expect(await ctl.scaleCanary(t(), 'zero')).toBe(0);
    await ctl.setCanaryImages(t(), { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' });
    expect(await ctl.images(t(), 'canary')).toEqual({ app: 'ghcr.io/stefanprodan/podinfo:6.5.1' });
    expect(await ctl.scaleCanary(t(), 'up')).toBe(2);
    await eventually(
      'canary ready',
      async () => ((await ctl.readiness(t(), 'canary', 100)).ready ? true : undefined),
      { timeoutMs: 60_000 },
    );
    expect(await ctl.promote(t())).toEqual({ app: 'ghcr.io/stefanprodan/podinfo:6.5.1' });
    expect(await ctl.images(t(), 'primary')).toEqual({ app: 'ghcr.io/stefanprodan/podinfo:6.5.1' });
    await eventually(
      'primary rolled out',
      async () => ((await ctl.readiness(t(), 'primary', 100)).ready ? true : undefined),
      { timeoutMs: 60_000 },
    );
    const pods = await c.core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=podinfo-primary' });
    expect(
      pods.items.some((p) => p.spec?.containers[0]?.image === 'ghcr.io/stefanprodan/podinfo:6.5.1'),
    ).toBe(true);
  });

  it('creates <hpa>-primary from the target HPA, retargeted at the primary, with primaryScalerReplicas', async () => {
    const hpa = c.kc.makeApiClient(k8s.AutoscalingV2Api);
    await hpa.createNamespacedHorizontalPodAutoscaler({
      namespace: ns.name,
      body: {
        metadata: { name: 'podinfo' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
          minReplicas: 2,
          maxReplicas: 4,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
            },
          ],
        },
      },
    });
    await ctl.ensurePrimaryHpa(t(), 'podinfo', { minReplicas: 3, maxReplicas: 6 });
    const primary = await hpa.readNamespacedHorizontalPodAutoscaler({
      name: 'podinfo-primary',
      namespace: ns.name,
    });
    expect(primary.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'podinfo-primary' });
    expect(primary.spec).toMatchObject({ minReplicas: 3, maxReplicas: 6 });
    expect(primary.spec?.metrics?.[0]?.resource?.target.averageUtilization).toBe(80);
    const missing = await ctl.ensurePrimaryHpa(t(), 'ghost').catch((e: unknown) => e);
    expect((missing as WorkloadError).kind).toBe('not-found');
  });

  it('rejects an unknown container and a missing target with typed errors', async () => {
    const bad = await ctl.setCanaryImages(t(), { nope: 'x:1' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(WorkloadError);
    expect((bad as WorkloadError).kind).toBe('invalid');
    const missing = await ctl.readTarget({ namespace: ns.name, name: 'ghost' }).catch((e: unknown) => e);
    expect((missing as WorkloadError).kind).toBe('not-found');
  });

  it('scaling a deleted canary to zero is done (a rollback after an out-of-band delete), scaling it up is an error', async () => {
    expect(await ctl.scaleCanary({ namespace: ns.name, name: 'ghost' }, 'zero')).toBe(0);
    const up = await ctl.scaleCanary({ namespace: ns.name, name: 'ghost' }, 'up').catch((e: unknown) => e);
    expect((up as WorkloadError).kind).toBe('not-found');
  });
});

describe('primary capacity and spec across releases (regression: promotion halved the primary)', () => {
  const t = () => ({ namespace: ns.name, name: 'sized' });
  const labels = { app: 'sized' };
  const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';

  /** The target as a user writes it: 3 replicas and the fields a promotion must carry to the primary. */
  const target = (): k8s.V1Deployment => {
    const d = deployment('sized', ns.name, v1, labels, 3);
    d.metadata = { ...d.metadata, labels: { ...labels, team: 'checkout' }, annotations: { owner: 'sre' } };
    d.spec!.minReadySeconds = 1;
    d.spec!.revisionHistoryLimit = 4;
    d.spec!.progressDeadlineSeconds = 120;
    d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    d.spec!.template.metadata = {
      labels: { ...labels, tier: 'web' },
      annotations: { 'prometheus.io/scrape': 'true' },
    };
    d.spec!.template.spec!.containers[0] = {
      ...d.spec!.template.spec!.containers[0]!,
      resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
      readinessProbe: {
        httpGet: { path: '/readyz', port: 9898 as unknown as k8s.IntOrString },
        periodSeconds: 5,
      },
    };
    return d;
  };

  /** Every field of the primary the model fixes, read back from the apiserver. */
  const primaryShape = async () => {
    const p = await c.apps.readNamespacedDeployment({ name: 'sized-primary', namespace: ns.name });
    const ctr = p.spec?.template.spec?.containers[0];
    return {
      replicas: p.spec?.replicas,
      minReadySeconds: p.spec?.minReadySeconds,
      revisionHistoryLimit: p.spec?.revisionHistoryLimit,
      progressDeadlineSeconds: p.spec?.progressDeadlineSeconds,
      strategy: p.spec?.strategy,
      selector: p.spec?.selector.matchLabels,
      labels: p.metadata?.labels,
      podLabels: p.spec?.template.metadata?.labels,
      podAnnotations: p.spec?.template.metadata?.annotations,
      image: ctr?.image,
      resources: ctr?.resources,
      readinessPath: ctr?.readinessProbe?.httpGet?.path,
    };
  };
  const expected = (image: string) => ({
    replicas: 3,
    minReadySeconds: 1,
    revisionHistoryLimit: 4,
    progressDeadlineSeconds: 120,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    selector: { app: 'sized-primary' },
    labels: { app: 'sized-primary', team: 'checkout' },
    podLabels: { app: 'sized-primary', tier: 'web' },
    podAnnotations: { 'prometheus.io/scrape': 'true' },
    image,
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    readinessPath: '/readyz',
  });

  /** One release as the workflow drives it: canary up with the new image, promote, canary back to zero. */
  const release = async (image: string) => {
    await ctl.setCanaryImages(t(), { app: image });
    expect(await ctl.scaleCanary(t(), 'up')).toBe(3);
    await ctl.promote(t());
    expect(await ctl.scaleCanary(t(), 'zero')).toBe(0);
  };

  it('keeps the primary at the target replicas and carries strategy, probes, resources and labels through two promotions', async () => {
    await c.apps.createNamespacedDeployment({ namespace: ns.name, body: target() });
    await ctl.ensurePrimary(t());
    expect(await primaryShape()).toEqual(expected(v1));
    await ctl.scaleCanary(t(), 'zero');
    await release('ghcr.io/stefanprodan/podinfo:6.5.1');
    expect(await primaryShape()).toEqual(expected('ghcr.io/stefanprodan/podinfo:6.5.1'));
    // The second release scales the canary from zero to the primary's capacity, and the primary keeps it.
    await release('ghcr.io/stefanprodan/podinfo:6.5.2');
    expect(await primaryShape()).toEqual(expected('ghcr.io/stefanprodan/podinfo:6.5.2'));
    // Re-initialisation (a retry or a new release) never resizes an existing primary.
    expect((await ctl.ensurePrimary(t())).created).toBe(false);
    expect((await primaryShape()).replicas).toBe(3);
  });
});

describe('config tracking: ConfigMaps and Secrets of the target are copied to -primary (Flagger model)', () => {
  const t = () => ({ namespace: ns.name, name: 'cfg' });
  const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  const cmData = async (name: string) =>
    (await c.core.readNamespacedConfigMap({ name, namespace: ns.name })).data;
  const setConfig = (level: string) =>
    c.core.patchNamespacedConfigMap(
      { name: 'cfg-config', namespace: ns.name, body: { data: { level } } },
      mergePatch,
    );
  const primaryPod = async () =>
    (await c.apps.readNamespacedDeployment({ name: 'cfg-primary', namespace: ns.name })).spec?.template.spec;
  const release = async (image: string) => {
    await ctl.setCanaryImages(t(), { app: image });
    await ctl.scaleCanary(t(), 'up');
    await ctl.promote(t());
    await ctl.scaleCanary(t(), 'zero');
  };

  beforeAll(async () => {
    const d = deployment('cfg', ns.name, v1, { app: 'cfg' }, 1);
    const pod = d.spec!.template.spec!;
    pod.volumes = [
      { name: 'config', configMap: { name: 'cfg-config' } },
      { name: 'static', configMap: { name: 'cfg-static' } },
    ];
    pod.containers[0]!.volumeMounts = [
      { name: 'config', mountPath: '/config' },
      { name: 'static', mountPath: '/static' },
    ];
    pod.containers[0]!.envFrom = [{ secretRef: { name: 'cfg-env' } }];
    await c.core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: 'cfg-config' }, data: { level: 'info' } },
    });
    await c.core.createNamespacedConfigMap({
      namespace: ns.name,
      body: {
        metadata: { name: 'cfg-static', annotations: { 'flagger.app/config-tracking': 'disabled' } },
        data: { x: '1' },
      },
    });
    await c.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'cfg-env' }, type: 'Opaque', stringData: { TOKEN: 'one' } },
    });
    await c.apps.createNamespacedDeployment({ namespace: ns.name, body: d });
  });

  it('the primary refers to owned copies; a changed ConfigMap reaches the copy only at the promotion; opt-out honoured', async () => {
    await ctl.ensurePrimary(t());
    let pod = await primaryPod();
    expect(pod?.volumes?.map((v) => v.configMap?.name)).toEqual(['cfg-config-primary', 'cfg-static']);
    expect(pod?.containers[0]?.envFrom).toEqual([{ secretRef: { name: 'cfg-env-primary' } }]);
    expect(await cmData('cfg-config-primary')).toEqual({ level: 'info' });
    const secretCopy = await c.core.readNamespacedSecret({ name: 'cfg-env-primary', namespace: ns.name });
    expect(secretCopy.type).toBe('Opaque');
    expect(Buffer.from(secretCopy.data?.TOKEN ?? '', 'base64').toString()).toBe('one');
    // Opted out: no copy of cfg-static.
    await expect(
      c.core.readNamespacedConfigMap({ name: 'cfg-static-primary', namespace: ns.name }),
    ).rejects.toMatchObject({ code: 404 });
    // Owned by the primary Deployment (garbage-collected with it).
    const primary = await c.apps.readNamespacedDeployment({ name: 'cfg-primary', namespace: ns.name });
    const cmCopy = await c.core.readNamespacedConfigMap({ name: 'cfg-config-primary', namespace: ns.name });
    for (const owners of [cmCopy.metadata?.ownerReferences, secretCopy.metadata?.ownerReferences])
      expect(owners).toEqual([
        expect.objectContaining({ kind: 'Deployment', name: 'cfg-primary', uid: primary.metadata?.uid }),
      ]);
    // The target keeps referring to the originals.
    const target = await c.apps.readNamespacedDeployment({ name: 'cfg', namespace: ns.name });
    expect(target.spec?.template.spec?.volumes?.[0]?.configMap?.name).toBe('cfg-config');

    // First release: promoted with the same config.
    await release('ghcr.io/stefanprodan/podinfo:6.5.1');
    expect(await cmData('cfg-config-primary')).toEqual({ level: 'info' });

    // Second release with a changed ConfigMap value: the canary reads the original at once; the primary's copy
    // keeps the old value through the analysis (canary up, not promoted yet) and changes at the promotion.
    await setConfig('debug');
    await ctl.setCanaryImages(t(), { app: 'ghcr.io/stefanprodan/podinfo:6.5.2' });
    await ctl.scaleCanary(t(), 'up');
    expect(await cmData('cfg-config-primary')).toEqual({ level: 'info' });
    await ctl.promote(t());
    expect(await cmData('cfg-config-primary')).toEqual({ level: 'debug' });
    await ctl.scaleCanary(t(), 'zero');
    pod = await primaryPod();
    expect(pod?.volumes?.map((v) => v.configMap?.name)).toEqual(['cfg-config-primary', 'cfg-static']);
    expect(pod?.containers[0]?.image).toBe('ghcr.io/stefanprodan/podinfo:6.5.2');
  });

  it('the copies go with the primary: deleting it garbage-collects them', async () => {
    await c.apps.deleteNamespacedDeployment({
      name: 'cfg-primary',
      namespace: ns.name,
      propagationPolicy: 'Background',
    });
    await eventually(
      'copies garbage-collected',
      async () => {
        const cms = await c.core.listNamespacedConfigMap({ namespace: ns.name });
        const secrets = await c.core.listNamespacedSecret({ namespace: ns.name });
        const left = [...cms.items, ...secrets.items].filter((o) =>
          ['cfg-config-primary', 'cfg-env-primary'].includes(o.metadata?.name ?? ''),
        );
        return left.length === 0 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    // A promotion re-creates the primary and its copies (copies first, then owned by the new primary).
    await ctl.promote(t());
    const primary = await c.apps.readNamespacedDeployment({ name: 'cfg-primary', namespace: ns.name });
    const copy = await c.core.readNamespacedConfigMap({ name: 'cfg-config-primary', namespace: ns.name });
    expect(copy.data).toEqual({ level: 'debug' });
    expect(copy.metadata?.ownerReferences?.map((o) => o.uid)).toEqual([primary.metadata?.uid]);
  });
});
