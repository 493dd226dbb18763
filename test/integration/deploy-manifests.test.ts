// The Kubernetes packaging (deploy/kustomize) against the real local apiserver: the base (the default install:
// namespaced, a Role + RoleBinding per release namespace), the cluster-wide opt-in overlay and the Temporal Cloud
// overlay render (a small kustomize equivalent below: `resources:` and ConfigMap `data` patches, nothing more), every
// object passes server-side validation (dry-run, strict field validation, raw manifests), every Role/ClusterRole is
// exactly the least-privilege table of docs/operations.md and covers every Kubernetes call of the worker's code, and —
// bound for real to the worker's ServiceAccount — it grants what a release needs, where it may release, and nothing
// it must not (SubjectAccessReview).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { loadFledgeConfig } from '../../src/config.js';
import { checkReleasePolicy, parsePatternList, type ReleasePolicy } from '../../src/policy.js';
import { projectRoot } from '../../src/dev/stack/config.js';
import { eventually, kube, type KubeClients } from '../support/stack.js';

type Obj = k8s.KubernetesObject & { metadata: k8s.V1ObjectMeta & { name: string } } & Record<string, unknown>;

const kustomizeDir = join(projectRoot, 'deploy', 'kustomize');
const baseDir = join(kustomizeDir, 'base');
const commonDir = join(kustomizeDir, 'common');
const overlayDir = join(kustomizeDir, 'overlays', 'temporal-cloud');
const clusterWideDir = join(kustomizeDir, 'overlays', 'cluster-wide');
const clusterModeDir = join(kustomizeDir, 'overlays', 'cluster-mode');
const clusterWideModeDir = join(kustomizeDir, 'overlays', 'cluster-wide-cluster-mode');
const secretsExample = join(kustomizeDir, 'examples', 'secrets.example.yaml');
const systemNs = 'fledge-system';

// ---------------------------------------------------------------------------------------------------------------
// A kustomize equivalent for what these kustomizations use (kubectl is not a dependency of the project). Anything
// else in a kustomization.yaml fails loudly, and where `kubectl` is on the PATH its `kubectl kustomize` output is
// compared with this renderer's, so it cannot silently diverge from `kubectl apply -k`.

function loadDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null && o !== undefined);
}

function sameId(a: Obj, b: Obj): boolean {
  return (
    a.apiVersion === b.apiVersion &&
    a.kind === b.kind &&
    a.metadata.name === b.metadata.name &&
    (a.metadata.namespace ?? '') === (b.metadata.namespace ?? '')
  );
}

/** Strategic merge of a ConfigMap `data` patch: the only patch shape these overlays use. */
function applyConfigMapDataPatch(objects: Obj[], patch: Obj, where: string): void {
  if (patch.kind !== 'ConfigMap')
    throw new Error(`${where}: only ConfigMap patches are supported, got ${patch.kind}`);
  const extra = Object.keys(patch).filter((k) => !['apiVersion', 'kind', 'metadata', 'data'].includes(k));
  const extraMeta = Object.keys(patch.metadata).filter((k) => !['name', 'namespace'].includes(k));
  if (extra.length + extraMeta.length > 0)
    throw new Error(`${where}: unsupported patch fields ${[...extra, ...extraMeta].join(', ')}`);
  const targets = objects.filter((o) => sameId(o, patch));
  if (targets.length !== 1)
    throw new Error(`${where}: patch target ${patch.metadata.name} matched ${targets.length}`);
  const target = targets[0] as Obj;
  target.data = { ...(target.data as Record<string, string>), ...(patch.data as Record<string, string>) };
}

function render(dir: string): Obj[] {
  const file = join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const unsupported = Object.keys(k).filter(
    (key) => !['apiVersion', 'kind', 'resources', 'patches'].includes(key),
  );
  if (unsupported.length > 0)
    throw new Error(`${file}: not supported by this renderer: ${unsupported.join(', ')}`);
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization')
    throw new Error(`${file}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  const objects: Obj[] = [];
  for (const r of (k.resources as string[] | undefined) ?? []) {
    const path = resolve(dir, r);
    for (const o of statSync(path).isDirectory() ? render(path) : loadDocs(path)) {
      if (objects.some((x) => sameId(x, o)))
        throw new Error(`${file}: duplicate resource ${o.kind}/${o.metadata.name}`);
      objects.push(o);
    }
  }
  for (const p of (k.patches as Array<Record<string, unknown>> | undefined) ?? []) {
    const keys = Object.keys(p);
    if (keys.length !== 1 || typeof p.path !== 'string')
      throw new Error(`${file}: only \`patches: - path: <file>\` is supported`);
    const patchFile = resolve(dir, p.path);
    for (const patch of loadDocs(patchFile))
      applyConfigMapDataPatch(objects, patch, relative(projectRoot, patchFile));
  }
  return objects;
}

function find<T>(objects: Obj[], kind: string, name: string): T {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the rendered manifests`);
  return o as unknown as T;
}

/**
 * The rendered objects moved to a fresh namespace and cluster-scoped names (a kustomize namespace + suffix); the
 * release namespaces of the base's RoleBindings (`shop`) move to `releaseNs`.
 */
function retarget(objects: Obj[], ns: string, suffix: string, releaseNs = `${ns}-rel`): Obj[] {
  return structuredClone(objects).map((o) => {
    if (o.kind === 'Namespace') o.metadata.name = ns;
    if (o.metadata.namespace === systemNs) o.metadata.namespace = ns;
    else if (o.kind === 'Role' || o.kind === 'RoleBinding') o.metadata.namespace = releaseNs;
    if (o.kind === 'ClusterRole') o.metadata.name += suffix;
    if (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') {
      const b = o as unknown as k8s.V1ClusterRoleBinding;
      if (o.kind === 'ClusterRoleBinding') {
        o.metadata.name += suffix;
        b.roleRef.name += suffix;
      }
      for (const s of b.subjects ?? []) if (s.namespace === systemNs) s.namespace = ns;
    }
    if (
      o.kind === 'ConfigMap' &&
      (o.data as Record<string, string> | undefined)?.FLEDGE_ALLOWED_NAMESPACES === 'shop'
    )
      (o.data as Record<string, string>).FLEDGE_ALLOWED_NAMESPACES = releaseNs;
    return o;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// RBAC as sets of "group/resource:verb" (core group written "core").

type Rule = { group: string; resources: string[]; verbs: string[] };

/** docs/operations.md, "RBAC (least privilege)", hardcoded: the contract. */
const expectedRules: Rule[] = [
  { group: 'apps', resources: ['deployments'], verbs: ['get', 'create', 'patch'] },
  { group: 'apps', resources: ['deployments/scale'], verbs: ['patch'] },
  { group: '', resources: ['services'], verbs: ['create', 'patch'] },
  { group: '', resources: ['events'], verbs: ['create'] },
  {
    group: 'networking.istio.io',
    resources: ['virtualservices', 'destinationrules'],
    verbs: ['get', 'create', 'patch'],
  },
  { group: 'gateway.networking.k8s.io', resources: ['httproutes'], verbs: ['get', 'create', 'patch'] },
  { group: 'autoscaling', resources: ['horizontalpodautoscalers'], verbs: ['get', 'create', 'patch'] },
  { group: '', resources: ['configmaps'], verbs: ['get', 'create', 'patch'] },
  { group: 'flagger.app', resources: ['metrictemplates', 'alertproviders'], verbs: ['get'] },
];

/**
 * What the code may do but the packaging grants only on request (a commented rule in the Role/ClusterRole): config
 * tracking of Secrets. Without it the worker gets a 403 and keeps the original Secret (config-tracking.ts).
 */
const optInRules: Rule[] = [{ group: '', resources: ['secrets'], verbs: ['get', 'create', 'patch'] }];

const triple = (group: string, resource: string, verb: string): string =>
  `${group || 'core'}/${resource}:${verb}`;

function triples(rules: Rule[]): string[] {
  const out = new Set<string>();
  for (const r of rules)
    for (const res of r.resources) for (const v of r.verbs) out.add(triple(r.group, res, v));
  return [...out].sort();
}

function roleTriples(role: k8s.V1ClusterRole | k8s.V1Role): string[] {
  return triples(
    (role.rules ?? []).flatMap((r) =>
      (r.apiGroups ?? []).map((g) => ({ group: g, resources: r.resources ?? [], verbs: r.verbs })),
    ),
  );
}

/** The RBAC table as docs/operations.md prints it today (a drift check for the hardcoded copy above). */
function docsTableRules(): Rule[] {
  const md = readFileSync(join(projectRoot, 'docs', 'operations.md'), 'utf8');
  const section = md.split(/^## /m).find((s) => s.startsWith('RBAC'));
  if (!section) throw new Error('docs/operations.md has no "## RBAC" section');
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((row) => {
      const cells = row
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      return {
        group: (cells[0] ?? '').replace(/`/g, '').replace(/^""$/, ''),
        resources: [...(cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string),
        verbs: (cells[2] ?? '').split(',').map((v) => v.trim()),
      };
    });
}

/**
 * The Kubernetes calls of the worker's release code, read from its sources: typed client calls
 * (`apps.patchNamespacedDeployment(...)`) and the custom-object helpers with the group/plural of each router.
 * A server-side apply (`applyPatchOptions`) may create the object, so it needs `create` too. The demo activities
 * (src/activities/demo.ts, the local demo only) are not part of a release.
 */
function codeTriples(): { triples: string[]; unknown: string[] } {
  const resources: Record<string, [string, string]> = {
    Deployment: ['apps', 'deployments'],
    DeploymentScale: ['apps', 'deployments/scale'],
    Service: ['', 'services'],
    Event: ['', 'events'],
    HorizontalPodAutoscaler: ['autoscaling', 'horizontalpodautoscalers'],
    ConfigMap: ['', 'configmaps'],
    Secret: ['', 'secrets'],
  };
  const verbs: Record<string, string> = {
    read: 'get',
    get: 'get',
    list: 'list',
    watch: 'watch',
    create: 'create',
    patch: 'patch',
    replace: 'update',
    delete: 'delete',
  };
  const files = [
    ...walk(join(projectRoot, 'src', 'integrations')),
    join(projectRoot, 'src', 'activities', 'release.ts'),
    join(projectRoot, 'src', 'worker.ts'),
  ];
  const out = new Set<string>();
  const unknown: string[] = [];
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(
      /(?<=\w)\.(read|get|list|watch|create|patch|replace|delete)(Namespaced)?([A-Z]\w*)\(/g,
    )) {
      const [, verb, , kind] = m as unknown as [string, string, string, string];
      if (kind === 'CustomObject' && f.endsWith(join('kubernetes', 'client.ts'))) continue; // generic helpers, below
      if (kind === 'Agent' && f.endsWith(join('kubernetes', 'client.ts'))) continue; // PooledKubeConfig's HTTP agent
      const res = resources[kind];
      if (!res) {
        unknown.push(`${relative(projectRoot, f)}: ${m[0]}`);
        continue;
      }
      out.add(triple(res[0], res[1], verbs[verb] as string));
      if (verb === 'patch' && callArgs(src, (m.index ?? 0) + m[0].length).includes('applyPatchOptions'))
        out.add(triple(res[0], res[1], 'create'));
    }
    const plurals = [...src.matchAll(/group: '([^']+)',\s*version: '[^']+',\s*plural: '([^']+)'/g)].map(
      (m) => [m[1] as string, m[2] as string] as const,
    );
    for (const [group, plural] of plurals) {
      if (/\breadCustomObject\s*(<[^>]*>)?\(/.test(src)) out.add(triple(group, plural, 'get'));
      if (/\bapplyCustomObject\s*(<[^>]*>)?\(/.test(src)) {
        out.add(triple(group, plural, 'patch'));
        out.add(triple(group, plural, 'create'));
      }
    }
  }
  return { triples: [...out].sort(), unknown };
}

/** Cluster mode's rules (the opt-in overlays/cluster-mode Role and overlays/cluster-wide-cluster-mode ClusterRole). */
const clusterModeRules: Rule[] = [
  { group: 'flagger.app', resources: ['canaries'], verbs: ['list', 'watch', 'patch'] },
  { group: 'flagger.app', resources: ['canaries/status'], verbs: ['patch'] },
  { group: 'apps', resources: ['deployments'], verbs: ['list', 'watch'] },
  // Config tracking as a trigger (src/cluster/configs.ts); Secrets likewise only as a commented-out opt-in.
  { group: '', resources: ['configmaps'], verbs: ['list', 'watch'] },
];
/** Cluster mode's leader election (src/cluster/lease.ts): the Lease in the worker's namespace. */
const clusterModeLeaseRules: Rule[] = [
  { group: 'coordination.k8s.io', resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
/** Calls that need an opt-in rule shipped commented out (Secrets: config tracking of Secrets). */
const optInTriple = (t: string): boolean => t.startsWith('core/secrets:');

/**
 * The Kubernetes calls of cluster mode (src/cluster), read from its sources: the informers' lists and watches, the
 * custom-object calls with the plural they name (a Canary, its status subresource, the MetricTemplates and
 * AlertProviders a Canary references, the routes the revert restores) and typed client calls. Whatever it cannot map
 * is listed as unknown.
 */
function clusterCodeTriples(): { triples: string[]; unknown: string[] } {
  const groups: Record<string, string> = {
    canaries: 'flagger.app',
    metrictemplates: 'flagger.app',
    alertproviders: 'flagger.app',
    deployments: 'apps',
    virtualservices: 'networking.istio.io',
    httproutes: 'gateway.networking.k8s.io',
  };
  const typed: Record<string, [string, string]> = {
    Deployment: ['apps', 'deployments'],
    DeploymentScale: ['apps', 'deployments/scale'],
    Service: ['', 'services'],
    // Config tracking's watches (list + watch) and leader election's Lease.
    ConfigMap: ['', 'configmaps'],
    ConfigMapForAllNamespaces: ['', 'configmaps'],
    Secret: ['', 'secrets'],
    SecretForAllNamespaces: ['', 'secrets'],
    Lease: ['coordination.k8s.io', 'leases'],
  };
  const out = new Set<string>();
  const unknown: string[] = [];
  for (const f of walk(join(projectRoot, 'src', 'cluster'))) {
    const src = readFileSync(f, 'utf8');
    const where = relative(projectRoot, f);
    // The plurals a call's `plural:` may stand for: a literal, the Canary plural, the revert's route refs, or the
    // reference reader's `read('<plural>', …)` arguments.
    const routePlurals = [...src.matchAll(/plural: '(virtualservices|httproutes)'/g)].map(
      (m) => m[1] as string,
    );
    const readPlurals = [...src.matchAll(/\bread\('([a-z]+)'/g)].map((m) => m[1] as string);
    for (const m of src.matchAll(
      /(?<=\w)\.(get|list|patch|read|create|replace|delete)(Namespaced|Cluster)?(\w*?)(Status)?\(/g,
    )) {
      const [call, verb, , kindRaw, status] = m as unknown as [string, string, string, string, string?];
      const args = callArgs(src, (m.index ?? 0) + call.length);
      const v = verb === 'read' ? 'get' : verb === 'replace' ? 'update' : verb;
      if (kindRaw === 'CustomObject') {
        const lit = /plural: '([a-z]+)'/.exec(args)?.[1];
        const plurals = lit
          ? [lit]
          : /plural: canaryPlural/.test(args)
            ? ['canaries']
            : /\.\.\.ref\b/.test(args)
              ? routePlurals
              : /\bplural\b/.test(args)
                ? readPlurals
                : [];
        if (plurals.length === 0) unknown.push(`${where}: ${call}`);
        for (const p of plurals) {
          const g = groups[p];
          if (g === undefined) unknown.push(`${where}: ${call} (${p})`);
          else {
            out.add(triple(g, status ? `${p}/status` : p, v));
            // Every list of cluster mode is an informer's lister: the informer watches from there.
            if (v === 'list') out.add(triple(g, p, 'watch'));
          }
        }
        continue;
      }
      const res = typed[kindRaw];
      if (!res) {
        // Not a Kubernetes call (a Map's get, a Temporal handle, the informers' own get/list of their cache).
        if (/Api\b|core\.|apps\.|custom\./.test(src.slice(Math.max(0, (m.index ?? 0) - 12), m.index)))
          unknown.push(`${where}: ${call}`);
        continue;
      }
      out.add(triple(res[0], res[1], v));
      // A list of ConfigMaps/Secrets is config tracking's watch lister: the watch follows it.
      if (v === 'list' && (res[1] === 'configmaps' || res[1] === 'secrets'))
        out.add(triple(res[0], res[1], 'watch'));
    }
    if (/makeInformer/.test(src) && !/listNamespacedCustomObject|listClusterCustomObject/.test(src))
      unknown.push(`${where}: an informer whose lister this test does not see`);
  }
  return { triples: [...out].sort(), unknown };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The argument text of a call whose opening parenthesis ends just before `from`. */
function callArgs(src: string, from: number): string {
  let depth = 1;
  for (let i = from; i < src.length; i++) {
    if (src[i] === '(') depth++;
    else if (src[i] === ')' && --depth === 0) return src.slice(from, i);
  }
  return src.slice(from);
}

// ---------------------------------------------------------------------------------------------------------------
// Strict server-side validation. The typed client serialises through its models and silently drops fields it does
// not know (a typo like `readOnlyRootFileSystem` would vanish before reaching the server), so POSTs carry the raw
// manifest and `fieldValidation=Strict`.

function strictObjectApi(kc: k8s.KubeConfig): {
  create: (obj: Obj, dryRun?: 'All') => Promise<k8s.KubernetesObject>;
} {
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
            if (ctx.getHttpMethod() === k8s.HttpMethod.POST && raw) {
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
    create: async (obj, dryRun) => {
      raw = obj;
      try {
        return await api.create(obj, undefined, dryRun);
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

async function dryRunAll(api: ReturnType<typeof strictObjectApi>, objects: Obj[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objects) {
    try {
      const created = await api.create(o, 'All');
      expect(created.metadata?.name).toBe(o.metadata.name);
    } catch (e) {
      errors.push(`${o.kind}/${o.metadata.name}: ${apiError(e)}`);
    }
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------------------------

const kubectlKustomize =
  spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 30_000 }).stdout?.includes(
    'Kustomize Version',
  ) ?? false;
const base = render(baseDir);
const common = render(commonDir);
const overlay = render(overlayDir);
const clusterWide = render(clusterWideDir);
const clusterMode = render(clusterModeDir);
const clusterWideMode = render(clusterWideModeDir);
/** The base's release namespaces: those with a RoleBinding. */
const releaseNamespaces = base
  .filter((o) => o.kind === 'RoleBinding')
  .map((o) => o.metadata.namespace as string)
  .sort();
const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
const suffix = `-it${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;

let c: KubeClients;
let objects: ReturnType<typeof strictObjectApi>;
const namespaces: string[] = [];
const clusterRoles: string[] = [];
const clusterRoleBindings: string[] = [];

beforeAll(() => {
  c = kube();
  objects = strictObjectApi(c.kc);
});
afterAll(async () => {
  const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  for (const name of clusterRoleBindings)
    await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
  for (const name of clusterRoles) await rbac.deleteClusterRole({ name }).catch(() => undefined);
  for (const name of namespaces) await c.core.deleteNamespace({ name }).catch(() => undefined);
});

describe('deploy/kustomize: rendering', () => {
  it('the base (default install) is the worker in fledge-system, a Role + RoleBinding per release namespace, no cluster-wide RBAC, no Secrets', () => {
    expect(base.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'Namespace//fledge-system',
      'ServiceAccount/fledge-system/fledge-worker',
      'ConfigMap/fledge-system/fledge-config',
      'Deployment/fledge-system/fledge-worker',
      'Role/shop/fledge-worker',
      'RoleBinding/shop/fledge-worker',
    ]);
    expect(base.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
    for (const o of base) {
      const clusterScoped = o.kind === 'Namespace';
      const inRelease = o.kind === 'Role' || o.kind === 'RoleBinding';
      if (!inRelease)
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(
          clusterScoped ? undefined : systemNs,
        );
    }
    expect(releaseNamespaces).toEqual(['shop']);
    for (const b of base.filter((o) => o.kind === 'RoleBinding') as unknown as k8s.V1RoleBinding[]) {
      const ns = b.metadata?.namespace;
      // Bound to a Role of its own namespace (never a ClusterRole), for the worker's ServiceAccount only.
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'fledge-worker',
      });
      expect(
        base.some(
          (o) => o.kind === 'Role' && o.metadata.name === 'fledge-worker' && o.metadata.namespace === ns,
        ),
        `Role fledge-worker in ${ns}`,
      ).toBe(true);
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'fledge-worker', namespace: systemNs }]);
    }
  });

  it("the base's FLEDGE_ALLOWED_NAMESPACES is exactly its RoleBindings' namespaces (the worker refuses the rest)", () => {
    const cm = find<k8s.V1ConfigMap>(base, 'ConfigMap', 'fledge-config');
    const allowed = parsePatternList(cm.data?.FLEDGE_ALLOWED_NAMESPACES ?? '').sort();
    expect(allowed).toEqual(releaseNamespaces);
    const cfg = loadFledgeConfig({ ...cm.data });
    expect(cfg.policy?.namespaces).toEqual(releaseNamespaces);
  });

  it('the cluster-wide overlay (opt-in) is the common parts + ClusterRole + ClusterRoleBinding, all namespaces allowed', () => {
    expect(clusterWide.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/fledge-system',
      'ServiceAccount/fledge-worker',
      'ConfigMap/fledge-config',
      'Deployment/fledge-worker',
      'ClusterRole/fledge-worker',
      'ClusterRoleBinding/fledge-worker',
    ]);
    const binding = find<k8s.V1ClusterRoleBinding>(clusterWide, 'ClusterRoleBinding', 'fledge-worker');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'fledge-worker',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'fledge-worker', namespace: systemNs },
    ]);
    const cm = find<k8s.V1ConfigMap>(clusterWide, 'ConfigMap', 'fledge-config');
    expect(cm.data?.FLEDGE_ALLOWED_NAMESPACES).toBe('*');
    // …which still leaves the system namespaces and the worker's own refused (src/policy.ts).
    const policy = {
      ...(loadFledgeConfig({ ...cm.data }).policy as ReleasePolicy),
      workerNamespace: systemNs,
    };
    expect(checkReleasePolicy(policy, { namespace: 'kube-system', images: {} })).toHaveLength(1);
    expect(checkReleasePolicy(policy, { namespace: systemNs, images: {} })).toHaveLength(1);
    expect(checkReleasePolicy(policy, { namespace: 'anything', images: {} })).toEqual([]);
    // The common parts are the same as in the base (only FLEDGE_ALLOWED_NAMESPACES differs).
    const strip = (objs: Obj[]): Obj[] =>
      structuredClone(objs.filter((o) => !/Role/.test(o.kind as string))).map((o) => {
        delete (o.data as Record<string, string> | undefined)?.FLEDGE_ALLOWED_NAMESPACES;
        return o;
      });
    expect(strip(clusterWide)).toEqual(strip(base));
    expect(strip(common)).toEqual(strip(base));
  });

  it.skipIf(!kubectlKustomize)('renders exactly what `kubectl kustomize` renders (base and overlays)', () => {
    const byId = (objs: Obj[]): Obj[] => [...objs].sort((a, b) => id(a).localeCompare(id(b)));
    const id = (o: Obj): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    for (const [dir, ours] of [
      [baseDir, base],
      [overlayDir, overlay],
      [clusterWideDir, clusterWide],
    ] as const) {
      const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const theirs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
      expect(byId(ours), relative(projectRoot, dir)).toEqual(byId(theirs));
    }
  });

  it('the Deployment: 2 replicas, non-root and locked down, configuration from the ConfigMap and optional Secrets', () => {
    const d = find<k8s.V1Deployment>(base, 'Deployment', 'fledge-worker');
    const spec = d.spec as k8s.V1DeploymentSpec;
    const pod = spec.template.spec as k8s.V1PodSpec;
    expect(spec.replicas).toBe(2);
    expect(spec.selector.matchLabels).toEqual(
      Object.fromEntries(
        Object.keys(spec.selector.matchLabels ?? {}).map((k) => [k, spec.template.metadata?.labels?.[k]]),
      ),
    );
    expect(pod.serviceAccountName).toBe('fledge-worker');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers).toHaveLength(1);
    const w = pod.containers[0] as k8s.V1Container;
    expect(w.image).toBe(`ghcr.io/fledge-dev/fledge-worker:${pkg.version}`);
    expect(w.securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(Object.keys(w.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(w.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(w.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    expect(w.envFrom).toEqual([{ configMapRef: { name: 'fledge-config' } }]);
    expect(w.env).toEqual([
      {
        name: 'FLEDGE_SLACK_TOKEN',
        valueFrom: { secretKeyRef: { name: 'fledge-slack', key: 'token', optional: true } },
      },
      {
        name: 'TEMPORAL_API_KEY',
        valueFrom: { secretKeyRef: { name: 'fledge-temporal', key: 'api-key', optional: true } },
      },
    ]);
  });

  it('the ConfigMap holds exactly the documented keys, and the worker accepts them (in-cluster service account)', () => {
    const cm = find<k8s.V1ConfigMap>(base, 'ConfigMap', 'fledge-config');
    const keys = [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'FLEDGE_TASK_QUEUE',
      'FLEDGE_PROMETHEUS_URL',
      'FLEDGE_WEB_UI_URL',
      'FLEDGE_ALLOWED_IMAGES',
      'FLEDGE_ALLOWED_NAMESPACES',
    ];
    expect(Object.keys(cm.data ?? {}).sort()).toEqual([...keys].sort());
    const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
    for (const k of keys) expect(readme, `README documents ${k}`).toContain(`\`${k}\``);
    const cfg = loadFledgeConfig({ ...cm.data });
    expect(cfg.temporal).toEqual({ address: 'temporal-frontend.temporal:7233', namespace: 'default' });
    expect(cfg.taskQueue).toBe('fledge');
    expect(cfg.kubeconfig).toBeUndefined(); // → the pod's service account (loadKubeConfig: in-cluster)
    expect(cfg.policy?.images).toEqual(['ghcr.io/acme/*']);
  });

  it('the temporal-cloud overlay changes only the Temporal address and namespace; with the API key TLS is on', () => {
    const cm = find<k8s.V1ConfigMap>(overlay, 'ConfigMap', 'fledge-config');
    const baseCm = find<k8s.V1ConfigMap>(base, 'ConfigMap', 'fledge-config');
    expect(cm.data).toEqual({
      ...baseCm.data,
      TEMPORAL_ADDRESS: 'fledge-prod.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'fledge-prod.a1b2c',
    });
    const others = (objs: Obj[]) => objs.filter((o) => o.kind !== 'ConfigMap');
    expect(others(overlay)).toEqual(others(base));
    const apiKey = (loadDocs(secretsExample).find((s) => s.metadata.name === 'fledge-temporal')?.stringData ??
      {}) as Record<string, string>;
    const cfg = loadFledgeConfig({ ...cm.data, TEMPORAL_API_KEY: apiKey['api-key'] });
    expect(cfg.temporal).toMatchObject({ address: 'fledge-prod.a1b2c.tmprl.cloud:7233', tls: true });
  });

  it('the example Secrets are outside the base, with placeholder values and the keys the Deployment reads', () => {
    const secrets = loadDocs(secretsExample);
    expect(base.some((o) => o.kind === 'Secret')).toBe(false);
    expect(readFileSync(join(baseDir, 'kustomization.yaml'), 'utf8')).not.toMatch(/^\s*-\s*\S*secret/im);
    const w = find<k8s.V1Deployment>(base, 'Deployment', 'fledge-worker').spec?.template.spec?.containers[0];
    const refs = (w?.env ?? []).map((e) => e.valueFrom?.secretKeyRef).filter((r) => r !== undefined);
    expect(
      secrets.map((s) => ({ name: s.metadata.name, keys: Object.keys((s.stringData ?? {}) as object) })),
    ).toEqual(refs.map((r) => ({ name: r.name, keys: [r.key] })));
    for (const s of secrets) {
      expect(s.metadata.namespace).toBe(systemNs);
      for (const v of Object.values(s.stringData as Record<string, string>)) expect(v).toMatch(/REPLACE-ME/);
    }
  });
});

/** Every rule set the packaging grants: the base's Role per release namespace, the cluster-wide ClusterRole. */
const grantedRoles: Array<[string, k8s.V1Role | k8s.V1ClusterRole]> = [
  ...base
    .filter((o) => o.kind === 'Role')
    .map((o): [string, k8s.V1Role] => [
      `base Role ${o.metadata.namespace}/${o.metadata.name}`,
      o as k8s.V1Role,
    ]),
  ['cluster-wide ClusterRole', find<k8s.V1ClusterRole>(clusterWide, 'ClusterRole', 'fledge-worker')],
];

describe.each(grantedRoles)('deploy/kustomize: the %s is least privilege', (_name, role) => {
  it('is exactly the table of docs/operations.md (hardcoded here, and as the doc prints it today)', () => {
    expect(roleTriples(role)).toEqual(triples(expectedRules));
    expect(triples(docsTableRules())).toEqual(triples(expectedRules));
  });

  it('has no delete/deletecollection/wildcard verbs, no Secrets (opt-in), no wildcards or escalation', () => {
    for (const r of role.rules ?? []) {
      for (const v of [
        'delete',
        'deletecollection',
        '*',
        'escalate',
        'bind',
        'impersonate',
        'update',
        'list',
      ])
        expect(r.verbs, JSON.stringify(r)).not.toContain(v);
      for (const res of ['secrets', '*', 'pods/exec', 'serviceaccounts/token'])
        expect(r.resources, JSON.stringify(r)).not.toContain(res);
      expect(r.apiGroups).not.toContain('*');
      expect(r.resourceNames).toBeUndefined();
      expect(r.nonResourceURLs).toBeUndefined();
    }
  });

  it("covers every Kubernetes call of the worker's release code", () => {
    const code = codeTriples();
    expect(code.unknown, 'Kubernetes calls this test cannot map to RBAC: extend codeTriples()').toEqual([]);
    const granted = new Set(roleTriples(role));
    const optIn = new Set(triples(optInRules));
    expect(code.triples.filter((t) => !granted.has(t) && !optIn.has(t))).toEqual([]);
    // …and every verb the role grants is one the code uses (no grant for something the worker never does).
    expect([...granted].sort()).toEqual(code.triples.filter((t) => !optIn.has(t)));
    // The opt-in rules are exactly the code's remaining calls, offered as a commented rule in the manifest.
    expect(code.triples.filter((t) => optIn.has(t))).toEqual(triples(optInRules));
  });
});

it('offers Secrets as a commented rule in the Role and the ClusterRole: uncommented, it grants exactly the opt-in calls', () => {
  for (const file of [join(baseDir, 'release-namespaces.yaml'), join(clusterWideDir, 'clusterrole.yaml')]) {
    const uncommented = readFileSync(file, 'utf8').replace(
      /^ {2}# (- apiGroups| {2}resources| {2}verbs)/gm,
      '  $1',
    );
    const role = parseAllDocuments(uncommented)[0]?.toJS() as k8s.V1Role;
    expect(roleTriples(role), relative(projectRoot, file)).toEqual(
      triples([...expectedRules, ...optInRules]),
    );
  }
});

describe('deploy/kustomize: server-side validation on the real apiserver', () => {
  it('creates every object of the base, both overlays and the example Secrets with dryRun=All and strict field validation', async () => {
    const ns = `fledge-deploy-${suffix.slice(1)}`;
    const releaseNs = `${ns}-rel`;
    const rendered = retarget(base, ns, suffix, releaseNs);
    const [nsObj, ...rest] = rendered;
    expect(nsObj?.kind).toBe('Namespace');
    // The Namespaces first (dry-run), then for real so the namespaced objects can be admitted into them.
    expect(await dryRunAll(objects, [nsObj as Obj])).toEqual([]);
    await objects.create(nsObj as Obj);
    namespaces.push(ns);
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: releaseNs } });
    namespaces.push(releaseNs);
    expect(await dryRunAll(objects, rest)).toEqual([]);
    const overlayCm = retarget(overlay, ns, suffix, releaseNs).filter((o) => o.kind === 'ConfigMap');
    const wide = retarget(clusterWide, ns, suffix).filter((o) => o.kind !== 'Namespace');
    const secrets = retarget(loadDocs(secretsExample), ns, suffix);
    expect(await dryRunAll(objects, [...overlayCm, ...wide, ...secrets])).toEqual([]);
    // Nothing was persisted but the namespaces.
    await expect(
      c.apps.readNamespacedDeployment({ name: 'fledge-worker', namespace: ns }),
    ).rejects.toMatchObject({
      code: 404,
    });
    const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await expect(
      rbac.readNamespacedRole({ name: 'fledge-worker', namespace: releaseNs }),
    ).rejects.toMatchObject({
      code: 404,
    });
  });

  it('would catch a typo: the same dry run rejects an unknown field (negative control)', async () => {
    const d = structuredClone(find<Obj>(base, 'Deployment', 'fledge-worker'));
    d.metadata.namespace = 'default';
    const container = (d as unknown as k8s.V1Deployment).spec?.template.spec
      ?.containers[0] as unknown as Record<string, Record<string, unknown>>;
    container.securityContext = { ...container.securityContext, readOnlyRootFileSystem: true };
    const errors = await dryRunAll(objects, [d]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/unknown field.*readOnlyRootFileSystem/);
  });
});

/** SubjectAccessReview for the ServiceAccount fledge-worker of namespace `saNs`; `namespace` null = cluster scope. */
async function canAs(
  saNs: string,
  verb: string,
  group: string,
  resource: string,
  namespace: string | null,
): Promise<boolean> {
  const [res, subresource] = resource.split('/');
  const r = await c.kc.makeApiClient(k8s.AuthorizationV1Api).createSubjectAccessReview({
    body: {
      spec: {
        user: `system:serviceaccount:${saNs}:fledge-worker`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${saNs}`, 'system:authenticated'],
        resourceAttributes: {
          verb,
          group,
          resource: res,
          ...(subresource ? { subresource } : {}),
          ...(namespace ? { namespace } : {}),
        },
      },
    },
  });
  return r.status?.allowed === true;
}

/** What the worker must never be allowed, wherever it is bound (`where`: a namespace it may release to). */
async function expectNeverAllowed(saNs: string, where: string): Promise<void> {
  const denied = async (verb: string, group: string, resource: string, namespace: string | null = where) =>
    expect(
      await canAs(saNs, verb, group, resource, namespace),
      `${verb} ${group}/${resource} in ${namespace ?? 'the cluster'}`,
    ).toBe(false);
  await denied('delete', 'apps', 'deployments');
  await denied('deletecollection', 'apps', 'deployments');
  await denied('get', '', 'secrets');
  await denied('list', '', 'secrets');
  await denied('create', '', 'secrets');
  await denied('list', '', 'configmaps');
  await denied('delete', '', 'configmaps');
  await denied('delete', '', 'services');
  await denied('delete', 'networking.istio.io', 'virtualservices');
  await denied('delete', 'gateway.networking.k8s.io', 'httproutes');
  await denied('update', 'apps', 'deployments');
  await denied('create', '', 'pods/exec');
  await denied('create', 'rbac.authorization.k8s.io', 'rolebindings');
  await denied('create', '', 'namespaces', null);
}

describe('deploy/kustomize: the namespaced default, proven with SubjectAccessReview', () => {
  // The worker's namespace and ServiceAccount, and one release namespace bound as the base binds `shop`.
  let ns: string;
  let releaseNs: string;
  const can = (verb: string, group: string, resource: string, namespace: string | null = releaseNs) =>
    canAs(ns, verb, group, resource, namespace);

  beforeAll(async () => {
    ns = `fledge-rbac-${suffix.slice(1)}`;
    releaseNs = `${ns}-rel`;
    const rendered = retarget(base, ns, suffix, releaseNs);
    const pick = (kind: string): Obj[] => rendered.filter((o) => o.kind === kind);
    await objects.create(pick('Namespace')[0] as Obj); // restricted Pod Security Standard enforced, as in the manifest
    namespaces.push(ns);
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: releaseNs } });
    namespaces.push(releaseNs);
    for (const o of [...pick('ServiceAccount'), ...pick('Role'), ...pick('RoleBinding')])
      await objects.create(o);
    await eventually('the RoleBinding to take effect', async () =>
      (await can('patch', 'apps', 'deployments')) ? true : undefined,
    );
  });

  it('allows what a release does in a release namespace: patch deployments, create services, patch virtualservices', async () => {
    expect(await can('patch', 'apps', 'deployments')).toBe(true);
    expect(await can('create', '', 'services')).toBe(true);
    expect(await can('patch', 'networking.istio.io', 'virtualservices')).toBe(true);
  });

  it('allows every rule of the table in the release namespace', async () => {
    const denied: string[] = [];
    for (const r of expectedRules)
      for (const res of r.resources)
        for (const v of r.verbs) if (!(await can(v, r.group, res))) denied.push(triple(r.group, res, v));
    expect(denied).toEqual([]);
  });

  it('grants nothing outside the listed namespaces: not in default, kube-system, its own namespace, nor cluster-wide', async () => {
    for (const elsewhere of ['default', 'kube-system', ns]) {
      expect(await can('patch', 'apps', 'deployments', elsewhere), elsewhere).toBe(false);
      expect(await can('get', 'apps', 'deployments', elsewhere), elsewhere).toBe(false);
      expect(await can('create', '', 'services', elsewhere), elsewhere).toBe(false);
    }
    expect(await can('patch', 'apps', 'deployments', null)).toBe(false); // all namespaces at once
  });

  it('denies what it must not: delete deployments, read secrets, list or delete configmaps, escalate', async () => {
    await expectNeverAllowed(ns, releaseNs);
  });

  it("the worker's pod template passes the restricted Pod Security Standard (and the check is live)", async () => {
    const template = find<k8s.V1Deployment>(base, 'Deployment', 'fledge-worker').spec
      ?.template as k8s.V1PodTemplateSpec;
    const pod = (spec: k8s.V1PodSpec): Obj => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'fledge-worker-pss', namespace: ns, labels: template.metadata?.labels ?? {} },
      spec: spec as unknown as Record<string, unknown>,
    });
    expect(await dryRunAll(objects, [pod(template.spec as k8s.V1PodSpec)])).toEqual([]);
    const loose = structuredClone(template.spec as k8s.V1PodSpec);
    delete loose.securityContext;
    for (const ct of loose.containers) delete ct.securityContext;
    const errors = await dryRunAll(objects, [pod(loose)]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/violates PodSecurity "restricted/);
  });
});

describe('deploy/kustomize: the cluster-wide opt-in, proven with SubjectAccessReview', () => {
  let ns: string;
  beforeAll(async () => {
    ns = `fledge-rbacw-${suffix.slice(1)}`;
    const rendered = retarget(clusterWide, ns, suffix);
    const pick = (kind: string): Obj[] => rendered.filter((o) => o.kind === kind);
    await objects.create(pick('Namespace')[0] as Obj);
    namespaces.push(ns);
    await objects.create(pick('ServiceAccount')[0] as Obj);
    const role = pick('ClusterRole')[0] as Obj;
    await objects.create(role);
    clusterRoles.push(role.metadata.name);
    const binding = pick('ClusterRoleBinding')[0] as Obj;
    await objects.create(binding);
    clusterRoleBindings.push(binding.metadata.name);
    await eventually('the ClusterRoleBinding to take effect', async () =>
      (await canAs(ns, 'patch', 'apps', 'deployments', 'default')) ? true : undefined,
    );
  });

  it('allows every rule of the table in any namespace', async () => {
    const denied: string[] = [];
    for (const where of ['default', `some-namespace-${suffix.slice(1)}`])
      for (const r of expectedRules)
        for (const res of r.resources)
          for (const v of r.verbs)
            if (!(await canAs(ns, v, r.group, res, where)))
              denied.push(`${where}: ${triple(r.group, res, v)}`);
    expect(denied).toEqual([]);
  });

  it('still denies what it must not (delete, secrets, listing configmaps, escalation)', async () => {
    await expectNeverAllowed(ns, 'default');
  });
});

describe('deploy/kustomize: cluster mode (opt-in overlays)', () => {
  const modeRole = find<k8s.V1Role>(clusterMode, 'Role', 'fledge-cluster-mode');
  const modeClusterRole = find<k8s.V1ClusterRole>(clusterWideMode, 'ClusterRole', 'fledge-cluster-mode');
  const leaseRoles = [clusterMode, clusterWideMode].map((objs) =>
    find<k8s.V1Role>(objs, 'Role', 'fledge-cluster-mode-lease'),
  );

  it('both overlays add the leader-election Lease Role in the worker’s namespace, bound to the worker', () => {
    for (const [i, objs] of [clusterMode, clusterWideMode].entries()) {
      const role = leaseRoles[i] as k8s.V1Role;
      expect(role.metadata?.namespace).toBe(systemNs);
      expect(roleTriples(role)).toEqual(triples(clusterModeLeaseRules));
      const binding = find<k8s.V1RoleBinding>(objs, 'RoleBinding', 'fledge-cluster-mode-lease');
      expect(binding.metadata?.namespace).toBe(systemNs);
      expect(binding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'fledge-cluster-mode-lease',
      });
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'fledge-worker', namespace: systemNs },
      ]);
    }
  });

  it('overlays/cluster-mode is the base + a Role/RoleBinding per release namespace with exactly cluster mode’s rules + FLEDGE_CLUSTER_MODE=true', () => {
    const others = (objs: Obj[]) =>
      objs.filter((o) => o.kind !== 'ConfigMap' && !o.metadata.name.startsWith('fledge-cluster-mode'));
    expect(others(clusterMode)).toEqual(others(base));
    expect(roleTriples(modeRole)).toEqual(triples(clusterModeRules));
    expect(modeRole.metadata?.namespace).toBe('shop');
    const binding = find<k8s.V1RoleBinding>(clusterMode, 'RoleBinding', 'fledge-cluster-mode');
    expect(binding.metadata?.namespace).toBe('shop');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'fledge-cluster-mode',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'fledge-worker', namespace: systemNs },
    ]);
    const cm = find<k8s.V1ConfigMap>(clusterMode, 'ConfigMap', 'fledge-config');
    expect(cm.data).toEqual({
      ...find<k8s.V1ConfigMap>(base, 'ConfigMap', 'fledge-config').data,
      FLEDGE_CLUSTER_MODE: 'true',
    });
    expect(loadFledgeConfig({ ...cm.data }).clusterMode).toBe(true);
    expect(clusterMode.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
  });

  it('overlays/cluster-wide-cluster-mode is the cluster-wide install + a ClusterRole with the same rules + FLEDGE_CLUSTER_MODE=true', () => {
    expect(roleTriples(modeClusterRole)).toEqual(triples(clusterModeRules));
    const others = (objs: Obj[]) =>
      objs.filter((o) => o.kind !== 'ConfigMap' && !o.metadata.name.startsWith('fledge-cluster-mode'));
    expect(others(clusterWideMode)).toEqual(others(clusterWide));
    const binding = find<k8s.V1ClusterRoleBinding>(
      clusterWideMode,
      'ClusterRoleBinding',
      'fledge-cluster-mode',
    );
    expect(binding.roleRef.name).toBe('fledge-cluster-mode');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'fledge-worker', namespace: systemNs },
    ]);
    expect(
      find<k8s.V1ConfigMap>(clusterWideMode, 'ConfigMap', 'fledge-config').data?.FLEDGE_CLUSTER_MODE,
    ).toBe('true');
  });

  it('grants exactly what the controller calls beyond the release Role, and the two together cover every call it makes', () => {
    const code = clusterCodeTriples();
    expect(
      code.unknown,
      'cluster-mode calls this test cannot map to RBAC: extend clusterCodeTriples()',
    ).toEqual([]);
    // The scanner sees the calls it must (a negative control of the scanner itself).
    for (const t of [
      'flagger.app/canaries:watch',
      'flagger.app/canaries/status:patch',
      'apps/deployments:watch',
    ])
      expect(code.triples).toContain(t);
    const mode = new Set([...roleTriples(modeRole), ...roleTriples(leaseRoles[0] as k8s.V1Role)]);
    expect(code.triples).toContain('core/configmaps:watch');
    expect(code.triples).toContain('coordination.k8s.io/leases:update');
    // Every verb cluster mode's Roles grant is one the controller uses…
    expect([...mode].filter((t) => !code.triples.includes(t))).toEqual([]);
    // …and every call it makes is granted by it or by the release Role of the same install.
    for (const [name, release] of [
      ['base', find<k8s.V1Role>(base, 'Role', 'fledge-worker')],
      ['cluster-wide', find<k8s.V1ClusterRole>(clusterWide, 'ClusterRole', 'fledge-worker')],
    ] as const) {
      const granted = new Set([...mode, ...roleTriples(release)]);
      expect(
        code.triples.filter((t) => !granted.has(t) && !optInTriple(t)),
        `${name}: calls of src/cluster granted by neither Role`,
      ).toEqual([]);
    }
  });

  it('the real apiserver accepts the overlays’ RBAC objects (dryRun=All, strict) and, bound for real, grants the watch', async () => {
    const ns = `fledge-cm-${suffix.slice(1)}`;
    const releaseNs = `${ns}-rel`;
    for (const name of [ns, releaseNs]) {
      await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      namespaces.push(name);
    }
    const rbacObjs = retarget(clusterMode, ns, suffix, releaseNs).filter(
      (o) => o.metadata.name === 'fledge-cluster-mode',
    );
    const leaseObjs = retarget(clusterMode, ns, suffix, releaseNs).filter(
      (o) => o.metadata.name === 'fledge-cluster-mode-lease',
    );
    const wideObjs = retarget(clusterWideMode, ns, suffix).filter((o) =>
      o.metadata.name.startsWith('fledge-cluster-mode'),
    );
    expect(rbacObjs.map((o) => o.kind)).toEqual(['Role', 'RoleBinding']);
    expect(leaseObjs.map((o) => [o.kind, o.metadata.namespace])).toEqual([
      ['Role', ns],
      ['RoleBinding', ns],
    ]);
    expect(await dryRunAll(objects, [...rbacObjs, ...leaseObjs, ...wideObjs])).toEqual([]);
    // For real (namespaced only): the worker may watch Canaries and patch their status there, and nowhere else.
    await objects.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'fledge-worker', namespace: ns },
    });
    for (const o of [...rbacObjs, ...leaseObjs]) await objects.create(o);
    await eventually(
      'cluster-mode Role bound',
      async () => (await canAs(ns, 'watch', 'flagger.app', 'canaries', releaseNs)) || undefined,
    );
    expect(await canAs(ns, 'patch', 'flagger.app', 'canaries/status', releaseNs)).toBe(true);
    expect(await canAs(ns, 'list', 'apps', 'deployments', releaseNs)).toBe(true);
    expect(await canAs(ns, 'watch', 'flagger.app', 'canaries', null)).toBe(false);
    expect(await canAs(ns, 'watch', 'flagger.app', 'canaries', 'default')).toBe(false);
    expect(await canAs(ns, 'update', 'flagger.app', 'canaries/status', releaseNs)).toBe(false);
    expect(await canAs(ns, 'delete', 'flagger.app', 'canaries', releaseNs)).toBe(false);
    expect(await canAs(ns, 'watch', '', 'configmaps', releaseNs)).toBe(true);
    expect(await canAs(ns, 'watch', '', 'secrets', releaseNs)).toBe(false); // opt-in
    // The Lease: in the worker's own namespace only.
    expect(await canAs(ns, 'update', 'coordination.k8s.io', 'leases', ns)).toBe(true);
    expect(await canAs(ns, 'update', 'coordination.k8s.io', 'leases', releaseNs)).toBe(false);
    expect(await canAs(ns, 'delete', 'coordination.k8s.io', 'leases', ns)).toBe(false);
  });
});

// The renderer is only trusted for what it implements; make sure the overlay directory holds nothing it ignores.
it('every file under deploy/kustomize is referenced by a kustomization or is the Secrets example', () => {
  const referenced = new Set<string>([secretsExample]);
  const collect = (dir: string): void => {
    const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
      resources?: string[];
      patches?: Array<{ path: string }>;
    };
    referenced.add(join(dir, 'kustomization.yaml'));
    for (const r of k.resources ?? []) {
      const p = resolve(dir, r);
      if (statSync(p).isDirectory()) collect(p);
      else referenced.add(p);
    }
    for (const p of k.patches ?? []) referenced.add(resolve(dir, p.path));
  };
  collect(baseDir);
  collect(overlayDir);
  collect(clusterWideDir);
  collect(clusterModeDir);
  collect(clusterWideModeDir);
  const all = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) =>
      statSync(join(dir, n)).isDirectory() ? all(join(dir, n)) : [join(dir, n)],
    );
  expect(
    all(kustomizeDir)
      .filter((f) => !referenced.has(f))
      .map((f) => relative(projectRoot, f)),
  ).toEqual([]);
  expect(dirname(secretsExample)).not.toBe(baseDir);
});
