// WorkloadController for Deployments, Flagger's object model: `deployment/<name>` is the canary slot (scaled to
// zero between releases), `deployment/<name>-primary` serves stable traffic and is created from the target on
// the first release; Services `<svc>`, `<svc>-primary`, `<svc>-canary`. Every write is an idempotent
// server-side apply with field manager "fledge"; every call goes through the request budget. The primary's
// ConfigMaps and Secrets are `-primary` copies made at its creation and at each promotion (config-tracking.ts).
//
// Server-side apply semantics bind every apply here: a field the manager applied before and leaves out of the
// next apply is REMOVED by the apiserver (and falls back to its default). So each apply of an object sends the
// whole of what Fledge owns on it — the primary Deployment is always built by `primaryDeployment()`, for its
// creation and for every promotion alike (a partial promotion apply once reset the primary's replicas to 1).
import * as k8s from '@kubernetes/client-node';
import type { ReleaseContext } from '../../domain/context.js';
import type { RequestBudget } from './budget.js';
import { applyPatchOptions, fieldManager } from './client.js';
import {
  configApi,
  createConfigTracker,
  primaryOwner,
  withPrimaryConfigRefs,
  type ConfigRef,
  type ConfigTracker,
} from './config-tracking.js';

export interface WorkloadTarget {
  namespace: string;
  name: string;
}

export interface ServicePorts {
  /** Apex service name (Flagger: `service.name`, default the target name). */
  service: string;
  port: number;
  targetPort?: number | string;
  portName?: string;
  appProtocol?: string;
  /** `service.portDiscovery`: also expose every container port of the target's pod template (`discoveredPorts`). */
  portDiscovery?: boolean;
  /** Labels/annotations per Service (Flagger `service.apex|primary|canary`). */
  metadata?: Partial<
    Record<
      'apex' | 'primary' | 'canary',
      { labels?: Record<string, string>; annotations?: Record<string, string> }
    >
  >;
}

/** The Services a release context asks for (initialise, and cluster mode's initialisation without a release). */
export function servicePortsOf(ctx: Pick<ReleaseContext, 'service'>): ServicePorts {
  return {
    service: ctx.service.name,
    port: ctx.service.port,
    ...(ctx.service.targetPort !== undefined ? { targetPort: ctx.service.targetPort } : {}),
    ...(ctx.service.portName ? { portName: ctx.service.portName } : {}),
    ...(ctx.service.appProtocol ? { appProtocol: ctx.service.appProtocol } : {}),
    ...(ctx.service.options.portDiscovery ? { portDiscovery: true } : {}),
    metadata: ctx.service.metadata,
  };
}

/** Service-mesh proxies whose ports are never exposed (Flagger's `sidecars`). */
const sidecarContainers = new Set(['istio-proxy', 'envoy']);

/**
 * `service.portDiscovery` (Flagger pkg/canary/util.go getPorts): every container port of the pod template except the
 * mesh proxies' and the one `service.port`/`targetPort` already exposes; named as the container port, else
 * `tcp-<container>-<index>`; each a TCP Service port with that number as port and targetPort. Sorted by name (Flagger
 * builds them from a Go map); a name or number the main port already uses is left out (the apiserver would refuse
 * the Service).
 */
export function discoveredPorts(
  containers: readonly k8s.V1Container[],
  main: { port: number; targetPort?: number | string; portName?: string },
): k8s.V1ServicePort[] {
  const target = main.targetPort ?? main.port;
  const byName = new Map<string, number>();
  for (const c of containers) {
    if (sidecarContainers.has(c.name)) continue;
    (c.ports ?? []).forEach((p, i) => {
      if (typeof target === 'number' ? p.containerPort === target : p.name === target) return;
      byName.set(p.name || `tcp-${c.name}-${i}`, p.containerPort);
    });
  }
  const mainName = main.portName ?? 'http';
  return [...byName.entries()]
    .filter(([name, port]) => name !== mainName && port !== main.port)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, port]) => ({
      name,
      port,
      targetPort: port as unknown as k8s.IntOrString,
      protocol: 'TCP',
    }));
}

export type WorkloadErrorKind = 'not-found' | 'unsupported' | 'invalid';

export class WorkloadError extends Error {
  constructor(
    message: string,
    readonly kind: WorkloadErrorKind,
  ) {
    super(message);
    this.name = 'WorkloadError';
  }
}

export interface Readiness {
  ready: boolean;
  /** Kubernetes reported ProgressDeadlineExceeded for the Deployment. */
  deadlineExceeded: boolean;
  message: string;
  replicas: number;
  readyReplicas: number;
}

/** Selector label keys Flagger looks for, in order (its `-selector-labels` default). */
export const selectorLabelKeys = ['app', 'name', 'app.kubernetes.io/name'] as const;

export const primaryName = (name: string): string => `${name}-primary`;

export function selectorLabel(dep: k8s.V1Deployment): { key: string; value: string } {
  const labels = dep.spec?.selector?.matchLabels ?? {};
  for (const key of selectorLabelKeys) {
    const value = labels[key];
    if (value) return { key, value };
  }
  throw new WorkloadError(
    `deployment ${dep.metadata?.namespace}/${dep.metadata?.name}: spec.selector.matchLabels needs one of ${selectorLabelKeys.join(', ')}`,
    'unsupported',
  );
}

/** The primary's pod template: the target's, with the selector label value suffixed by `-primary`. */
export function primaryTemplate(target: k8s.V1Deployment): k8s.V1PodTemplateSpec {
  const { key, value } = selectorLabel(target);
  const tpl = structuredClone(target.spec?.template ?? {}) as k8s.V1PodTemplateSpec;
  tpl.metadata = {
    ...(tpl.metadata ?? {}),
    labels: { ...(tpl.metadata?.labels ?? {}), [key]: `${value}-primary` },
  };
  delete tpl.metadata.creationTimestamp;
  return tpl;
}

/**
 * Target annotations never copied to the primary: the controller's bookkeeping and client-side apply state
 * belong to the target object, not to its copy.
 */
export const excludedAnnotationPrefixes = [
  'deployment.kubernetes.io/',
  'kubectl.kubernetes.io/last-applied-configuration',
  'fledge.dev/',
] as const;

function copiedAnnotations(target: k8s.V1Deployment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(target.metadata?.annotations ?? {}))
    if (!excludedAnnotationPrefixes.some((p) => k.startsWith(p))) out[k] = v;
  return out;
}

/**
 * The replica count the primary must run (Flagger's model): the target's `spec.replicas` while the user asks
 * for more than zero (first release, or GitOps re-applied the Deployment), else what the primary runs now —
 * the target itself sits at zero between releases. With an autoscaler the HPA owns the count, so what the
 * primary runs now comes first (applying the same value changes nothing). Never below 1.
 */
export function desiredPrimaryReplicas(
  target: k8s.V1Deployment,
  primary?: k8s.V1Deployment,
  opts: { autoscaled?: boolean } = {},
): number {
  const positive = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);
  const own = positive(target.spec?.replicas);
  const current = positive(primary?.spec?.replicas);
  return (opts.autoscaled ? (current ?? own) : (own ?? current)) ?? 1;
}

/**
 * The whole primary Deployment as Fledge owns it, from the target: metadata (labels with the selector value
 * suffixed `-primary`, annotations minus `excludedAnnotationPrefixes`), replicas, selector, pod template (its
 * references to the `tracked` ConfigMaps/Secrets renamed to their `-primary` copies, see config-tracking.ts),
 * strategy, minReadySeconds, progressDeadlineSeconds, revisionHistoryLimit. Used for creation and promotion.
 */
export function primaryDeployment(
  target: k8s.V1Deployment,
  replicas: number,
  tracked: readonly ConfigRef[] = [],
): k8s.V1Deployment {
  const { key, value } = selectorLabel(target);
  const ns = target.metadata?.namespace;
  const name = primaryName(target.metadata?.name ?? '');
  const spec = target.spec;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      ...(ns ? { namespace: ns } : {}),
      labels: { ...(target.metadata?.labels ?? {}), [key]: `${value}-primary` },
      annotations: { ...copiedAnnotations(target), 'fledge.dev/primary-of': target.metadata?.name ?? '' },
    },
    spec: {
      replicas,
      selector: { matchLabels: { [key]: `${value}-primary` } },
      template: withPrimaryConfigRefs(primaryTemplate(target), tracked),
      ...(spec?.strategy ? { strategy: spec.strategy } : {}),
      ...(spec?.minReadySeconds !== undefined ? { minReadySeconds: spec.minReadySeconds } : {}),
      ...(spec?.progressDeadlineSeconds !== undefined
        ? { progressDeadlineSeconds: spec.progressDeadlineSeconds }
        : {}),
      ...(spec?.revisionHistoryLimit !== undefined
        ? { revisionHistoryLimit: spec.revisionHistoryLimit }
        : {}),
    },
  };
}

export function imagesOf(dep: k8s.V1Deployment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of dep.spec?.template?.spec?.containers ?? []) if (c.image) out[c.name] = c.image;
  return out;
}

export function deploymentReadiness(dep: k8s.V1Deployment, thresholdPct: number): Readiness {
  const want = dep.spec?.replicas ?? 1;
  const st = dep.status ?? {};
  const ready = st.readyReplicas ?? 0;
  const base = { replicas: want, readyReplicas: ready };
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      ...base,
      ready: false,
      deadlineExceeded: true,
      message: `deployment ${dep.metadata?.name} exceeded its progress deadline`,
    };
  }
  if ((st.observedGeneration ?? 0) < (dep.metadata?.generation ?? 0)) {
    return {
      ...base,
      ready: false,
      deadlineExceeded: false,
      message: 'waiting for rollout to finish: observed generation less than desired',
    };
  }
  if (want === 0) return { ...base, ready: false, deadlineExceeded: false, message: 'no replicas requested' };
  const updated = st.updatedReplicas ?? 0;
  if (updated < want) {
    return {
      ...base,
      ready: false,
      deadlineExceeded: false,
      message: `waiting for rollout to finish: ${updated} of ${want} new replicas updated`,
    };
  }
  // Available counts the old ReplicaSet's pods too: until they are gone, "available" says nothing about the
  // new version (kubectl rollout status' rule; Flagger waits the same way before routing back to the primary).
  const total = st.replicas ?? 0;
  if (total > updated) {
    return {
      ...base,
      ready: false,
      deadlineExceeded: false,
      message: `waiting for rollout to finish: ${total - updated} old replicas are pending termination`,
    };
  }
  const available = st.availableReplicas ?? 0;
  const needed = Math.ceil((thresholdPct / 100) * updated);
  if (available < needed) {
    return {
      ...base,
      ready: false,
      deadlineExceeded: false,
      message: `waiting for rollout to finish: ${available} of ${updated} updated replicas available (need ${thresholdPct}%)`,
    };
  }
  return {
    ...base,
    ready: true,
    deadlineExceeded: false,
    message: `${available}/${want} replicas available`,
  };
}

function isNotFound(e: unknown): boolean {
  return e instanceof k8s.ApiException && e.code === 404;
}

export interface WorkloadController {
  readTarget(t: WorkloadTarget): Promise<k8s.V1Deployment>;
  /**
   * Creates `<name>-primary` from the target if missing (with copies of its tracked ConfigMaps/Secrets). Returns
   * whether it was created.
   */
  ensurePrimary(t: WorkloadTarget): Promise<{ created: boolean; primaryImages: Record<string, string> }>;
  ensureServices(t: WorkloadTarget, ports: ServicePorts): Promise<void>;
  /** Sets the given container images on the target (the canary slot). Unknown containers are an error. */
  setCanaryImages(t: WorkloadTarget, images: Record<string, string>): Promise<void>;
  /** Scales the canary slot: to the target's replicas, else the primary's ('up'), or to zero. */
  scaleCanary(t: WorkloadTarget, to: 'up' | 'zero'): Promise<number>;
  readiness(t: WorkloadTarget, which: 'canary' | 'primary', thresholdPct: number): Promise<Readiness>;
  /**
   * Applies the whole primary from the target (template, replicas, strategy, …; see `primaryDeployment`), which
   * starts its rolling update; first refreshes the `-primary` copies of the tracked ConfigMaps/Secrets. `autoscaled`: an HPA owns the primary's replicas, keep its current count.
   */
  promote(t: WorkloadTarget, opts?: { autoscaled?: boolean }): Promise<Record<string, string>>;
  images(t: WorkloadTarget, which: 'canary' | 'primary'): Promise<Record<string, string>>;
  /** `<hpa>-primary` from the target's HPA, retargeted at the primary. */
  ensurePrimaryHpa(
    t: WorkloadTarget,
    hpaName: string,
    replicas?: { minReplicas?: number; maxReplicas?: number },
  ): Promise<void>;
}

export function createWorkloadController(
  kc: k8s.KubeConfig,
  budget: RequestBudget,
  opts: { configTracker?: ConfigTracker; warn?: (message: string) => void } = {},
): WorkloadController {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const hpa = kc.makeApiClient(k8s.AutoscalingV2Api);
  const configs =
    opts.configTracker ?? createConfigTracker(configApi(core, budget), opts.warn ? { warn: opts.warn } : {});

  const read = async (namespace: string, name: string): Promise<k8s.V1Deployment> => {
    try {
      return await budget.call(() => apps.readNamespacedDeployment({ name, namespace }));
    } catch (e) {
      if (isNotFound(e)) throw new WorkloadError(`deployment ${namespace}/${name} not found`, 'not-found');
      throw e;
    }
  };
  const applyDeployment = (
    namespace: string,
    name: string,
    body: k8s.V1Deployment,
  ): Promise<k8s.V1Deployment> =>
    budget.call(() =>
      apps.patchNamespacedDeployment({ name, namespace, body, fieldManager, force: true }, applyPatchOptions),
    );
  /**
   * Applies the primary from the target with config tracking: the ConfigMap/Secret copies first (so the primary's
   * pods never refer to a copy that does not exist yet), owned by the existing primary; then the primary; then, when
   * the primary was just created, the copies again with it as their owner. Returns the applied primary.
   */
  const applyPrimary = async (
    target: k8s.V1Deployment,
    replicas: number,
    existing: k8s.V1Deployment | undefined,
  ): Promise<k8s.V1Deployment> => {
    const namespace = target.metadata?.namespace ?? '';
    const name = primaryName(target.metadata?.name ?? '');
    const sources = await configs.resolve(namespace, target.spec?.template);
    const owner = existing ? primaryOwner(existing) : undefined;
    const copied = await configs.applyCopies(namespace, sources, owner);
    const applied = await applyDeployment(namespace, name, primaryDeployment(target, replicas, copied));
    const created = primaryOwner(applied);
    if (!owner && created && copied.length > 0) await configs.applyCopies(namespace, copied, created);
    return applied;
  };

  const ctl: WorkloadController = {
    readTarget: (t) => read(t.namespace, t.name),

    async ensurePrimary(t) {
      const target = await read(t.namespace, t.name);
      try {
        const existing = await budget.call(() =>
          apps.readNamespacedDeployment({ name: primaryName(t.name), namespace: t.namespace }),
        );
        return { created: false, primaryImages: imagesOf(existing) };
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      const created = await applyPrimary(target, desiredPrimaryReplicas(target), undefined);
      return { created: true, primaryImages: imagesOf(created) };
    },

    async ensureServices(t, ports) {
      const target = await read(t.namespace, t.name);
      const { key, value } = selectorLabel(target);
      const port: k8s.V1ServicePort = {
        name: ports.portName ?? 'http',
        port: ports.port,
        targetPort: (ports.targetPort ?? ports.port) as unknown as k8s.IntOrString,
        protocol: 'TCP',
        ...(ports.appProtocol ? { appProtocol: ports.appProtocol } : {}),
      };
      const extra = ports.portDiscovery
        ? discoveredPorts(target.spec?.template.spec?.containers ?? [], ports)
        : [];
      const svcs: Array<[string, string, 'apex' | 'primary' | 'canary']> = [
        [ports.service, `${value}-primary`, 'apex'],
        [`${ports.service}-primary`, `${value}-primary`, 'primary'],
        [`${ports.service}-canary`, value, 'canary'],
      ];
      for (const [name, selector, role] of svcs) {
        const meta = ports.metadata?.[role];
        const body: k8s.V1Service = {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {
            name,
            namespace: t.namespace,
            labels: { ...(meta?.labels ?? {}), 'app.kubernetes.io/managed-by': 'fledge' },
            ...(meta?.annotations && Object.keys(meta.annotations).length > 0
              ? { annotations: meta.annotations }
              : {}),
          },
          spec: { type: 'ClusterIP', selector: { [key]: selector }, ports: [port, ...extra] },
        };
        await budget.call(() =>
          core.patchNamespacedService(
            { name, namespace: t.namespace, body, fieldManager, force: true },
            applyPatchOptions,
          ),
        );
      }
    },

    async setCanaryImages(t, images) {
      const target = await read(t.namespace, t.name);
      const names = new Set((target.spec?.template?.spec?.containers ?? []).map((c) => c.name));
      const unknown = Object.keys(images).filter((n) => !names.has(n));
      if (unknown.length > 0) {
        throw new WorkloadError(
          `deployment ${t.namespace}/${t.name} has no container named ${unknown.join(', ')} (containers: ${[...names].join(', ')})`,
          'invalid',
        );
      }
      const current = imagesOf(target);
      if (Object.entries(images).every(([n, img]) => current[n] === img)) return;
      // Strategic merge by container name: only the images change; the user keeps owning the rest.
      await budget.call(() =>
        apps.patchNamespacedDeployment(
          {
            name: t.name,
            namespace: t.namespace,
            fieldManager,
            body: {
              spec: {
                template: {
                  spec: { containers: Object.entries(images).map(([name, image]) => ({ name, image })) },
                },
              },
            },
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
        ),
      );
    },

    async scaleCanary(t, to) {
      let replicas = 0;
      if (to === 'up') {
        // Flagger's ScaleFromZero: the target's own replicas when the user set some, else the primary's.
        const target = await read(t.namespace, t.name);
        const primary = await read(t.namespace, primaryName(t.name));
        replicas = desiredPrimaryReplicas(target, primary);
      }
      try {
        await budget.call(() =>
          apps.patchNamespacedDeploymentScale(
            { name: t.name, namespace: t.namespace, body: { spec: { replicas } }, fieldManager },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          ),
        );
      } catch (e) {
        // Scaling to zero a canary someone deleted is done: there is nothing left to free (a rollback after an
        // out-of-band delete must still end RolledBack, not Failed on a 404).
        if (to === 'zero' && isNotFound(e)) return 0;
        throw e;
      }
      return replicas;
    },

    async readiness(t, which, thresholdPct) {
      const dep = await read(t.namespace, which === 'primary' ? primaryName(t.name) : t.name);
      return deploymentReadiness(dep, thresholdPct);
    },

    async promote(t, opts) {
      const target = await read(t.namespace, t.name);
      // A primary deleted out of band is re-created by the promotion itself (the apply creates it), with the
      // target's replicas: promoting is exactly "make the primary what the canary runs".
      const primary = await read(t.namespace, primaryName(t.name)).catch((e: unknown) => {
        if (e instanceof WorkloadError && e.kind === 'not-found') return undefined;
        throw e;
      });
      const applied = await applyPrimary(target, desiredPrimaryReplicas(target, primary, opts), primary);
      return imagesOf(applied);
    },

    async images(t, which) {
      return imagesOf(await read(t.namespace, which === 'primary' ? primaryName(t.name) : t.name));
    },

    async ensurePrimaryHpa(t, hpaName, replicas) {
      let src: k8s.V2HorizontalPodAutoscaler;
      try {
        src = await budget.call(() =>
          hpa.readNamespacedHorizontalPodAutoscaler({ name: hpaName, namespace: t.namespace }),
        );
      } catch (e) {
        if (isNotFound(e))
          throw new WorkloadError(
            `autoscalerRef: HorizontalPodAutoscaler ${t.namespace}/${hpaName} not found`,
            'not-found',
          );
        throw e;
      }
      const name = `${hpaName}-primary`;
      const body: k8s.V2HorizontalPodAutoscaler = {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name, namespace: t.namespace, labels: { 'app.kubernetes.io/managed-by': 'fledge' } },
        spec: {
          ...(src.spec as k8s.V2HorizontalPodAutoscalerSpec),
          // Flagger's primaryScalerReplicas: min/max of the primary's HPA may differ from the target's.
          ...(replicas?.minReplicas !== undefined ? { minReplicas: replicas.minReplicas } : {}),
          ...(replicas?.maxReplicas !== undefined ? { maxReplicas: replicas.maxReplicas } : {}),
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: primaryName(t.name) },
        },
      };
      await budget.call(() =>
        hpa.patchNamespacedHorizontalPodAutoscaler(
          { name, namespace: t.namespace, body, fieldManager, force: true },
          applyPatchOptions,
        ),
      );
    },
  };
  return ctl;
}
