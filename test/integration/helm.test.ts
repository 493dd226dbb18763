// The Helm chart (deploy/helm/fledge) against the real local apiserver: `helm lint`, `helm template` for several
// value sets (defaults; two release namespaces; cluster-wide; Temporal Cloud with TLS files and an API key), every
// rendered object accepted by the apiserver as a server-side apply with dryRun=All and strict field validation, the
// worker's pod admitted by a namespace enforcing the restricted Pod Security Standard — and the promises of the
// kustomize base kept: namespaced by default (no cluster-wide RBAC), the Role rules equal to the kustomize base's
// (parsed from its YAML, so drift fails here), FLEDGE_ALLOWED_NAMESPACES exactly the bound namespaces, and every
// environment variable one the worker reads — read back through the worker's own configuration loader.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { loadFledgeConfig, type FledgeConfig } from '../../src/config.js';
import { codecKeysFromEnv } from '../../src/codec/encryption.js';
import { checkReleasePolicy, parsePatternList, type ReleasePolicy } from '../../src/policy.js';
import { projectRoot, toolsCacheDir } from '../../src/dev/stack/config.js';
import { kube, type KubeClients } from '../support/stack.js';

type Obj = k8s.KubernetesObject & { metadata: k8s.V1ObjectMeta & { name: string } } & Record<string, unknown>;

const chartDir = join(projectRoot, 'deploy', 'helm', 'fledge');
const kustomizeDir = join(projectRoot, 'deploy', 'kustomize');

// ---------------------------------------------------------------------------------------------------------------
// Helm: the pinned binary built by scripts/install-tools.sh (`bash scripts/setup.sh test`, or `install-tools.sh helm`).

function helmBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLEDGE_HELM_BIN) return env.FLEDGE_HELM_BIN;
  const cache = toolsCacheDir(env);
  const envFile = join(cache, 'env.sh');
  if (existsSync(envFile)) {
    const m = /^FLEDGE_HELM_BIN=(.+)$/m.exec(readFileSync(envFile, 'utf8'));
    if (m?.[1] && existsSync(m[1].trim())) return m[1].trim();
  }
  const versions = readFileSync(join(projectRoot, 'scripts', 'versions.env'), 'utf8');
  const version = /^HELM_VERSION=(.+)$/m.exec(versions)?.[1]?.trim();
  if (!version) throw new Error('HELM_VERSION missing from scripts/versions.env');
  const bin = join(cache, `helm-${version}`, 'helm');
  if (!existsSync(bin))
    throw new Error(
      `helm not found at ${bin}: run \`bash scripts/install-tools.sh helm\` (or setup.sh test) first`,
    );
  return bin;
}

const work = mkdtempSync(join(tmpdir(), 'fledge-helm-'));
let helmBin: string;

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helmBin, args, {
    encoding: 'utf8',
    timeout: 60_000,
    // Hermetic: no user Helm config, repositories or plugins; never a cluster (template and lint only).
    env: {
      PATH: process.env.PATH ?? '',
      HOME: work,
      HELM_CONFIG_HOME: join(work, 'config'),
      HELM_CACHE_HOME: join(work, 'cache'),
      HELM_DATA_HOME: join(work, 'data'),
      KUBECONFIG: join(work, 'no-kubeconfig'),
    },
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

let valuesFileCount = 0;
function valuesFile(values: object): string {
  const f = join(work, `values-${++valuesFileCount}.yaml`);
  writeFileSync(f, JSON.stringify(values, null, 2)); // JSON is YAML
  return f;
}

function template(releaseNs: string, values: object = {}, release = 'fledge'): Obj[] {
  const r = helm(['template', release, chartDir, '--namespace', releaseNs, '-f', valuesFile(values)]);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length > 0)
        throw new Error(`helm template output: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null && o !== undefined);
}

/** helm template that must fail: its error text. */
function templateError(releaseNs: string, values: object): string {
  const r = helm(['template', 'fledge', chartDir, '--namespace', releaseNs, '-f', valuesFile(values)]);
  expect(r.status, `helm template should have failed, rendered:\n${r.stdout}`).not.toBe(0);
  return r.stderr;
}

function find<T = Obj>(objects: Obj[], kind: string, name?: string): T {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? `/${name}` : ''} in the rendered chart`);
  return o as unknown as T;
}

function loadYamlDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && o !== undefined);
}

const ids = (objects: Obj[]): string[] =>
  objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();

// ---------------------------------------------------------------------------------------------------------------
// RBAC

const writeVerbs = [
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'escalate',
  'bind',
  'impersonate',
  '*',
];

function rulesOf(o: Obj): k8s.V1PolicyRule[] {
  return (o as unknown as k8s.V1Role).rules ?? [];
}

/** The kustomize base's Role and the cluster-wide overlay's ClusterRole, parsed from their files (not rendered). */
function kustomizeRules(): { role: k8s.V1PolicyRule[]; clusterRole: k8s.V1PolicyRule[] } {
  const role = loadYamlDocs(join(kustomizeDir, 'base', 'release-namespaces.yaml')).find(
    (o) => o.kind === 'Role',
  );
  const clusterRole = loadYamlDocs(join(kustomizeDir, 'overlays', 'cluster-wide', 'clusterrole.yaml')).find(
    (o) => o.kind === 'ClusterRole',
  );
  if (!role || !clusterRole) throw new Error('kustomize base Role or cluster-wide ClusterRole not found');
  return { role: rulesOf(role), clusterRole: rulesOf(clusterRole) };
}

/** The opt-in rules the kustomize base ships commented out (`# - apiGroups: …` / `#   resources: …` / `#   verbs: …`). */
function kustomizeOptInRules(): k8s.V1PolicyRule[] {
  const text = readFileSync(join(kustomizeDir, 'base', 'release-namespaces.yaml'), 'utf8');
  return [
    ...text.matchAll(/^\s*#\s*- apiGroups: (\[.*\])\n\s*#\s*resources: (\[.*\])\n\s*#\s*verbs: (\[.*\])$/gm),
  ].map((m) => ({
    apiGroups: JSON.parse(m[1] as string) as string[],
    resources: JSON.parse(m[2] as string) as string[],
    verbs: JSON.parse(m[3] as string) as string[],
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// The worker's environment as the kubelet would give it: ConfigMap keys (envFrom) and env entries, Secret values
// resolved from `secrets`, and every Secret volume written into a directory that stands in for its mount path.

type Secrets = Record<string, Record<string, string>>;

function workerEnv(objects: Obj[], secrets: Secrets, root: string): Record<string, string> {
  const d = find<k8s.V1Deployment>(objects, 'Deployment');
  const pod = d.spec?.template.spec as k8s.V1PodSpec;
  const c = pod.containers[0] as k8s.V1Container;
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const cm = find<k8s.V1ConfigMap>(objects, 'ConfigMap', from.configMapRef?.name);
    Object.assign(env, cm.data);
  }
  const mounts: Array<[string, string]> = [];
  for (const m of c.volumeMounts ?? []) {
    const v = pod.volumes?.find((x) => x.name === m.name);
    if (!v?.secret) continue;
    const data = secrets[v.secret.secretName ?? ''];
    if (!data) throw new Error(`volume ${m.name}: Secret ${v.secret.secretName} not provided`);
    const dir = join(root, m.mountPath);
    mkdirSync(dir, { recursive: true });
    for (const item of v.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
      const value = data[item.key];
      if (value === undefined) throw new Error(`volume ${m.name}: Secret has no key ${item.key}`);
      writeFileSync(join(dir, item.path), value);
    }
    mounts.push([m.mountPath, dir]);
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const v = secrets[ref.name ?? '']?.[ref.key];
      if (v !== undefined) env[e.name] = v;
      else if (!ref.optional) throw new Error(`env ${e.name}: Secret ${ref.name}/${ref.key} not provided`);
    } else if (e.value !== undefined) env[e.name] = e.value;
  }
  // Paths into the mounted Secrets point at the stand-in directories.
  for (const [k, v] of Object.entries(env))
    for (const [mountPath, dir] of mounts)
      if (v.startsWith(`${mountPath}/`)) env[k] = dir + v.slice(mountPath.length);
  return env;
}

/**
 * The worker's configuration from a rendered environment, as in a pod: no embedded-dev-stack defaults, every setting a
 * worker needs required, Kubernetes access from the pod's service account (the kubelet sets KUBERNETES_SERVICE_HOST
 * and mounts the token). The options are ignored by a `loadFledgeConfig` that takes none.
 */
function workerConfig(env: Record<string, string>): FledgeConfig {
  const load = loadFledgeConfig as (e: NodeJS.ProcessEnv, opts?: object) => FledgeConfig;
  const token = '/var/run/secrets/kubernetes.io/serviceaccount/token';
  return load(
    { ...env, KUBERNETES_SERVICE_HOST: '10.96.0.1' },
    { defaults: null, role: 'worker', kubeProbe: { exists: (p: string) => p === token, home: undefined } },
  );
}

/** Every environment variable name the chart sets: ConfigMap keys and the container's env entries. */
function envNames(objects: Obj[]): string[] {
  const d = find<k8s.V1Deployment>(objects, 'Deployment');
  const c = d.spec?.template.spec?.containers[0] as k8s.V1Container;
  const cm = Object.keys(find<k8s.V1ConfigMap>(objects, 'ConfigMap').data ?? {});
  return [...new Set([...cm, ...(c.env ?? []).map((e) => e.name)])].sort();
}

/** The names src/config.ts validates (its zod `envSchema`), read from the source. */
function configTsNames(): string[] {
  const src = readFileSync(join(projectRoot, 'src', 'config.ts'), 'utf8');
  const block = /const envSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(src)?.[1];
  if (!block) throw new Error('src/config.ts: envSchema not found');
  return [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] as string);
}

/** Whether the worker's code (src/, outside the local dev stack) reads `name` from the environment. */
function readByWorker(name: string): boolean {
  const files = spawnSync('grep', ['-rlE', `(env\\.|env\\[')${name}\\b`, join(projectRoot, 'src')], {
    encoding: 'utf8',
  }).stdout;
  return files.split('\n').some((f) => f && !f.includes(`${join('src', 'dev')}/`));
}

// ---------------------------------------------------------------------------------------------------------------
// Server-side apply with dryRun=All and strict field validation. The typed client serialises through its models and
// silently drops fields it does not know, so the request carries the raw manifest.

function ssaApi(kc: k8s.KubeConfig): { apply: (obj: Obj) => Promise<k8s.KubernetesObject> } {
  let raw: Obj | undefined;
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const api = new k8s.KubernetesObjectApi(
    k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [
        {
          pre: async (ctx) => {
            if (ctx.getHttpMethod() === k8s.HttpMethod.PATCH && raw) {
              ctx.setQueryParam('fieldValidation', 'Strict');
              ctx.setBody(JSON.stringify(raw));
            }
            return ctx;
          },
          post: async (res) => res,
        },
      ],
    }),
  );
  return {
    apply: async (obj) => {
      raw = obj;
      try {
        return await api.patch(
          obj,
          undefined,
          'All',
          'fledge-helm-test',
          true,
          k8s.PatchStrategy.ServerSideApply,
        );
      } finally {
        raw = undefined;
      }
    },
  };
}

function apiError(e: unknown): string {
  if (e instanceof k8s.ApiException) {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
    try {
      return `${e.code}: ${(JSON.parse(body) as { message?: string }).message ?? body}`;
    } catch {
      return `${e.code}: ${body}`;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

async function dryRunApplyAll(objects: Obj[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objects) {
    try {
      const applied = await api.apply(o);
      expect(applied.metadata?.name, `${o.kind}/${o.metadata.name}`).toBe(o.metadata.name);
      expect(applied.kind).toBe(o.kind);
    } catch (e) {
      errors.push(`${o.kind}/${o.metadata.name}: ${apiError(e)}`);
    }
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------------------------

const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
/** The chart's own namespace (enforcing the restricted Pod Security Standard, as docs/operations.md asks). */
const systemNs = `fledge-helm-${suffix}`;
const relA = `fledge-helm-${suffix}-a`;
const relB = `fledge-helm-${suffix}-b`;

/** The value sets under test. */
const valueSets = {
  defaults: {},
  'two release namespaces': {
    releaseNamespaces: [relA, relB],
    allowedImages: 'ghcr.io/acme/*,docker.io/acme/**',
  },
  'cluster-wide': { clusterWide: true },
  'Temporal Cloud (TLS files + API key)': {
    releaseNamespaces: [relA],
    temporal: {
      address: 'fledge-prod.a1b2c.tmprl.cloud:7233',
      namespace: 'fledge-prod.a1b2c',
      apiKey: { secretName: 'fledge-temporal', secretKey: 'api-key', optional: false },
      tls: {
        secretName: 'fledge-temporal-tls',
        clientCertKey: 'tls.crt',
        clientKeyKey: 'tls.key',
        serverCAKey: 'ca.crt',
        serverName: 'fledge-prod.a1b2c.tmprl.cloud',
      },
    },
    codec: { keysSecret: { name: 'fledge-codec', key: 'keys' } },
    prometheusUrl: 'http://prometheus.monitoring:9090',
    slack: {
      tokenSecret: { name: 'fledge-slack', key: 'token', optional: false },
      apiUrl: 'https://slack.com/api/',
    },
    outboundAllow: '*.acme.com,10.0.0.0/8',
    image: { repository: 'registry.acme.com/fledge-worker', tag: '0.1.0-rc1' },
    resources: { requests: { cpu: '200m', memory: '300Mi' }, limits: { cpu: '2', memory: '2Gi' } },
    extraEnv: [
      {
        name: 'FLEDGE_WEBHOOK_SIGNING_KEY',
        valueFrom: { secretKeyRef: { name: 'fledge-webhook', key: 'key' } },
      },
      { name: 'FLEDGE_KUBE_QPS', value: '50' },
    ],
  },
} as const;
type SetName = keyof typeof valueSets;
const namespacedSets = [
  'defaults',
  'two release namespaces',
  'Temporal Cloud (TLS files + API key)',
] as const;

let c: KubeClients;
let api: ReturnType<typeof ssaApi>;
const rendered = {} as Record<SetName, Obj[]>;
const createdNamespaces: string[] = [];

async function ensureNamespace(name: string, labels?: Record<string, string>): Promise<void> {
  try {
    await c.core.readNamespace({ name });
  } catch {
    await c.core.createNamespace({ body: { metadata: { name, ...(labels ? { labels } : {}) } } });
    createdNamespaces.push(name);
  }
}

beforeAll(async () => {
  helmBin = helmBinary();
  c = kube();
  api = ssaApi(c.kc);
  for (const name of Object.keys(valueSets) as SetName[])
    rendered[name] = template(systemNs, valueSets[name]);
  await ensureNamespace(systemNs, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  for (const ns of [relA, relB, 'shop']) await ensureNamespace(ns); // `shop`: the defaults' release namespace
});
afterAll(async () => {
  for (const name of createdNamespaces) await c.core.deleteNamespace({ name }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

describe('deploy/helm/fledge: lint and render', () => {
  it('passes `helm lint --strict` with the defaults and with every value set', () => {
    const r = helm(['lint', '--strict', chartDir, '--namespace', systemNs]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const [name, values] of Object.entries(valueSets)) {
      const l = helm(['lint', '--strict', chartDir, '--namespace', systemNs, '-f', valuesFile(values)]);
      expect(l.status, `${name}: ${l.stdout}${l.stderr}`).toBe(0);
    }
  });

  it('renders the objects of the kustomize base: ServiceAccount, ConfigMap, Deployment, a Role + RoleBinding per release namespace', () => {
    expect(ids(rendered.defaults)).toEqual(
      [
        `ServiceAccount/${systemNs}/fledge-worker`,
        `ConfigMap/${systemNs}/fledge-config`,
        `Deployment/${systemNs}/fledge-worker`,
        'Role/shop/fledge-worker',
        'RoleBinding/shop/fledge-worker',
      ].sort(),
    );
    expect(ids(rendered['two release namespaces'])).toEqual(
      [
        `ServiceAccount/${systemNs}/fledge-worker`,
        `ConfigMap/${systemNs}/fledge-config`,
        `Deployment/${systemNs}/fledge-worker`,
        `Role/${relA}/fledge-worker`,
        `RoleBinding/${relA}/fledge-worker`,
        `Role/${relB}/fledge-worker`,
        `RoleBinding/${relB}/fledge-worker`,
      ].sort(),
    );
    expect(ids(rendered['cluster-wide'])).toEqual(
      [
        `ServiceAccount/${systemNs}/fledge-worker`,
        `ConfigMap/${systemNs}/fledge-config`,
        `Deployment/${systemNs}/fledge-worker`,
        'ClusterRole//fledge-worker',
        'ClusterRoleBinding//fledge-worker',
      ].sort(),
    );
    // No Secrets in any install: the worker's credentials come from Secrets the operator creates.
    for (const objs of Object.values(rendered)) expect(objs.some((o) => o.kind === 'Secret')).toBe(false);
    // Another release name gets its own names (two installs do not collide).
    expect(ids(template(systemNs, {}, 'canary'))).toContain(`Deployment/${systemNs}/canary-fledge-worker`);
  });
});

describe('deploy/helm/fledge: bounded authority (docs/security.md)', () => {
  it('namespaced value sets render no ClusterRole or ClusterRoleBinding; no rendered ClusterRole has a write verb unless clusterWide', () => {
    for (const name of namespacedSets) {
      const objs = rendered[name];
      expect(
        objs
          .filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')
          .map((o) => o.metadata.name),
        name,
      ).toEqual([]);
    }
    const wide = find(rendered['cluster-wide'], 'ClusterRole');
    expect(rulesOf(wide).some((r) => r.verbs.some((v) => writeVerbs.includes(v)))).toBe(true); // the opt-in does write
    expect(rendered['cluster-wide'].some((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toBe(false);
  });

  it("the Role rules equal the kustomize base's Role, and the ClusterRole's the cluster-wide overlay's (drift check)", () => {
    const k = kustomizeRules();
    for (const name of namespacedSets) {
      const roles = rendered[name].filter((o) => o.kind === 'Role');
      expect(roles.length, name).toBeGreaterThan(0);
      for (const role of roles)
        expect(rulesOf(role), `${name}: Role in ${role.metadata.namespace}`).toEqual(k.role);
    }
    expect(rulesOf(find(rendered['cluster-wide'], 'ClusterRole'))).toEqual(k.clusterRole);
    // Least privilege either way: no delete, no Secrets (opt-in below), no RBAC, no wildcards.
    for (const r of [...k.role, ...k.clusterRole]) {
      expect(
        r.verbs.filter((v) => ['delete', 'deletecollection', 'escalate', 'bind', '*'].includes(v)),
      ).toEqual([]);
      expect((r.resources ?? []).filter((x) => ['secrets', '*'].includes(x))).toEqual([]);
      expect(r.apiGroups ?? []).not.toContain('rbac.authorization.k8s.io');
    }
  });

  it("configTracking.secrets adds exactly the kustomize base's commented-out opt-in rule, to the Roles or the ClusterRole", () => {
    const optIn = kustomizeOptInRules();
    expect(optIn.map((r) => r.resources)).toEqual([['secrets']]);
    const k = kustomizeRules();
    const roles = template(systemNs, { configTracking: { secrets: true } }).filter((o) => o.kind === 'Role');
    expect(roles).toHaveLength(1);
    for (const role of roles) expect(rulesOf(role)).toEqual([...k.role, ...optIn]);
    const wide = template(systemNs, { clusterWide: true, configTracking: { secrets: true } });
    expect(rulesOf(find(wide, 'ClusterRole'))).toEqual([...k.clusterRole, ...optIn]);
  });

  it("clusterMode.enabled adds exactly the kustomize cluster-mode overlays' rules (Roles or ClusterRole) and FLEDGE_CLUSTER_MODE=true", () => {
    const k = kustomizeRules();
    const mode = loadYamlDocs(join(kustomizeDir, 'overlays', 'cluster-mode', 'cluster-mode-rbac.yaml')).find(
      (o) => o.kind === 'Role',
    );
    const modeWide = loadYamlDocs(
      join(kustomizeDir, 'overlays', 'cluster-wide-cluster-mode', 'cluster-mode-rbac.yaml'),
    ).find((o) => o.kind === 'ClusterRole');
    if (!mode || !modeWide) throw new Error('kustomize cluster-mode Role or ClusterRole not found');
    expect(rulesOf(modeWide)).toEqual(rulesOf(mode));
    const objs = template(systemNs, { releaseNamespaces: [relA, relB], clusterMode: { enabled: true } });
    const isLease = (o: Obj) => o.metadata.name.endsWith('-lease');
    const roles = objs.filter((o) => o.kind === 'Role' && !isLease(o));
    expect(roles).toHaveLength(2);
    // Leader election: the overlays' Lease Role, in the release's (the worker's) namespace, bound to the worker.
    const leaseRole = loadYamlDocs(
      join(kustomizeDir, 'overlays', 'cluster-mode', 'cluster-mode-lease.yaml'),
    ).find((o) => o.kind === 'Role');
    if (!leaseRole) throw new Error('kustomize cluster-mode Lease Role not found');
    for (const set of [objs, template(systemNs, { clusterWide: true, clusterMode: { enabled: true } })]) {
      const lease = set.filter((o) => o.kind === 'Role' && isLease(o));
      expect(lease.map((o) => o.metadata.namespace)).toEqual([systemNs]);
      expect(rulesOf(lease[0] as Obj)).toEqual(rulesOf(leaseRole));
      const binding = set.find((o) => o.kind === 'RoleBinding' && isLease(o)) as unknown as k8s.V1RoleBinding;
      expect(binding.roleRef.name).toBe(lease[0]?.metadata.name);
      expect(binding.subjects?.map((x) => [x.name, x.namespace])).toEqual([['fledge-worker', systemNs]]);
    }
    for (const role of roles) expect(rulesOf(role)).toEqual([...k.role, ...rulesOf(mode)]);
    expect(objs.some((o) => o.kind === 'ClusterRole')).toBe(false);
    const cm = find<k8s.V1ConfigMap>(objs, 'ConfigMap');
    expect(cm.data?.FLEDGE_CLUSTER_MODE).toBe('true');
    expect(workerConfig(cm.data ?? {}).clusterMode).toBe(true);
    const wide = template(systemNs, { clusterWide: true, clusterMode: { enabled: true } });
    expect(rulesOf(find(wide, 'ClusterRole'))).toEqual([...k.clusterRole, ...rulesOf(modeWide)]);
    // Off (the default): neither the rules nor the setting.
    expect(find<k8s.V1ConfigMap>(rendered.defaults, 'ConfigMap').data?.FLEDGE_CLUSTER_MODE).toBeUndefined();
    expect(
      // (The release Role reads MetricTemplates/AlertProviders; cluster mode's Canary rules are not there.)
      rulesOf(find(rendered.defaults, 'Role')).some((r) => (r.resources ?? []).includes('canaries')),
    ).toBe(false);
  });

  it('binds each Role to the worker ServiceAccount only, and FLEDGE_ALLOWED_NAMESPACES is exactly the bound namespaces', () => {
    for (const [name, expected] of [
      ['defaults', ['shop']],
      ['two release namespaces', [relA, relB]],
      ['Temporal Cloud (TLS files + API key)', [relA]],
    ] as const) {
      const objs = rendered[name];
      const bindings = objs.filter((o) => o.kind === 'RoleBinding') as unknown as k8s.V1RoleBinding[];
      expect(bindings.map((b) => b.metadata?.namespace).sort(), name).toEqual([...expected].sort());
      for (const b of bindings) {
        expect(b.roleRef).toEqual({
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Role',
          name: 'fledge-worker',
        });
        expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'fledge-worker', namespace: systemNs }]);
      }
      const cm = find<k8s.V1ConfigMap>(objs, 'ConfigMap');
      expect(parsePatternList(cm.data?.FLEDGE_ALLOWED_NAMESPACES ?? '').sort(), name).toEqual(
        [...expected].sort(),
      );
      const policyEnv = Object.entries(cm.data ?? {}).filter(([k]) => !k.startsWith('TEMPORAL_TLS_')); // no files here
      expect(workerConfig(Object.fromEntries(policyEnv)).policy?.namespaces.sort(), name).toEqual(
        [...expected].sort(),
      );
    }
  });

  it('cluster-wide (opt-in): a ClusterRoleBinding to the worker ServiceAccount, every namespace allowed but the reserved ones', () => {
    const objs = rendered['cluster-wide'];
    const binding = find<k8s.V1ClusterRoleBinding>(objs, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'fledge-worker',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'fledge-worker', namespace: systemNs },
    ]);
    const cm = find<k8s.V1ConfigMap>(objs, 'ConfigMap');
    expect(cm.data?.FLEDGE_ALLOWED_NAMESPACES).toBe('*');
    const policy = {
      ...(workerConfig({ ...cm.data }).policy as ReleasePolicy),
      workerNamespace: systemNs,
    };
    expect(checkReleasePolicy(policy, { namespace: 'kube-system', images: {} })).toHaveLength(1);
    expect(checkReleasePolicy(policy, { namespace: systemNs, images: {} })).toHaveLength(1);
    expect(checkReleasePolicy(policy, { namespace: 'anything', images: {} })).toEqual([]);
    // allowedNamespaces narrows it.
    const narrowed = find<k8s.V1ConfigMap>(
      template(systemNs, { clusterWide: true, allowedNamespaces: 'team-*' }),
      'ConfigMap',
    );
    expect(narrowed.data?.FLEDGE_ALLOWED_NAMESPACES).toBe('team-*');
  });

  it('refuses values that would widen authority or break the policy/RBAC agreement', () => {
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease', systemNs])
      expect(templateError(systemNs, { releaseNamespaces: ['shop', ns] })).toContain(`${ns} is reserved`);
    expect(templateError(systemNs, { releaseNamespaces: [] })).toContain('releaseNamespaces is empty');
    expect(templateError(systemNs, { allowedNamespaces: '*' })).toContain('clusterWide: true only');
    // A typo is an error, not a silent fallback (values.schema.json).
    expect(templateError(systemNs, { clusterwide: true })).toMatch(/clusterwide/);
    expect(templateError(systemNs, { releaseNamespaces: ['Not_A_Namespace'] })).toMatch(/releaseNamespaces/);
  });
});

describe('deploy/helm/fledge: the same worker as the kustomize base', () => {
  const kustomize = {
    deployment: () =>
      find<k8s.V1Deployment>(loadYamlDocs(join(kustomizeDir, 'common', 'deployment.yaml')), 'Deployment'),
    configData: () => ({
      ...find<k8s.V1ConfigMap>(loadYamlDocs(join(kustomizeDir, 'common', 'configmap.yaml')), 'ConfigMap')
        .data,
      ...find<k8s.V1ConfigMap>(
        loadYamlDocs(join(kustomizeDir, 'base', 'allowed-namespaces.yaml')),
        'ConfigMap',
      ).data,
    }),
  };

  it('defaults: the ConfigMap data and the Deployment match the kustomize base (replicas, strategy, lock-down, env, ports, resources)', () => {
    const objs = rendered.defaults;
    expect(find<k8s.V1ConfigMap>(objs, 'ConfigMap').data).toEqual(kustomize.configData());
    const ours = find<k8s.V1Deployment>(objs, 'Deployment');
    const theirs = kustomize.deployment();
    const spec = ours.spec as k8s.V1DeploymentSpec;
    const tSpec = theirs.spec as k8s.V1DeploymentSpec;
    expect(spec.replicas).toBe(tSpec.replicas);
    expect(spec.strategy).toEqual(tSpec.strategy);
    expect(spec.revisionHistoryLimit).toBe(tSpec.revisionHistoryLimit);
    const pod = spec.template.spec as k8s.V1PodSpec;
    const tPod = tSpec.template.spec as k8s.V1PodSpec;
    expect(pod.securityContext).toEqual(tPod.securityContext);
    expect(pod.terminationGracePeriodSeconds).toBe(tPod.terminationGracePeriodSeconds);
    expect(pod.serviceAccountName).toBe('fledge-worker');
    expect(pod.volumes).toEqual(tPod.volumes);
    const w = pod.containers[0] as k8s.V1Container;
    const t = tPod.containers[0] as k8s.V1Container;
    for (const k of [
      'name',
      'image',
      'imagePullPolicy',
      'env',
      'envFrom',
      'ports',
      'resources',
      'securityContext',
      'volumeMounts',
    ] as const)
      expect(w[k], k).toEqual(t[k]);
    // The selector selects the pod template, and the spread constraint the same pods.
    const sel = spec.selector.matchLabels ?? {};
    for (const [k, v] of Object.entries(sel)) expect(spec.template.metadata?.labels?.[k]).toBe(v);
    expect(pod.topologySpreadConstraints?.[0]?.labelSelector?.matchLabels).toEqual(sel);
    // A changed configuration rolls the pods (the kustomize base needs a rollout restart).
    const other = find<k8s.V1Deployment>(
      template(systemNs, { prometheusUrl: 'http://other:9090' }),
      'Deployment',
    );
    expect(other.spec?.template.metadata?.annotations?.['checksum/config']).not.toBe(
      spec.template.metadata?.annotations?.['checksum/config'],
    );
  });

  it('every environment variable the chart sets is one the worker reads (src/config.ts, else the module that reads it)', () => {
    const schema = new Set(configTsNames());
    expect(schema.size).toBeGreaterThan(10);
    const all = new Set(Object.values(rendered).flatMap(envNames));
    const elsewhere: string[] = [];
    for (const name of all) {
      if (schema.has(name)) continue;
      expect(readByWorker(name), `${name} is not read by the worker`).toBe(true);
      elsewhere.push(name);
    }
    // Outside src/config.ts only the Slack settings, the codec key file and the Kubernetes request budget (their
    // own modules read them).
    expect(elsewhere.sort()).toEqual(
      ['FLEDGE_CODEC_KEYS_FILE', 'FLEDGE_KUBE_QPS', 'FLEDGE_SLACK_API_URL', 'FLEDGE_SLACK_TOKEN'].sort(),
    );
    // Every Temporal connection setting of src/config.ts is reachable from the values.
    for (const name of [...schema].filter((n) => n.startsWith('TEMPORAL_') && n !== 'TEMPORAL_TLS'))
      expect(all, name).toContain(name);
    expect(envNames(template(systemNs, { temporal: { tls: { enabled: true } } }))).toContain('TEMPORAL_TLS');
    // …and a name that is not read is caught (negative control).
    expect(readByWorker('FLEDGE_NO_SUCH_SETTING')).toBe(false);
  });

  it('Temporal Cloud values: the worker loads TLS files, the API key and the codec keys from the Secrets they name', () => {
    const objs = rendered['Temporal Cloud (TLS files + API key)'];
    const root = mkdtempSync(join(work, 'pod-'));
    const key = Buffer.alloc(32, 7).toString('base64');
    const secrets: Secrets = {
      'fledge-temporal': { 'api-key': 'tc-api-key-123' },
      'fledge-temporal-tls': { 'tls.crt': 'CLIENT CERT', 'tls.key': 'CLIENT KEY', 'ca.crt': 'SERVER CA' },
      'fledge-codec': { keys: `k1=${key}` },
      'fledge-slack': { token: 'xoxb-test' },
      'fledge-webhook': { key: 'a-signing-key-of-32-characters!!' },
    };
    const env = workerEnv(objs, secrets, root);
    const cfg = workerConfig(env);
    expect(cfg.temporal.address).toBe('fledge-prod.a1b2c.tmprl.cloud:7233');
    expect(cfg.temporal.namespace).toBe('fledge-prod.a1b2c');
    expect(cfg.temporal.apiKey).toBe('tc-api-key-123');
    expect(cfg.temporal.tls).toEqual({
      clientCertPair: { crt: Buffer.from('CLIENT CERT'), key: Buffer.from('CLIENT KEY') },
      serverRootCACertificate: Buffer.from('SERVER CA'),
      serverNameOverride: 'fledge-prod.a1b2c.tmprl.cloud',
    });
    expect(cfg.prometheusUrl).toBe('http://prometheus.monitoring:9090');
    expect(cfg.policy?.namespaces).toEqual([relA]);
    expect(cfg.outbound?.allow.hosts).toEqual(['*.acme.com']);
    expect(cfg.outbound?.webhookSigningKey).toBe('a-signing-key-of-32-characters!!');
    expect(codecKeysFromEnv(env)?.activeId).toBe('k1');
    expect(env.FLEDGE_SLACK_TOKEN).toBe('xoxb-test');
    expect(env.FLEDGE_KUBE_QPS).toBe('50');
    // The credentials are required here (optional: false): a missing Secret keeps the pod from starting.
    expect(() => workerEnv(objs, { ...secrets, 'fledge-temporal': {} }, root)).toThrow(/TEMPORAL_API_KEY/);
    const w = find<k8s.V1Deployment>(objs, 'Deployment').spec?.template.spec?.containers[0];
    expect(w?.image).toBe('registry.acme.com/fledge-worker:0.1.0-rc1');
    const digest = `sha256:${'a1'.repeat(32)}`;
    const pinned = find<k8s.V1Deployment>(template(systemNs, { image: { tag: 'x', digest } }), 'Deployment');
    expect(pinned.spec?.template.spec?.containers[0]?.image).toBe(
      `ghcr.io/fledge-dev/fledge-worker@${digest}`,
    );
    expect(w?.resources?.limits).toEqual({ cpu: '2', memory: '2Gi' });
    // The defaults' TLS: none (a self-hosted frontend without TLS).
    const plain = workerConfig(workerEnv(rendered.defaults, {}, mkdtempSync(join(work, 'pod-'))));
    expect(plain.temporal.tls).toBeUndefined();
    expect(plain.temporal.apiKey).toBeUndefined();
  });
});

describe('deploy/helm/fledge: the real apiserver accepts it', () => {
  it('every rendered object of every value set: server-side apply, dryRun=All, strict field validation', async () => {
    for (const [name, objs] of Object.entries(rendered)) expect(await dryRunApplyAll(objs), name).toEqual([]);
    // Nothing was persisted.
    await expect(
      c.apps.readNamespacedDeployment({ name: 'fledge-worker', namespace: systemNs }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('would catch a typo: the same dry run rejects an unknown field (negative control)', async () => {
    const d = structuredClone(find(rendered.defaults, 'Deployment'));
    const container = (d as unknown as k8s.V1Deployment).spec?.template.spec
      ?.containers[0] as unknown as Record<string, Record<string, unknown>>;
    container.securityContext = { ...container.securityContext, readOnlyRootFileSystem: true };
    const errors = await dryRunApplyAll([d]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/readOnlyRootFileSystem/);
  });

  it("the worker's pod is admitted by a namespace enforcing the restricted Pod Security Standard", async () => {
    // Admission looks the pod's ServiceAccount up: the chart's own, created for real (the namespace goes afterwards).
    const sa = find<k8s.V1ServiceAccount>(rendered.defaults, 'ServiceAccount');
    await c.core.createNamespacedServiceAccount({ namespace: systemNs, body: sa });
    for (const name of Object.keys(rendered) as SetName[]) {
      const d = find<k8s.V1Deployment>(rendered[name], 'Deployment');
      const pod: Obj = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `fledge-worker-pss-${suffix}`,
          namespace: systemNs,
          labels: d.spec?.template.metadata?.labels,
        },
        spec: d.spec?.template.spec as unknown as Record<string, unknown>,
      };
      expect(await dryRunApplyAll([pod]), name).toEqual([]);
    }
    // Positive control: the namespace does enforce it.
    const privileged: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `privileged-${suffix}`, namespace: systemNs },
      spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] },
    };
    const errors = await dryRunApplyAll([privileged]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/violates PodSecurity "restricted/);
  });
});
