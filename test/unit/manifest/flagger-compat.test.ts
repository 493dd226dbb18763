// The Flagger compatibility corpus (test/fixtures/flagger-compat/): every Canary file as Flagger users keep it is
// accepted by `checkRelease` — MetricTemplates/AlertProviders it references by name come from a fake cluster lookup
// (the real one is src/integrations/kubernetes/flagger-refs.ts, tested against the apiserver) — and compiles to
// what Flagger would run. Plus the front step's rules: other kinds skipped with notices, the default provider and
// the gatewayRefs inference, references found nowhere, unsupported providers still rejected by name, and the legacy
// profile unchanged.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  checkRelease,
  checkReleaseResolving,
  InvalidReleaseInput,
  releaseInputFor,
  type CheckedRelease,
  type ClusterLookup,
} from '../../../src/starter.js';
import type { FlaggerReference, ReferenceLookup } from '../../../src/domain/manifest/normalize.js';
import { validateCanaryBundle } from '../../../src/domain/manifest/validate.js';
import { legacyProfile } from '../../../src/domain/manifest/schema.js';
import { flaggerOnlyRouters } from '../../../src/domain/manifest/index.js';
import { loadFledgeConfig } from '../../../src/config.js';

const dir = fileURLToPath(new URL('../../fixtures/flagger-compat/', import.meta.url));
const read = (name: string, ns = 'test'): string =>
  readFileSync(`${dir}${name}`, 'utf8').replaceAll('{{NS}}', ns);
const corpus = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const images = { podinfod: 'ghcr.io/stefanprodan/podinfo:6.5.1' };

type Obj = { kind: string; metadata: { name: string; namespace: string }; spec: { query?: string } };

/** The cluster's MetricTemplates/AlertProviders (cluster/templates.yaml), as a lookup that records what it was asked. */
function fakeCluster(objects: Obj[] = clusterObjects()) {
  const asked: FlaggerReference[] = [];
  const lookup: ClusterLookup = () => async (refs) => {
    asked.push(...refs);
    return refs.map((r): ReferenceLookup => {
      const o = objects.find(
        (x) => x.kind === r.kind && x.metadata.name === r.name && x.metadata.namespace === r.namespace,
      );
      // As the apiserver returns it: with server-side fields the bundle must not carry.
      return o
        ? {
            ...r,
            outcome: 'found',
            object: { ...o, metadata: { ...o.metadata, uid: 'u-1', resourceVersion: '7' }, status: {} },
          }
        : { ...r, outcome: 'not-found' };
    });
  };
  return { lookup, asked };
}

function clusterObjects(ns = 'test'): Obj[] {
  return parseAllDocuments(read('cluster/templates.yaml', ns)).map((d) => d.toJS() as Obj);
}

async function check(name: string, extra: Partial<Parameters<typeof checkRelease>[0]> = {}) {
  const cluster = fakeCluster();
  const checked = await checkReleaseResolving({
    yaml: read(name),
    fileName: name,
    images,
    defaultProvider: undefined,
    lookup: cluster.lookup,
    ...extra,
  });
  return { checked, asked: cluster.asked };
}

const ctxOf = (c: CheckedRelease) => releaseInputFor(c, images, 'test').ctx;

describe('the Flagger compatibility corpus', () => {
  it('has a file for each shape of the table in its README', () => {
    const readme = readFileSync(`${dir}README.md`, 'utf8');
    for (const f of corpus) expect(readme, f).toContain(`\`${f}\``);
    expect(corpus.length).toBeGreaterThanOrEqual(16);
  });

  it.each(corpus)('%s is accepted as it is', async (name) => {
    let checked: CheckedRelease;
    try {
      ({ checked } = await check(name));
    } catch (e) {
      throw new Error(`${name}: ${e instanceof InvalidReleaseInput ? e.message : String(e)}`);
    }
    expect(checked.compiled.plan.target).toMatchObject({ namespace: 'test', name: 'podinfo' });
    // What the release records is a bundle on its own: it validates again without the cluster (fledge retry).
    const again = validateCanaryBundle(checked.bundle.documents);
    expect(again.ok, JSON.stringify(again)).toBe(true);
  });

  it('reads the referenced templates from the namespace Flagger looks in, and pins their queries into the plan', async () => {
    const { checked, asked } = await check('istio-templates-other-namespace.yaml');
    expect(asked).toEqual([
      { kind: 'MetricTemplate', namespace: 'flagger-system', name: 'error-rate' },
      { kind: 'MetricTemplate', namespace: 'flagger-system', name: 'latency' },
      { kind: 'AlertProvider', namespace: 'test', name: 'on-call' },
    ]);
    const ctx = ctxOf(checked);
    const shared = clusterObjects().find(
      (o) => o.metadata.namespace === 'flagger-system' && o.metadata.name === 'latency',
    );
    expect(ctx.templates.find((t) => t.name === 'latency')).toMatchObject({
      namespace: 'flagger-system',
      query: shared?.spec.query,
    });
    expect(ctx.alerts.map((a) => [a.name, a.severity, a.provider.channel])).toEqual([
      ['on-call Slack', 'error', 'on-call-alerts'],
      ['on-call Slack (all)', 'info', 'on-call-alerts'],
    ]);
    // Server fields and status are not carried into the bundle.
    const docs = checked.bundle.documents as Array<{ kind: string; metadata: object; status?: unknown }>;
    const fromCluster = docs.filter((d) => d.kind !== 'Canary');
    expect(fromCluster.length).toBe(3);
    for (const d of fromCluster) {
      expect(d.metadata).not.toHaveProperty('uid');
      expect(d).not.toHaveProperty('status');
    }
    expect(checked.notices?.map((n) => n.message)).toContain(
      'MetricTemplate `flagger-system/latency` read from the cluster (metrictemplates.flagger.app); pinned into this release',
    );
  });

  it('a later edit of a shared template does not change a release already compiled', async () => {
    const objects = clusterObjects();
    const cluster = fakeCluster(objects);
    const yaml = read('gatewayapi-canary.yaml');
    const first = await checkReleaseResolving({
      yaml,
      images,
      lookup: cluster.lookup,
      defaultProvider: undefined,
    });
    const input = releaseInputFor(first, images, 'ci');
    const before = JSON.stringify(input);
    // Someone edits the shared template in the cluster while the release runs.
    const shared = objects.find(
      (o) => o.metadata.namespace === 'flagger-system' && o.metadata.name === 'error-rate',
    );
    if (!shared) throw new Error('fixture without flagger-system/error-rate');
    const original = shared.spec.query;
    shared.spec.query = 'vector(100)';
    const second = await checkReleaseResolving({
      yaml,
      images,
      lookup: cluster.lookup,
      defaultProvider: undefined,
    });
    // The running release's input carries the query itself (the worker never reads the template again) …
    expect(JSON.stringify(input)).toBe(before);
    expect(input.ctx.templates.find((t) => t.name === 'error-rate')?.query).toBe(original);
    // … while a release started now gets the new one.
    expect(ctxOf(second).templates.find((t) => t.name === 'error-rate')?.query).toBe('vector(100)');
  });

  it('skips documents of other kinds with a notice naming each', async () => {
    const { checked } = await check('istio-other-kinds.yaml');
    const notes = (checked.notices ?? []).map((n) => `${n.line ?? '-'} ${n.path} ${n.message}`);
    expect(notes.filter((n) => n.includes('skipped'))).toEqual([
      '2 doc[0] skipped Deployment `podinfo` (apps/v1): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual',
      '30 doc[1] skipped HorizontalPodAutoscaler `podinfo` (autoscaling/v2): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual',
      '43 doc[2] skipped Service `podinfo-external` (v1): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual',
      '84 doc[4] skipped VirtualService `root` (networking.istio.io/v1beta1): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual',
    ]);
    expect((checked.bundle.documents as Array<{ kind: string }>).map((d) => d.kind)).toEqual(['Canary']);
  });

  it('an error in a file with skipped documents keeps its document index and line', () => {
    const yaml = read('istio-other-kinds.yaml').replace('stepWeight: 25', 'stepWeight: 75');
    try {
      checkRelease({ yaml, fileName: 'f.yaml', images, defaultProvider: undefined });
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidReleaseInput).message).toBe(
        'f.yaml:77:5 doc[3].spec.analysis.stepWeight: stepWeight (75) must be <= maxWeight (50)',
      );
    }
  });

  describe('the provider', () => {
    it('gatewayRefs without spec.provider and without a default: gatewayapi:v1, with a notice', async () => {
      const { checked } = await check('gatewayapi-canary.yaml');
      expect(checked.compiled.plan.provider).toBe('gatewayapi:v1');
      expect(checked.notices?.find((n) => n.path === 'spec.provider')?.message).toMatch(
        /^not set: `gatewayapi:v1` inferred from service.gatewayRefs/,
      );
      // Recorded in the documents, so a retry compiles the same router.
      expect((checked.bundle.documents[0] as { spec: { provider?: string } }).spec.provider).toBe(
        'gatewayapi:v1',
      );
    });

    it('the default provider (--provider / FLEDGE_DEFAULT_PROVIDER) applies when spec.provider is absent', async () => {
      const { checked } = await check('gatewayapi-blue-green.yaml', {
        defaultProvider: 'gatewayapi:v1',
        defaultProviderSource: '--provider',
      });
      expect(checked.compiled.plan.provider).toBe('gatewayapi:v1');
      expect(checked.notices?.find((n) => n.path === 'spec.provider')?.message).toBe(
        "not set: using the default provider `gatewayapi:v1` (--provider), as Flagger's -mesh-provider",
      );
      // An explicit spec.provider wins over the default.
      const explicit = await check('istio-blue-green.yaml', { defaultProvider: 'kubernetes' });
      expect(explicit.checked.compiled.plan.provider).toBe('istio');
    });

    it('without the key, checkRelease takes FLEDGE_DEFAULT_PROVIDER from the environment', () => {
      const before = process.env.FLEDGE_DEFAULT_PROVIDER;
      process.env.FLEDGE_DEFAULT_PROVIDER = 'gatewayapi:v1';
      try {
        const yaml = read('istio-session-affinity.yaml').replace(
          '    gateways:\n      - istio-system/istio-ingressgateway\n',
          '',
        );
        expect(() => checkRelease({ yaml, images })).toThrow(/gatewayRefs: missing required field/);
        process.env.FLEDGE_DEFAULT_PROVIDER = 'linkerd';
        expect(() => checkRelease({ yaml, images })).toThrow(
          'FLEDGE_DEFAULT_PROVIDER: unknown provider "linkerd"; supported: istio, gatewayapi:v1, kubernetes',
        );
      } finally {
        if (before === undefined) delete process.env.FLEDGE_DEFAULT_PROVIDER;
        else process.env.FLEDGE_DEFAULT_PROVIDER = before;
      }
    });

    it('FLEDGE_DEFAULT_PROVIDER in the worker configuration: a registered router, else the worker refuses to start', () => {
      const base = { TEMPORAL_ADDRESS: 'temporal:7233' };
      expect(
        loadFledgeConfig({ ...base, FLEDGE_DEFAULT_PROVIDER: 'gatewayapi:v1' }, { defaults: null })
          .defaultProvider,
      ).toBe('gatewayapi:v1');
      expect(loadFledgeConfig(base, { defaults: null }).defaultProvider).toBeUndefined();
      expect(() => loadFledgeConfig({ ...base, FLEDGE_DEFAULT_PROVIDER: 'smi' }, { defaults: null })).toThrow(
        'FLEDGE_DEFAULT_PROVIDER: unknown provider "smi"; supported: istio, gatewayapi:v1, kubernetes',
      );
    });

    it.each(flaggerOnlyRouters.filter((p) => p !== 'kubernetes'))(
      'provider %s is still rejected by name',
      async (provider) => {
        const yaml = read('istio-blue-green.yaml').replace('provider: istio', `provider: ${provider}`);
        await expect(
          checkReleaseResolving({ yaml, images, lookup: fakeCluster().lookup, defaultProvider: undefined }),
        ).rejects.toThrow(`provider \`${provider}\` is a Flagger router Fledge does not support yet`);
      },
    );
  });

  describe('references found nowhere', () => {
    it('name the reference and where Fledge looked', async () => {
      const cluster = fakeCluster([]);
      await expect(
        checkReleaseResolving({
          yaml: read('gatewayapi-canary.yaml'),
          images,
          lookup: cluster.lookup,
          defaultProvider: undefined,
        }),
      ).rejects.toThrow(
        'spec.analysis.metrics[0].templateRef.name: MetricTemplate `flagger-system/error-rate` not found: neither in the file nor in the cluster (looked for metrictemplates.flagger.app `error-rate` in namespace `flagger-system`)',
      );
    });

    it('without Kubernetes access the error says the cluster was not searched', async () => {
      await expect(
        checkReleaseResolving({
          yaml: read('istio-blue-green.yaml'),
          images,
          lookup: () => ({ unavailable: 'no Kubernetes access: no $KUBECONFIG' }),
          defaultProvider: undefined,
        }),
      ).rejects.toThrow(
        'MetricTemplate `test/error-rate` not found: not in the file, and the cluster was not searched (no Kubernetes access: no $KUBECONFIG); put it in the same file, or run where the cluster (metrictemplates.flagger.app `error-rate` in namespace `test`) can be read',
      );
    });

    it('a refused read is reported with its reason', async () => {
      const lookup: ClusterLookup = () => async (refs) =>
        refs.map((r) => ({ ...r, outcome: 'error' as const, reason: 'forbidden (HTTP 403)' }));
      await expect(
        checkReleaseResolving({
          yaml: read('istio-blue-green.yaml'),
          images,
          lookup,
          defaultProvider: undefined,
        }),
      ).rejects.toThrow(
        'not in the file, and reading metrictemplates.flagger.app `error-rate` in namespace `test` from the cluster failed: forbidden (HTTP 403)',
      );
    });

    it('the cluster is not asked when the file has everything', async () => {
      const cluster = fakeCluster();
      const yaml = `${read('istio-blue-green.yaml')}---\n${read('cluster/templates.yaml')}`;
      await checkReleaseResolving({ yaml, images, lookup: cluster.lookup, defaultProvider: undefined });
      expect(cluster.asked).toEqual([]);
    });
  });

  describe('what the drop-in fields compile to', () => {
    it('portDiscovery and delegation reach the routers and Services', async () => {
      const ctx = ctxOf((await check('istio-delegation.yaml')).checked);
      expect(ctx.service.options).toMatchObject({ portDiscovery: true, delegation: true });
      const plain = ctxOf((await check('istio-blue-green.yaml')).checked);
      expect(plain.service.options).not.toHaveProperty('portDiscovery');
      expect(plain.service.options).not.toHaveProperty('delegation');
      expect(plain.service.options).not.toHaveProperty('sessionAffinity');
    });

    it('sessionAffinity: Flagger cookies (Max-Age, attributes, the primary cookie lives one interval)', async () => {
      const istio = ctxOf((await check('istio-session-affinity.yaml')).checked).service.options
        .sessionAffinity;
      const token = istio?.canary.cookie.split('=')[1] ?? '';
      expect(token).toMatch(/^[0-9a-f]{8}$/);
      expect(istio).toEqual({
        canary: {
          cookie: `canary-flagger-cookie=${token}`,
          setCookie: `canary-flagger-cookie=${token}; Max-Age=21600`,
          match: `.*canary-flagger-cookie.*${token}.*`,
        },
        primary: {
          cookie: `primary-flagger-cookie=${token}`,
          setCookie: `primary-flagger-cookie=${token}; Max-Age=2`,
          match: `.*primary-flagger-cookie.*${token}.*`,
        },
        expire: `canary-flagger-cookie=${token}; Max-Age=-1`,
      });
      const gw = ctxOf((await check('gatewayapi-session-affinity.yaml')).checked).service.options
        .sessionAffinity;
      expect(gw?.canary.setCookie).toMatch(
        /^flagger-cookie=[0-9a-f]{8}; Max-Age=21600; HttpOnly; Path=\/; SameSite=Lax; Secure$/,
      );
      expect(gw).not.toHaveProperty('primary');
    });

    it("sessionAffinity: Flagger's rule on the cookie names; ignored (with a notice) without a weighted canary on istio or gatewayapi:v1", async () => {
      const same = read('istio-session-affinity.yaml').replace(
        'primary-flagger-cookie',
        'canary-flagger-cookie',
      );
      await expect(check2(same)).rejects.toThrow(
        "spec.analysis.sessionAffinity.primaryCookieName: can't use the same cookie name for both primary and canary",
      );
      const bg = read('istio-session-affinity.yaml').replace(
        'maxWeight: 50\n    stepWeight: 25',
        'iterations: 3',
      );
      const bgChecked = await check2(bg);
      expect(bgChecked.compiled.router).not.toHaveProperty('sessionAffinity');
      expect(bgChecked.notices?.find((n) => n.path === 'spec.analysis.sessionAffinity')?.message).toMatch(
        /^ignored with `iterations`/,
      );
      const k8s = read('kubernetes-blue-green.yaml').replace(
        'iterations: 3',
        'iterations: 3\n    sessionAffinity:\n      cookieName: c',
      );
      const k8sChecked = await check2(k8s);
      expect(k8sChecked.compiled.router).not.toHaveProperty('sessionAffinity');
      expect(k8sChecked.notices?.find((n) => n.path === 'spec.analysis.sessionAffinity')?.message).toBe(
        'ignored with provider kubernetes, as Flagger does (only its istio and gatewayapi:v1 routers write cookie routes)',
      );
    });

    it('delegation: without hosts or gateways; ignored (with a notice) by other routers', async () => {
      const withHosts = read('istio-delegation.yaml').replace(
        'delegation: true',
        'delegation: true\n    hosts: [a.example.com]',
      );
      await expect(check2(withHosts)).rejects.toThrow('spec.service.hosts: not used with `delegation: true`');
      const gw = read('gatewayapi-canary.yaml').replace(
        'portName: http',
        'portName: http\n    delegation: true',
      );
      expect((await check2(gw)).notices?.find((n) => n.path === 'spec.service.delegation')?.message).toBe(
        'ignored with provider gatewayapi:v1, as Flagger does (only its Istio router writes a delegate VirtualService)',
      );
    });

    it('revertOnDeletion is accepted and compiled', async () => {
      expect((await check('istio-revert-on-deletion.yaml')).checked.compiled.revertOnDeletion).toBe(true);
    });
  });

  it('the legacy profile (recorded histories) still rejects the drop-in fields with the old messages', () => {
    for (const [name, message] of [
      [
        'istio-delegation.yaml',
        'not supported yet by Fledge (only `port` is exposed on the generated services)',
      ],
      ['istio-session-affinity.yaml', 'not supported yet by Fledge (session affinity cookies)'],
      [
        'istio-revert-on-deletion.yaml',
        'not supported yet by Fledge (Fledge keeps no Canary object in the cluster whose deletion it could watch)',
      ],
    ] as const) {
      const docs = parseAllDocuments(read(name)).map((d) => d.toJS() as unknown);
      const result = validateCanaryBundle(docs, { profile: legacyProfile });
      expect(result.ok, name).toBe(false);
      if (!result.ok)
        expect(
          result.errors.map((e) => e.message),
          name,
        ).toContain(message);
    }
  });
});

function check2(yaml: string) {
  return checkReleaseResolving({ yaml, images, lookup: fakeCluster().lookup, defaultProvider: undefined });
}
