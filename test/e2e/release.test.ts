// End-to-end releases on the real local stack: Temporal, Kubernetes (kwok), Istio CRDs, the mesh simulator
// feeding Prometheus, the webhook service. Each scenario asserts the cluster's end state, the typed result and
// the recorded webhook calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseResult } from '../../src/domain/result.js';
import { submitRelease } from '../../src/starter.js';
import { recordHistory } from '../support/histories.js';
import {
  canaryYaml,
  deploymentState,
  startE2E,
  targetNamespace,
  virtualServiceWeights,
  type E2E,
} from './support.js';

let e: E2E;
beforeAll(async () => {
  e = await startE2E('release');
});
afterAll(async () => {
  await e?.stop();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';

async function release(
  ns: string,
  image: string,
  yaml = canaryYaml(ns),
): Promise<{ id: string; result: ReleaseResult }> {
  const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: image }, initiator: 'e2e' });
  const result = (await e.client.workflow.getHandle(sub.workflowId).result()) as ReleaseResult;
  return { id: sub.workflowId, result };
}

describe('release end to end', () => {
  it('promotes a healthy release: weights 25 → 50, primary runs the new image, canary at zero', async () => {
    const ns = await targetNamespace(e, 'e2e-good', v1);
    try {
      const { id, result } = await release(ns.name, 'ghcr.io/stefanprodan/podinfo:6.5.1');
      expect(result.outcome).toBe('Promoted');
      expect(result.failedChecks).toBe(0);
      expect(result.stepsCompleted).toBe(2);
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({
        image: 'ghcr.io/stefanprodan/podinfo:6.5.1',
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      const pre = (await e.hooks.calls('/acceptance')).filter(
        (c) => (c.body as { namespace?: string })?.namespace === ns.name,
      );
      expect(pre.length).toBeGreaterThanOrEqual(1);
      expect(pre[0]?.body).toMatchObject({ name: 'podinfo', namespace: ns.name, phase: 'Progressing' });
      await recordHistory(e.client, id, 'release-promoted');
    } finally {
      await ns.cleanup();
    }
  });

  it('rolls back an error-rate regression in the tick the threshold is reached', async () => {
    const ns = await targetNamespace(e, 'e2e-bad', v1);
    try {
      const { id, result } = await release(ns.name, 'ghcr.io/stefanprodan/podinfo:6.5.1-bad');
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason.code).toBe('failed-checks-threshold');
      expect(result.failingCheck).toMatchObject({
        kind: 'metric',
        name: 'request-success-rate',
        thresholdRange: { min: 99 },
      });
      expect(result.failingCheck?.value).toBeLessThan(99);
      expect(result.failedChecks).toBe(2);
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      await recordHistory(e.client, id, 'release-rolled-back');
    } finally {
      await ns.cleanup();
    }
  });
});
