// Canary objects as the apiserver serves them (canaries.flagger.app), the pod-template hash that decides when a
// release starts, and the release input built from the cluster's objects.
import { createHash } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { CanaryStatus } from './status.js';

export const flaggerGroup = 'flagger.app';
export const flaggerVersion = 'v1beta1';
/** Flagger's finalizer (added only when `spec.revertOnDeletion` is set). */
export const flaggerFinalizer = 'finalizer.flagger.app';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
}

export interface CanaryObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    targetRef?: { apiVersion?: string; kind?: string; name?: string };
    suspend?: boolean;
    revertOnDeletion?: boolean;
    analysis?: {
      metrics?: Array<{ templateRef?: { name?: string; namespace?: string }; [k: string]: unknown }>;
      alerts?: Array<{ providerRef?: { name?: string; namespace?: string }; [k: string]: unknown }>;
      [k: string]: unknown;
    };
    [k: string]: unknown;
  };
  status?: CanaryStatus;
}

/** A Deployment as the watch delivers it (plain JSON; only the fields read here are typed). */
export type DeploymentObject = k8s.V1Deployment;

export const canaryKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return canaryKey(o.metadata?.namespace ?? 'default', o.metadata?.name ?? '');
}

/** The target Deployment's name (`spec.targetRef.name`). */
export function targetName(c: CanaryObject): string | undefined {
  return c.spec?.targetRef?.name;
}

export function targetKind(c: CanaryObject): string {
  return c.spec?.targetRef?.kind ?? 'Deployment';
}

/** JSON with object keys sorted, so equal objects hash equally whatever order the server sent. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The hash of a pod template (Flagger compares a hash of the target's `spec.template` with `status.lastAppliedSpec`;
 * this is Fledge's own hash, not Flagger's: a scale or any other change outside the template changes nothing).
 */
export function templateHash(template: unknown): string {
  const t = structuredClone(template ?? {}) as { metadata?: Record<string, unknown> };
  if (t.metadata) delete t.metadata.creationTimestamp;
  return createHash('sha256').update(canonical(t)).digest('hex').slice(0, 16);
}

export function containerImages(dep: DeploymentObject | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of dep?.spec?.template?.spec?.containers ?? []) if (c.image) out[c.name] = c.image;
  return out;
}

/**
 * The images a release of the target's new template carries: the containers whose image differs from the primary's
 * (what `kubectl set image` or a GitOps image bump changed), else — a change elsewhere in the template (env, resources…)
 * — every container's image.
 */
export function releaseImages(
  target: DeploymentObject,
  primary: DeploymentObject | undefined,
): Record<string, string> {
  const all = containerImages(target);
  const before = containerImages(primary);
  const changed = Object.fromEntries(Object.entries(all).filter(([c, img]) => before[c] !== img));
  return Object.keys(changed).length > 0 ? changed : all;
}

/** Marks the cluster-mode releases: `cluster-mode@<template hash>` (shown as the release's initiator). */
export const clusterInitiator = (hash: string): string => `cluster-mode@${hash}`;

type Doc = { apiVersion?: string; kind?: string; metadata?: ObjectMeta; spec?: unknown };

/** A cluster object reduced to what a manifest carries (no status, no server-filled metadata). */
export function manifestOf(o: Doc, kind: string): Record<string, unknown> {
  return {
    apiVersion: o.apiVersion ?? `${flaggerGroup}/${flaggerVersion}`,
    kind,
    metadata: {
      name: o.metadata?.name,
      ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
      ...(o.metadata?.labels ? { labels: o.metadata.labels } : {}),
    },
    spec: o.spec ?? {},
  };
}

/** The MetricTemplates and AlertProviders a Canary references, as `{namespace, name}` (defaults: its namespace). */
export function referencedObjects(c: CanaryObject): {
  templates: Array<{ namespace: string; name: string }>;
  providers: Array<{ namespace: string; name: string }>;
} {
  const ns = c.metadata.namespace ?? 'default';
  const uniq = (xs: Array<{ namespace: string; name: string }>) => [
    ...new Map(xs.map((x) => [`${x.namespace}/${x.name}`, x])).values(),
  ];
  return {
    templates: uniq(
      (c.spec.analysis?.metrics ?? [])
        .filter((m) => m.templateRef?.name)
        .map((m) => ({ namespace: m.templateRef?.namespace ?? ns, name: m.templateRef?.name ?? '' })),
    ),
    providers: uniq(
      (c.spec.analysis?.alerts ?? [])
        .filter((a) => a.providerRef?.name)
        .map((a) => ({ namespace: a.providerRef?.namespace ?? ns, name: a.providerRef?.name ?? '' })),
    ),
  };
}

/**
 * The release input's multi-document YAML: the Canary and the objects it references, each as JSON (a JSON
 * document is YAML), so the same validation as `fledge start` applies.
 */
export function releaseYaml(c: CanaryObject, templates: Doc[], providers: Doc[]): string {
  // `revertOnDeletion` is the Canary object's own concern (its finalizer, handled by cluster mode), not the release's.
  const { revertOnDeletion: _ownedByClusterMode, ...spec } = c.spec;
  return [
    manifestOf({ ...c, spec }, 'Canary'),
    ...templates.map((t) => manifestOf(t, 'MetricTemplate')),
    ...providers.map((p) => manifestOf(p, 'AlertProvider')),
  ]
    .map((d) => JSON.stringify(d, null, 1))
    .join('\n---\n');
}
