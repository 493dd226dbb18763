// Config tracking (Flagger's ConfigTracker model): the ConfigMaps and Secrets the target's pod template refers to
// — volumes, projected volume sources, `env[].valueFrom` and `envFrom` of containers and init containers — are
// copied to `<name>-primary` when the primary is created and at every promotion, and the primary's template refers
// to the copies. So a changed ConfigMap reaches the canary first (it reads the original) and the primary only when
// the release promotes, exactly like a changed image.
//
// What is copied:
// - ConfigMaps, always (data and binaryData), unless the ConfigMap carries `flagger.app/config-tracking: disabled`
//   (Flagger's opt-out: the primary then refers to the original).
// - Secrets of the types Flagger tracks (Opaque, basic-auth, ssh-auth, tls; registry credentials are not), with the
//   same opt-out — and only when the worker is granted Secrets: a 403 on reading or writing one leaves that
//   reference pointing at the original, logs a warning once per Secret, and never fails the release.
// - A reference to an object that does not exist stays as it is (the target's own pods fail the same way).
// Copies carry only `app.kubernetes.io/managed-by: fledge` and `fledge.dev/copy-of` (no labels of the source: a
// GitOps tool's tracking label would make it prune or adopt the copy), and are owned by the primary Deployment
// (ownerReference), so they are garbage-collected with it. Writes are server-side applies (field manager fledge)
// through the request budget.
import * as k8s from '@kubernetes/client-node';
import type { RequestBudget } from './budget.js';
import { applyPatchOptions, fieldManager } from './client.js';

export type ConfigKind = 'ConfigMap' | 'Secret';

export interface ConfigRef {
  kind: ConfigKind;
  name: string;
}

/** Flagger's per-object opt-out: any value starting with `disable` turns tracking off for that object. */
export const configTrackingAnnotation = 'flagger.app/config-tracking';
/** On every copy: the source's name. */
export const copyOfAnnotation = 'fledge.dev/copy-of';
/** Secret types Flagger tracks; others (registry credentials, service-account tokens…) are left alone. */
export const trackedSecretTypes = [
  'Opaque',
  'kubernetes.io/basic-auth',
  'kubernetes.io/ssh-auth',
  'kubernetes.io/tls',
] as const;

export const configCopyName = (name: string): string => `${name}-primary`;
const key = (r: ConfigRef): string => `${r.kind}/${r.name}`;

export function trackingDisabled(annotations: Record<string, string> | undefined): boolean {
  return (annotations?.[configTrackingAnnotation] ?? '').startsWith('disable');
}

/** Calls `visit` on every ConfigMap/Secret reference of the pod spec, with a setter that renames it. */
function eachRef(
  spec: k8s.V1PodSpec | undefined,
  visit: (ref: ConfigRef, rename: (n: string) => void) => void,
) {
  for (const v of spec?.volumes ?? []) {
    const cm = v.configMap;
    if (cm?.name) visit({ kind: 'ConfigMap', name: cm.name }, (n) => (cm.name = n));
    const sec = v.secret;
    if (sec?.secretName) visit({ kind: 'Secret', name: sec.secretName }, (n) => (sec.secretName = n));
    for (const src of v.projected?.sources ?? []) {
      const pcm = src.configMap;
      if (pcm?.name) visit({ kind: 'ConfigMap', name: pcm.name }, (n) => (pcm.name = n));
      const psec = src.secret;
      if (psec?.name) visit({ kind: 'Secret', name: psec.name }, (n) => (psec.name = n));
    }
  }
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const e of c.env ?? []) {
      const cmk = e.valueFrom?.configMapKeyRef;
      if (cmk?.name) visit({ kind: 'ConfigMap', name: cmk.name }, (n) => (cmk.name = n));
      const sk = e.valueFrom?.secretKeyRef;
      if (sk?.name) visit({ kind: 'Secret', name: sk.name }, (n) => (sk.name = n));
    }
    for (const ef of c.envFrom ?? []) {
      const cmr = ef.configMapRef;
      if (cmr?.name) visit({ kind: 'ConfigMap', name: cmr.name }, (n) => (cmr.name = n));
      const sr = ef.secretRef;
      if (sr?.name) visit({ kind: 'Secret', name: sr.name }, (n) => (sr.name = n));
    }
  }
}

/** Every ConfigMap and Secret the pod template refers to, each once, in order of appearance. PURE. */
export function configRefs(tpl: k8s.V1PodTemplateSpec | undefined): ConfigRef[] {
  const seen = new Map<string, ConfigRef>();
  eachRef(tpl?.spec, (r) => {
    if (!seen.has(key(r))) seen.set(key(r), r);
  });
  return [...seen.values()];
}

/** The template with every reference to a tracked object renamed to its `-primary` copy (a new object). PURE. */
export function withPrimaryConfigRefs(
  tpl: k8s.V1PodTemplateSpec,
  tracked: readonly ConfigRef[],
): k8s.V1PodTemplateSpec {
  const out = structuredClone(tpl);
  const keys = new Set(tracked.map(key));
  eachRef(out.spec, (r, rename) => {
    if (keys.has(key(r))) rename(configCopyName(r.name));
  });
  return out;
}

/** A config object to copy, as read from its source. */
export interface TrackedConfig extends ConfigRef {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  /** Secrets only. */
  type?: string;
}

/** The copy `<name>-primary` as Fledge applies it. PURE. */
export function configCopy(
  namespace: string,
  c: TrackedConfig,
  owner?: k8s.V1OwnerReference,
): k8s.V1ConfigMap | k8s.V1Secret {
  const metadata: k8s.V1ObjectMeta = {
    name: configCopyName(c.name),
    namespace,
    labels: { 'app.kubernetes.io/managed-by': 'fledge' },
    annotations: { [copyOfAnnotation]: c.name },
    ...(owner ? { ownerReferences: [owner] } : {}),
  };
  const data = c.data ?? {};
  if (c.kind === 'Secret')
    return { apiVersion: 'v1', kind: 'Secret', metadata, ...(c.type ? { type: c.type } : {}), data };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    data,
    ...(c.binaryData && Object.keys(c.binaryData).length > 0 ? { binaryData: c.binaryData } : {}),
  };
}

/**
 * The ownerReference that ties a copy to the primary Deployment (garbage collection). Not a controller reference:
 * a copy Flagger made carries Flagger's controller reference to the Canary, and an object may have only one — a
 * second would make the apply fail (422) when Fledge takes over from Flagger (test/e2e/cluster-mode-switchover.test.ts).
 */
export function primaryOwner(primary: k8s.V1Deployment): k8s.V1OwnerReference | undefined {
  const uid = primary.metadata?.uid;
  const name = primary.metadata?.name;
  if (!uid || !name) return undefined;
  return { apiVersion: 'apps/v1', kind: 'Deployment', name, uid };
}

/** The Kubernetes calls config tracking makes (CoreV1Api through the budget; a fake in unit tests). */
export interface ConfigApi {
  readConfigMap(namespace: string, name: string): Promise<k8s.V1ConfigMap>;
  readSecret(namespace: string, name: string): Promise<k8s.V1Secret>;
  apply(namespace: string, body: k8s.V1ConfigMap | k8s.V1Secret): Promise<void>;
}

export function configApi(core: k8s.CoreV1Api, budget: RequestBudget): ConfigApi {
  return {
    readConfigMap: (namespace, name) => budget.call(() => core.readNamespacedConfigMap({ name, namespace })),
    readSecret: (namespace, name) => budget.call(() => core.readNamespacedSecret({ name, namespace })),
    async apply(namespace, body) {
      const name = body.metadata?.name ?? '';
      if (body.kind === 'Secret')
        await budget.call(() =>
          core.patchNamespacedSecret(
            { name, namespace, body: body as k8s.V1Secret, fieldManager, force: true },
            applyPatchOptions,
          ),
        );
      else
        await budget.call(() =>
          core.patchNamespacedConfigMap(
            { name, namespace, body: body as k8s.V1ConfigMap, fieldManager, force: true },
            applyPatchOptions,
          ),
        );
    },
  };
}

const httpCode = (e: unknown): number | undefined => (e instanceof k8s.ApiException ? e.code : undefined);

export interface ConfigTracker {
  /** The referenced objects to copy (missing, opted-out, untracked-type and forbidden Secrets left out). */
  resolve(namespace: string, tpl: k8s.V1PodTemplateSpec | undefined): Promise<TrackedConfig[]>;
  /**
   * Applies the copies (owned by `owner` when given) and returns those that were written: a Secret the worker may
   * not write (403) is left out, so the primary keeps referring to its original.
   */
  applyCopies(
    namespace: string,
    configs: TrackedConfig[],
    owner?: k8s.V1OwnerReference,
  ): Promise<TrackedConfig[]>;
}

export function createConfigTracker(
  api: ConfigApi,
  opts: { warn?: (message: string) => void } = {},
): ConfigTracker {
  const warn = opts.warn ?? ((m: string) => console.warn(`fledge worker: ${m}`));
  const warned = new Set<string>();
  const forbidden = (namespace: string, name: string, what: 'read' | 'write'): void => {
    const id = `${namespace}/${name}`;
    if (warned.has(id)) return;
    warned.add(id);
    warn(
      `config tracking: the worker may not ${what} Secret ${id} (403), so ${configCopyName(name)} is not made and ` +
        `the primary keeps referring to ${name} (a change to it is not released progressively; grant Secrets to track them)`,
    );
  };

  return {
    async resolve(namespace, tpl) {
      const out: TrackedConfig[] = [];
      for (const ref of configRefs(tpl)) {
        if (ref.kind === 'ConfigMap') {
          let cm: k8s.V1ConfigMap;
          try {
            cm = await api.readConfigMap(namespace, ref.name);
          } catch (e) {
            if (httpCode(e) === 404) continue;
            throw e;
          }
          if (trackingDisabled(cm.metadata?.annotations)) continue;
          out.push({ ...ref, data: cm.data ?? {}, ...(cm.binaryData ? { binaryData: cm.binaryData } : {}) });
        } else {
          let s: k8s.V1Secret;
          try {
            s = await api.readSecret(namespace, ref.name);
          } catch (e) {
            if (httpCode(e) === 404) continue;
            if (httpCode(e) === 403) {
              forbidden(namespace, ref.name, 'read');
              continue;
            }
            throw e;
          }
          const type = s.type ?? 'Opaque';
          if (!(trackedSecretTypes as readonly string[]).includes(type)) continue;
          if (trackingDisabled(s.metadata?.annotations)) continue;
          out.push({ ...ref, type, data: s.data ?? {} });
        }
      }
      return out;
    },

    async applyCopies(namespace, configs, owner) {
      const written: TrackedConfig[] = [];
      for (const c of configs) {
        try {
          await api.apply(namespace, configCopy(namespace, c, owner));
        } catch (e) {
          if (c.kind === 'Secret' && httpCode(e) === 403) {
            forbidden(namespace, c.name, 'write');
            continue;
          }
          throw e;
        }
        written.push(c);
      }
      return written;
    },
  };
}
