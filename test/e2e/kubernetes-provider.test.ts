// End to end with `provider: kubernetes` (Flagger's "Kubernetes Blue/Green": no mesh, Services only) on the real
// local stack: blue/green iterations analysed by a Datadog MetricTemplate — the provider added through the metrics
// registry — against the fake Datadog API running in this process (keys from the worker's Secret env). One release
// is promoted, one rolled back; each ends with the end-state oracle, which for this provider expects the Services
// and no VirtualService/HTTPRoute.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseResult } from '../../src/domain/result.js';
import { submitRelease } from '../../src/starter.js';
import { startFakeDatadog, type RunningFakeDatadog } from '../../src/dev/fake-datadog/server.js';
import { FakeDatadogClient } from '../../src/dev/fake-datadog/client.js';
import { deploymentState, endState, startE2E, targetNamespace, type E2E } from './support.js';
import { stack } from '../support/stack.js';

let e: E2E;
let dd: RunningFakeDatadog;
let fake: FakeDatadogClient;
const apiKey = 'dd-api-e2e-kubernetes';
const appKey = 'dd-app-e2e-kubernetes';

beforeAll(async () => {
  dd = await startFakeDatadog({ port: 0, apiKeys: [apiKey], applicationKeys: [appKey] });
  fake = new FakeDatadogClient(dd.url);
  e = await startE2E('k8s-provider');
});
afterAll(async () => {
  await e?.stop();
  await dd?.close();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';

function yaml(ns: string): string {
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: ${ns}
spec:
  provider: kubernetes
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  progressDeadlineSeconds: 60
  service:
    port: 9898
  analysis:
    interval: 2s
    threshold: 2
    iterations: 3
    metrics:
      - name: error-rate
        templateRef:
          name: dd-error-rate
        thresholdRange:
          max: 1
        interval: 1m
    webhooks:
      - name: smoke-test
        type: pre-rollout
        url: ${stack().urls.webhook}/acceptance
        timeout: 5s
        metadata:
          cmd: "curl -sd 'anon' http://podinfo-canary.${ns}:9898/token | grep token"
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: dd-error-rate
  namespace: ${ns}
spec:
  provider:
    type: datadog
    address: ${dd.url}
    secretRef:
      name: datadog
  query: avg:trace.http.request.errors{kube_namespace:{{ namespace }},kube_deployment:{{ target }}}.as_rate()
`;
}

async function release(ns: string, image: string, errorRate: number) {
  // The worker's Secret `datadog` of the template's namespace (FLEDGE_SECRET_<NS>__<NAME>__<KEY>).
  const prefix = `FLEDGE_SECRET_${ns.toUpperCase().replace(/[^A-Z0-9]/g, '_')}__DATADOG__`;
  process.env[`${prefix}DATADOG_API_KEY`] = apiKey;
  process.env[`${prefix}DATADOG_APPLICATION_KEY`] = appKey;
  await fake.setSeries({
    query: `avg:trace.http.request.errors{kube_namespace:${ns},kube_deployment:podinfo}.as_rate()`,
    series: [{ values: [errorRate, errorRate] }],
  });
  const text = yaml(ns);
  const oracle = await endState(e, text);
  const sub = await submitRelease(e.client, e.cfg, { yaml: text, images: { app: image }, initiator: 'e2e' });
  const result = (await e.client.workflow.getHandle(sub.workflowId).result()) as ReleaseResult;
  await oracle.verify(result, { app: image });
  return result;
}

async function apexSelector(ns: string): Promise<Record<string, string> | undefined> {
  const svc = await e.kube.core.readNamespacedService({ namespace: ns, name: 'podinfo' });
  return svc.spec?.selector;
}

async function noRoutes(ns: string): Promise<void> {
  for (const [group, plural] of [
    ['networking.istio.io', 'virtualservices'],
    ['gateway.networking.k8s.io', 'httproutes'],
  ] as const) {
    const list = (await e.kube.custom.listNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural,
    })) as { items: unknown[] };
    expect(list.items, `${plural} in ${ns}`).toEqual([]);
  }
}

describe('provider: kubernetes (blue/green, Services only)', () => {
  it('promotes after the iterations pass the Datadog check; the apex selects the primary', async () => {
    const ns = await targetNamespace(e, 'e2e-k8s-good', v1);
    try {
      const result = await release(ns.name, 'ghcr.io/stefanprodan/podinfo:6.5.1', 0.2);
      expect(result.outcome).toBe('Promoted');
      expect(result.failedChecks).toBe(0);
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({
        image: 'ghcr.io/stefanprodan/podinfo:6.5.1',
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      expect(await apexSelector(ns.name)).toEqual({ app: 'podinfo-primary' });
      await noRoutes(ns.name);
      // Datadog was asked with the worker's keys, for this namespace's rendered query.
      const asked = (await fake.requests()).filter((r) =>
        r.params.query?.includes(`kube_namespace:${ns.name}`),
      );
      expect(asked.length).toBeGreaterThanOrEqual(3);
      expect(
        asked.every((r) => r.apiKey === 'valid' && r.applicationKey === 'valid' && r.status === 200),
      ).toBe(true);
    } finally {
      await ns.cleanup();
    }
  });

  it('rolls back when the Datadog check breaches its threshold; the primary keeps the old version', async () => {
    const ns = await targetNamespace(e, 'e2e-k8s-bad', v1);
    try {
      const result = await release(ns.name, 'ghcr.io/stefanprodan/podinfo:6.5.1-bad', 7.5);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason.code).toBe('failed-checks-threshold');
      expect(result.failingCheck).toMatchObject({ kind: 'metric', name: 'error-rate', value: 7.5 });
      expect(result.failedChecks).toBe(2);
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      expect(await apexSelector(ns.name)).toEqual({ app: 'podinfo-primary' });
      await noRoutes(ns.name);
    } finally {
      await ns.cleanup();
    }
  });
});
