// End-to-end releases of targets shaped as production ones are, each ending with the end-state oracle: a Gateway
// API HTTPRoute target with 3 replicas, a surge-only rolling update, probes, resources and annotations, and an HPA
// with primaryScalerReplicas — promoted, then a bad version rolled back. (The existing scenarios use a 2-replica
// Istio target without HPA; these shapes are where a partial apply or a readiness shortcut would show.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { ReleaseResult } from '../../src/domain/result.js';
import { submitRelease } from '../../src/starter.js';
import { deployment, stack, withNamespace } from '../support/stack.js';
import { endState, startE2E, type E2E } from './support.js';

let e: E2E;
beforeAll(async () => {
  e = await startE2E('shapes');
});
afterAll(async () => {
  await e?.stop();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';

function target(namespace: string): k8s.V1Deployment {
  const labels = { app: 'podinfo' };
  const d = deployment('podinfo', namespace, v1, labels, 3);
  d.metadata = { ...d.metadata, labels: { ...labels, team: 'checkout' }, annotations: { owner: 'sre' } };
  d.spec!.minReadySeconds = 1;
  d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
  d.spec!.template.metadata = { labels, annotations: { 'prometheus.io/scrape': 'true' } };
  d.spec!.template.spec!.containers[0] = {
    ...d.spec!.template.spec!.containers[0]!,
    resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '64Mi' } },
    readinessProbe: { httpGet: { path: '/readyz', port: 9898 as unknown as k8s.IntOrString } },
  };
  return d;
}

function spec(namespace: string): string {
  const s = stack();
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: ${namespace}
spec:
  provider: gatewayapi:v1
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  autoscalerRef:
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    name: podinfo
    primaryScalerReplicas:
      minReplicas: 3
      maxReplicas: 5
  progressDeadlineSeconds: 90
  service:
    port: 9898
    targetPort: 9898
    hosts: [app.example.com]
    gatewayRefs:
      - name: gateway
        namespace: ${namespace}
  analysis:
    interval: 4s
    threshold: 2
    stepWeight: 50
    maxWeight: 50
    metrics:
      - name: request-success-rate
        thresholdRange:
          min: 99
        interval: 10s
    webhooks:
      - name: load-test
        url: ${s.urls.webhook}/
        timeout: 5s
        metadata:
          cmd: "hey -z 1m -q 10 -c 2 http://podinfo-canary.${namespace}:9898/"
`;
}

describe('production-shaped targets', () => {
  it('Gateway API + HPA + 3 replicas with a surge-only strategy: promoted, then a bad version rolled back; the cluster ends as the model requires', async () => {
    const ns = await withNamespace(e.kube, 'e2e-shapes');
    try {
      await e.kube.apps.createNamespacedDeployment({ namespace: ns.name, body: target(ns.name) });
      await e.kube.kc.makeApiClient(k8s.AutoscalingV2Api).createNamespacedHorizontalPodAutoscaler({
        namespace: ns.name,
        body: {
          metadata: { name: 'podinfo' },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
            minReplicas: 2,
            maxReplicas: 4,
            metrics: [
              {
                type: 'Resource',
                resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
              },
            ],
          },
        },
      });
      const yaml = spec(ns.name);
      for (const [image, outcome] of [
        ['ghcr.io/stefanprodan/podinfo:6.5.1', 'Promoted'],
        ['ghcr.io/stefanprodan/podinfo:6.5.2-bad', 'RolledBack'],
      ] as const) {
        const oracle = await endState(e, yaml);
        const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: image }, initiator: 'e2e' });
        const result = (await e.client.workflow.getHandle(sub.workflowId).result()) as ReleaseResult;
        expect(result.outcome, result.reason.message).toBe(outcome);
        await oracle.verify(result, { app: image });
      }
    } finally {
      await ns.cleanup();
    }
  });
});
