// Config tracking: which references of a pod template are found and renamed, what a copy looks like, and the
// tracker's rules (opt-out annotation, Secret types, missing objects, a 403 on Secrets leaves the original and warns
// once) over an in-memory ConfigApi. The real apiserver path is test/integration/workloads.test.ts.
import { describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import {
  configCopy,
  configRefs,
  createConfigTracker,
  withPrimaryConfigRefs,
  type ConfigApi,
} from '../../../src/integrations/kubernetes/config-tracking.js';
import { primaryDeployment } from '../../../src/integrations/kubernetes/workloads.js';

const template = (): k8s.V1PodTemplateSpec => ({
  metadata: { labels: { app: 'podinfo' } },
  spec: {
    volumes: [
      { name: 'cfg', configMap: { name: 'app-config' } },
      { name: 'tls', secret: { secretName: 'app-tls' } },
      {
        name: 'all',
        projected: {
          sources: [{ configMap: { name: 'projected-cm' } }, { secret: { name: 'projected-secret' } }],
        },
      },
      { name: 'scratch', emptyDir: {} },
    ],
    initContainers: [{ name: 'init', image: 'busybox', envFrom: [{ configMapRef: { name: 'init-env' } }] }],
    containers: [
      {
        name: 'app',
        image: 'podinfo:1',
        envFrom: [{ secretRef: { name: 'app-env' } }, { configMapRef: { name: 'app-config' } }],
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'key-cm', key: 'a' } } },
          { name: 'B', valueFrom: { secretKeyRef: { name: 'key-secret', key: 'b' } } },
          { name: 'C', value: 'plain' },
          { name: 'D', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
      },
    ],
  },
});

describe('configRefs / withPrimaryConfigRefs', () => {
  it('finds every ConfigMap and Secret of volumes, projected sources, env valueFrom and envFrom (init containers too), once each', () => {
    expect(configRefs(template())).toEqual([
      { kind: 'ConfigMap', name: 'app-config' },
      { kind: 'Secret', name: 'app-tls' },
      { kind: 'ConfigMap', name: 'projected-cm' },
      { kind: 'Secret', name: 'projected-secret' },
      { kind: 'ConfigMap', name: 'init-env' },
      { kind: 'ConfigMap', name: 'key-cm' },
      { kind: 'Secret', name: 'key-secret' },
      { kind: 'Secret', name: 'app-env' },
    ]);
    expect(configRefs({ spec: { containers: [{ name: 'x' }] } })).toEqual([]);
  });

  it('renames only the tracked references (kind and name must both match) and leaves the input alone', () => {
    const tpl = template();
    const before = structuredClone(tpl);
    const out = withPrimaryConfigRefs(tpl, [
      { kind: 'ConfigMap', name: 'app-config' },
      { kind: 'Secret', name: 'app-env' },
      { kind: 'Secret', name: 'projected-secret' },
      { kind: 'Secret', name: 'key-cm' }, // a Secret of that name is not the ConfigMap
    ]);
    expect(tpl).toEqual(before);
    expect(out.spec?.volumes?.[0]?.configMap?.name).toBe('app-config-primary');
    expect(out.spec?.volumes?.[1]?.secret?.secretName).toBe('app-tls');
    expect(
      out.spec?.volumes?.[2]?.projected?.sources?.map((s) => s.configMap?.name ?? s.secret?.name),
    ).toEqual(['projected-cm', 'projected-secret-primary']);
    const app = out.spec?.containers[0];
    expect(app?.envFrom?.map((e) => e.secretRef?.name ?? e.configMapRef?.name)).toEqual([
      'app-env-primary',
      'app-config-primary',
    ]);
    expect(app?.env?.[0]?.valueFrom?.configMapKeyRef?.name).toBe('key-cm');
    expect(out.spec?.initContainers?.[0]?.envFrom?.[0]?.configMapRef?.name).toBe('init-env');
  });

  it("the primary Deployment's template refers to the copies; the target's references are untouched", () => {
    const target: k8s.V1Deployment = {
      metadata: { name: 'podinfo', namespace: 'ns' },
      spec: { selector: { matchLabels: { app: 'podinfo' } }, template: template() },
    };
    const p = primaryDeployment(target, 2, [{ kind: 'ConfigMap', name: 'app-config' }]);
    expect(p.spec?.template.spec?.volumes?.[0]?.configMap?.name).toBe('app-config-primary');
    expect(p.spec?.template.metadata?.labels).toEqual({ app: 'podinfo-primary' });
    expect(target.spec?.template.spec?.volumes?.[0]?.configMap?.name).toBe('app-config');
    expect(primaryDeployment(target, 2).spec?.template.spec?.volumes?.[0]?.configMap?.name).toBe(
      'app-config',
    );
  });
});

describe('configCopy', () => {
  const owner = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: 'podinfo-primary',
    uid: 'u-1',
    controller: true,
  };
  it('a ConfigMap copy: `-primary`, data and binaryData, managed-by label, copy-of annotation, owned by the primary', () => {
    expect(
      configCopy(
        'ns',
        { kind: 'ConfigMap', name: 'cfg', data: { a: '1' }, binaryData: { b: 'AA==' } },
        owner,
      ),
    ).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'cfg-primary',
        namespace: 'ns',
        labels: { 'app.kubernetes.io/managed-by': 'fledge' },
        annotations: { 'fledge.dev/copy-of': 'cfg' },
        ownerReferences: [owner],
      },
      data: { a: '1' },
      binaryData: { b: 'AA==' },
    });
  });
  it('a Secret copy keeps its type; without an owner there is no ownerReferences', () => {
    const s = configCopy('ns', { kind: 'Secret', name: 's', type: 'kubernetes.io/tls', data: { k: 'dg==' } });
    expect(s).toMatchObject({ kind: 'Secret', type: 'kubernetes.io/tls', data: { k: 'dg==' } });
    expect(s.metadata?.ownerReferences).toBeUndefined();
  });
});

/** An in-memory namespace; `forbidSecrets` answers 403 to Secret reads ('read') or writes ('write'). */
function fakeApi(
  objects: { configMaps?: Record<string, k8s.V1ConfigMap>; secrets?: Record<string, k8s.V1Secret> },
  forbidSecrets?: 'read' | 'write',
) {
  const applied: Array<k8s.V1ConfigMap | k8s.V1Secret> = [];
  const err = (code: number) => new k8s.ApiException(code, 'error', {}, {});
  const api: ConfigApi = {
    readConfigMap: async (_ns, name) => {
      const o = objects.configMaps?.[name];
      if (!o) throw err(404);
      return o;
    },
    readSecret: async (_ns, name) => {
      if (forbidSecrets === 'read') throw err(403);
      const o = objects.secrets?.[name];
      if (!o) throw err(404);
      return o;
    },
    apply: async (_ns, body) => {
      if (body.kind === 'Secret' && forbidSecrets === 'write') throw err(403);
      applied.push(body);
    },
  };
  return { api, applied };
}

describe('createConfigTracker', () => {
  const objects = {
    configMaps: {
      'app-config': { data: { level: 'info' } },
      'key-cm': {
        data: { a: '1' },
        metadata: { annotations: { 'flagger.app/config-tracking': 'disabled' } },
      },
      'init-env': { data: { x: 'y' } },
    },
    secrets: {
      'app-env': { type: 'Opaque', data: { TOKEN: 'c2VjcmV0' } },
      'app-tls': { type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y3J0' } },
      'key-secret': { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': 'e30=' } },
      'projected-secret': {
        data: { p: 'cA==' },
        metadata: { annotations: { 'flagger.app/config-tracking': 'disable' } },
      },
    },
  };

  it('tracks existing ConfigMaps and Opaque/TLS Secrets; skips opted-out ones, registry Secrets and missing objects', async () => {
    const { api } = fakeApi(objects);
    const tracked = await createConfigTracker(api).resolve('ns', template());
    expect(tracked.map((t) => `${t.kind}/${t.name}`)).toEqual([
      'ConfigMap/app-config',
      'Secret/app-tls',
      'ConfigMap/init-env',
      'Secret/app-env',
    ]);
    expect(tracked.find((t) => t.name === 'app-env')).toEqual({
      kind: 'Secret',
      name: 'app-env',
      type: 'Opaque',
      data: { TOKEN: 'c2VjcmV0' },
    });
  });

  it('a 403 on reading Secrets: ConfigMaps are still tracked, each Secret stays the original, one warning per Secret', async () => {
    const { api } = fakeApi(objects, 'read');
    const warnings: string[] = [];
    const tracker = createConfigTracker(api, { warn: (m) => warnings.push(m) });
    for (let i = 0; i < 3; i++) {
      const tracked = await tracker.resolve('ns', template());
      expect(tracked.map((t) => `${t.kind}/${t.name}`)).toEqual([
        'ConfigMap/app-config',
        'ConfigMap/init-env',
      ]);
    }
    // app-tls, projected-secret, app-env, key-secret: each warned once however many releases read them.
    expect(warnings).toHaveLength(4);
    expect(warnings.find((w) => w.includes('ns/app-env'))).toMatch(/may not read Secret ns\/app-env \(403\)/);
  });

  it('a 403 on writing a Secret copy leaves that Secret out (the primary keeps the original) and warns once', async () => {
    const { api, applied } = fakeApi(objects, 'write');
    const warnings: string[] = [];
    const tracker = createConfigTracker(api, { warn: (m) => warnings.push(m) });
    const tracked = await tracker.resolve('ns', template());
    const written = await tracker.applyCopies('ns', tracked);
    expect(written.map((t) => t.name)).toEqual(['app-config', 'init-env']);
    expect(applied.map((o) => o.metadata?.name)).toEqual(['app-config-primary', 'init-env-primary']);
    await tracker.applyCopies('ns', tracked);
    expect(warnings).toHaveLength(2);
  });

  it('other errors are not swallowed (a 500 reading a ConfigMap fails the step, to be retried)', async () => {
    const api: ConfigApi = {
      readConfigMap: async () => {
        throw new k8s.ApiException(500, 'boom', {}, {});
      },
      readSecret: async () => ({}),
      apply: async () => undefined,
    };
    await expect(createConfigTracker(api).resolve('ns', template())).rejects.toMatchObject({ code: 500 });
  });
});
