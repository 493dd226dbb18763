// Leader election of cluster mode (src/cluster/lease.ts) against an in-memory Lease store that behaves like the
// apiserver (resourceVersion checks → 409, 404 when absent): one leader at a time, take-over only after the lease
// expired by the follower's own clock, the old leader stops before the new one starts, release on stop.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import {
  createLeaderElector,
  leaseSettingsFromEnv,
  type LeaseApi,
  type LeaseSettings,
} from '../../../src/cluster/lease.js';

const apiError = (code: number) => new k8s.ApiException(code, `HTTP ${code}`, {}, {});

function leaseStore() {
  let stored: k8s.V1Lease | undefined;
  let rv = 0;
  const writes: string[] = [];
  const save = (l: k8s.V1Lease): k8s.V1Lease => {
    // The apiserver's MicroTime: six fractional digits, else 400.
    for (const t of [l.spec?.renewTime, l.spec?.acquireTime])
      if (typeof t !== 'string' || !/\.\d{6}Z$/.test(t)) throw apiError(400);
    stored = structuredClone({ ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } });
    writes.push(l.spec?.holderIdentity ?? '');
    return structuredClone(stored);
  };
  /** One candidate's view; `down()` makes every call fail (a dead or partitioned process). */
  const client = () => {
    let down = false;
    const guard = () => {
      if (down) throw new Error('connection refused');
    };
    const api: LeaseApi = {
      async read() {
        guard();
        if (!stored) throw apiError(404);
        return structuredClone(stored);
      },
      async create(_ns, l) {
        guard();
        if (stored) throw apiError(409);
        return save(l);
      },
      async replace(_ns, _n, l) {
        guard();
        if (!stored) throw apiError(404);
        if (l.metadata?.resourceVersion !== stored.metadata?.resourceVersion) throw apiError(409);
        return save(l);
      },
    };
    return { api, down: () => (down = true) };
  };
  return { client, get: () => stored, writes };
}

const settings = (identity: string): LeaseSettings => ({
  name: 'fledge-cluster-mode',
  namespace: 'fledge-system',
  identity,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

function candidate(store: ReturnType<typeof leaseStore>, id: string, events: string[]) {
  const c = store.client();
  const elector = createLeaderElector(c.api, settings(id), {
    onStartedLeading: async () => void events.push(`${id} started`),
    onStoppedLeading: async () => void events.push(`${id} stopped`),
    log: () => undefined,
  });
  return { elector, down: c.down };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('leader election (coordination.k8s.io Lease)', () => {
  it('one leader; the follower takes over only after the dead leader stopped and the lease expired', async () => {
    const store = leaseStore();
    const events: string[] = [];
    const a = candidate(store, 'a', events);
    const b = candidate(store, 'b', events);
    await a.elector.start();
    await b.elector.start();
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    // Renewals keep it: a minute later b still follows.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toEqual(['a started']);
    expect(store.get()?.spec?.holderIdentity).toBe('a');
    // a can no longer reach the apiserver (or died): it stops itself after renewDeadline; b waits leaseDuration.
    a.down();
    await vi.advanceTimersByTimeAsync(11_000);
    expect(events).toEqual(['a started', 'a stopped']);
    expect(b.elector.isLeader()).toBe(false);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(events).toEqual(['a started', 'a stopped', 'b started']);
    expect(store.get()?.spec?.holderIdentity).toBe('b');
    expect(store.get()?.spec?.leaseTransitions).toBe(1);
    await b.elector.stop();
  });

  it('stop releases the lease: the follower leads at its next retry, not after leaseDuration', async () => {
    const store = leaseStore();
    const events: string[] = [];
    const a = candidate(store, 'a', events);
    const b = candidate(store, 'b', events);
    await a.elector.start();
    await b.elector.start();
    await a.elector.stop();
    expect(events).toEqual(['a started', 'a stopped']);
    expect(store.get()?.spec?.holderIdentity).toBe('');
    await vi.advanceTimersByTimeAsync(2_500);
    expect(events).toEqual(['a started', 'a stopped', 'b started']);
    await b.elector.stop();
  });

  it('two candidates starting at once: exactly one wins (optimistic concurrency)', async () => {
    const store = leaseStore();
    const events: string[] = [];
    const cs = ['a', 'b', 'c'].map((id) => candidate(store, id, events));
    await Promise.all(cs.map((c) => c.elector.start()));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(cs.filter((c) => c.elector.isLeader())).toHaveLength(1);
    expect(events).toHaveLength(1);
    for (const c of cs) await c.elector.stop();
  });
});

describe('leaseSettingsFromEnv', () => {
  it('defaults: 15 s / 10 s / 2 s, name fledge-cluster-mode, the pod namespace', () => {
    const s = leaseSettingsFromEnv({}, { readNamespaceFile: () => 'fledge-system' });
    expect(s).toMatchObject({
      name: 'fledge-cluster-mode',
      namespace: 'fledge-system',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(s?.identity).toMatch(/_[0-9a-f]{8}$/);
  });
  it('configurable; off with FLEDGE_LEADER_ELECTION=false; inconsistent durations refused', () => {
    expect(
      leaseSettingsFromEnv(
        {
          FLEDGE_LEASE_NAME: 'x',
          FLEDGE_LEASE_NAMESPACE: 'ops',
          FLEDGE_LEASE_DURATION: '4s',
          FLEDGE_LEASE_RENEW_DEADLINE: '3',
          FLEDGE_LEASE_RETRY_PERIOD: '500ms',
          FLEDGE_LEASE_IDENTITY: 'me',
        },
        { readNamespaceFile: () => undefined },
      ),
    ).toEqual({
      name: 'x',
      namespace: 'ops',
      identity: 'me',
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 500,
    });
    expect(leaseSettingsFromEnv({ FLEDGE_LEADER_ELECTION: 'false' })).toBeNull();
    expect(() => leaseSettingsFromEnv({ FLEDGE_LEASE_RENEW_DEADLINE: '20' })).toThrow(/shorter/);
    expect(() => leaseSettingsFromEnv({ FLEDGE_LEASE_DURATION: 'soon' })).toThrow(/not a duration/);
    expect(
      leaseSettingsFromEnv({}, { readNamespaceFile: () => undefined, contextNamespace: 'dev' })?.namespace,
    ).toBe('dev');
  });
});
