// Continue-as-new end to end: a release whose history outgrows the server's suggestion continues as a new run
// and carries everything — the domain state (step, weights, failed checks), the operator audit log, the old
// images and the Slack thread — so the chain reads as one release. The shared dev server suggests
// continue-as-new only at thousands of events, so this test starts its own Temporal CLI dev server (the same
// binary the local stack uses) with a low `limit.historyCount.suggestContinueAsNew`, and runs the release
// against the shared Kubernetes API server, Prometheus, webhook service and fake Slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { releaseHistory } from '../../src/cli/history.js';
import { loadToolPaths } from '../../src/dev/stack/config.js';
import { submitRelease } from '../../src/starter.js';
import { pauseUpdate, resumeUpdate, statusQuery } from '../../src/workflows/messages.js';
import { fledgeSearchAttributes } from '../../src/workflows/search-attributes.js';
import { recordHistory } from '../support/histories.js';
import { eventually, stack } from '../support/stack.js';
import {
  canaryYaml,
  deploymentState,
  endState,
  startE2E,
  targetNamespace,
  virtualServiceWeights,
  type E2E,
} from './support.js';

// A steady analysis tick is ~14 events; the suggestion arrives a few ticks into the release.
const suggestAt = 80;

let server: TestWorkflowEnvironment;
let e: E2E;
beforeAll(async () => {
  server = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: loadToolPaths().temporal },
      namespace: 'default',
      searchAttributes: [...fledgeSearchAttributes],
      extraArgs: [
        `--dynamic-config-value=limit.historyCount.suggestContinueAsNew=${suggestAt}`,
        '--dynamic-config-value=frontend.enableUpdateWorkflowExecution=true',
      ],
    },
  });
  e = await startE2E('can', {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: 'default',
    KUBECONFIG: stack().kubeconfig,
  });
});
afterAll(async () => {
  await e?.stop();
  await server?.teardown();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';

describe('continue-as-new', () => {
  it('a long release continues as new runs and still reads as one: state, operator log, old images and the Slack thread carried', async () => {
    const ns = await targetNamespace(e, 'e2e-can', v1);
    const channel = `C-${ns.name}`;
    const yaml =
      canaryYaml(ns.name, {
        analysis: '    interval: 4s\n    threshold: 2\n    stepWeight: 10\n    maxWeight: 50',
        extraAnalysis:
          '    alerts:\n      - name: releases\n        severity: info\n        providerRef:\n          name: slack\n',
      }) +
      `---\napiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: slack\n  namespace: ${ns.name}\nspec:\n  type: slack\n  channel: ${channel}\n`;
    try {
      const oracle = await endState(e, yaml);
      const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'e2e' });
      const h = e.client.workflow.getHandle(sub.workflowId);
      // An operator pause/resume in the first run: it must survive into the last run's result.
      await eventually(
        'canary weight > 0',
        async () => (((await h.query(statusQuery)) as ReleaseStatus).weights.canary > 0 ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const firstRunId = (await h.describe()).runId;
      await h.executeUpdate(pauseUpdate, { args: [{ actor: 'carol', reason: 'checking a dashboard' }] });
      await h.executeUpdate(resumeUpdate, { args: [{ actor: 'carol', reason: 'dashboard fine' }] });

      const result = (await h.result()) as ReleaseResult;
      expect(result.outcome).toBe('Promoted');
      expect(result.stepsCompleted).toBe(5);
      await oracle.verify(result, { app: v2 });
      // The first tick can see no traffic yet (Prometheus scrapes the mesh every few seconds): one failed check at most.
      expect(result.failedChecks).toBeLessThan(2);
      expect(result.operatorActions.map((a) => [a.action, a.actor])).toEqual([
        ['pause', 'carol'],
        ['resume', 'carol'],
      ]);

      // The chain: earlier runs ended ContinuedAsNew, the last one Completed; all under one workflow ID.
      const runs: Array<{ runId: string; status: string }> = [];
      for await (const wf of e.client.workflow.list({ query: `WorkflowId = '${sub.workflowId}'` }))
        runs.push({ runId: wf.runId, status: wf.status.name });
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(runs.filter((r) => r.status === 'COMPLETED')).toHaveLength(1);
      expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length).toBe(runs.length - 1);
      const last = runs.find((r) => r.status === 'COMPLETED');
      expect(last?.runId).not.toBe(firstRunId);

      // The cluster's end state is a normal promotion.
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v2 });

      // One Slack thread across the runs: one parent, kept current by the last run, with the first run's image.
      const msgs = await e.slack.messages(channel);
      expect(msgs).toHaveLength(1);
      const final = JSON.stringify(msgs[0]?.blocks);
      expect(final).toContain(`podinfo.${ns.name}: canary release promoted`);
      expect(final).toContain('podinfo:6.5.0 → …:6.5.1');
      const replies = (msgs[0]?.replies ?? []).map((r) => r.text ?? '');
      expect(replies[0]).toMatch(/New revision detected/);
      expect(replies.some((r) => /promot/i.test(r))).toBe(true);

      // `fledge history` reads the whole chain, oldest run first: the operator actions of run 1, the hand-over, the outcome.
      const { history } = await releaseHistory(e.client, sub.workflowId);
      expect(history.runIds).toHaveLength(runs.length);
      expect(history.runIds[0]).toBe(firstRunId);
      expect(history.status).toBe('COMPLETED');
      const kinds = history.entries.map((x) => x.kind);
      expect(kinds.filter((k) => k === 'continued')).toHaveLength(runs.length - 1);
      expect(
        history.entries
          .filter((x) => x.kind === 'operator')
          .map((x) => [x.operator?.action, x.operator?.actor]),
      ).toEqual([
        ['pause', 'carol'],
        ['resume', 'carol'],
      ]);
      expect(kinds.indexOf('operator')).toBeLessThan(kinds.indexOf('continued'));
      expect(history.entries.at(-1)).toMatchObject({
        kind: 'outcome',
        text: expect.stringMatching(/^Promoted/),
      });

      await recordHistory(e.client, sub.workflowId, 'release-continued-as-new-first', firstRunId);
      await recordHistory(e.client, sub.workflowId, 'release-continued-as-new-last', last?.runId);
    } finally {
      await ns.cleanup();
    }
  });
});
