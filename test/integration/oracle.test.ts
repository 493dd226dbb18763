// The end-state oracle must be able to fail: a correct promoted state passes, and each way the cluster can be wrong
// (the halved primary of the capacity bug, a leftover mirror or A/B route, a wrong selector, an orphan, a removed
// user object, a stale template, a canary left running, a stale or unowned config copy, a primary referring to the
// original ConfigMap) is reported with the object and field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { createRequestBudget } from '../../src/integrations/kubernetes/budget.js';
import { createWorkloadController } from '../../src/integrations/kubernetes/workloads.js';
import { createIstioRouter } from '../../src/integrations/traffic/istio.js';
import type { RouterTarget } from '../../src/integrations/traffic/router.js';
import { captureBaseline, verifyEndState, type Baseline, type OracleSpec } from '../../src/dev/oracle.js';
import type { ReleaseResult } from '../../src/domain/result.js';
import { deployment, eventually, kube, withNamespace, type KubeClients } from '../support/stack.js';

let c: KubeClients;
let ns: { name: string; cleanup: () => Promise<void> };
let baseline: Baseline;
const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const promoted: Pick<ReleaseResult, 'outcome' | 'reason'> = {
  outcome: 'Promoted',
  reason: { code: 'analysis-passed', message: '' },
};
const rolledBack: Pick<ReleaseResult, 'outcome' | 'reason'> = {
  outcome: 'RolledBack',
  reason: { code: 'failed-checks-threshold', message: '' },
};

const spec = (): OracleSpec => ({
  namespace: ns.name,
  target: 'podinfo',
  provider: 'istio',
  service: { name: 'podinfo', port: 9898, portName: 'http', targetPort: 9898 },
});
const rt = (): RouterTarget => ({ namespace: ns.name, service: 'podinfo', port: 9898 });

beforeAll(async () => {
  c = kube();
  ns = await withNamespace(c, 'it-oracle');
  // The target mounts a ConfigMap and reads a Secret through envFrom: both are tracked (copied to -primary).
  const target = deployment('podinfo', ns.name, v1, { app: 'podinfo' }, 2);
  const pod = target.spec!.template.spec!;
  pod.volumes = [{ name: 'config', configMap: { name: 'podinfo-config' } }];
  pod.containers[0]!.volumeMounts = [{ name: 'config', mountPath: '/config' }];
  pod.containers[0]!.envFrom = [{ secretRef: { name: 'podinfo-env' } }];
  await c.core.createNamespacedConfigMap({
    namespace: ns.name,
    body: { metadata: { name: 'podinfo-config' }, data: { level: 'info' } },
  });
  await c.core.createNamespacedSecret({
    namespace: ns.name,
    body: { metadata: { name: 'podinfo-env' }, type: 'Opaque', stringData: { TOKEN: 'one' } },
  });
  await c.apps.createNamespacedDeployment({ namespace: ns.name, body: target });
  await c.core.createNamespacedConfigMap({
    namespace: ns.name,
    body: { metadata: { name: 'users-config' }, data: { a: '1' } },
  });
  baseline = await captureBaseline(c.kc, spec());
  // A promoted release, driven through the product's own controller and router.
  const budget = createRequestBudget({ qps: 100, burst: 100, max429Retries: 3 });
  const wl = createWorkloadController(c.kc, budget);
  const router = createIstioRouter(c.custom, budget);
  const t = { namespace: ns.name, name: 'podinfo' };
  await wl.ensurePrimary(t);
  await wl.ensureServices(t, { service: 'podinfo', port: 9898 });
  await router.reconcile(rt());
  await wl.setCanaryImages(t, { app: v2 });
  // The release changes the ConfigMap too: the copy must hold the new value after the promotion.
  await c.core.patchNamespacedConfigMap(
    { name: 'podinfo-config', namespace: ns.name, body: { data: { level: 'debug' } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await wl.scaleCanary(t, 'up');
  await wl.promote(t);
  await wl.scaleCanary(t, 'zero');
  await eventually(
    'primary rolled out',
    async () => ((await wl.readiness(t, 'primary', 100)).ready ? true : undefined),
    { timeoutMs: 60_000 },
  );
});
afterAll(async () => {
  await ns?.cleanup();
});

/** Applies a breakage, runs the oracle, undoes it. */
async function findingsWith(
  breakIt: () => Promise<void>,
  undo: () => Promise<void>,
  result = promoted,
): Promise<string[]> {
  await breakIt();
  try {
    return (await verifyEndState(c.kc, baseline, result, { app: v2 }, { settleMs: 0 })).findings;
  } finally {
    await undo();
  }
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const scalePrimary = (replicas: number) =>
  c.apps.patchNamespacedDeploymentScale(
    { name: 'podinfo-primary', namespace: ns.name, body: { spec: { replicas } } },
    mergePatch,
  );
const vsRef = () => ({
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
  namespace: ns.name,
  name: 'podinfo',
});
async function patchVs(http: unknown[]): Promise<void> {
  await c.custom.patchNamespacedCustomObject({ ...vsRef(), body: { spec: { http } } }, mergePatch);
}
const goodHttp = () => [
  {
    name: 'primary',
    route: [
      { destination: { host: 'podinfo-primary', port: { number: 9898 } }, weight: 100 },
      { destination: { host: 'podinfo-canary', port: { number: 9898 } }, weight: 0 },
    ],
  },
];

describe('end-state oracle', () => {
  it('passes the promoted state the product produces', async () => {
    const v = await verifyEndState(c.kc, baseline, promoted, { app: v2 });
    expect(v.findings).toEqual([]);
    expect(v.checked).toBeGreaterThan(20);
  });

  it('reports a halved primary (the capacity bug)', async () => {
    const f = await findingsWith(
      () => scalePrimary(1).then(() => undefined),
      () => scalePrimary(2).then(() => undefined),
    );
    expect(f).toContainEqual('Deployment/podinfo-primary.spec.replicas: expected 2, got 1');
  });

  it('reports the old image on the primary after Promoted, and the new one after a rollback', async () => {
    const rb = (await verifyEndState(c.kc, baseline, rolledBack, { app: v2 }, { settleMs: 0 })).findings;
    expect(
      rb.some((x) => x.startsWith('Deployment/podinfo-primary.spec.template.spec.containers[0].image')),
    ).toBe(true);
  });

  it('reports a mirror and an A/B route left on the VirtualService, and wrong weights', async () => {
    const [first] = goodHttp();
    const f = await findingsWith(
      () =>
        patchVs([
          {
            name: 'canary',
            match: [{ headers: { x: { exact: 'y' } } }],
            route: [{ destination: { host: 'podinfo-canary' } }],
          },
          {
            ...first,
            mirror: { host: 'podinfo-canary' },
            route: [
              { destination: { host: 'podinfo-primary', port: { number: 9898 } }, weight: 90 },
              { destination: { host: 'podinfo-canary', port: { number: 9898 } }, weight: 10 },
            ],
          },
        ]),
      () => patchVs(goodHttp()),
    );
    expect(f.some((x) => x.includes('no A/B match route left'))).toBe(true);
    expect(f.some((x) => x.startsWith('VirtualService/podinfo mirror'))).toBe(true);
    expect(f.some((x) => x.startsWith('VirtualService/podinfo weights'))).toBe(true);
  });

  it('reports a wrong Service selector, a canary left running, an orphan and a removed user object', async () => {
    const f = await findingsWith(
      async () => {
        await c.core.patchNamespacedService(
          { name: 'podinfo', namespace: ns.name, body: { spec: { selector: { app: 'podinfo' } } } },
          mergePatch,
        );
        await c.apps.patchNamespacedDeploymentScale(
          { name: 'podinfo', namespace: ns.name, body: { spec: { replicas: 1 } } },
          mergePatch,
        );
        await c.core.createNamespacedConfigMap({
          namespace: ns.name,
          body: { metadata: { name: 'left-behind' }, data: {} },
        });
        await c.core.deleteNamespacedConfigMap({ name: 'users-config', namespace: ns.name });
      },
      async () => {
        await c.core.patchNamespacedService(
          { name: 'podinfo', namespace: ns.name, body: { spec: { selector: { app: 'podinfo-primary' } } } },
          mergePatch,
        );
        await c.apps.patchNamespacedDeploymentScale(
          { name: 'podinfo', namespace: ns.name, body: { spec: { replicas: 0 } } },
          mergePatch,
        );
        await c.core.deleteNamespacedConfigMap({ name: 'left-behind', namespace: ns.name });
        await c.core.createNamespacedConfigMap({
          namespace: ns.name,
          body: { metadata: { name: 'users-config' }, data: { a: '1' } },
        });
      },
    );
    expect(f).toContainEqual('Service/podinfo.spec.selector.app: expected "podinfo-primary", got "podinfo"');
    expect(f).toContainEqual('Deployment/podinfo.spec.replicas: expected 0, got 1');
    expect(f).toContainEqual("ConfigMap/left-behind: not the user's and not Fledge's (orphaned)");
    expect(f).toContainEqual("ConfigMap/users-config: the user's object was removed");
  });

  it('reports a stale config copy (not the source as of the promotion) and a primary referring to the original', async () => {
    const setCopy = (level: string) =>
      c.core.patchNamespacedConfigMap(
        { name: 'podinfo-config-primary', namespace: ns.name, body: { data: { level } } },
        mergePatch,
      );
    const stale = await findingsWith(
      () => setCopy('info').then(() => undefined),
      () => setCopy('debug').then(() => undefined),
    );
    expect(stale).toContainEqual(
      'ConfigMap/podinfo-config-primary.data (= ConfigMap/podinfo-config as of the promotion).level: expected "debug", got "info"',
    );
    // After a rollback the copy must still hold what the primary ran before the release (the first value).
    const rb = (await verifyEndState(c.kc, baseline, rolledBack, { app: v2 }, { settleMs: 0 })).findings;
    expect(rb.some((x) => x.startsWith('ConfigMap/podinfo-config-primary.data'))).toBe(true);
    const volumes = (name: string) => [{ name: 'config', configMap: { name } }];
    const original = await findingsWith(
      () =>
        c.apps
          .patchNamespacedDeployment(
            {
              name: 'podinfo-primary',
              namespace: ns.name,
              body: { spec: { template: { spec: { volumes: volumes('podinfo-config') } } } },
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
          )
          .then(() => undefined),
      () =>
        c.apps
          .patchNamespacedDeployment(
            {
              name: 'podinfo-primary',
              namespace: ns.name,
              body: { spec: { template: { spec: { volumes: volumes('podinfo-config-primary') } } } },
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
          )
          .then(() => undefined),
    );
    expect(original).toContainEqual(
      'Deployment/podinfo-primary.spec.template.spec.volumes[0].configMap.name: expected "podinfo-config-primary", got "podinfo-config"',
    );
  });

  it('reports a config copy the primary does not own', async () => {
    const ownerOf = async () =>
      (await c.core.readNamespacedSecret({ name: 'podinfo-env-primary', namespace: ns.name })).metadata
        ?.ownerReferences;
    const owners = await ownerOf();
    expect(owners?.map((o) => o.name)).toEqual(['podinfo-primary']);
    const f = await findingsWith(
      () =>
        c.core
          .patchNamespacedSecret(
            {
              name: 'podinfo-env-primary',
              namespace: ns.name,
              body: { metadata: { ownerReferences: null } },
            },
            mergePatch,
          )
          .then(() => undefined),
      () =>
        c.core
          .patchNamespacedSecret(
            {
              name: 'podinfo-env-primary',
              namespace: ns.name,
              body: { metadata: { ownerReferences: owners } },
            },
            mergePatch,
          )
          .then(() => undefined),
    );
    expect(f).toContainEqual(
      'Secret/podinfo-env-primary.metadata.ownerReferences (owned by podinfo-primary): expected true, got false',
    );
  });

  it('reports a primary whose strategy or probes differ from the target', async () => {
    const f = await findingsWith(
      () =>
        c.apps
          .patchNamespacedDeployment(
            { name: 'podinfo-primary', namespace: ns.name, body: { spec: { minReadySeconds: 7 } } },
            mergePatch,
          )
          .then(() => undefined),
      () =>
        c.apps
          .patchNamespacedDeployment(
            { name: 'podinfo-primary', namespace: ns.name, body: { spec: { minReadySeconds: null } } },
            mergePatch,
          )
          .then(() => undefined),
    );
    expect(f.some((x) => x.startsWith('Deployment/podinfo-primary.spec.minReadySeconds'))).toBe(true);
  });
});
