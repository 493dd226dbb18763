// Operator actions act at once, whatever is running: an abort cancels the activity in flight — a webhook hanging
// on its 60 s timeout, initialise waiting for a primary that never becomes ready — instead of queueing behind it.
// The core then rolls back as usual; the cancelled activity's result is never used, and the activity itself stops
// (it learns of the cancellation from its next heartbeat and aborts its requests).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { mergePatchOptions } from '../../src/integrations/kubernetes/client.js';
import { submitRelease } from '../../src/starter.js';
import { abortUpdate, pauseUpdate, resumeUpdate, statusQuery } from '../../src/workflows/messages.js';
import { recordHistory } from '../support/histories.js';
import { eventually, stack } from '../support/stack.js';
import { deploymentState, startE2E, targetNamespace, virtualServiceWeights, type E2E } from './support.js';

let e: E2E;
beforeAll(async () => {
  e = await startE2E('interrupt');
});
afterAll(async () => {
  await e?.stop();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const v3 = 'ghcr.io/stefanprodan/podinfo:6.5.2';
/** "Within a couple of seconds" (the bench measures the real figure: well under a second). */
const prompt = 3_000;

function yaml(ns: string, opts: { webhooks?: string; skipAnalysis?: boolean } = {}): string {
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: podinfo, namespace: ${ns} }
spec:
  provider: istio
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: podinfo }
  progressDeadlineSeconds: 120
  service: { port: 9898 }
${opts.skipAnalysis ? '  skipAnalysis: true\n' : ''}  analysis:
    interval: 2s
    threshold: 2
    stepWeight: 25
    maxWeight: 50
    metrics:
      - name: request-success-rate
        thresholdRange: { min: 99 }
        interval: 10s
${opts.webhooks ? `    webhooks:\n${opts.webhooks}` : ''}`;
}

async function start(ns: string, image: string, spec: string): Promise<WorkflowHandle> {
  const sub = await submitRelease(e.client, e.cfg, { yaml: spec, images: { app: image }, initiator: 'e2e' });
  return e.client.workflow.getHandle(sub.workflowId);
}

/** Sends the abort update; returns when the release's result is in, with the times both took. */
async function abort(
  h: WorkflowHandle,
): Promise<{ result: ReleaseResult; updateMs: number; resultMs: number }> {
  const t0 = Date.now();
  await h.executeUpdate(abortUpdate, { args: [{ actor: 'oncall@e2e', reason: 'stop it now' }] });
  const updateMs = Date.now() - t0;
  const result = (await h.result()) as ReleaseResult;
  return { result, updateMs, resultMs: Date.now() - t0 };
}

/** The cancelled activity stopped on the worker too (it would otherwise run on for its whole timeout). */
async function activitiesStopped(): Promise<void> {
  await eventually('the interrupted activity stops on the worker', async () =>
    e.worker.getStatus().numInFlightNonLocalActivities === 0 ? true : undefined,
  );
}

async function cancelRequested(h: WorkflowHandle, activity: string): Promise<boolean> {
  const events = (await h.fetchHistory()).events ?? [];
  const ids = new Set(
    events
      .filter((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === activity)
      .map((ev) => String(ev.eventId)),
  );
  return events.some(
    (ev) =>
      ev.activityTaskCancelRequestedEventAttributes &&
      ids.has(String(ev.activityTaskCancelRequestedEventAttributes.scheduledEventId)),
  );
}

describe('operator actions interrupt the activity in flight', () => {
  it('abort while a pre-rollout webhook hangs (60 s timeout): Aborted at once, canary to zero', async () => {
    const ns = await targetNamespace(e, 'e2e-intr-hook', v1);
    const path = `/hang-${ns.name}`;
    await e.hooks.program({ path, status: 200, delayMs: 120_000 });
    try {
      const h = await start(
        ns.name,
        v2,
        yaml(ns.name, {
          webhooks: `      - name: smoke\n        type: pre-rollout\n        url: ${stack().urls.webhook}${path}\n        timeout: 60s\n`,
        }),
      );
      await e.hooks.waitForCalls(path, 1, { timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 1_000)); // well inside the call
      const { result, updateMs, resultMs } = await abort(h);
      expect(result.outcome).toBe('Aborted');
      expect(result.reason.code).toBe('operator-abort');
      expect(result.failedChecks).toBe(0);
      expect(updateMs).toBeLessThan(prompt);
      expect(resultMs).toBeLessThan(prompt);
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });
      expect(await cancelRequested(h, 'runHooks')).toBe(true);
      await activitiesStopped();
      const calls = await e.hooks.calls(path);
      expect(calls).toHaveLength(1); // not retried after the cancellation
      await recordHistory(e.client, h.workflowId, 'release-aborted-during-webhook');
    } finally {
      await e.hooks.reset(path);
      await ns.cleanup();
    }
  });

  it('abort while a rollout webhook hangs at canary weight 25: the VirtualService is back at 100% primary at once', async () => {
    const ns = await targetNamespace(e, 'e2e-intr-tick', v1);
    const path = `/tick-${ns.name}`;
    try {
      const h = await start(
        ns.name,
        v2,
        yaml(ns.name, {
          webhooks: `      - name: load\n        type: rollout\n        url: ${stack().urls.webhook}${path}\n        timeout: 60s\n`,
        }),
      );
      await eventually(
        'canary weight 25',
        async () => {
          const st = (await h.query(statusQuery)) as ReleaseStatus;
          return st.weights.canary === 25 ? st : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      // From now on the rollout webhook hangs: the next analysis tick waits on it.
      await e.hooks.program({ path, status: 200, delayMs: 120_000 });
      await eventually(
        'a hanging rollout webhook call',
        async () => ((await e.hooks.calls(path)).some((c) => c.response === undefined) ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 75,
        'podinfo-canary': 25,
      });
      const t0 = Date.now();
      const aborted = abort(h);
      const back = await eventually(
        'VirtualService at 100% primary',
        async () => {
          const w = await virtualServiceWeights(e.kube, ns.name);
          return w['podinfo-primary'] === 100 && w['podinfo-canary'] === 0 ? Date.now() - t0 : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      expect(back).toBeLessThan(prompt);
      const { result } = await aborted;
      expect(result.outcome).toBe('Aborted');
      expect(result.failedChecks).toBe(0);
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });
      expect(await cancelRequested(h, 'runAnalysis')).toBe(true);
      await activitiesStopped();
    } finally {
      await e.hooks.reset(path);
      await ns.cleanup();
    }
  });

  it('pause while a rollout webhook hangs: paused at once, the cancelled check not counted; resume re-runs it', async () => {
    const ns = await targetNamespace(e, 'e2e-intr-pause', v1);
    const path = `/pause-${ns.name}`;
    try {
      const h = await start(
        ns.name,
        v2,
        yaml(ns.name, {
          webhooks: `      - name: load\n        type: rollout\n        url: ${stack().urls.webhook}${path}\n        timeout: 60s\n`,
        }),
      );
      await eventually(
        'canary weight 25',
        async () => {
          const st = (await h.query(statusQuery)) as ReleaseStatus;
          return st.weights.canary === 25 ? st : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      await e.hooks.program({ path, status: 200, delayMs: 120_000 });
      await eventually(
        'a hanging rollout webhook call',
        async () => ((await e.hooks.calls(path)).some((c) => c.response === undefined) ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const callsBefore = (await e.hooks.calls(path)).length;
      const t0 = Date.now();
      await h.executeUpdate(pauseUpdate, { args: [{ actor: 'oncall@e2e', reason: 'look first' }] });
      expect(Date.now() - t0).toBeLessThan(prompt);
      const paused = (await h.query(statusQuery)) as ReleaseStatus;
      expect(paused.paused).toMatchObject({ by: 'oncall@e2e' });
      expect(paused.failedChecks).toBe(0);
      expect(paused.weights.canary).toBe(25);
      expect(await cancelRequested(h, 'runAnalysis')).toBe(true);
      await activitiesStopped();
      // While paused nothing is called; then the webhook answers again and resume re-runs the check at once.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await e.hooks.calls(path)).toHaveLength(callsBefore);
      await e.hooks.reset(path);
      await h.executeUpdate(resumeUpdate, { args: [{ actor: 'oncall@e2e', reason: 'fine' }] });
      await e.hooks.waitForCalls(path, callsBefore + 1, { timeoutMs: 10_000 });
      const result = (await h.result()) as ReleaseResult;
      expect(result.outcome).toBe('Promoted');
      expect(result.failedChecks).toBe(0);
      expect(result.operatorActions.map((a) => [a.action, a.accepted])).toEqual([
        ['pause', true],
        ['resume', true],
      ]);
    } finally {
      await e.hooks.reset(path);
      await ns.cleanup();
    }
  });

  it('abort while initialise waits for a primary that never becomes ready: Aborted at once, nothing moved', async () => {
    const ns = await targetNamespace(e, 'e2e-intr-init', v1);
    try {
      // A first release (skipAnalysis) leaves the usual objects: primary on v2, routes at 100/0, canary at zero.
      const first = await start(ns.name, v2, yaml(ns.name, { skipAnalysis: true }));
      expect(((await first.result()) as ReleaseResult).outcome).toBe('Promoted');
      // Then the primary breaks: its new pods can be scheduled nowhere, so it never becomes ready again.
      await e.kube.apps.patchNamespacedDeployment(
        {
          name: 'podinfo-primary',
          namespace: ns.name,
          body: { spec: { template: { spec: { nodeSelector: { 'fledge.test/no-such-node': 'true' } } } } },
        },
        mergePatchOptions,
      );
      const h = await start(ns.name, v3, yaml(ns.name));
      await eventually(
        'initialise waiting for the primary',
        async () => {
          const d = await h.describe();
          const pending = d.raw.pendingActivities ?? [];
          const init = pending.find((a) => a.activityType?.name === 'initializeRelease');
          return init && d.status.name === 'RUNNING' ? init : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await new Promise((r) => setTimeout(r, 1_500));
      expect(((await h.query(statusQuery)) as ReleaseStatus).phase).toBe('Initializing');
      const { result, updateMs, resultMs } = await abort(h);
      expect(result.outcome).toBe('Aborted');
      expect(result.reason.code).toBe('operator-abort');
      expect(updateMs).toBeLessThan(prompt);
      expect(resultMs).toBeLessThan(prompt);
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0, image: v2 });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v2 });
      expect(await cancelRequested(h, 'initializeRelease')).toBe(true);
      await activitiesStopped();
    } finally {
      await ns.cleanup();
    }
  });
});
