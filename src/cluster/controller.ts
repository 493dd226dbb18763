// Cluster mode (`fledge cluster-mode`): Canary objects applied to the cluster (canaries.flagger.app) are the source
// of releases, as with Flagger. When GitOps (Flux, Argo CD) or `kubectl set image` changes a target's pod template,
// a release of the new template's images starts through the target's lane — the same lane `fledge start` uses, so
// releases from CI keep working beside it — and the Canary's `.status` follows the release as Flagger writes it.
//
// Cost model: two watches (Canaries, Deployments) keep an in-memory cache, and the ConfigMap (and, where granted,
// Secret) watches of config tracking keep a checksum per object (./configs.ts); nothing is polled. An idle Canary costs
// no API request at all (Flagger re-reads ~12 objects per Canary every 10 s). A running release is followed through
// Temporal (a long poll of its history wakes the follower; see releases.ts), and the status is written only when it
// changes.
//
// Flagger's rules kept here (pkg/controller, pkg/canary; facts, not code):
// - a new Canary initialises (primary, Services, routes at 100 % primary, target scaled to zero) without a
//   release: phase Initializing → Initialized, lastAppliedSpec = lastPromotedSpec = the template's hash;
// - a release starts when the hash of the target's pod template differs from `status.lastAppliedSpec`, unless it
//   equals `status.lastPromotedSpec` (a manual rollback to what the primary runs); a scale changes nothing;
// - a failed release keeps its spec in `lastAppliedSpec`, so the same template is not retried;
// - a change of a tracked ConfigMap/Secret's data (`status.trackedConfigs`, Flagger's checksums) is a new revision
//   too, released with the target's current images; a failed one is not retried (recorded like lastAppliedSpec);
// - `spec.suspend`: no new release starts;
// - deletion: the finalizer `finalizer.flagger.app` is added only with `spec.revertOnDeletion`; on deletion the
//   running release is aborted (and awaited), the objects are reverted (./revert.ts) and the finalizer removed.
//
// Scope: every namespace (one cluster-wide watch per kind), or a list of namespaces (one watch per kind and
// namespace: what a namespaced install's Roles allow).
//
// Several processes: `createElectedClusterMode` runs the controller only while this process holds a Lease
// (./lease.ts), a fresh controller per term of leadership.
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { FledgeConfig } from '../config.js';
import { releaseContextOf } from '../domain/compiled.js';
import type { ReleaseResult } from '../domain/result.js';
import type { RequestBudget } from '../integrations/kubernetes/budget.js';
import { budgetFromEnv } from '../integrations/kubernetes/budget.js';
import {
  createWorkloadController,
  servicePortsOf,
  deploymentReadiness,
  primaryName,
  type WorkloadController,
} from '../integrations/kubernetes/workloads.js';
import { configRefs } from '../integrations/kubernetes/config-tracking.js';
import type { RouterProvider } from '../integrations/traffic/manifests.js';
import { createRouters } from '../integrations/traffic/routers.js';
import type { RouterTarget, TrafficRouter } from '../integrations/traffic/router.js';
import {
  checkReleasePolicy,
  defaultReleasePolicy,
  formatPolicyViolations,
  type ReleasePolicy,
} from '../policy.js';
import { checkRelease, InvalidReleaseInput, releaseIdFor, submitRelease } from '../starter.js';
import { abortSignal } from '../workflows/messages.js';
import {
  canaryKey,
  clusterInitiator,
  containerImages,
  flaggerFinalizer,
  flaggerGroup,
  flaggerVersion,
  keyOf,
  referencedObjects,
  releaseImages,
  releaseYaml,
  targetKind,
  targetName,
  templateHash,
  type CanaryObject,
  type DeploymentObject,
} from './canary.js';
import {
  configsChanged,
  createConfigWatch,
  sameConfigs,
  trackedConfigsOf,
  type ConfigWatch,
  type TrackedConfigs,
} from './configs.js';
import { leaderElected, leaseApi, leaseSettingsFromEnv, type LeaseSettings } from './lease.js';
import { describeRelease, followRelease, latestReleaseOf, type FollowEnd } from './releases.js';
import { createRevert, createRouteMemory, type RevertTarget } from './revert.js';
import { defaultRouter } from '../integrations/traffic/manifests.js';
import {
  activePhases,
  changeFromOutcome,
  nextStatus,
  promotedCondition,
  type CanaryPhase,
  triggerFor,
  type CanaryStatus,
  type StatusChange,
} from './status.js';

/** Who cluster mode acts as (operator messages it sends, logs). */
export const clusterActor = 'fledge-cluster-mode';

export interface ClusterModeOptions {
  kc: k8s.KubeConfig;
  client: Client;
  cfg: FledgeConfig;
  /** Watch one namespace only (default: all namespaces). */
  namespace?: string;
  /** Watch these namespaces only (one watch per kind and namespace); with `namespace`, both are watched. */
  namespaces?: string[];
  /** Kubernetes request budget of the initialisation writes (default from FLEDGE_KUBE_QPS/BURST). */
  budget?: RequestBudget;
  log?: (msg: string) => void;
  /**
   * `spec.revertOnDeletion`: restores what the Canary's setup changed (the target's replicas, the apex Service's
   * selector, the route) when a Canary with `revertOnDeletion: true` is deleted. Cluster mode calls it while the
   * Canary still exists (held by Flagger's finalizer `finalizer.flagger.app`), after its release was aborted and has
   * ended, then removes the finalizer. Default: the built-in revert (./revert.ts). `false`: no finalizer is added,
   * and deleting such a Canary leaves the objects in place (as without `revertOnDeletion`).
   */
  revertOnDeletion?: ((canary: CanaryObject, target: RevertTarget) => Promise<void>) | false;
  /** How long a deleted Canary's aborted release may take to end before the revert (default 120 s; retried). */
  abortWaitMs?: number;
  /** The clock of status timestamps (tests). */
  now?: () => Date;
}

export interface ClusterModeController {
  /** Starts the watches and returns once the caches are filled and every Canary was queued. */
  start(): Promise<void>;
  /** Stops the watches and the followers (running releases go on: they live in Temporal). */
  stop(): Promise<void>;
  /** Resolves when no reconcile is running or queued (tests). */
  idle(): Promise<void>;
}

interface Follower {
  releaseId: string;
  hash: string;
  /** The tracked configs the release was started for (written as status.trackedConfigs). */
  configs: TrackedConfigs | undefined;
  ctrl: AbortController;
  done: Promise<void>;
}

const canaryPlural = 'canaries';

function isApiError(e: unknown, code: number): boolean {
  return e instanceof k8s.ApiException && e.code === code;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Resource versions are etcd revisions in practice: the larger one is the newer object. */
function newer(a: string | undefined, b: string | undefined): boolean {
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) ? x > y : false;
}

/** Our own hashes are 16 hex digits; anything else in lastAppliedSpec was written by Flagger. */
const ownHash = (h: string | undefined): boolean => h !== undefined && /^[0-9a-f]{16}$/.test(h);

/**
 * What cluster mode watches for a release policy: the namespaces it names literally (one watch per namespace: what a
 * namespaced install's Roles allow), or undefined — every namespace — when a pattern is a glob (`*`, `team-*`: the
 * cluster-wide install).
 */
export function watchScopeOf(policy: ReleasePolicy): string[] | undefined {
  const literal = policy.namespaces.every((p) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p));
  return literal && policy.namespaces.length > 0 ? [...policy.namespaces] : undefined;
}

export function createClusterMode(opts: ClusterModeOptions): ClusterModeController {
  const log = opts.log ?? ((m: string) => console.log(`fledge cluster-mode: ${m}`));
  const now = opts.now ?? (() => new Date());
  const { kc, client, cfg } = opts;
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const budget = opts.budget ?? budgetFromEnv(process.env);
  const workloads: WorkloadController = createWorkloadController(kc, budget);
  const routers: Record<RouterProvider, TrafficRouter> = createRouters({ custom, budget });
  const revert =
    opts.revertOnDeletion === false
      ? undefined
      : (opts.revertOnDeletion ??
        ((_cd: CanaryObject, t: RevertTarget) => createRevert({ kc, budget, log })(t)));
  const rememberOriginalRoute = createRouteMemory({ kc, budget, log });

  // One informer per kind and scope: the namespaces listed, else the whole cluster ('').
  const listed = [...new Set([...(opts.namespace ? [opts.namespace] : []), ...(opts.namespaces ?? [])])];
  const scopes: string[] = listed.length > 0 ? listed : [''];
  const makeCanaryInformer = (ns: string) =>
    k8s.makeInformer<CanaryObject & k8s.KubernetesObject>(
      kc,
      `/apis/${flaggerGroup}/${flaggerVersion}${ns ? `/namespaces/${ns}` : ''}/${canaryPlural}`,
      () =>
        (ns
          ? custom.listNamespacedCustomObject({
              group: flaggerGroup,
              version: flaggerVersion,
              namespace: ns,
              plural: canaryPlural,
            })
          : custom.listClusterCustomObject({
              group: flaggerGroup,
              version: flaggerVersion,
              plural: canaryPlural,
            })) as Promise<k8s.KubernetesListObject<CanaryObject & k8s.KubernetesObject>>,
    );
  // Deployments as plain JSON (the custom-objects client does not convert to the typed model): the hash of a
  // template must be the same whether it came from the list or from a watch event.
  const makeDeploymentInformer = (ns: string) =>
    k8s.makeInformer<DeploymentObject>(
      kc,
      `/apis/apps/v1${ns ? `/namespaces/${ns}` : ''}/deployments`,
      () =>
        (ns
          ? custom.listNamespacedCustomObject({
              group: 'apps',
              version: 'v1',
              namespace: ns,
              plural: 'deployments',
            })
          : custom.listClusterCustomObject({
              group: 'apps',
              version: 'v1',
              plural: 'deployments',
            })) as Promise<k8s.KubernetesListObject<DeploymentObject>>,
    );
  // Config tracking (./configs.ts): the tracked ConfigMaps/Secrets of every target, as checksums only. A change maps to
  // the Canaries whose target's template refers to the object.
  const onConfigChange = (kind: 'ConfigMap' | 'Secret') => (ns: string, name: string) => {
    for (const key of canariesOfConfig(kind, ns, name)) enqueue(key);
  };
  const configWatches = new Map(
    scopes.map((ns) => [
      ns,
      {
        configMaps: createConfigWatch({
          kc,
          kind: 'ConfigMap',
          namespace: ns,
          onChange: onConfigChange('ConfigMap'),
          onForbidden: () =>
            log(
              `ConfigMaps ${ns ? `in ${ns} ` : ''}may not be listed/watched (403): config tracking is off (status.trackedConfigs is left as it is; grant list/watch on configmaps)`,
            ),
          log,
        }) as ConfigWatch,
        configMapsOn: false,
        secrets: createConfigWatch({
          kc,
          kind: 'Secret',
          namespace: ns,
          onChange: onConfigChange('Secret'),
          onForbidden: () =>
            log(
              `Secrets ${ns ? `in ${ns} ` : ''}may not be listed/watched (403): config tracking goes on without Secrets (a Secret's change starts no release; grant list/watch on secrets to track them)`,
            ),
          log,
        }) as ConfigWatch,
        secretsOn: false,
      },
    ]),
  );
  const configScopeOf = (ns: string) => configWatches.get('') ?? configWatches.get(ns);
  const secretsTracked = (ns: string): boolean => configScopeOf(ns)?.secretsOn ?? false;
  /**
   * The tracked configs of a target's template, from the watches' checksums (undefined: ConfigMaps not watched, or a
   * referenced object missing — then nothing config-related is decided or written).
   */
  const configsOf = (ns: string, target: DeploymentObject): TrackedConfigs | undefined => {
    const scope = configScopeOf(ns);
    if (!scope?.configMapsOn) return undefined;
    return trackedConfigsOf(
      target.spec?.template,
      (kind, name) => (kind === 'ConfigMap' ? scope?.configMaps.get(ns, name) : scope?.secrets.get(ns, name)),
      { secrets: secretsTracked(ns) },
    );
  };
  const canaryInformers = new Map(scopes.map((ns) => [ns, makeCanaryInformer(ns)]));
  const deploymentInformers = new Map(scopes.map((ns) => [ns, makeDeploymentInformer(ns)]));
  const informerOf = <T>(m: Map<string, T>, ns: string): T | undefined => m.get('') ?? m.get(ns);
  const canaries = {
    get: (name: string, ns: string) => informerOf(canaryInformers, ns)?.get(name, ns),
    list: (ns?: string) =>
      ns === undefined
        ? [...canaryInformers.values()].flatMap((i) => i.list())
        : (informerOf(canaryInformers, ns)?.list(ns) ?? []),
  };
  const deployments = {
    get: (name: string, ns: string) => informerOf(deploymentInformers, ns)?.get(name, ns),
  };

  // ── state kept in memory (everything else is in the Canary's status and in Temporal) ───────────────────────
  const followers = new Map<string, Follower>();
  /** The status this process last wrote per Canary (newer than the cache until the watch delivers it). */
  const written = new Map<string, { resourceVersion: string | undefined; status: CanaryStatus }>();
  /** Canaries whose primary/Services were ensured by this process, with the template hash they were made from. */
  const initialised = new Map<string, { uid: string | undefined; hash: string }>();
  const retries = new Map<string, { attempt: number; timer?: NodeJS.Timeout }>();
  const reported = new Map<string, string>();
  let stopped = false;

  const getCanary = (key: string): CanaryObject | undefined => {
    const [ns, name] = key.split('/');
    return canaries.get(name ?? '', ns ?? '') as CanaryObject | undefined;
  };
  const getDeployment = (ns: string, name: string): DeploymentObject | undefined =>
    deployments.get(name, ns) as DeploymentObject | undefined;

  const statusOf = (key: string, cd: CanaryObject): CanaryStatus => {
    const mine = written.get(key);
    if (
      mine &&
      (cd.metadata.resourceVersion === undefined || newer(mine.resourceVersion, cd.metadata.resourceVersion))
    )
      return mine.status;
    return cd.status ?? {};
  };

  /** Logs a problem once per distinct message per Canary (reconciles are frequent; logs are not). */
  const reportOnce = (key: string, msg: string): void => {
    if (reported.get(key) === msg) return;
    reported.set(key, msg);
    log(`${key}: ${msg}`);
  };

  /** Writes the status change (merge patch of the status subresource) if it changes anything. */
  // Writes of one Canary's status are serialised (the reconcile and the release's follower both write).
  const writeLocks = new Map<string, Promise<void>>();
  const writeStatus = (key: string, change: StatusChange): Promise<void> => {
    const prev = writeLocks.get(key) ?? Promise.resolve();
    const run = prev.then(() => writeStatusNow(key, change));
    const settled = run.catch(() => undefined);
    writeLocks.set(key, settled);
    void settled.then(() => {
      if (writeLocks.get(key) === settled) writeLocks.delete(key);
    });
    return run;
  };
  /** A merge patch replaces maps key by key: a tracked config no longer referenced is removed with null. */
  const patchOf = (before: CanaryStatus, next: CanaryStatus): Record<string, unknown> => {
    const removed = Object.keys(before.trackedConfigs ?? {}).filter(
      (k) => !(k in (next.trackedConfigs ?? {})),
    );
    if (removed.length === 0 || next.trackedConfigs === undefined) return { ...next };
    return {
      ...next,
      trackedConfigs: { ...next.trackedConfigs, ...Object.fromEntries(removed.map((k) => [k, null])) },
    };
  };
  const writeStatusNow = async (key: string, change: StatusChange): Promise<void> => {
    const cd = getCanary(key);
    if (!cd) return;
    const before = statusOf(key, cd);
    const next = nextStatus(before, change, now(), targetKind(cd));
    if (next === null) return;
    const [namespace, name] = key.split('/') as [string, string];
    const res = (await custom.patchNamespacedCustomObjectStatus(
      {
        group: flaggerGroup,
        version: flaggerVersion,
        namespace,
        plural: canaryPlural,
        name,
        body: { status: patchOf(before, next) },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as CanaryObject;
    written.set(key, { resourceVersion: res.metadata?.resourceVersion, status: res.status ?? next });
    if (next.phase !== before.phase)
      log(
        `${key}: ${next.phase} (weight ${next.canaryWeight ?? 0}, failed checks ${next.failedChecks ?? 0})`,
      );
  };

  // ── the work queue: one reconcile per Canary at a time; a change during a reconcile runs it once more ───────
  const running = new Map<string, Promise<void>>();
  const dirty = new Set<string>();
  const enqueue = (key: string): void => {
    if (stopped) return;
    if (running.has(key)) {
      dirty.add(key);
      return;
    }
    const p = (async () => {
      do {
        dirty.delete(key);
        try {
          await reconcile(key);
          const r = retries.get(key);
          if (r?.timer) clearTimeout(r.timer);
          retries.delete(key);
        } catch (e) {
          // Retried with backoff (only after a failure: nothing is polled).
          const r = retries.get(key) ?? { attempt: 0 };
          r.attempt++;
          const delay = Math.min(60_000, 500 * 2 ** Math.min(r.attempt, 7));
          reportOnce(key, `reconcile failed (retry in ${Math.round(delay / 1000)} s): ${errText(e)}`);
          if (r.timer) clearTimeout(r.timer);
          r.timer = setTimeout(() => {
            r.timer = undefined;
            enqueue(key);
          }, delay);
          retries.set(key, r);
        }
      } while (dirty.has(key) && !stopped);
    })().finally(() => running.delete(key));
    running.set(key, p);
  };

  /** Canaries whose target (or its primary) is this Deployment. */
  const canariesOfDeployment = (d: DeploymentObject): string[] => {
    const ns = d.metadata?.namespace ?? 'default';
    const name = d.metadata?.name ?? '';
    return canaries
      .list(ns)
      .map((c) => c as CanaryObject)
      .filter((c) => {
        const t = targetName(c);
        return t !== undefined && (t === name || primaryName(t) === name);
      })
      .map(keyOf);
  };

  const withConfigs = (configs: TrackedConfigs | undefined) => (configs ? { trackedConfigs: configs } : {});

  /** Canaries whose target's pod template refers to this ConfigMap/Secret. */
  const canariesOfConfig = (kind: 'ConfigMap' | 'Secret', ns: string, name: string): string[] =>
    canaries
      .list(ns)
      .map((c) => c as CanaryObject)
      .filter((c) => {
        const t = targetName(c);
        const d = t === undefined ? undefined : getDeployment(ns, t);
        return configRefs(d?.spec?.template).some((r) => r.kind === kind && r.name === name);
      })
      .map(keyOf);

  // ── the release input, read from the cluster when a release starts (never while idle) ──────────────────────
  const readReferenced = async (cd: CanaryObject) => {
    const refs = referencedObjects(cd);
    const read = async (plural: string, r: { namespace: string; name: string }) => {
      try {
        return (await custom.getNamespacedCustomObject({
          group: flaggerGroup,
          version: flaggerVersion,
          namespace: r.namespace,
          plural,
          name: r.name,
        })) as CanaryObject;
      } catch (e) {
        if (isApiError(e, 404)) return undefined; // validation reports the missing reference
        throw e;
      }
    };
    const templates = (await Promise.all(refs.templates.map((r) => read('metrictemplates', r)))).filter(
      (x): x is CanaryObject => x !== undefined,
    );
    const providers = (await Promise.all(refs.providers.map((r) => read('alertproviders', r)))).filter(
      (x): x is CanaryObject => x !== undefined,
    );
    return releaseYaml(cd, templates, providers);
  };

  // ── initialisation (Flagger: a new Canary gets its primary without a release) ─────────────────────────────
  const initialise = async (key: string, cd: CanaryObject, target: DeploymentObject): Promise<void> => {
    const ns = cd.metadata.namespace ?? 'default';
    const images = containerImages(target);
    const yaml = await readReferenced(cd);
    let checked;
    try {
      checked = checkRelease({ yaml, fileName: `canary ${key}`, images, requireImages: false });
    } catch (e) {
      if (!(e instanceof InvalidReleaseInput)) throw e;
      reportOnce(key, `invalid Canary: ${e.message}`);
      await writeStatus(key, {
        phase: 'Initializing',
        message: `Invalid Canary: ${e.message}`.slice(0, 2000),
      });
      return;
    }
    const violations = checkReleasePolicy(cfg.policy ?? defaultReleasePolicy, { namespace: ns, images });
    if (violations.length > 0) {
      const msg = formatPolicyViolations(violations);
      reportOnce(key, msg);
      await writeStatus(key, { phase: 'Initializing', message: msg.slice(0, 2000) });
      return;
    }
    const ctx = releaseContextOf(checked.compiled, checked.bundle.canary.spec, images);
    const t = { namespace: ns, name: ctx.target.name };
    const done = initialised.get(key);
    let hash = done?.uid === cd.metadata.uid ? done?.hash : undefined;
    if (hash === undefined) {
      hash = templateHash(target.spec?.template);
      await workloads.ensurePrimary(t);
      if (ctx.autoscalerRef)
        await workloads.ensurePrimaryHpa(t, ctx.autoscalerRef.name, ctx.autoscalerRef.primaryScalerReplicas);
      await workloads.ensureServices(t, servicePortsOf(ctx));
      initialised.set(key, { uid: cd.metadata.uid, hash });
    }
    // Wait for the primary: its next watch event queues this Canary again (no polling).
    const primary = getDeployment(ns, primaryName(t.name));
    const ready = primary
      ? deploymentReadiness(primary, checked.compiled.plan.primaryReadyThreshold)
      : undefined;
    if (!ready?.ready) {
      await writeStatus(key, { phase: 'Initializing' });
      return;
    }
    const routerTarget: RouterTarget = {
      namespace: ns,
      service: ctx.service.name,
      port: ctx.service.port,
      hosts: ctx.service.hosts,
      gateways: ctx.service.gateways,
      match: ctx.service.match as RouterTarget['match'],
      options: ctx.service.options,
    };
    // A route that exists already (the user's or GitOps') keeps its original spec for revertOnDeletion.
    await rememberOriginalRoute({
      namespace: ns,
      target: t.name,
      service: ctx.service.name,
      port: ctx.service.port,
      provider: ctx.provider,
    });
    await routers[ctx.provider].reconcile(routerTarget);
    await workloads.scaleCanary(t, 'zero');
    await writeStatus(key, {
      phase: 'Initialized',
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: hash,
      lastPromotedSpec: hash,
      ...withConfigs(configsOf(ns, target)),
    });
    initialised.delete(key);
    log(`${key}: initialised (primary ${primaryName(t.name)}, routes at 100% primary)`);
  };

  // ── following a release ────────────────────────────────────────────────────────────────────────────────────
  const stopFollower = (key: string): void => {
    const f = followers.get(key);
    if (!f) return;
    f.ctrl.abort();
    followers.delete(key);
  };

  const follow = (
    key: string,
    releaseId: string,
    hash: string,
    configs: TrackedConfigs | undefined,
  ): void => {
    const existing = followers.get(key);
    if (
      existing &&
      existing.releaseId === releaseId &&
      existing.hash === hash &&
      sameConfigs(existing.configs, configs)
    )
      return;
    stopFollower(key);
    const ctrl = new AbortController();
    const f: Follower = { releaseId, hash, configs, ctrl, done: Promise.resolve() };
    followers.set(key, f);
    const mine = (): boolean => followers.get(key) === f && !ctrl.signal.aborted;
    f.done = (async () => {
      let end: FollowEnd;
      try {
        end = await followRelease(client, releaseId, {
          signal: ctrl.signal,
          log: (m) => log(`${key}: ${m}`),
          onProgress: async (change) => {
            if (!mine()) return;
            // A release's own Initializing/Initialized is the Canary's Progressing (a new revision is under way).
            const phase: CanaryPhase =
              change.phase === 'Initializing' || change.phase === 'Initialized'
                ? 'Progressing'
                : change.phase;
            // The outcome (below) writes the terminal phases with the result's details.
            if (['Succeeded', 'Failed', 'Terminating', 'Terminated'].includes(phase)) return;
            await writeStatus(key, {
              ...change,
              phase,
              lastAppliedSpec: hash,
              ...(configs ? { trackedConfigs: configs } : {}),
            }).catch((e: unknown) => log(`${key}: status not written: ${errText(e)}`));
          },
        });
      } catch (e) {
        end = { kind: 'workflow-failed', message: errText(e) };
      }
      if (!mine()) return;
      followers.delete(key);
      const final = finalChange(end, hash);
      const change = final && configs ? { ...final, trackedConfigs: configs } : final;
      if (change) {
        try {
          await writeStatus(key, change);
        } catch (e) {
          log(`${key}: final status not written: ${errText(e)}`);
        }
      }
      enqueue(key); // the template may have changed again meanwhile
    })();
  };

  const finalChange = (end: FollowEnd, hash: string): StatusChange | null => {
    if (end.kind === 'stopped') return null;
    if (end.kind === 'workflow-failed')
      return {
        phase: 'Failed',
        canaryWeight: 0,
        iterations: 0,
        lastAppliedSpec: hash,
        message: `${promotedCondition('Failed', 'Deployment').message} ${end.message}`.slice(0, 2000),
      };
    const r: ReleaseResult = end.result;
    const base = changeFromOutcome(
      r.outcome,
      hash,
      r.failedChecks,
      r.outcome === 'Promoted'
        ? undefined
        : `${promotedCondition('Failed', 'Deployment').message} ${r.outcome}: ${r.reason.message}`.slice(
            0,
            2000,
          ),
    );
    return base ? { ...base, lastAppliedSpec: hash } : null;
  };

  // ── starting a release ─────────────────────────────────────────────────────────────────────────────────────
  const startRelease = async (
    key: string,
    cd: CanaryObject,
    target: DeploymentObject,
    hash: string,
    status: CanaryStatus,
    reason: 'template' | 'config' = 'template',
  ): Promise<void> => {
    const ns = cd.metadata.namespace ?? 'default';
    const tname = target.metadata?.name ?? '';
    const primary = getDeployment(ns, primaryName(tname));
    const images = releaseImages(target, primary);
    const configs = configsOf(ns, target);
    const releaseId = releaseIdFor({ namespace: ns, name: tname }, images);
    const existing = await describeRelease(client, releaseId);
    if (existing?.running) {
      // A release of these images is under way (`fledge start` from CI set them on the target): follow it.
      log(`${key}: following ${releaseId} (started by ${existing.initiator ?? 'unknown'})`);
      await writeStatus(key, {
        phase: 'Progressing',
        canaryWeight: 0,
        failedChecks: 0,
        iterations: 0,
        lastAppliedSpec: hash,
        ...withConfigs(configs),
      });
      follow(key, releaseId, hash, configs);
      return;
    }
    const lastChange = status.lastTransitionTime ? Date.parse(status.lastTransitionTime) : 0;
    if (
      reason === 'template' &&
      existing &&
      existing.initiator !== undefined &&
      !existing.initiator.startsWith('cluster-mode@') &&
      existing.startTime.getTime() > lastChange
    ) {
      // A release from CI ran this template while cluster mode was not watching: its outcome is this template's.
      log(`${key}: ${releaseId} already ran (started by ${existing.initiator}); taking its outcome`);
      follow(key, releaseId, hash, configs);
      return;
    }
    const yaml = await readReferenced(cd);
    try {
      const submitted = await submitRelease(client, cfg, {
        yaml,
        fileName: `canary ${key}`,
        images,
        initiator: clusterInitiator(hash),
        // The same images ran before (a template change elsewhere, or a GitOps revert to an older tag): a new run.
        ...(existing ? { retry: true } : {}),
      });
      const changedConfigs = Object.keys(configs ?? {}).filter(
        (c) => status.trackedConfigs?.[c] !== configs?.[c],
      );
      log(
        `${key}: ${reason === 'config' ? `tracked config changed (${changedConfigs.join(', ') || 'removed'})` : 'pod template changed'} (${Object.entries(
          images,
        )
          .map(([c, i]) => `${c}=${i}`)
          .join(', ')}): release ${submitted.workflowId} ${submitted.disposition}`,
      );
    } catch (e) {
      if (!(e instanceof InvalidReleaseInput)) throw e;
      reportOnce(key, `release not started: ${e.message}`);
      // Not recorded as applied: fixing the Canary (or the template) starts it.
      await writeStatus(key, {
        phase: 'Failed',
        canaryWeight: 0,
        message: `Release not started: ${e.message}`.slice(0, 2000),
      });
      return;
    }
    await writeStatus(key, {
      phase: 'Progressing',
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: hash,
      ...withConfigs(configs),
    });
    follow(key, releaseId, hash, configs);
  };

  /** After a restart: the release of the applied template, still running or ended while nobody watched. */
  const resume = async (
    key: string,
    cd: CanaryObject,
    target: DeploymentObject,
    hash: string,
    configs: TrackedConfigs | undefined,
  ): Promise<void> => {
    const ns = cd.metadata.namespace ?? 'default';
    const tname = target.metadata?.name ?? '';
    const primary = getDeployment(ns, primaryName(tname));
    const derived = releaseIdFor({ namespace: ns, name: tname }, releaseImages(target, primary));
    let found = await describeRelease(client, derived);
    if (!found) {
      // Several containers, or the primary already promoted: the ID is not derivable; the target's latest release
      // is ours if it runs, or if cluster mode started it for this very template.
      const latest = await latestReleaseOf(client, { namespace: ns, name: tname });
      if (latest && (latest.running || latest.initiator === clusterInitiator(hash))) found = latest;
    }
    if (found) {
      log(`${key}: following ${found.workflowId} (${found.running ? 'running' : 'ended while not watched'})`);
      follow(key, found.workflowId, hash, configs);
      return;
    }
    // Recorded as started but no release exists (e.g. stopped between the two writes): start it.
    await startRelease(key, cd, target, hash, { ...cd.status, lastAppliedSpec: undefined });
  };

  // ── deletion ───────────────────────────────────────────────────────────────────────────────────────────────
  const abortRunning = async (key: string, reason: string): Promise<void> => {
    const f = followers.get(key);
    if (!f) return;
    stopFollower(key);
    await client.workflow
      .getHandle(f.releaseId)
      .signal(abortSignal, { actor: clusterActor, reason })
      .catch((e: unknown) => log(`${key}: abort of ${f.releaseId} not sent: ${errText(e)}`));
    log(`${key}: ${reason}: release ${f.releaseId} aborted`);
  };

  const patchFinalizers = async (cd: CanaryObject, finalizers: string[]): Promise<void> => {
    await custom.patchNamespacedCustomObject(
      {
        group: flaggerGroup,
        version: flaggerVersion,
        namespace: cd.metadata.namespace ?? 'default',
        plural: canaryPlural,
        name: cd.metadata.name,
        body: { metadata: { finalizers, resourceVersion: cd.metadata.resourceVersion } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  };

  /** What the revert acts on: from the compiled Canary, else (it no longer validates) read from its raw spec. */
  const revertTargetOf = async (cd: CanaryObject): Promise<RevertTarget> => {
    const ns = cd.metadata.namespace ?? 'default';
    const tname = targetName(cd) ?? '';
    try {
      const target = getDeployment(ns, tname);
      const checked = checkRelease({
        yaml: await readReferenced(cd),
        fileName: `canary ${keyOf(cd)}`,
        images: containerImages(target),
        requireImages: false,
      });
      const ctx = releaseContextOf(checked.compiled, checked.bundle.canary.spec, containerImages(target));
      return {
        namespace: ns,
        target: ctx.target.name,
        service: ctx.service.name,
        port: ctx.service.port,
        provider: ctx.provider,
      };
    } catch {
      const svc = (cd.spec.service ?? {}) as { name?: string; port?: number };
      return {
        namespace: ns,
        target: tname,
        service: svc.name ?? tname,
        port: svc.port ?? 80,
        provider: typeof cd.spec.provider === 'string' ? cd.spec.provider : defaultRouter,
      };
    }
  };

  /** Aborts the target's running release (followed or not: a restarted controller follows nothing) and awaits its end. */
  const abortAndWait = async (key: string, cd: CanaryObject): Promise<void> => {
    const ns = cd.metadata.namespace ?? 'default';
    const tname = targetName(cd);
    const followed = followers.get(key)?.releaseId;
    stopFollower(key);
    const latest = tname ? await latestReleaseOf(client, { namespace: ns, name: tname }) : null;
    const ids = new Set<string>();
    if (followed) ids.add(followed);
    if (latest?.running) ids.add(latest.workflowId);
    for (const id of ids) {
      const handle = client.workflow.getHandle(id);
      const d = await handle.describe().catch(() => undefined);
      if (d?.status.name !== 'RUNNING') continue;
      await handle.signal(abortSignal, { actor: clusterActor, reason: 'Canary deleted' });
      log(`${key}: Canary deleted: release ${id} aborted; waiting for it to end before the revert`);
      const waitMs = opts.abortWaitMs ?? 120_000;
      const ended = await Promise.race([
        handle.result().then(
          () => true,
          () => true,
        ),
        new Promise<false>((r) => setTimeout(() => r(false), waitMs).unref()),
      ]);
      if (!ended) throw new Error(`release ${id} still running ${waitMs / 1000} s after the abort`);
    }
  };

  const finalize = async (key: string, cd: CanaryObject): Promise<void> => {
    const finalizers = cd.metadata.finalizers ?? [];
    if (!finalizers.includes(flaggerFinalizer)) return;
    // Flagger: the phase is Terminating while the finalizer runs.
    await writeStatus(key, { phase: 'Terminating' }).catch((e: unknown) =>
      log(`${key}: status not written: ${errText(e)}`),
    );
    await abortAndWait(key, cd);
    if (revert) {
      await revert(cd, await revertTargetOf(cd));
      log(`${key}: reverted`);
    }
    // Without a revert (e.g. Flagger's finalizer on a Canary taken over by a build told not to revert), the deletion
    // must not hang: the objects stay, as without revertOnDeletion.
    else log(`${key}: deleted with revertOnDeletion, but reverting is off: the objects stay in place`);
    // The Terminating status write made the cached object stale: the finalizers are patched on the newest version.
    const latest = getCanary(key) ?? cd;
    const mine = written.get(key)?.resourceVersion;
    const rv = newer(mine, latest.metadata.resourceVersion) ? mine : latest.metadata.resourceVersion;
    await patchFinalizers(
      { ...latest, metadata: { ...latest.metadata, resourceVersion: rv } },
      (latest.metadata.finalizers ?? finalizers).filter((f) => f !== flaggerFinalizer),
    );
    log(`${key}: finalised`);
  };

  // ── the reconcile ──────────────────────────────────────────────────────────────────────────────────────────
  const reconcile = async (key: string): Promise<void> => {
    const cd = getCanary(key);
    if (!cd) return; // deleted: handled by the delete event
    if (cd.metadata.deletionTimestamp) return finalize(key, cd);
    const finalizers = cd.metadata.finalizers ?? [];
    if (cd.spec.revertOnDeletion === true && revert && !finalizers.includes(flaggerFinalizer))
      await patchFinalizers(cd, [...finalizers, flaggerFinalizer]);
    else if (cd.spec.revertOnDeletion !== true && finalizers.includes(flaggerFinalizer))
      await patchFinalizers(
        cd,
        finalizers.filter((f) => f !== flaggerFinalizer),
      );
    const status = statusOf(key, cd);
    if (!status.conditions) {
      // Flagger: a new Canary is Initializing first.
      await writeStatus(key, { phase: 'Initializing' });
    }
    const tname = targetName(cd);
    const ns = cd.metadata.namespace ?? 'default';
    if (!tname) return reportOnce(key, 'spec.targetRef.name is missing');
    if ((cd.spec.targetRef?.kind ?? 'Deployment') !== 'Deployment')
      return reportOnce(key, `targetRef kind ${cd.spec.targetRef?.kind} is not supported (Deployment only)`);
    const target = getDeployment(ns, tname);
    if (!target) return reportOnce(key, `waiting for deployment ${ns}/${tname}`);
    const st = statusOf(key, cd);
    const hash = templateHash(target.spec?.template);
    if (!st.lastPromotedSpec) return initialise(key, cd, target);
    const configs = configsOf(ns, target);
    const secrets = secretsTracked(ns);
    const configChange = configs !== undefined && configsChanged(configs, st.trackedConfigs, { secrets });
    if (!ownHash(st.lastAppliedSpec)) {
      // Taken over from Flagger: its hash is not ours. The primary runs the target's images (and Flagger's
      // trackedConfigs, same checksums, still hold) → nothing to release.
      const primary = getDeployment(ns, primaryName(tname));
      const same = JSON.stringify(containerImages(primary)) === JSON.stringify(containerImages(target));
      if (same && !configChange && !activePhases.has(st.phase ?? '')) {
        await writeStatus(key, {
          phase: st.phase === 'Failed' ? 'Failed' : st.phase || 'Initialized',
          lastAppliedSpec: hash,
          lastPromotedSpec: hash,
          ...withConfigs(configs),
        });
        log(`${key}: taken over from Flagger (primary runs the target's images)`);
        return;
      }
    }
    const followed = followers.get(key);
    const trigger = triggerFor(st, hash, {
      suspended: cd.spec.suspend === true,
      followedHash: followed?.hash,
      configsChanged: configChange,
      followingCurrentConfigs: followed !== undefined && sameConfigs(followed.configs, configs),
    });
    switch (trigger.kind) {
      case 'initialise':
        return initialise(key, cd, target);
      case 'release':
        return startRelease(key, cd, target, hash, st, trigger.reason);
      case 'suspended':
        return reportOnce(key, 'suspended: the new revision is not released');
      case 'resume':
        return resume(key, cd, target, hash, st.trackedConfigs);
      case 'none':
        break;
    }
    // A status written before config tracking (no trackedConfigs): the current ones are recorded, no release
    // (Flagger would release every Canary with configs once; the primary already runs them).
    if (configs && st.trackedConfigs === undefined && !followed && !activePhases.has(st.phase ?? '')) {
      const current = st.conditions?.find((c) => c.type === 'Promoted');
      await writeStatus(key, {
        phase: st.phase ?? 'Initialized',
        ...withConfigs(configs),
        ...(current ? { message: current.message } : {}),
      });
    }
  };

  // ── wiring ─────────────────────────────────────────────────────────────────────────────────────────────────
  // The library's informer stops on an error (a failed list or watch); it is started again with backoff. The
  // backoff resets once the watch delivers events again.
  const watchAttempts = { canaries: 0, deployments: 0 };
  const restartOnError =
    (name: keyof typeof watchAttempts, inf: { start(): Promise<void> }) => (err: unknown) => {
      if (stopped) return;
      const attempt = ++watchAttempts[name];
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log(`${name} watch failed (${errText(err)}); restarting in ${Math.round(delay / 1000)} s`);
      setTimeout(() => {
        if (!stopped) void inf.start().catch(() => undefined); // failures arrive as error events again
      }, delay);
    };

  const onCanary = (obj: k8s.KubernetesObject): void => {
    watchAttempts.canaries = 0;
    enqueue(keyOf(obj));
  };
  const onDeployment = (obj: DeploymentObject): void => {
    watchAttempts.deployments = 0;
    for (const key of canariesOfDeployment(obj)) enqueue(key);
  };
  for (const inf of canaryInformers.values()) {
    inf.on('add', onCanary);
    inf.on('update', onCanary);
    inf.on('delete', (obj) => {
      const key = keyOf(obj);
      written.delete(key);
      initialised.delete(key);
      reported.delete(key);
      // Flagger stops analysing a deleted Canary; Fledge aborts its release (traffic back to the primary) so no
      // release is left moving traffic for a Canary nobody declares any more. The objects stay (without
      // revertOnDeletion; with it, the finalizer ran before this event).
      void abortRunning(key, 'Canary deleted');
    });
    inf.on('error', restartOnError('canaries', inf));
  }
  for (const inf of deploymentInformers.values()) {
    inf.on('add', onDeployment);
    inf.on('update', onDeployment);
    inf.on('delete', onDeployment);
    inf.on('error', restartOnError('deployments', inf));
  }

  return {
    async start() {
      stopped = false;
      for (const inf of deploymentInformers.values()) await inf.start();
      // Before the Canaries: a reconcile compares the target's tracked configs with the Canary's status.
      for (const w of configWatches.values()) {
        w.configMapsOn = await w.configMaps.start();
        w.secretsOn = await w.secrets.start();
      }
      for (const inf of canaryInformers.values()) await inf.start();
      for (const c of canaries.list()) enqueue(keyOf(c));
      log(
        `watching Canaries (${flaggerGroup}/${flaggerVersion}) ${listed.length > 0 ? `in ${listed.join(', ')}` : 'in all namespaces'}`,
      );
    },
    async stop() {
      stopped = true;
      for (const inf of canaryInformers.values()) await inf.stop();
      for (const inf of deploymentInformers.values()) await inf.stop();
      for (const w of configWatches.values()) {
        w.configMaps.stop();
        w.secrets.stop();
      }
      for (const key of [...followers.keys()]) stopFollower(key);
      for (const r of retries.values()) if (r.timer) clearTimeout(r.timer);
      await Promise.allSettled([...running.values()]);
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
  };
}

/**
 * Cluster mode as the CLI and the worker run it: behind leader election (./lease.ts) unless FLEDGE_LEADER_ELECTION=false,
 * so any number of cluster-mode processes (worker replicas, a rolling update) start each release once. The Lease's
 * settings come from the environment (`leaseSettingsFromEnv`); `lease` overrides them (null: no election).
 */
export function createElectedClusterMode(
  opts: ClusterModeOptions & { env?: NodeJS.ProcessEnv; lease?: LeaseSettings | null },
): ClusterModeController & { isLeader(): boolean } {
  const log = opts.log ?? ((m: string) => console.log(`fledge cluster-mode: ${m}`));
  const context = opts.kc.getContextObject(opts.kc.getCurrentContext());
  const settings =
    opts.lease !== undefined
      ? opts.lease
      : leaseSettingsFromEnv(opts.env ?? process.env, {
          ...(context?.namespace ? { contextNamespace: context.namespace } : {}),
        });
  if (settings === null) {
    const c = createClusterMode(opts);
    return { ...c, isLeader: () => true };
  }
  return leaderElected(() => createClusterMode(opts), leaseApi(opts.kc), settings, log);
}

export { canaryKey };
