// Config tracking as a release trigger (Flagger's ConfigTracker, facts only): the ConfigMaps and Secrets a target's
// pod template refers to (volumes, projected sources, env valueFrom, envFrom — of containers and init containers)
// are tracked by a checksum of their data, recorded in the Canary's `status.trackedConfigs` as
// `{"configmap/<name>": <checksum>, "secret/<name>": <checksum>}`; a change there is a new revision, released with
// the target's current images (the promotion copies the new data to the `-primary` copies, see
// src/integrations/kubernetes/config-tracking.ts). Not tracked: objects annotated `flagger.app/config-tracking:
// disabled`, Secrets of other types than Flagger's tracked ones (registry credentials, tokens), missing objects.
//
// The checksum is Flagger's own (the first 8 bytes of the SHA-256 of Go's JSON encoding of `data`, in hex), so a
// Canary taken over from Flagger keeps its trackedConfigs and starts no release when nothing changed.
//
// Cost: one watch per kind and scope (ConfigMaps; Secrets where RBAC allows) that keeps only each object's checksum,
// type and opt-out in memory — never the data (a cluster's Secrets include Helm's release records, megabytes each).
// PURE helpers first; the watch below.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import {
  configRefs,
  trackedSecretTypes,
  trackingDisabled,
} from '../integrations/kubernetes/config-tracking.js';

export type TrackedConfigs = Record<string, string>;

/** Go's `json.Marshal` of a string: JSON.stringify plus Go's HTML-safe escapes (<, >, &, U+2028, U+2029). PURE. */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${hex}`;
  });
}

/**
 * Flagger's checksum of a ConfigMap's or Secret's `data` (Go: `json.Marshal` — map keys sorted, `null` when there is
 * no data — then SHA-256, the first 8 bytes in hex). A Secret's data is compared as the apiserver serves it (base64,
 * which is how Go encodes `[]byte`). PURE.
 */
export function configChecksum(data: Record<string, string> | undefined | null): string {
  const json =
    data == null
      ? 'null'
      : `{${Object.keys(data)
          .sort()
          .map((k) => `${goString(k)}:${goString(data[k] ?? '')}`)
          .join(',')}}`;
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

/** What the watch keeps of one ConfigMap or Secret. */
export interface ConfigDigest {
  checksum: string;
  disabled: boolean;
  /** Secrets only. */
  type?: string;
}

export function digestOf(o: k8s.V1ConfigMap | k8s.V1Secret, kind: 'ConfigMap' | 'Secret'): ConfigDigest {
  return {
    checksum: configChecksum(o.data),
    disabled: trackingDisabled(o.metadata?.annotations),
    ...(kind === 'Secret' ? { type: (o as k8s.V1Secret).type ?? 'Opaque' } : {}),
  };
}

/**
 * The trackedConfigs of a pod template, from what the watches know (Flagger's GetConfigRefs). `secrets: false` (no
 * Secrets watch: not granted) leaves Secrets out. Undefined while a referenced object does not exist (Flagger: a
 * missing ConfigMap/Secret is an error, not a change — e.g. a namespace being deleted, or applied in the wrong order):
 * no release starts until it exists. PURE.
 */
export function trackedConfigsOf(
  template: k8s.V1PodTemplateSpec | undefined,
  lookup: (kind: 'ConfigMap' | 'Secret', name: string) => ConfigDigest | undefined,
  opts: { secrets: boolean },
): TrackedConfigs | undefined {
  const out: TrackedConfigs = {};
  for (const ref of configRefs(template)) {
    if (ref.kind === 'Secret' && !opts.secrets) continue;
    const d = lookup(ref.kind, ref.name);
    if (!d) return undefined;
    if (d.disabled) continue;
    if (ref.kind === 'Secret' && !(trackedSecretTypes as readonly string[]).includes(d.type ?? 'Opaque'))
      continue;
    out[`${ref.kind.toLowerCase()}/${ref.name}`] = d.checksum;
  }
  return out;
}

/**
 * Whether the tracked configs differ from those recorded (Flagger's HasConfigChanged: a different set or a different
 * checksum). Recorded `undefined` — a status written before config tracking, by Fledge — is not a change (the caller
 * records the current ones). `secrets: false`: recorded Secrets (Flagger's, taken over) are not compared. PURE.
 */
export function configsChanged(
  current: TrackedConfigs,
  recorded: TrackedConfigs | undefined,
  opts: { secrets: boolean },
): boolean {
  if (recorded === undefined) return false;
  const visible = (m: TrackedConfigs) =>
    Object.entries(m)
      .filter(([k]) => opts.secrets || !k.startsWith('secret/'))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(visible(current)) !== JSON.stringify(visible(recorded));
}

export const sameConfigs = (a: TrackedConfigs | undefined, b: TrackedConfigs | undefined): boolean =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

// ── the watch ─────────────────────────────────────────────────────────────────────────────────────────────────

export interface ConfigWatchOptions {
  kc: k8s.KubeConfig;
  kind: 'ConfigMap' | 'Secret';
  /** '' = all namespaces. */
  namespace: string;
  /** A tracked object's checksum, opt-out or type changed (or it appeared or disappeared). */
  onChange: (namespace: string, name: string) => void;
  /** The list was refused with 403 (not granted): the watch stays off. */
  onForbidden?: () => void;
  log: (msg: string) => void;
}

export interface ConfigWatch {
  /** Lists (fills the digests) and starts watching; resolves once listed. False when forbidden (403). */
  start(): Promise<boolean>;
  stop(): void;
  get(namespace: string, name: string): ConfigDigest | undefined;
}

const sameDigest = (a: ConfigDigest | undefined, b: ConfigDigest | undefined): boolean =>
  a?.checksum === b?.checksum && a?.disabled === b?.disabled && a?.type === b?.type;

/**
 * A list + watch of ConfigMaps or Secrets that keeps only their digests. On a watch error or a closed watch it
 * lists again (with backoff after errors) and reports what changed meanwhile.
 */
export function createConfigWatch(opts: ConfigWatchOptions): ConfigWatch {
  const { kc, kind, namespace } = opts;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const watch = new k8s.Watch(kc);
  const digests = new Map<string, ConfigDigest>();
  const plural = kind === 'ConfigMap' ? 'configmaps' : 'secrets';
  const path = `/api/v1${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
  let stopped = false;
  let request: { abort(): void } | undefined;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  const keyOf = (o: k8s.KubernetesObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

  const set = (o: k8s.KubernetesObject, d: ConfigDigest | undefined): void => {
    const key = keyOf(o);
    const before = digests.get(key);
    if (d) digests.set(key, d);
    else digests.delete(key);
    if (!sameDigest(before, d)) opts.onChange(o.metadata?.namespace ?? '', o.metadata?.name ?? '');
  };

  const list = async (): Promise<string | undefined> => {
    const res =
      kind === 'ConfigMap'
        ? namespace
          ? await core.listNamespacedConfigMap({ namespace })
          : await core.listConfigMapForAllNamespaces()
        : namespace
          ? await core.listNamespacedSecret({ namespace })
          : await core.listSecretForAllNamespaces();
    const seen = new Set<string>();
    for (const o of res.items as Array<k8s.V1ConfigMap | k8s.V1Secret>) {
      seen.add(keyOf(o));
      set(o, digestOf(o, kind));
    }
    for (const key of [...digests.keys()])
      if (!seen.has(key)) {
        const [ns, name] = key.split('/') as [string, string];
        set({ metadata: { namespace: ns, name } }, undefined);
      }
    return res.metadata?.resourceVersion;
  };

  const restart = (err?: unknown): void => {
    request = undefined;
    if (stopped) return;
    const delay = err ? Math.min(30_000, 500 * 2 ** Math.min(++attempt, 6)) : 0;
    if (err)
      opts.log(
        `${plural} watch failed (${err instanceof Error ? err.message : String(err)}); restarting in ${Math.round(delay / 1000)} s`,
      );
    timer = setTimeout(() => {
      timer = undefined;
      void run().catch((e: unknown) => restart(e));
    }, delay);
  };

  const run = async (): Promise<void> => {
    const rv = await list();
    if (stopped) return;
    request = await watch.watch(
      path,
      { allowWatchBookmarks: true, ...(rv ? { resourceVersion: rv } : {}) },
      (type: string, obj: k8s.KubernetesObject) => {
        attempt = 0;
        if (type === 'ADDED' || type === 'MODIFIED') set(obj, digestOf(obj as k8s.V1ConfigMap, kind));
        else if (type === 'DELETED') set(obj, undefined);
      },
      // Closed by the server (its timeout) or failed (e.g. 410 Gone): listed again.
      (err: unknown) => restart(err ?? undefined),
    );
  };

  return {
    async start() {
      stopped = false;
      try {
        await run();
        return true;
      } catch (e) {
        if (e instanceof k8s.ApiException && e.code === 403) {
          opts.onForbidden?.();
          return false;
        }
        throw e;
      }
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      request?.abort();
    },
    get: (ns, name) => digests.get(`${ns}/${name}`),
  };
}
