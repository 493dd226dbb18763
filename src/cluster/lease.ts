// Leader election for cluster mode: with several cluster-mode processes (worker replicas, a rolling update), exactly
// one — the holder of a coordination.k8s.io Lease — watches Canaries and starts releases; the others wait and take
// over when the leader stops renewing (it died) or releases the Lease (SIGTERM). Kubernetes' own algorithm (client-go
// leaderelection; facts, not code):
// - a follower tries to acquire every `retryPeriod`; a Lease held by another counts as expired only once
//   `leaseDuration` has passed since this process last saw it change (its own clock: no clock-skew assumptions);
// - the leader renews every `retryPeriod` and stops leading when it could not renew for `renewDeadline`
//   (< leaseDuration, so it stops before anyone else may start);
// - on stop, the leader stops its controller first, then releases the Lease (empty holder, 1 s duration), so the
//   next leader starts at once instead of after `leaseDuration`.
// Every write carries the resourceVersion it read (optimistic concurrency): two candidates never both win. The leader
// renews with the version of its last write (one request per retryPeriod; a conflict reads the Lease again).
// Starting a release twice is harmless anyway (the release ID is the workflow ID; the lane attaches a second submit
// of a running release), so a short overlap at a hand-over cannot double a release.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';

export interface LeaseSettings {
  name: string;
  namespace: string;
  /** This process (Lease spec.holderIdentity). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const leaseDefaults = {
  name: 'fledge-cluster-mode',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

const serviceAccountNamespaceFile = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** `15`, `15s`, `1500ms` → milliseconds. */
function duration(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
  if (!m) throw new Error(`${name}: not a duration (seconds, e.g. 15 or 15s, or 1500ms): ${value}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : n * 1000;
}

/**
 * The Lease settings from the environment, or null with FLEDGE_LEADER_ELECTION=false (a single cluster-mode process
 * by construction). FLEDGE_LEASE_NAME (default fledge-cluster-mode), FLEDGE_LEASE_NAMESPACE (default: POD_NAMESPACE,
 * else the pod's service-account namespace, else the kubeconfig context's namespace, else default),
 * FLEDGE_LEASE_DURATION / FLEDGE_LEASE_RENEW_DEADLINE / FLEDGE_LEASE_RETRY_PERIOD (15 s / 10 s / 2 s),
 * FLEDGE_LEASE_IDENTITY (default `<hostname>_<random>`).
 */
export function leaseSettingsFromEnv(
  env: NodeJS.ProcessEnv,
  opts: { contextNamespace?: string; readNamespaceFile?: () => string | undefined } = {},
): LeaseSettings | null {
  if (env.FLEDGE_LEADER_ELECTION === 'false') return null;
  if (env.FLEDGE_LEADER_ELECTION !== undefined && env.FLEDGE_LEADER_ELECTION !== 'true')
    throw new Error(`FLEDGE_LEADER_ELECTION: true or false, not ${env.FLEDGE_LEADER_ELECTION}`);
  const readNs =
    opts.readNamespaceFile ??
    (() => {
      try {
        return readFileSync(serviceAccountNamespaceFile, 'utf8').trim() || undefined;
      } catch {
        return undefined;
      }
    });
  const settings: LeaseSettings = {
    name: env.FLEDGE_LEASE_NAME || leaseDefaults.name,
    namespace:
      env.FLEDGE_LEASE_NAMESPACE || env.POD_NAMESPACE || readNs() || opts.contextNamespace || 'default',
    identity: env.FLEDGE_LEASE_IDENTITY || `${hostname()}_${randomUUID().slice(0, 8)}`,
    leaseDurationMs: duration(
      'FLEDGE_LEASE_DURATION',
      env.FLEDGE_LEASE_DURATION,
      leaseDefaults.leaseDurationMs,
    ),
    renewDeadlineMs: duration(
      'FLEDGE_LEASE_RENEW_DEADLINE',
      env.FLEDGE_LEASE_RENEW_DEADLINE,
      leaseDefaults.renewDeadlineMs,
    ),
    retryPeriodMs: duration(
      'FLEDGE_LEASE_RETRY_PERIOD',
      env.FLEDGE_LEASE_RETRY_PERIOD,
      leaseDefaults.retryPeriodMs,
    ),
  };
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(settings.name))
    throw new Error(`FLEDGE_LEASE_NAME: not an object name: ${settings.name}`);
  if (!(settings.renewDeadlineMs < settings.leaseDurationMs))
    throw new Error('FLEDGE_LEASE_RENEW_DEADLINE must be shorter than FLEDGE_LEASE_DURATION');
  if (!(settings.retryPeriodMs < settings.renewDeadlineMs))
    throw new Error('FLEDGE_LEASE_RETRY_PERIOD must be shorter than FLEDGE_LEASE_RENEW_DEADLINE');
  if (settings.leaseDurationMs < 1000) throw new Error('FLEDGE_LEASE_DURATION must be at least 1 s');
  return settings;
}

/** The Lease calls (CoordinationV1Api; a fake in unit tests). */
export interface LeaseApi {
  read(namespace: string, name: string): Promise<k8s.V1Lease>;
  create(namespace: string, lease: k8s.V1Lease): Promise<k8s.V1Lease>;
  replace(namespace: string, name: string, lease: k8s.V1Lease): Promise<k8s.V1Lease>;
}

export function leaseApi(kc: k8s.KubeConfig): LeaseApi {
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  return {
    read: (namespace, name) => coord.readNamespacedLease({ namespace, name }),
    create: (namespace, body) => coord.createNamespacedLease({ namespace, body }),
    replace: (namespace, name, body) => coord.replaceNamespacedLease({ namespace, name, body }),
  };
}

const code = (e: unknown): number | undefined => (e instanceof k8s.ApiException ? e.code : undefined);
/** An apiserver error as its code and Status message (the client's message carries headers that change per call). */
const errText = (e: unknown): string => {
  if (e instanceof k8s.ApiException) {
    let msg = '';
    try {
      msg = (JSON.parse(String(e.body)) as { message?: string }).message ?? '';
    } catch {
      msg = String(e.body).slice(0, 200);
    }
    return `HTTP ${e.code}${msg ? `: ${msg}` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
};

export interface LeaderCallbacks {
  /** Became the leader: start the work (resolves once started). */
  onStartedLeading(): Promise<void>;
  /** No longer the leader (lost, or stopping): stop the work (resolves once stopped). */
  onStoppedLeading(): Promise<void>;
  log(msg: string): void;
  /** The clock (tests). */
  now?: () => number;
}

export interface LeaderElector {
  /** Starts campaigning; resolves after the first attempt (and, if it won, once the work started). */
  start(): Promise<void>;
  /** Stops the work if leading, releases the Lease, stops campaigning. */
  stop(): Promise<void>;
  isLeader(): boolean;
}

export function createLeaderElector(api: LeaseApi, s: LeaseSettings, cb: LeaderCallbacks): LeaderElector {
  const now = cb.now ?? Date.now;
  let leader = false;
  let stopped = false;
  /** The Lease as last read or written, and when (by this clock) its holder/renewTime last changed. */
  let known: k8s.V1Lease | undefined;
  let observedAt = 0;
  let lastRenew = 0;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  const where = `lease ${s.namespace}/${s.name}`;

  const observe = (l: k8s.V1Lease): void => {
    const key = (x: k8s.V1Lease | undefined) =>
      `${x?.spec?.holderIdentity ?? ''}|${x?.spec?.renewTime ? new Date(x.spec.renewTime).getTime() : ''}|${x?.spec?.leaseTransitions ?? 0}`;
    if (key(l) !== key(known)) observedAt = now();
    known = l;
  };

  const record = (prev: k8s.V1Lease | undefined, release = false): k8s.V1Lease => {
    // MicroTime: the apiserver wants six fractional digits (the client passes this type through as it is).
    const t = new Date(now()).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
    const mine = prev?.spec?.holderIdentity === s.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: s.name,
        namespace: s.namespace,
        ...(prev?.metadata?.resourceVersion ? { resourceVersion: prev.metadata.resourceVersion } : {}),
        labels: { 'app.kubernetes.io/name': 'fledge', 'app.kubernetes.io/component': 'cluster-mode' },
      },
      spec: {
        holderIdentity: release ? '' : s.identity,
        leaseDurationSeconds: release ? 1 : Math.ceil(s.leaseDurationMs / 1000),
        acquireTime: mine && !release && prev?.spec?.acquireTime ? prev.spec.acquireTime : t,
        renewTime: t,
        leaseTransitions: (prev?.spec?.leaseTransitions ?? 0) + (mine || release || !prev ? 0 : 1),
      },
    };
  };

  /** One attempt: true when this process holds the Lease afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    // The leader renews with the version of its own last write: one request; a conflict reads again.
    if (leader && known?.spec?.holderIdentity === s.identity) {
      try {
        observe(await api.replace(s.namespace, s.name, record(known)));
        return true;
      } catch (e) {
        if (code(e) !== 409) throw e;
      }
    }
    let current: k8s.V1Lease;
    try {
      current = await api.read(s.namespace, s.name);
    } catch (e) {
      if (code(e) !== 404) throw e;
      try {
        observe(await api.create(s.namespace, record(undefined)));
        return true;
      } catch (err) {
        if (code(err) === 409) return false; // another candidate created it first
        throw err;
      }
    }
    observe(current);
    const holder = current.spec?.holderIdentity ?? '';
    const durationMs = (current.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== s.identity && observedAt + durationMs > now()) return false;
    try {
      observe(await api.replace(s.namespace, s.name, record(current)));
      return true;
    } catch (e) {
      if (code(e) === 409) return false;
      throw e;
    }
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  let reportedError = '';
  const attempt = async (): Promise<void> => {
    let ok = false;
    try {
      ok = await tryAcquireOrRenew();
      reportedError = '';
    } catch (e) {
      const msg = errText(e);
      if (msg !== reportedError) cb.log(`${where}: ${msg}`);
      reportedError = msg;
    }
    if (stopped) return;
    if (ok) {
      lastRenew = now();
      if (!leader) {
        leader = true;
        cb.log(`${where}: leading as ${s.identity}`);
        try {
          await cb.onStartedLeading();
        } catch (e) {
          // Could not start (e.g. a watch refused): step down and let the Lease expire, so another may lead.
          cb.log(`${where}: could not start leading (${errText(e)}); stepping down`);
          leader = false;
          await cb.onStoppedLeading().catch(() => undefined);
        }
      }
    } else if (
      leader &&
      (now() - lastRenew >= s.renewDeadlineMs || known?.spec?.holderIdentity !== s.identity)
    ) {
      leader = false;
      cb.log(
        `${where}: leadership lost (not renewed for ${Math.round((now() - lastRenew) / 1000)} s); stopping`,
      );
      await cb.onStoppedLeading();
    }
  };

  return {
    async start() {
      stopped = false;
      await attempt();
      if (!leader)
        cb.log(
          `${where}: following (held by ${known?.spec?.holderIdentity || 'nobody'}); retrying every ${s.retryPeriodMs / 1000} s`,
        );
      loop = (async () => {
        while (!stopped) {
          // client-go jitters the followers' retries (factor 1.2) so candidates do not collide.
          await sleep(leader ? s.retryPeriodMs : s.retryPeriodMs * (1 + Math.random() * 0.2));
          if (stopped) break;
          await attempt();
        }
      })();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
      if (!leader) return;
      leader = false;
      await cb.onStoppedLeading();
      try {
        for (let i = 0; i < 2; i++) {
          const current = i === 0 && known ? known : await api.read(s.namespace, s.name);
          if (current.spec?.holderIdentity !== s.identity) break;
          try {
            await api.replace(s.namespace, s.name, record(current, true));
            cb.log(`${where}: released`);
            break;
          } catch (e) {
            if (code(e) !== 409 || i === 1) throw e; // a stale version: read it again once
          }
        }
      } catch (e) {
        cb.log(`${where}: not released (${errText(e)}); it expires in ${s.leaseDurationMs / 1000} s`);
      }
    },
    isLeader: () => leader,
  };
}

/** The part of a cluster-mode controller the election drives (src/cluster/controller.ts). */
export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
  idle(): Promise<void>;
}

/**
 * A cluster-mode controller that runs only while this process holds the Lease: a fresh controller (`make`) per term
 * of leadership (nothing carries over but what is in the Canaries' status and Temporal), stopped when the term ends.
 * `stop()` stops it and releases the Lease (call it on SIGTERM).
 */
export function leaderElected(
  make: () => Startable,
  api: LeaseApi,
  settings: LeaseSettings,
  log: (msg: string) => void,
): Startable & { isLeader(): boolean } {
  let current: Startable | undefined;
  const elector = createLeaderElector(api, settings, {
    async onStartedLeading() {
      const c = make();
      current = c;
      await c.start();
    },
    async onStoppedLeading() {
      const c = current;
      current = undefined;
      await c?.stop();
    },
    log,
  });
  return {
    start: () => elector.start(),
    stop: () => elector.stop(),
    idle: async () => current?.idle(),
    isLeader: () => elector.isLeader(),
  };
}
