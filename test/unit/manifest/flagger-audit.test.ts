// The Flagger drop-in audit (issue 14): shapes of Flagger's own e2e tests and tutorials that Fledge used to refuse.
// Gateway API timeouts on every HTTPRoute rule; Istio `appProtocol: TCP` as a weighted `tcp` route; the
// VirtualService hosts as Flagger writes them (`*`, the apex once); fields Flagger ignores accepted with notices;
// those notices in `validate -o json` and `start -o json`.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  checkReleaseResolving,
  releaseInputFor,
  type CheckedRelease,
  type ClusterLookup,
} from '../../../src/starter.js';
import type { ReferenceLookup } from '../../../src/domain/manifest/normalize.js';
import { parseReleaseYaml } from '../../../src/domain/manifest/index.js';
import { validateCanaryBundle } from '../../../src/domain/manifest/validate.js';
import { legacyProfile } from '../../../src/domain/manifest/schema.js';
import { buildHttpRoute, parseHttpRoute } from '../../../src/integrations/traffic/gateway-api/router.js';
import { gatewayDurationMs } from '../../../src/integrations/traffic/gateway-api/manifest.js';
import {
  buildVirtualService,
  parseVirtualService,
  virtualServiceHosts,
} from '../../../src/integrations/traffic/istio/router.js';
import type { RouteWeights, RouterTarget } from '../../../src/integrations/traffic/router.js';
import type { ReleaseContext } from '../../../src/domain/context.js';
import { routerTarget } from '../../../src/activities/release.js';
import { runCli } from '../../../src/cli/program.js';
import { jsonNotices, startJson } from '../../../src/cli/start.js';

const dir = fileURLToPath(new URL('../../fixtures/flagger-compat/', import.meta.url));
const read = (name: string): string => readFileSync(`${dir}${name}`, 'utf8').replaceAll('{{NS}}', 'test');
const images = { podinfod: 'ghcr.io/stefanprodan/podinfo:6.5.1' };

/** The corpus' cluster objects (cluster/templates.yaml) as the lookup finds them. */
const lookup: ClusterLookup = () => async (refs) => {
  const objects = parseAllDocuments(read('cluster/templates.yaml')).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } },
  );
  return refs.map((r): ReferenceLookup => {
    const o = objects.find(
      (x) => x.kind === r.kind && x.metadata.name === r.name && x.metadata.namespace === r.namespace,
    );
    return o ? { ...r, outcome: 'found', object: o } : { ...r, outcome: 'not-found' };
  });
};

const check = (yaml: string): Promise<CheckedRelease> =>
  checkReleaseResolving({ yaml, images, lookup, defaultProvider: undefined });

/** The RouterTarget the worker builds from the release context. */
function targetOf(checked: CheckedRelease): RouterTarget {
  return routerTarget(releaseInputFor(checked, images, 'test').ctx as ReleaseContext);
}

const weights = (canaryWeight: number, extra: Partial<RouteWeights> = {}): RouteWeights => ({
  primaryWeight: 100 - canaryWeight,
  canaryWeight,
  mirrorPercent: null,
  abMatch: false,
  ...extra,
});

const noticeAt = (c: CheckedRelease, path: string) => c.notices?.find((n) => n.path === path)?.message;

type Route = { spec: { rules: Array<{ timeouts?: unknown; backendRefs: unknown[] }> } };

describe('Gateway API: service.timeout and service.backendTimeout (Flagger makeHTTPRouteTimeouts)', () => {
  it('go into timeouts.request / backendRequest of every rule the HTTPRoute has', async () => {
    const checked = await check(read('gatewayapi-timeouts.yaml'));
    expect(checked.compiled.router.service).toMatchObject({ timeout: '15s', backendTimeout: '5s' });
    const t = targetOf(checked);
    const both = { request: '15s', backendRequest: '5s' };
    const plain = buildHttpRoute(t, weights(25)) as Route;
    expect(plain.spec.rules.map((r) => r.timeouts)).toEqual([both]);
    // A/B rule and weighted rule alike.
    const ab = buildHttpRoute(
      { ...t, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] },
      weights(0, { abMatch: true }),
    ) as Route;
    expect(ab.spec.rules.map((r) => r.timeouts)).toEqual([both, both]);
    expect(parseHttpRoute(t, plain as Parameters<typeof parseHttpRoute>[1])).toEqual(weights(25));
    // Only what is set is written.
    const onlyBackend = await check(read('gatewayapi-timeouts.yaml').replace('    timeout: 15s\n', ''));
    expect((buildHttpRoute(targetOf(onlyBackend), weights(0)) as Route).spec.rules[0]?.timeouts).toEqual({
      backendRequest: '5s',
    });
  });

  it('are Gateway API durations, the backend one no longer than the request one (the CRD would refuse the route)', async () => {
    expect(gatewayDurationMs('1m30s')).toBe(90_000);
    expect(gatewayDurationMs('500ms')).toBe(500);
    expect(gatewayDurationMs('1h')).toBe(3_600_000);
    expect(gatewayDurationMs('1.5s')).toBeUndefined();
    expect(gatewayDurationMs('100us')).toBeUndefined();
    await expect(
      check(read('gatewayapi-timeouts.yaml').replace('timeout: 15s', 'timeout: 1.5s')),
    ).rejects.toThrow('spec.service.timeout: "1.5s" is not a Gateway API duration');
    await expect(
      check(read('gatewayapi-timeouts.yaml').replace('backendTimeout: 5s', 'backendTimeout: 1m')),
    ).rejects.toThrow('spec.service.backendTimeout: must not be longer than `timeout` (15s)');
  });

  it('backendTimeout with another provider is ignored with a notice, as Flagger ignores it', async () => {
    const yaml = read('istio-session-affinity.yaml').replace(
      '    port: 80\n',
      '    port: 80\n    backendTimeout: 2s\n',
    );
    const checked = await check(yaml);
    expect(noticeAt(checked, 'spec.service.backendTimeout')).toBe(
      'ignored with provider istio, as Flagger does (only its Gateway API router writes it, as HTTPRoute timeouts.backendRequest)',
    );
    expect(buildVirtualService(targetOf(checked), weights(0))).not.toMatchObject({
      spec: { http: [{ timeout: '2s' }] },
    });
  });

  it('corsPolicy is accepted with a notice and not written (no CORS filter in the standard channel)', async () => {
    const checked = await check(read('gatewayapi-cors-policy.yaml'));
    expect(noticeAt(checked, 'spec.service.corsPolicy')).toMatch(
      /^not written with provider gatewayapi:v1: the HTTPRoute CORS filter is not in the Gateway API standard channel/,
    );
    expect(JSON.stringify(buildHttpRoute(targetOf(checked), weights(0)))).not.toMatch(
      /"CORS"|"cors"|allowOrigin|allowMethods/,
    );
  });
});

type VS = {
  spec: {
    hosts?: string[];
    gateways?: string[];
    http?: unknown[];
    tcp?: Array<{ match?: unknown[]; route: Array<{ destination: { host: string }; weight: number }> }>;
  };
};

describe('Istio: appProtocol TCP (Flagger isTcp)', () => {
  it('writes one weighted tcp route (L4 port match) and no http route, and reads its weights back', async () => {
    const checked = await check(read('istio-tcp.yaml'));
    const t = targetOf(checked);
    expect(t.options?.tcp).toBe(true);
    const vs = buildVirtualService(t, weights(40)) as VS;
    expect(vs.spec.http).toBeUndefined();
    expect(vs.spec.hosts).toEqual(['*']);
    expect(vs.spec.gateways).toEqual(['istio-system/tcp-gateway']);
    expect(vs.spec.tcp).toEqual([
      {
        match: [{ port: 9898 }],
        route: [
          { destination: { host: 'podinfo-primary', port: { number: 9898 } }, weight: 60 },
          { destination: { host: 'podinfo-canary', port: { number: 9898 } }, weight: 40 },
        ],
      },
    ]);
    expect(parseVirtualService(t, vs as Parameters<typeof parseVirtualService>[1])).toEqual(weights(40));
    // Mirroring and cookies cannot ride a TCP route: not written even if asked.
    const asked = buildVirtualService(t, weights(0, { mirrorPercent: 50 })) as VS;
    expect(JSON.stringify(asked)).not.toMatch(/mirror/);
    expect(noticeAt(checked, 'spec.service.timeout')).toMatch(/^ignored for a TCP route/);
  });

  it('blue/green mirroring and session affinity are ignored with notices; A/B testing is refused', async () => {
    const bg = read('istio-tcp.yaml').replace(
      '    maxWeight: 60\n    stepWeight: 20\n',
      '    iterations: 3\n    mirror: true\n    sessionAffinity:\n      cookieName: c\n',
    );
    const checked = await check(bg);
    expect(checked.compiled.plan.strategy).toMatchObject({ kind: 'blue-green', mirror: false });
    expect(checked.compiled.router).not.toHaveProperty('sessionAffinity');
    expect(noticeAt(checked, 'spec.analysis.mirror')).toMatch(/^ignored for a TCP route/);
    const ab = read('istio-tcp.yaml').replace(
      '    maxWeight: 60\n    stepWeight: 20\n',
      '    iterations: 3\n    match:\n      - headers:\n          x-canary:\n            exact: insider\n',
    );
    await expect(check(ab)).rejects.toThrow('spec.analysis.match: A/B testing needs HTTP');
    // Lower case too, as Flagger's strings.ToLower.
    const lower = await check(read('istio-tcp.yaml').replace('    appProtocol: TCP', '    appProtocol: tcp'));
    expect(targetOf(lower).options?.tcp).toBe(true);
    // An HTTP appProtocol keeps the HTTP route.
    const http = await check(read('istio-tcp.yaml').replace('    appProtocol: TCP', '    appProtocol: http'));
    expect((buildVirtualService(targetOf(http), weights(0)) as VS).spec.tcp).toBeUndefined();
  });
});

describe('Istio: VirtualService hosts as Flagger writes them', () => {
  const t = (hosts: string[]): RouterTarget => ({ namespace: 'n', service: 'podinfo', port: 80, hosts });
  it('adds the apex Service unless a host is it or `*`, each host once', () => {
    expect(virtualServiceHosts(t(['app.example.com']))).toEqual(['podinfo', 'app.example.com']);
    expect(virtualServiceHosts(t(['*']))).toEqual(['*']);
    expect(virtualServiceHosts(t(['app.example.com', 'podinfo', 'app.example.com']))).toEqual([
      'podinfo',
      'app.example.com',
    ]);
  });

  it('gateways with `mesh` and leftover weighted-canary fields next to iterations: accepted, routed as blue/green', async () => {
    const checked = await check(read('istio-iterations-extra-fields.yaml'));
    expect(checked.compiled.plan.strategy).toMatchObject({ kind: 'blue-green', iterations: 3, mirror: true });
    expect(checked.compiled.router).not.toHaveProperty('sessionAffinity');
    for (const path of [
      'spec.analysis.stepWeight',
      'spec.analysis.maxWeight',
      'spec.analysis.sessionAffinity',
    ])
      expect(noticeAt(checked, path), path).toMatch(/^ignored with `iterations`/);
    const vs = buildVirtualService(targetOf(checked), weights(0, { mirrorPercent: 100 })) as VS;
    expect(vs.spec.gateways).toEqual(['istio-system/public-gateway', 'mesh']);
    expect(vs.spec.hosts).toEqual(['podinfo', 'app.example.com']);
    // The legacy profile (recorded histories) still refuses the leftovers.
    const legacy = validateCanaryBundle(
      parseAllDocuments(read('istio-iterations-extra-fields.yaml')).map((d) => d.toJS() as unknown),
      { profile: legacyProfile },
    );
    expect(legacy.ok).toBe(false);
  });
});

describe('notices in -o json', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('validate -o json: a `notices` array with file, path, line, column and message', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fledge-audit-'));
    const path = join(tmp, 'canary.yaml');
    // Templates in the file: nothing to read from a cluster.
    writeFileSync(
      path,
      `${read('istio-iterations-extra-fields.yaml')}---\n${read('cluster/templates.yaml')}`,
    );
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const code = await runCli(['node', 'fledge', 'validate', '-f', path, '-o', 'json', '--no-cluster']);
    vi.restoreAllMocks();
    expect(code, out).toBe(0);
    const parsed = JSON.parse(out) as {
      plan: { strategy: { kind: string } };
      notices: Array<{ file: string; path: string; line?: number; column?: number; message: string }>;
    };
    expect(parsed.plan.strategy.kind).toBe('blue-green');
    const { result } = parseReleaseYaml(readFileSync(path, 'utf8'));
    expect(result.ok).toBe(true);
    expect(parsed.notices).toContainEqual({
      file: path,
      path: 'doc[0].spec.analysis.stepWeight',
      line: 31,
      column: 5,
      message:
        'ignored with `iterations`, as Flagger does: blue/green runs a number of iterations, not weight steps',
    });
    expect(parsed.notices.filter((n) => n.path.startsWith('doc[0].')).map((n) => n.path)).toEqual([
      'doc[0].spec.analysis.maxWeight',
      'doc[0].spec.analysis.stepWeight',
      'doc[0].spec.analysis.sessionAffinity',
    ]);
    // The file's templates this Canary (built-in checks only) does not use are skipped, each named.
    expect(parsed.notices.filter((n) => n.message.startsWith('skipped MetricTemplate')).length).toBe(4);
  });

  it('start -o json carries the same notices beside the submission (and the result with --wait)', async () => {
    const checked = await check(read('gatewayapi-cors-policy.yaml'));
    const sub = { workflowId: 'fledge/test/podinfo/6.5.1', disposition: 'started', link: 'http://ui' };
    const json = startJson(sub, checked, 'canary.yaml');
    expect(json).toMatchObject(sub);
    expect(json.notices).toEqual(jsonNotices(checked, 'canary.yaml'));
    expect(json.notices.map((n) => n.path)).toEqual(['', 'spec.service.corsPolicy']);
    expect(json.notices[1]).toMatchObject({ file: 'canary.yaml', line: 22, column: 5 });
    expect(json).not.toHaveProperty('result');
  });
});

describe('MetricTemplates and AlertProviders the Canary does not reference', () => {
  const cloudwatch = `---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: cloudwatch-error-rate
  namespace: test
spec:
  provider:
    type: cloudwatch
    region: eu-west-1
  query: '[{"Id": "e1", "Expression": "m1 / m2"}]'
`;
  it('are skipped with a notice (whatever their provider); referenced, an unsupported provider is an error by name', async () => {
    const yaml = `${read('gatewayapi-cors-policy.yaml')}${cloudwatch}`;
    const checked = await check(yaml);
    expect(checked.notices?.find((n) => n.path === 'doc[1]')?.message).toBe(
      'skipped MetricTemplate `test/cloudwatch-error-rate`: the Canary does not reference it (Flagger reads a MetricTemplate or AlertProvider only when a metric or alert names it)',
    );
    expect(checked.bundle.documents.map((d) => (d as { kind: string }).kind)).toEqual([
      'Canary',
      'MetricTemplate', // flagger-system/latency, from the cluster
    ]);
    const referencing = yaml.replace(
      '        templateRef:\n          name: latency\n          namespace: flagger-system',
      '        templateRef:\n          name: cloudwatch-error-rate',
    );
    await expect(check(referencing)).rejects.toThrow(
      'doc[1].spec.provider.type: metric provider `cloudwatch` is not supported yet by Fledge (supported: prometheus, datadog)',
    );
  });
});

describe('the legacy in-workflow path (recorded histories) compiles as before', () => {
  it('no TCP route and the mirror kept for appProtocol TCP', async () => {
    const { compileRelease } = await import('../../../src/domain/manifest/compile.js');
    const yaml = read('istio-tcp.yaml').replace(
      '    maxWeight: 60\n    stepWeight: 20\n',
      '    iterations: 3\n    mirror: true\n',
    );
    const { bundle } = await check(yaml);
    const parsed = validateCanaryBundle(bundle.documents);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const legacy = compileRelease(parsed.value, images, { legacy: true });
    expect(legacy.router.service).not.toHaveProperty('tcp');
    expect(legacy.plan.strategy).toMatchObject({ kind: 'blue-green', mirror: true });
    const current = compileRelease(parsed.value, images);
    expect(current.router.service.tcp).toBe(true);
    expect(current.plan.strategy).toMatchObject({ kind: 'blue-green', mirror: false });
  });
});
