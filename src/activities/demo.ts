// Activities of the foundation demo: set up a demo app (primary + canary Deployments, Services, VirtualService),
// move its traffic weight and read the split Prometheus observes. Thin adapters over the integrations. Registered
// only by the embedded dev stack's worker (src/dev/worker.ts), never by the production worker.
import * as k8s from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { applyPatchOptions, fieldManager } from '../integrations/kubernetes/client.js';
import type { PrometheusClient } from '../integrations/metrics/prometheus.js';
import type { RouteWeights, RouterTarget, TrafficRouter } from '../integrations/traffic/router.js';

export interface DemoAppInput {
  namespace: string;
  name: string;
  primaryImage: string;
  canaryImage: string;
}

export interface DemoDeps {
  kc: k8s.KubeConfig;
  router: TrafficRouter;
  prometheus: PrometheusClient;
}

const target = (namespace: string, name: string): RouterTarget => ({ namespace, service: name, port: 9898 });

function deploymentBody(ns: string, name: string, app: string, image: string): k8s.V1Deployment {
  const labels = { app };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'podinfod', image, ports: [{ name: 'http', containerPort: 9898 }] }] },
      },
    },
  };
}

function serviceBody(ns: string, name: string, app: string): k8s.V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector: { app }, ports: [{ name: 'http', port: 9898, targetPort: 9898 }] },
  };
}

export function createDemoActivities(deps: DemoDeps) {
  const core = deps.kc.makeApiClient(k8s.CoreV1Api);
  const apps = deps.kc.makeApiClient(k8s.AppsV1Api);
  return {
    async ensureDemoApp(input: DemoAppInput): Promise<{ readyReplicas: Record<string, number> }> {
      const { namespace: ns, name } = input;
      await core.createNamespace({ body: { metadata: { name: ns } } }).catch((e: unknown) => {
        if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
      });
      const objs: Array<[string, string, string]> = [
        [`${name}-primary`, `${name}-primary`, input.primaryImage],
        [name, name, input.canaryImage],
      ];
      for (const [dep, app, image] of objs) {
        await apps.patchNamespacedDeployment(
          { name: dep, namespace: ns, body: deploymentBody(ns, dep, app, image), fieldManager, force: true },
          applyPatchOptions,
        );
      }
      for (const [svc, app] of [
        [`${name}-primary`, `${name}-primary`],
        [`${name}-canary`, name],
        [name, `${name}-primary`],
      ] as const) {
        await core.patchNamespacedService(
          { name: svc, namespace: ns, body: serviceBody(ns, svc, app), fieldManager, force: true },
          applyPatchOptions,
        );
      }
      await deps.router.reconcile(target(ns, name));
      const ready: Record<string, number> = {};
      for (const [dep] of objs) {
        const d = await apps.readNamespacedDeployment({ name: dep, namespace: ns });
        ready[dep] = d.status?.readyReplicas ?? 0;
      }
      if (Object.values(ready).some((n) => n < 1)) {
        // Retried by Temporal until the pods are Ready (bounded by the activity's schedule-to-close timeout).
        throw ApplicationFailure.retryable(
          `waiting for Ready replicas: ${JSON.stringify(ready)}`,
          'NotReady',
        );
      }
      return { readyReplicas: ready };
    },

    async setDemoWeights(input: {
      namespace: string;
      name: string;
      canaryWeight: number;
    }): Promise<RouteWeights> {
      const w = Math.max(0, Math.min(100, input.canaryWeight));
      const got = await deps.router.setRoutes(target(input.namespace, input.name), {
        primaryWeight: 100 - w,
        canaryWeight: w,
        mirrorPercent: null,
        abMatch: false,
      });
      if (got.canaryWeight !== w) {
        throw ApplicationFailure.nonRetryable(
          `read back canary weight ${got.canaryWeight}, wrote ${w}`,
          'RouteReadBackMismatch',
        );
      }
      return got;
    },

    /** Canary share of destination requests over `window`, in percent, as Prometheus sees it (null = no traffic yet). */
    async observeSplit(input: {
      namespace: string;
      name: string;
      window: string;
    }): Promise<{ canaryPercent: number | null }> {
      const rate = (workload: string) =>
        `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${input.namespace}",destination_workload="${workload}"}[${input.window}]))`;
      const q = `${rate(input.name)} / (${rate(input.name)} + ${rate(`${input.name}-primary`)}) * 100`;
      return { canaryPercent: await deps.prometheus.queryScalar(q) };
    },
  };
}

export type DemoActivities = ReturnType<typeof createDemoActivities>;
