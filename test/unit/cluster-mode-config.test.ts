// Cluster mode's settings: `fledge cluster-mode` loads them strictly (no dev-stack defaults, even when the process
// registered them — the unit setup does), FLEDGE_CLUSTER_MODE turns it on in the worker, and what it watches follows
// the release policy.
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig, MissingSettingsError } from '../../src/config.js';
import { clusterModeConfig, parseNamespaces } from '../../src/cli/cluster.js';
import { watchScopeOf } from '../../src/cluster/controller.js';

const noKube = { exists: () => false, home: undefined };
const withKube = { exists: (p: string) => p === '/home/u/.kube/config', home: '/home/u' };

describe('fledge cluster-mode: strict configuration', () => {
  it('names every missing setting (TEMPORAL_ADDRESS, Kubernetes access), ignoring the registered dev defaults', () => {
    let err: unknown;
    try {
      clusterModeConfig({}, noKube);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingSettingsError);
    expect((err as MissingSettingsError).missing).toEqual(['TEMPORAL_ADDRESS', 'KUBECONFIG']);
    expect(() => clusterModeConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }, noKube)).toThrow(/KUBECONFIG/);
    expect(() => clusterModeConfig({}, withKube)).toThrow(/TEMPORAL_ADDRESS/);
  });

  it('needs no Prometheus: the environment alone, as given', () => {
    const cfg = clusterModeConfig(
      { TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'prod' },
      withKube,
    );
    expect(cfg.temporal).toMatchObject({ address: 'temporal:7233', namespace: 'prod' });
    expect(cfg.defaulted).toBeUndefined();
  });

  it('-n takes a comma-separated list of namespace names', () => {
    expect(parseNamespaces('a,b,a')).toEqual(['a', 'b']);
    expect(parseNamespaces(undefined)).toBeUndefined();
    expect(() => parseNamespaces('a,Bad_ns')).toThrow(/not a namespace name: Bad_ns/);
  });
});

describe('FLEDGE_CLUSTER_MODE and the watch scope', () => {
  const env = {
    TEMPORAL_ADDRESS: 'temporal:7233',
    FLEDGE_PROMETHEUS_URL: 'http://prom:9090',
    KUBECONFIG: '/k',
  };
  it('true turns cluster mode on in the worker; unset or false leaves it off; anything else is invalid', () => {
    expect(loadWorkerConfig({ ...env, FLEDGE_CLUSTER_MODE: 'true' }, { defaults: null }).clusterMode).toBe(
      true,
    );
    expect(loadWorkerConfig(env, { defaults: null }).clusterMode).toBeUndefined();
    expect(
      loadWorkerConfig({ ...env, FLEDGE_CLUSTER_MODE: 'false' }, { defaults: null }).clusterMode,
    ).toBeUndefined();
    expect(() => loadWorkerConfig({ ...env, FLEDGE_CLUSTER_MODE: 'yes' }, { defaults: null })).toThrow(
      /FLEDGE_CLUSTER_MODE/,
    );
  });

  it('watches the namespaces the policy names literally, else every namespace', () => {
    expect(watchScopeOf({ namespaces: ['shop', 'payments'], images: ['**'] })).toEqual(['shop', 'payments']);
    expect(watchScopeOf({ namespaces: ['*'], images: ['**'] })).toBeUndefined();
    expect(watchScopeOf({ namespaces: ['shop', 'team-*'], images: ['**'] })).toBeUndefined();
  });
});
