// Cancelling a release (`temporal workflow cancel`, or the Web UI's Cancel) rolls it back in a non-cancellable
// cleanup scope: traffic to 100% primary, canary scaled to zero, outcome Aborted; the workflow completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { submitRelease } from '../../src/starter.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { eventually } from '../support/stack.js';
import { recordHistory } from '../support/histories.js';
import {
  canaryYaml,
  deploymentState,
  endState,
  startE2E,
  targetNamespace,
  virtualServiceWeights,
  type E2E,
} from './support.js';

let e: E2E;
beforeAll(async () => {
  e = await startE2E('cancel');
});
afterAll(async () => {
  await e?.stop();
});

describe('cancellation', () => {
  it('rolls back a cancelled release and completes with outcome Aborted', async () => {
    const ns = await targetNamespace(e, 'e2e-cancel', 'ghcr.io/stefanprodan/podinfo:6.5.0');
    try {
      const yaml = canaryYaml(ns.name, {
        analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 10\n    maxWeight: 90',
      });
      const oracle = await endState(e, yaml);
      const sub = await submitRelease(e.client, e.cfg, {
        yaml,
        images: { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' },
        initiator: 'e2e',
      });
      const handle = e.client.workflow.getHandle(sub.workflowId);
      await eventually(
        'canary weight ≥ 10',
        async () => {
          const st = (await handle.query(statusQuery)) as ReleaseStatus;
          return st.weights.canary >= 10 ? st : undefined;
        },
        { timeoutMs: 60_000 },
      );
      await handle.cancel();
      const result = (await handle.result()) as ReleaseResult;
      expect(result.outcome).toBe('Aborted');
      expect(result.primaryPromoted).toBe(false);
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({
        image: 'ghcr.io/stefanprodan/podinfo:6.5.0',
      });
      expect((await handle.describe()).status.name).toBe('COMPLETED');
      await oracle.verify(result, { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' });
      await recordHistory(e.client, sub.workflowId, 'release-cancelled');
    } finally {
      await ns.cleanup();
    }
  });
});
