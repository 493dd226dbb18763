// Production configuration has no dev-stack defaults: a worker without TEMPORAL_ADDRESS, FLEDGE_PROMETHEUS_URL or
// Kubernetes access refuses to start with one message naming every missing setting; defaults apply only where a
// process opts in to the embedded stack (the dev commands, the demo, the CLI's client commands, the test support).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  hasKubeAccess,
  loadFledgeConfig,
  loadWorkerConfig,
  MissingSettingsError,
  useConfigDefaults,
  type ConfigDefaults,
  type KubeAccessProbe,
} from '../../src/config.js';
import { devStackNotice } from '../../src/cli/dev-notice.js';
import {
  devConfigDefaults,
  devStackEnv,
  projectRoot,
  useDevStackDefaults,
} from '../../src/dev/stack/config.js';
import { demoExtension, devWorkerConfig } from '../../src/dev/worker.js';
import * as devWorkflows from '../../src/dev/workflows.js';
import * as productionWorkflows from '../../src/workflows/index.js';

/** No ~/.kube/config, not in a pod. */
const noKube: KubeAccessProbe = { exists: () => false, home: '/nonexistent-home' };
const production = {
  TEMPORAL_ADDRESS: 'temporal-frontend.temporal:7233',
  FLEDGE_PROMETHEUS_URL: 'http://prometheus.istio-system:9090',
  KUBECONFIG: '/etc/fledge/kubeconfig',
};
const demoActivityNames = ['ensureDemoApp', 'setDemoWeights', 'observeSplit'];

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

// The test support registers the dev stack's defaults for this process (test/support/dev-stack.ts); tests that
// change them put them back.
afterEach(() => useDevStackDefaults());

describe('worker configuration without production settings', () => {
  it('fails with one message naming each missing setting', () => {
    const e = thrown(() => loadWorkerConfig({}, { defaults: null, kubeProbe: noKube }));
    expect(e).toBeInstanceOf(MissingSettingsError);
    expect((e as MissingSettingsError).missing).toEqual([
      'TEMPORAL_ADDRESS',
      'FLEDGE_PROMETHEUS_URL',
      'KUBECONFIG',
    ]);
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.message).toMatch(
      /^missing settings: TEMPORAL_ADDRESS \(.+\); FLEDGE_PROMETHEUS_URL \(.+\); KUBECONFIG \(/,
    );
    expect(e.message).toMatch(/service account/);
    expect(e.message).toMatch(/~\/\.kube\/config/);
  });

  it.each([
    ['TEMPORAL_ADDRESS', { ...production, TEMPORAL_ADDRESS: undefined }],
    ['FLEDGE_PROMETHEUS_URL', { ...production, FLEDGE_PROMETHEUS_URL: undefined }],
    ['KUBECONFIG', { ...production, KUBECONFIG: undefined }],
  ])('names %s alone when only it is missing', (name, env) => {
    const e = thrown(() => loadWorkerConfig(env, { defaults: null, kubeProbe: noKube }));
    expect((e as MissingSettingsError).missing).toEqual([name]);
    for (const other of Object.keys(production).filter((k) => k !== name))
      expect(e.message).not.toContain(`${other} (`);
  });

  it('reports invalid values and missing settings in the same message', () => {
    const e = thrown(() =>
      loadWorkerConfig(
        { TEMPORAL_ADDRESS: 'x:1', FLEDGE_ALLOWED_NAMESPACES: ' , ', FLEDGE_WEB_UI_URL: 'not a url' },
        { defaults: null, kubeProbe: noKube },
      ),
    );
    expect(e.message).toMatch(
      /^invalid environment: FLEDGE_WEB_UI_URL: .*; missing settings: FLEDGE_PROMETHEUS_URL/,
    );
    expect(e.message).toContain('KUBECONFIG (');
  });

  it('ignores registered defaults with `defaults: null` (what the production worker passes)', () => {
    expect(() => loadWorkerConfig({}, { kubeProbe: noKube })).not.toThrow(); // the test support's dev defaults
    expect(() => loadWorkerConfig({}, { defaults: null, kubeProbe: noKube })).toThrow(MissingSettingsError);
  });

  it('finds Kubernetes access as the client does: KUBECONFIG, a pod (service-account token), ~/.kube/config', () => {
    const token = '/var/run/secrets/kubernetes.io/serviceaccount/token';
    expect(hasKubeAccess({ KUBECONFIG: '/k' }, noKube)).toBe(true);
    expect(
      hasKubeAccess({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, { ...noKube, exists: (p) => p === token }),
    ).toBe(true);
    expect(hasKubeAccess({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, noKube)).toBe(false); // no token: not a pod
    expect(hasKubeAccess({}, { exists: (p) => p === '/home/me/.kube/config', home: '/home/me' })).toBe(true);
    expect(hasKubeAccess({}, { exists: (p) => p === token, home: '/home/me' })).toBe(false);
    const inPod = { ...production, KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: '10.0.0.1' };
    const cfg = loadWorkerConfig(inPod, {
      defaults: null,
      kubeProbe: { ...noKube, exists: (p) => p === token },
    });
    expect(cfg.kubeconfig).toBeUndefined(); // → the service account (loadKubeConfig)
  });

  it('with every production setting: exactly the environment, nothing defaulted', () => {
    const cfg = loadWorkerConfig(production, { defaults: null, kubeProbe: noKube });
    expect(cfg.temporal).toEqual({ address: production.TEMPORAL_ADDRESS, namespace: 'default' });
    expect(cfg.prometheusUrl).toBe(production.FLEDGE_PROMETHEUS_URL);
    expect(cfg.kubeconfig).toBe(production.KUBECONFIG);
    expect(cfg.webUiUrl).toBe('http://localhost:8080'); // the Temporal UI server's own default
    expect(cfg.defaulted).toBeUndefined();
  });

  it('a client needs only TEMPORAL_ADDRESS (only workers query Prometheus and Kubernetes)', () => {
    const e = thrown(() => loadFledgeConfig({}, { defaults: null }));
    expect((e as MissingSettingsError).missing).toEqual(['TEMPORAL_ADDRESS']);
    const cfg = loadFledgeConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }, { defaults: null });
    expect(cfg.temporal.address).toBe('temporal:7233');
    expect(cfg.prometheusUrl).toBe('');
  });
});

describe('dev-stack defaults (opt-in)', () => {
  const env = { FLEDGE_PORT_OFFSET: '1000', FLEDGE_STATE_DIR: '/tmp/fledge-state-x' };

  it('fill exactly the unset settings with the stack’s values, and say which', () => {
    const d = devConfigDefaults(env);
    expect(d.temporalAddress).toBe('127.0.0.1:28233');
    const cfg = loadWorkerConfig(env, { defaults: d, kubeProbe: noKube });
    expect(cfg.temporal.address).toBe('127.0.0.1:28233');
    expect(cfg.prometheusUrl).toBe('http://127.0.0.1:30090');
    expect(cfg.webUiUrl).toBe('http://127.0.0.1:29233');
    expect(cfg.kubeconfig).toBe('/tmp/fledge-state-x/kubeconfig');
    expect(cfg.defaulted).toEqual([
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'FLEDGE_PROMETHEUS_URL',
      'FLEDGE_WEB_UI_URL',
      'KUBECONFIG',
    ]);
    const own = loadWorkerConfig(
      { ...env, TEMPORAL_ADDRESS: 'temporal:7233', KUBECONFIG: '/k' },
      { defaults: d, kubeProbe: noKube },
    );
    expect(own.temporal.address).toBe('temporal:7233');
    expect(own.defaulted).toEqual(['TEMPORAL_NAMESPACE', 'FLEDGE_PROMETHEUS_URL', 'FLEDGE_WEB_UI_URL']);
  });

  it('a Temporal of its own means a cluster of its own: no dev kubeconfig then', () => {
    const cfg = loadFledgeConfig(
      { ...env, TEMPORAL_ADDRESS: 'temporal:7233' },
      { defaults: devConfigDefaults(env) },
    );
    expect(cfg.kubeconfig).toBeUndefined();
    expect(() =>
      loadWorkerConfig(
        { ...env, TEMPORAL_ADDRESS: 'temporal:7233' },
        { defaults: devConfigDefaults(env), kubeProbe: noKube },
      ),
    ).toThrow(/missing settings: KUBECONFIG/);
  });

  it('registered defaults apply only until unregistered; the dev worker passes its own', () => {
    const mine: ConfigDefaults = { ...devConfigDefaults(env), temporalAddress: 'registered:1' };
    useConfigDefaults(() => mine);
    expect(loadFledgeConfig({}).temporal.address).toBe('registered:1');
    useConfigDefaults(undefined);
    expect(() => loadFledgeConfig({})).toThrow(MissingSettingsError);
    expect(devWorkerConfig({ ...env, KUBECONFIG: '/k' }).temporal.address).toBe('127.0.0.1:28233');
  });

  it('`fledge dev env` settings are a complete production environment for a worker', () => {
    const cfg = loadWorkerConfig(devStackEnv(env), { defaults: null, kubeProbe: noKube });
    expect(cfg.temporal.address).toBe('127.0.0.1:28233');
    expect(cfg.defaulted).toBeUndefined();
  });

  it('the CLI says which Temporal it falls back to, once, and nothing when TEMPORAL_ADDRESS is set', () => {
    const lines: string[] = [];
    const notice = devStackNotice((l) => lines.push(l));
    const d = devConfigDefaults(env);
    notice(d, { TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(lines).toEqual([]);
    notice(d, {});
    notice(d, {});
    expect(lines).toEqual([
      "fledge: TEMPORAL_ADDRESS is not set: using the embedded dev stack's Temporal at 127.0.0.1:28233 (namespace default)",
    ]);
  });
});

describe('demo code is the dev stack’s only', () => {
  it('the production workflows module has no demo workflow; the dev one has it and every production one', () => {
    expect(Object.keys(productionWorkflows).sort()).toEqual(['fledgeLane', 'releaseWorkflow']);
    expect(Object.keys(devWorkflows).sort()).toEqual(['demoTrafficShift', 'fledgeLane', 'releaseWorkflow']);
  });

  it('the dev worker’s extension adds the demo activities and the dev workflows', () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const ext = demoExtension(loadWorkerConfig(production, { defaults: null }));
    expect(Object.keys(ext.activities(kc)).sort()).toEqual([...demoActivityNames].sort());
    expect(ext.workflowsPath).toMatch(/src\/dev\/workflows\.ts$/);
  });
});

interface Exit {
  code: number | null;
  out: string;
  err: string;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin/fledge.js'), ...args], {
      env,
      cwd: projectRoot,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** A clean environment: no Fledge or Temporal settings, a HOME without ~/.kube, not in a pod. */
function bare(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: mkdtempSync(join(tmpdir(), 'fledge-home-')),
    NO_COLOR: '1',
    ...extra,
  };
}

describe('the commands, as processes', () => {
  it('`fledge worker` without production settings exits 5 with one message naming each missing one', async () => {
    const r = await run(['worker'], bare());
    expect(r.code, r.err).toBe(5);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^fledge: the worker cannot start: missing settings: TEMPORAL_ADDRESS \(.*\); FLEDGE_PROMETHEUS_URL \(.*\); KUBECONFIG \(/,
    );
    expect(r.out).not.toMatch(/task queue/);
  }, 60_000);

  it('a CLI client command falling back to the dev stack says which Temporal it talks to', async () => {
    // Refused by the release policy after the configuration is loaded and before anything connects (exit 5).
    const r = await run(
      [
        'start',
        '-f',
        join(projectRoot, 'examples/podinfo-canary.yaml'),
        '--image',
        'podinfod=ghcr.io/stefanprodan/podinfo:6.5.1',
      ],
      bare({ FLEDGE_PORT_OFFSET: '1234', FLEDGE_ALLOWED_NAMESPACES: 'somewhere-else', FLEDGE_ACTOR: 't' }),
    );
    expect(r.code, r.err).toBe(5);
    expect(r.err).toContain(
      "fledge: TEMPORAL_ADDRESS is not set: using the embedded dev stack's Temporal at 127.0.0.1:28467 (namespace default)",
    );
  }, 60_000);
});

describe('worker slots (FLEDGE_MAX_WORKFLOW_TASKS, FLEDGE_MAX_LOCAL_ACTIVITIES)', () => {
  it('default above the SDK’s 40 / 100, because a workflow task holds its slot during its local activities', () => {
    expect(loadWorkerConfig(production, { defaults: null }).slots).toEqual({
      maxConcurrentWorkflowTaskExecutions: 200,
      maxConcurrentLocalActivityExecutions: 200,
    });
    expect(
      loadWorkerConfig(
        { ...production, FLEDGE_MAX_WORKFLOW_TASKS: '500', FLEDGE_MAX_LOCAL_ACTIVITIES: '50' },
        { defaults: null },
      ).slots,
    ).toEqual({
      maxConcurrentWorkflowTaskExecutions: 500,
      maxConcurrentLocalActivityExecutions: 50,
    });
  });

  it.each([
    ['FLEDGE_MAX_WORKFLOW_TASKS', '1', 'must be from 2 to 10000'],
    ['FLEDGE_MAX_WORKFLOW_TASKS', 'lots', 'must be a whole number'],
    ['FLEDGE_MAX_LOCAL_ACTIVITIES', '20000', 'must be from 2 to 10000'],
    ['FLEDGE_MAX_LOCAL_ACTIVITIES', '2.5', 'must be a whole number'],
  ])('%s=%s is refused at start-up, naming the setting', (name, value, reason) => {
    expect(() => loadWorkerConfig({ ...production, [name]: value }, { defaults: null })).toThrow(
      `${name}: ${reason}`,
    );
  });
});
