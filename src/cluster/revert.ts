// `spec.revertOnDeletion` (Flagger semantics, pkg/controller/finalizer.go and the routers' Finalize; facts, not code):
// when a Canary holding Flagger's finalizer is deleted, the objects go back to how they were before the Canary:
// - the target Deployment is scaled back up to the primary's replicas (Flagger: the reference deployment gets the
//   primary's replica count; no primary → scaled from zero);
// - the apex Service selects the target's pods again (Flagger: the selector of the stored kubectl configuration, or
//   the target's selector label);
// - the routing object (Istio VirtualService, Gateway API HTTPRoute) gets back its original spec: the one in
//   `kubectl.kubernetes.io/last-applied-configuration`, else the one stored in
//   `flagger.kubernetes.io/original-configuration` when the route was taken over (Flagger stores it there; so does
//   cluster mode, `rememberOriginalRoute`). A route Fledge created itself (no original) is pointed at the apex
//   Service with its whole weight — Flagger's own route would be garbage-collected with the Canary, Fledge deletes
//   nothing (no delete verb), so the route keeps existing but sends everything to the target's pods.
// The `-primary` Deployment and the `-primary`/`-canary` Services stay (Fledge has no delete verb); they get no
// traffic once the revert is done.
import * as k8s from '@kubernetes/client-node';
import type { RequestBudget } from '../integrations/kubernetes/budget.js';
import { fieldManager } from '../integrations/kubernetes/client.js';
import {
  deploymentReadiness,
  primaryName,
  selectorLabel,
  WorkloadError,
} from '../integrations/kubernetes/workloads.js';

/** Where Flagger (and cluster mode) keeps a taken-over route's original spec. */
export const originalConfigAnnotation = 'flagger.kubernetes.io/original-configuration';
export const kubectlAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

export interface RouteRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

/** The routing object of each router with one (provider: kubernetes has none: the Services are the routing). */
export function routeRefOf(provider: string): RouteRef | undefined {
  if (provider === 'istio')
    return { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', kind: 'VirtualService' };
  if (provider.startsWith('gatewayapi'))
    return { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute' };
  return undefined;
}

interface RouteObject {
  metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

/** What the revert needs to know of the Canary (from its compiled spec, else read from the raw object). */
export interface RevertTarget {
  namespace: string;
  /** The target Deployment. */
  target: string;
  /** The apex Service (`spec.service.name`, default the target's name). */
  service: string;
  port: number;
  provider: string;
}

function isNotFound(e: unknown): boolean {
  return (
    (e instanceof k8s.ApiException && e.code === 404) ||
    (e instanceof WorkloadError && e.kind === 'not-found')
  );
}

const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);

export interface RevertDeps {
  kc: k8s.KubeConfig;
  budget: RequestBudget;
  log?: (msg: string) => void;
  /** How long the scaled-up target may take to be ready before the traffic moves back (default 60 s; retried). */
  readyTimeoutMs?: number;
}

export function createRouteMemory(deps: RevertDeps) {
  const custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
  /**
   * Before the Canary's routes are first written: a route that already exists and was not made by Fledge (a user's
   * or GitOps' VirtualService/HTTPRoute) has its spec stored in `flagger.kubernetes.io/original-configuration`, as
   * Flagger does when it takes one over — unless kubectl's last-applied annotation already holds it, or an original is
   * stored already (taken over by Flagger before).
   */
  return async function rememberOriginalRoute(t: RevertTarget): Promise<void> {
    const ref = routeRefOf(t.provider);
    if (!ref) return;
    let obj: RouteObject;
    try {
      obj = (await deps.budget.call(() =>
        custom.getNamespacedCustomObject({ ...ref, namespace: t.namespace, name: t.service }),
      )) as RouteObject;
    } catch (e) {
      if (isNotFound(e)) return; // created by Fledge: nothing to remember
      throw e;
    }
    const a = obj.metadata?.annotations ?? {};
    if (a[kubectlAnnotation] !== undefined || a[originalConfigAnnotation] !== undefined) return;
    if (obj.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'fledge') return;
    await deps.budget.call(() =>
      custom.patchNamespacedCustomObject(
        {
          ...ref,
          namespace: t.namespace,
          name: t.service,
          body: { metadata: { annotations: { [originalConfigAnnotation]: JSON.stringify(obj.spec ?? {}) } } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    );
    deps.log?.(
      `${ref.kind} ${t.namespace}/${t.service}: original spec stored in ${originalConfigAnnotation}`,
    );
  };
}

/** The spec a route had before the Canary, if it was recorded. */
export function originalRouteSpec(obj: RouteObject): Record<string, unknown> | undefined {
  const a = obj.metadata?.annotations ?? {};
  const parse = (s: string): unknown => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return undefined;
    }
  };
  if (a[kubectlAnnotation] !== undefined) {
    const stored = parse(a[kubectlAnnotation]) as { spec?: Record<string, unknown> } | undefined;
    if (stored?.spec) return stored.spec;
  }
  if (a[originalConfigAnnotation] !== undefined) {
    const stored = parse(a[originalConfigAnnotation]);
    if (stored && typeof stored === 'object') return stored as Record<string, unknown>;
  }
  return undefined;
}

/** A route Fledge created (no original): everything to the apex Service, which selects the target's pods again. */
export function apexOnlySpec(
  provider: string,
  current: Record<string, unknown>,
  t: RevertTarget,
): Record<string, unknown> {
  if (provider === 'istio')
    return {
      ...current,
      http: [{ name: 'primary', route: [{ destination: { host: t.service }, weight: 100 }] }],
    };
  return {
    ...current,
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ name: t.service, port: t.port, weight: 100 }],
      },
    ],
  };
}

export function createRevert(deps: RevertDeps) {
  const custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
  const apps = deps.kc.makeApiClient(k8s.AppsV1Api);
  const core = deps.kc.makeApiClient(k8s.CoreV1Api);
  const log = deps.log ?? (() => undefined);
  const call = <T>(fn: () => Promise<T>): Promise<T> => deps.budget.call(fn);

  const readDeployment = async (namespace: string, name: string) => {
    try {
      return await call(() => apps.readNamespacedDeployment({ name, namespace }));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };

  const waitReady = async (t: RevertTarget): Promise<void> => {
    const deadline = Date.now() + (deps.readyTimeoutMs ?? 60_000);
    for (;;) {
      const dep = await readDeployment(t.namespace, t.target);
      if (!dep) return;
      const r = deploymentReadiness(dep, 100);
      if (r.ready) return;
      if (Date.now() > deadline)
        throw new Error(`target ${t.namespace}/${t.target} not ready after the scale-up: ${r.message}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  };

  return async function revert(t: RevertTarget): Promise<void> {
    const target = await readDeployment(t.namespace, t.target);
    if (!target) {
      log(`${t.namespace}/${t.target}: target deployment gone, nothing to revert`);
      return;
    }
    // 1. The target back to the primary's replicas (Flagger: the primary's count; no primary: at least one).
    const primary = await readDeployment(t.namespace, primaryName(t.target));
    const replicas = primary?.spec?.replicas ?? Math.max(1, target.spec?.replicas ?? 1);
    if ((target.spec?.replicas ?? 0) !== replicas)
      await call(() =>
        apps.patchNamespacedDeploymentScale(
          { name: t.target, namespace: t.namespace, body: { spec: { replicas } }, fieldManager },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        ),
      );
    log(`${t.namespace}/${t.target}: scaled to ${replicas} (the primary's replicas)`);
    // Flagger waits for the target to be ready before it moves the traffic back.
    await waitReady(t);
    // 2. The apex Service selects the target's pods (a merge patch of the selector's key: its ports and the rest stay).
    const { key, value } = selectorLabel(target);
    try {
      await call(() =>
        core.patchNamespacedService(
          {
            name: t.service,
            namespace: t.namespace,
            body: { spec: { selector: { [key]: value } } },
            fieldManager,
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        ),
      );
      log(`service ${t.namespace}/${t.service}: selector ${key}=${value}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    // 3. The route as before the Canary.
    const ref = routeRefOf(t.provider);
    if (!ref) return;
    let route: RouteObject;
    try {
      route = (await call(() =>
        custom.getNamespacedCustomObject({ ...ref, namespace: t.namespace, name: t.service }),
      )) as RouteObject;
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const original = originalRouteSpec(route);
    const spec = original ?? apexOnlySpec(t.provider, route.spec ?? {}, t);
    await call(() =>
      custom.patchNamespacedCustomObject(
        {
          ...ref,
          namespace: t.namespace,
          name: t.service,
          body: [{ op: 'replace', path: '/spec', value: spec }],
        },
        jsonPatch,
      ),
    );
    log(
      `${ref.kind} ${t.namespace}/${t.service}: ${original ? 'original spec restored' : 'all traffic to the apex Service'}`,
    );
  };
}
