// Routes of the Flagger shapes the drop-in audit added, written by the real routers to the local stack's apiserver
// (Gateway API standard CRDs, Istio CRDs) from the corpus files as compiled by `checkRelease`, then read back from
// the apiserver: Gateway API `timeout`/`backendTimeout` as every rule's `timeouts`; Istio `appProtocol: TCP` as a
// weighted `tcp` route; `hosts: ["*"]` and `mesh` among the gateways as Flagger writes them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createGatewayApiRouter } from '../../src/integrations/traffic/gateway-api.js';
import { createIstioRouter } from '../../src/integrations/traffic/istio.js';
import { createRequestBudget } from '../../src/integrations/kubernetes/budget.js';
import type { RouterTarget } from '../../src/integrations/traffic/router.js';
import { routerTarget } from '../../src/activities/release.js';
import type { ReleaseContext } from '../../src/domain/context.js';
import { checkRelease, releaseInputFor } from '../../src/starter.js';
import { kube, withNamespace, type KubeClients } from '../support/stack.js';

const dir = fileURLToPath(new URL('../fixtures/flagger-compat/', import.meta.url));
const images = { podinfod: 'ghcr.io/stefanprodan/podinfo:6.5.1' };

let c: KubeClients;
let ns: { name: string; cleanup: () => Promise<void> };
const budget = createRequestBudget({ qps: 1000, burst: 1000, max429Retries: 0 });

beforeAll(async () => {
  c = kube();
  ns = await withNamespace(c, 'it-fc-routes');
});
afterAll(async () => {
  await ns?.cleanup();
});

/** A corpus file in the test namespace, with its cluster templates in the file, as the worker's RouterTarget. */
function target(file: string, edit: (yaml: string) => string = (y) => y): RouterTarget {
  const text = (name: string) =>
    readFileSync(`${dir}${name}`, 'utf8').replaceAll('{{NS}}', ns.name).replaceAll('flagger-system', ns.name);
  const templates = parseAllDocuments(text('cluster/templates.yaml'))
    .map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } })
    .filter((d) => d.kind === 'MetricTemplate');
  // The shared and per-namespace templates collapse into one namespace here: keep one of each name.
  const unique = templates.filter(
    (t, i) => templates.findIndex((u) => u.metadata.name === t.metadata.name) === i,
  );
  const yaml = `${edit(text(file))}${unique.map((t) => `---\n${JSON.stringify(t)}\n`).join('')}`;
  const checked = checkRelease({ yaml, images, defaultProvider: undefined });
  return routerTarget(releaseInputFor(checked, images, 'it').ctx as ReleaseContext);
}

const get = async <T>(group: string, plural: string, name: string): Promise<T> =>
  (await c.custom.getNamespacedCustomObject({
    group,
    version: 'v1',
    plural,
    namespace: ns.name,
    name,
  })) as T;

describe('routes of the audited Flagger shapes on the real apiserver', () => {
  it('Gateway API timeout + backendTimeout: timeouts.request / backendRequest on every rule, as stored', async () => {
    const router = createGatewayApiRouter(c.custom, budget);
    const t = target('gatewayapi-timeouts.yaml');
    await router.reconcile(t);
    expect(
      await router.setRoutes(t, { primaryWeight: 75, canaryWeight: 25, mirrorPercent: null, abMatch: false }),
    ).toEqual({ primaryWeight: 75, canaryWeight: 25, mirrorPercent: null, abMatch: false });
    // With an A/B rule too (the A/B variant of the same service block).
    const ab = { ...t, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] };
    await router.setRoutes(ab, { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: true });
    const route = await get<{ spec: { rules: Array<{ timeouts?: unknown }> } }>(
      'gateway.networking.k8s.io',
      'httproutes',
      'podinfo',
    );
    expect(route.spec.rules).toHaveLength(2);
    for (const rule of route.spec.rules)
      expect(rule.timeouts).toEqual({ request: '15s', backendRequest: '5s' });
  });

  it('Istio appProtocol TCP: one weighted tcp route with the L4 port match, no http route; hosts ["*"]', async () => {
    const router = createIstioRouter(c.custom, budget);
    const t = target('istio-tcp.yaml', (y) =>
      y
        .replace('name: podinfo\n  namespace', 'name: tcpapp\n  namespace')
        .replace(/name: podinfo$/m, 'name: tcpapp'),
    );
    await router.reconcile(t);
    expect(
      await router.setRoutes(t, { primaryWeight: 60, canaryWeight: 40, mirrorPercent: null, abMatch: false }),
    ).toEqual({ primaryWeight: 60, canaryWeight: 40, mirrorPercent: null, abMatch: false });
    expect(await router.getRoutes(t)).toMatchObject({ primaryWeight: 60, canaryWeight: 40 });
    const vs = await get<{
      spec: { hosts: string[]; gateways: string[]; http?: unknown; tcp: Array<Record<string, unknown>> };
    }>('networking.istio.io', 'virtualservices', 'tcpapp');
    expect(vs.spec.http).toBeUndefined();
    expect(vs.spec.hosts).toEqual(['*']);
    expect(vs.spec.gateways).toEqual(['istio-system/tcp-gateway']);
    expect(vs.spec.tcp).toEqual([
      {
        match: [{ port: 9898 }],
        route: [
          { destination: { host: 'tcpapp-primary', port: { number: 9898 } }, weight: 60 },
          { destination: { host: 'tcpapp-canary', port: { number: 9898 } }, weight: 40 },
        ],
      },
    ]);
  });

  it('Istio gateways with mesh, the apex among the hosts: each host once, the gateways as written', async () => {
    const router = createIstioRouter(c.custom, budget);
    const t = target('istio-iterations-extra-fields.yaml', (y) =>
      y
        .replace('name: podinfo\n  namespace', 'name: bgapp\n  namespace')
        .replace(/name: podinfo$/m, 'name: bgapp')
        .replace('      - podinfo\n', '      - bgapp\n'),
    );
    await router.reconcile(t);
    await router.setRoutes(t, { primaryWeight: 100, canaryWeight: 0, mirrorPercent: 100, abMatch: false });
    const vs = await get<{
      spec: { hosts: string[]; gateways: string[]; http: Array<{ mirror?: unknown }> };
    }>('networking.istio.io', 'virtualservices', 'bgapp');
    expect(vs.spec.hosts).toEqual(['bgapp', 'app.example.com']);
    expect(vs.spec.gateways).toEqual(['istio-system/public-gateway', 'mesh']);
    // Blue/green mirroring, without the ignored session-affinity cookie rules.
    expect(vs.spec.http).toHaveLength(1);
    expect(vs.spec.http[0]?.mirror).toEqual({ host: 'bgapp-canary', port: { number: 9898 } });
  });
});
