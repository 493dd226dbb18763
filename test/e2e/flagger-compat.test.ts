// The Flagger compatibility corpus end to end on the local stack: each shape the stack can run — Istio and Gateway
// API canaries, A/B, blue/green mirroring, session affinity, delegation, portDiscovery, MetricTemplates and an
// AlertProvider kept as cluster objects (in the Canary's namespace and in a shared one), Canaries without
// spec.provider — is released from its file as it is (only namespaces, the loadtester address and the analysis
// pace adapted to the stack), promoted with a good version and rolled back with a bad one, each ending with the end-state oracle. Shapes
// run concurrently, each in its own namespace. Not here: blue/green without mirroring (the simulator sends the
// canary no traffic; the loadtester would), files with closed loadtester gates, provider kubernetes (its own e2e,
// kubernetes-provider.test.ts), Istio TCP routes (the simulator routes HTTP only; the routes are checked on the
// apiserver by test/integration/flagger-compat-routes.test.ts) — the unit corpus test accepts all of them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { ReleaseResult } from '../../src/domain/result.js';
import { submitRelease } from '../../src/starter.js';
import { createFlaggerRefLookup } from '../../src/integrations/kubernetes/flagger-refs.js';
import { mergePatchOptions } from '../../src/integrations/kubernetes/client.js';
import { deployment, stack, withNamespace } from '../support/stack.js';
import { endState, startE2E, type E2E } from './support.js';

let e: E2E;
beforeAll(async () => {
  e = await startE2E('flagger-compat');
});
afterAll(async () => {
  await e?.stop();
});

const dir = fileURLToPath(new URL('../fixtures/flagger-compat/', import.meta.url));
const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';

/** A corpus file for namespace `ns` (shared templates in `shared`), the loadtester being the stack's webhook service. */
function adapt(file: string, ns: string, shared: string): string {
  return (
    readFileSync(`${dir}${file}`, 'utf8')
      .replaceAll('{{NS}}', ns)
      .replaceAll('flagger-system', shared)
      .replace(/http:\/\/flagger-loadtester\.[a-z0-9-]+\//g, `${stack().urls.webhook}/`)
      .replace(/^ {4}address: .*\n/gm, '') // the worker's Prometheus (the stack's)
      // Metric windows of 10s (the files' 1m/30s would still hold the previous release's samples of the same workload
      // when the next one starts a few seconds later).
      .replace(/^( {8}interval: )\S+$/gm, '$110s')
      // Analysis every 4s (the other e2e tests' pace): enough simulated requests per tick for the bad version's
      // 20 % errors to show under load.
      .replace(/^( {4}interval: )2s$/gm, '$14s')
  );
}

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace: string } };

async function createClusterObjects(ns: string, shared: string): Promise<void> {
  for (const d of parseAllDocuments(adapt('cluster/templates.yaml', ns, shared))) {
    const doc = d.toJS() as Doc;
    await e.kube.custom.createNamespacedCustomObject({
      group: 'flagger.app',
      version: 'v1beta1',
      namespace: doc.metadata.namespace,
      plural: doc.kind === 'MetricTemplate' ? 'metrictemplates' : 'alertproviders',
      body: doc,
    });
  }
}

/** The target `podinfo` with more container ports than the Service's (portDiscovery shapes expose them). */
async function createTarget(ns: string): Promise<void> {
  const d = deployment('podinfo', ns, v1, { app: 'podinfo' }, 2);
  const c = d.spec?.template.spec?.containers[0];
  if (c)
    c.ports = [
      { name: 'http', containerPort: 9898 },
      { name: 'http-metrics', containerPort: 9797 },
      { containerPort: 9999 },
    ];
  await e.kube.apps.createNamespacedDeployment({ namespace: ns, body: d });
}

async function release(yaml: string, image: string, during?: () => Promise<void>): Promise<ReleaseResult> {
  const images = { app: image };
  const oracle = await endState(e, yaml);
  const sub = await submitRelease(e.client, e.cfg, {
    yaml,
    images,
    initiator: 'e2e',
    lookup: () => createFlaggerRefLookup(e.kube.kc),
  });
  await during?.();
  const result = (await e.client.workflow.getHandle(sub.workflowId).result()) as ReleaseResult;
  await oracle.verify(result, images);
  return result;
}

const shapes = [
  'istio-canary.yaml',
  'istio-templates-other-namespace.yaml',
  'istio-ab-headers-cookies.yaml',
  'istio-blue-green-mirror.yaml',
  'istio-session-affinity.yaml',
  'istio-delegation.yaml',
  'gatewayapi-canary.yaml',
  'gatewayapi-ab.yaml',
  'gatewayapi-blue-green-mirror.yaml',
  'gatewayapi-session-affinity.yaml',
  'gatewayapi-timeouts.yaml',
  'istio-iterations-extra-fields.yaml',
];

describe.concurrent('Flagger Canaries as they are, released end to end', () => {
  it.each(shapes)('%s: promoted, then a bad version rolled back', { timeout: 600_000 }, async (file) => {
    const short = file
      .replace(/\.yaml$/, '')
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 30);
    const ns = await withNamespace(e.kube, `e2e-fc-${short}`);
    const shared = await withNamespace(e.kube, 'e2e-fc-shared');
    try {
      await createTarget(ns.name);
      await createClusterObjects(ns.name, shared.name);
      const yaml = adapt(file, ns.name, shared.name);
      // While the good version runs, the shared templates change in the cluster: the release keeps what it was
      // started with (the templates are pinned into its plan), so a template that would now fail does not matter.
      const setQueries = async (query: (name: string) => string) => {
        for (const name of ['error-rate', 'latency'])
          await e.kube.custom.patchNamespacedCustomObject(
            {
              group: 'flagger.app',
              version: 'v1beta1',
              namespace: shared.name,
              plural: 'metrictemplates',
              name,
              body: { spec: { query: query(name) } },
            },
            mergePatchOptions,
          );
      };
      const good = await release(yaml, 'ghcr.io/stefanprodan/podinfo:6.5.1', () =>
        setQueries(() => 'vector(1000)'),
      );
      expect(good.outcome, `${file}: ${good.reason.message}`).toBe('Promoted');
      // Back as they were for the next release (which reads them anew).
      const original = Object.fromEntries(
        parseAllDocuments(adapt('cluster/templates.yaml', ns.name, shared.name))
          .map((d) => d.toJS() as Doc & { spec: { query?: string } })
          .filter((d) => d.metadata.namespace === shared.name)
          .map((d) => [d.metadata.name, d.spec.query ?? '']),
      );
      await setQueries((name) => original[name] ?? '');
      const bad = await release(yaml, 'ghcr.io/stefanprodan/podinfo:6.5.2-bad');
      expect(bad.outcome, `${file}: ${bad.reason.message}`).toBe('RolledBack');
    } finally {
      await ns.cleanup();
      await shared.cleanup();
    }
  });
});
