// End-to-end harness: a Fledge worker in this process on its own task queue, against the real local stack.
import { expect } from 'vitest';
import type { Client } from '@temporalio/client';
import type { ReleaseResult } from '../../src/domain/result.js';
import {
  captureBaseline,
  formatVerdict,
  oracleSpecFromYaml,
  verifyEndState,
  watchPrimaryCapacity,
} from '../../src/dev/oracle.js';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type * as k8s from '@kubernetes/client-node';
import { loadFledgeConfig, type FledgeConfig } from '../../src/config.js';
import { connectClient } from '../../src/starter.js';
import { createFledgeWorker } from '../../src/worker.js';
import { WebhookServiceClient } from '../../src/dev/webhook-service/client.js';
import { FakeSlackClient } from '../../src/dev/fake-slack/client.js';
import { createReleaseMetrics } from '../../src/observability/release-metrics.js';
import type { Registry } from 'prom-client';
import { deployment, kube, stack, withNamespace, type KubeClients } from '../support/stack.js';

export interface E2E {
  cfg: FledgeConfig;
  client: Client;
  worker: Worker;
  connection: NativeConnection;
  running: Promise<void>;
  kube: KubeClients;
  hooks: WebhookServiceClient;
  slack: FakeSlackClient;
  /** The worker's release metrics (what its /metrics endpoint would serve). */
  metrics: Registry;
  stop: () => Promise<void>;
}

/** `env` overrides the worker's and client's configuration (e.g. another Temporal server's address). */
export async function startE2E(prefix: string, env: Record<string, string> = {}): Promise<E2E> {
  const taskQueue = `e2e-${prefix}-${Date.now().toString(36)}`;
  // Slack AlertProviders in e2e specs post to the stack's fake Slack (specs without alerts notify nobody).
  process.env.FLEDGE_SLACK_TOKEN ??= 'xoxb-fledge-e2e';
  process.env.FLEDGE_SLACK_API_URL ??= `${stack().urls.fakeSlack}/api/`;
  process.env.FLEDGE_GRAFANA_URL ??=
    'https://grafana.example.com/d/fledge?var-namespace={namespace}&var-target={name}';
  const cfg = { ...loadFledgeConfig({ ...process.env, ...env, FLEDGE_TASK_QUEUE: taskQueue }) };
  const { metrics, registry } = createReleaseMetrics();
  const { worker, connection } = await createFledgeWorker(cfg, { metrics });
  const running = worker.run();
  const client = await connectClient(cfg);
  const s = stack();
  return {
    cfg,
    client,
    worker,
    connection,
    running,
    kube: kube(),
    hooks: new WebhookServiceClient(s.urls.webhook),
    slack: new FakeSlackClient(s.urls.fakeSlack),
    metrics: registry,
    stop: async () => {
      worker.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
    },
  };
}

/** A namespace with the target Deployment `podinfo` (2 replicas) running `image`. */
export async function targetNamespace(e: E2E, prefix: string, image: string) {
  const ns = await withNamespace(e.kube, prefix);
  await e.kube.apps.createNamespacedDeployment({
    namespace: ns.name,
    body: deployment('podinfo', ns.name, image, { app: 'podinfo' }, 2),
  });
  return ns;
}

export async function virtualServiceWeights(
  k: KubeClients,
  namespace: string,
  name = 'podinfo',
): Promise<Record<string, number>> {
  const vs = (await k.custom.getNamespacedCustomObject({
    group: 'networking.istio.io',
    version: 'v1',
    plural: 'virtualservices',
    namespace,
    name,
  })) as {
    spec: {
      http: Array<{ match?: unknown; route: Array<{ destination: { host: string }; weight?: number }> }>;
    };
  };
  const main = vs.spec.http.find((r) => !r.match) ?? vs.spec.http[0];
  return Object.fromEntries((main?.route ?? []).map((r) => [r.destination.host, r.weight ?? 0]));
}

export async function deploymentState(
  k: KubeClients,
  namespace: string,
  name: string,
): Promise<{ replicas: number; image: string | undefined }> {
  const d: k8s.V1Deployment = await k.apps.readNamespacedDeployment({ name, namespace });
  return { replicas: d.spec?.replicas ?? 0, image: d.spec?.template.spec?.containers[0]?.image };
}

export function canaryYaml(
  namespace: string,
  opts: { webhooks?: string; extraAnalysis?: string; fledge?: string; analysis?: string } = {},
): string {
  const s = stack();
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: ${namespace}
spec:
  provider: istio
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  progressDeadlineSeconds: 60
  service:
    port: 9898
  analysis:
${
  opts.analysis ??
  `    interval: 4s
    threshold: 2
    stepWeight: 25
    maxWeight: 50`
}
    metrics:
      - name: request-success-rate
        thresholdRange:
          min: 99
        interval: 10s
${opts.extraAnalysis ?? ''}    webhooks:
      - name: acceptance-test
        type: pre-rollout
        url: ${s.urls.webhook}/acceptance
        timeout: 5s
        metadata:
          type: bash
          cmd: "curl -sd 'test' http://podinfo-canary:9898/token | grep token"
      - name: load-test
        url: ${s.urls.webhook}/
        timeout: 5s
        metadata:
          cmd: "hey -z 1m -q 10 -c 2 http://podinfo-canary.${namespace}:9898/"
${opts.webhooks ?? ''}${opts.fledge ?? ''}`;
}

/**
 * The end-state oracle around one release: `await endState(e, yaml)` before starting it captures the namespace and
 * starts watching the primary's capacity; `await check.verify(result, images)` after the outcome reads every object
 * back and fails the test with each finding (see src/dev/oracle.ts).
 */
export async function endState(
  e: Pick<E2E, 'kube'>,
  yaml: string,
): Promise<{
  verify: (
    result: Pick<ReleaseResult, 'outcome' | 'reason'>,
    images: Record<string, string>,
  ) => Promise<void>;
}> {
  const spec = oracleSpecFromYaml(yaml);
  const baseline = await captureBaseline(e.kube.kc, spec);
  const capacity = watchPrimaryCapacity(e.kube.kc, spec.namespace, spec.target);
  return {
    verify: async (result, images) => {
      const seen = await capacity.stop();
      const verdict = await verifyEndState(e.kube.kc, baseline, result, images);
      expect(verdict.findings, formatVerdict(verdict)).toEqual([]);
      expect(seen.violations, 'primary capacity during the release').toEqual([]);
    },
  };
}
