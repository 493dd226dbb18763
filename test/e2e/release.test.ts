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
  endState,
  startE2E,
  targetNamespace,
  virtualServiceWeights,
  type E2E,
} from './support.js';
import { stack } from '../support/stack.js';

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
  const oracle = await endState(e, yaml);
  const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: image }, initiator: 'e2e' });
  const result = (await e.client.workflow.getHandle(sub.workflowId).result()) as ReleaseResult;
  await oracle.verify(result, { app: image });
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
      // The worker's metrics, with Flagger's names, as observed by its activities.
      const text = await e.metrics.metrics();
      const series = (re: string): boolean => new RegExp(re, 'm').test(text);
      const nsl = `namespace="${ns.name}"`;
      expect(series(`^flagger_canary_successes_total\\{.*name="podinfo".*${nsl}.*\\} 1$`)).toBe(true);
      expect(series(`^flagger_canary_weight\\{workload="podinfo-primary",${nsl}\\} 100$`)).toBe(true);
      expect(series(`^flagger_canary_weight\\{workload="podinfo",${nsl}\\} 0$`)).toBe(true);
      expect(series(`^flagger_canary_status\\{name="podinfo",${nsl}\\} 1$`)).toBe(true);
      expect(series(`^flagger_canary_metric_analysis\\{.*metric="request-success-rate".*\\} 100$`)).toBe(
        true,
      );
      expect(series(`^fledge_release_duration_seconds_count\\{.*${nsl}.*outcome="Promoted".*\\} 1$`)).toBe(
        true,
      );
      // One observation per analysis tick (2 steps, each analysed before the weight moves on).
      expect(series(`^flagger_canary_duration_seconds_count\\{name="podinfo",${nsl}\\} [1-9]\\d*$`)).toBe(
        true,
      );
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
      const text = await e.metrics.metrics();
      expect(text).toMatch(
        new RegExp(`^flagger_canary_failures_total\\{.*namespace="${ns.name}".*\\} 1$`, 'm'),
      );
      expect(text).toMatch(
        new RegExp(`^flagger_canary_status\\{name="podinfo",namespace="${ns.name}"\\} 2$`, 'm'),
      );
      await recordHistory(e.client, id, 'release-rolled-back');
    } finally {
      await ns.cleanup();
    }
  });

  it('announces the release in one Slack thread: live parent with the failing metric and its query, a reply per event', async () => {
    const ns = await targetNamespace(e, 'e2e-slack', v1);
    const channel = `C-${ns.name}`;
    const cmdb = `/cmdb-${ns.name}`;
    await e.hooks.program({ path: cmdb, status: 500, body: 'cmdb unavailable' });
    const yaml =
      canaryYaml(ns.name, {
        extraAnalysis:
          '    alerts:\n      - name: releases\n        severity: info\n        providerRef:\n          name: slack\n',
        webhooks: `      - name: notify-cmdb\n        type: post-rollout\n        url: ${stack().urls.webhook}${cmdb}\n        timeout: 2s\n`,
      }) +
      `---\napiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: slack\n  namespace: ${ns.name}\nspec:\n  type: slack\n  channel: ${channel}\n`;
    try {
      const { id, result } = await release(ns.name, 'ghcr.io/stefanprodan/podinfo:6.5.1-bad', yaml);
      expect(result.outcome).toBe('RolledBack');
      const msgs = await e.slack.messages(channel);
      expect(msgs).toHaveLength(1); // one parent for the whole release
      const parent = msgs[0];
      expect(parent?.updates.length).toBeGreaterThanOrEqual(2);
      const final = JSON.stringify(parent?.blocks);
      expect(final).toContain(`podinfo.${ns.name}: canary release rolled back`);
      expect(final).toContain('podinfo:6.5.0 → …:6.5.1-bad');
      expect(final).toMatch(/Failing check:\* request-success-rate [\d.]+ \(min 99\)/);
      expect(final).toContain('istio_requests_total');
      expect(final).toContain(`var-namespace=${ns.name}&var-target=podinfo|Grafana>`);
      expect(JSON.stringify(parent?.extra.metadata)).toContain(id);
      const replies = (parent?.replies ?? []).map((r) => r.text ?? '');
      expect(replies[0]).toMatch(/New revision detected, progressing canary analysis/);
      expect(replies.some((r) => /rolled back: Failed checks threshold reached 2/.test(r))).toBe(true);
      expect(
        replies.some((r) => /post-rollout webhook notify-cmdb failed: HTTP 500: cmdb unavailable/.test(r)),
      ).toBe(true);
      // Kubernetes Events on the target Deployment, with typed reasons (not Flagger's catch-all "Synced").
      const events = await e.kube.core.listNamespacedEvent({
        namespace: ns.name,
        fieldSelector: 'involvedObject.kind=Deployment,involvedObject.name=podinfo',
      });
      const ours = events.items.filter((ev) => ev.source?.component === 'fledge');
      expect(new Set(ours.map((ev) => ev.reason))).toEqual(
        new Set([
          'ReleaseStarted',
          'Initialized',
          'CanaryScaledUp',
          'CanaryReady',
          'PreRolloutPassed',
          'Progressing',
          'TrafficWeightUpdated',
          'AnalysisFailed',
          'RolledBack',
          'PostRolloutHookFailed',
        ]),
      );
      for (const ev of ours)
        expect(ev.type).toBe(
          ['AnalysisFailed', 'RolledBack', 'PostRolloutHookFailed'].includes(ev.reason ?? '')
            ? 'Warning'
            : 'Normal',
        );
      await recordHistory(e.client, id, 'release-slack-thread');
    } finally {
      await e.hooks.reset(cmdb);
      await ns.cleanup();
    }
  });
});
