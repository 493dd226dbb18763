// End-to-end release scenarios on the real local stack: strategies (A/B by header and by cookie, blue/green,
// mirroring), a latency regression, operator gates and abort, superseding and the same tag started twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { releaseResult, submitRelease } from '../../src/starter.js';
import { laneWorkflowId } from '../../src/workflows/lane.js';
import { abortSignal, approveUpdate, statusQuery } from '../../src/workflows/messages.js';
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

let e: E2E;
beforeAll(async () => {
  e = await startE2E('scenarios');
});
afterAll(async () => {
  await e?.stop();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';

interface VsRoute {
  match?: Array<Record<string, unknown>>;
  route: Array<{ destination: { host: string }; weight?: number }>;
  mirror?: { host: string };
  mirrorPercentage?: { value: number };
}
async function vsRoutes(ns: string): Promise<VsRoute[]> {
  const vs = (await e.kube.custom.getNamespacedCustomObject({
    group: 'networking.istio.io',
    version: 'v1',
    plural: 'virtualservices',
    namespace: ns,
    name: 'podinfo',
  })) as {
    spec: { http: VsRoute[] };
  };
  return vs.spec.http;
}

/** Polls the VirtualService while `done` is pending; returns every distinct snapshot seen. */
function watchRoutes(ns: string, done: Promise<unknown>): Promise<VsRoute[][]> {
  const seen: VsRoute[][] = [];
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  return (async () => {
    while (!finished) {
      const r = await vsRoutes(ns).catch(() => undefined);
      if (r && JSON.stringify(r) !== JSON.stringify(seen[seen.length - 1])) seen.push(r);
      await new Promise((res) => setTimeout(res, 100));
    }
    return seen;
  })();
}

async function run(
  ns: string,
  image: string,
  yaml: string,
): Promise<{ id: string; result: ReleaseResult; snapshots: VsRoute[][] }> {
  const oracle = await endState(e, yaml);
  const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: image }, initiator: 'e2e' });
  const done = e.client.workflow.getHandle(sub.workflowId).result() as Promise<ReleaseResult>;
  const snapshots = await watchRoutes(ns, done);
  const result = await done;
  await oracle.verify(result, { app: image });
  return { id: sub.workflowId, result, snapshots };
}

async function expectPromotedEndState(ns: string, image: string): Promise<void> {
  expect(await virtualServiceWeights(e.kube, ns)).toEqual({ 'podinfo-primary': 100, 'podinfo-canary': 0 });
  expect(await deploymentState(e.kube, ns, 'podinfo-primary')).toMatchObject({ image });
  expect(await deploymentState(e.kube, ns, 'podinfo')).toMatchObject({ replicas: 0 });
  const routes = await vsRoutes(ns);
  expect(routes).toHaveLength(1);
  expect(routes[0]?.mirror).toBeUndefined();
}

async function canaryRequests(ns: string): Promise<number> {
  const q = `sum(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}",destination_workload="podinfo"})`;
  const res = (await (
    await fetch(`${e.cfg.prometheusUrl}/api/v1/query?query=${encodeURIComponent(q)}`)
  ).json()) as {
    data: { result: Array<{ value: [number, string] }> };
  };
  return Number(res.data.result[0]?.value[1] ?? 0);
}

describe('strategies', () => {
  it.each([
    ['header', `      - headers:\n          x-canary:\n            exact: insider\n`],
    ['cookie', `      - headers:\n          cookie:\n            regex: "^(.*?;)?(canary=always)(;.*)?$"\n`],
  ])(
    'A/B testing by %s: match route to the canary for every iteration, then promoted',
    async (kind, match) => {
      const ns = await targetNamespace(e, `e2e-ab-${kind}`, v1);
      try {
        const { id, result, snapshots } = await run(
          ns.name,
          v2,
          canaryYaml(ns.name, {
            analysis: `    interval: 3s\n    threshold: 2\n    iterations: 3\n    match:\n${match}`,
          }),
        );
        expect(result.outcome).toBe('Promoted');
        expect(result.stepsCompleted).toBe(3);
        // While testing: a match route to the canary first, the default route 100% primary.
        const ab = snapshots.find((s) => s.length === 2);
        expect(ab?.[0]?.route).toEqual([
          expect.objectContaining({
            destination: expect.objectContaining({ host: 'podinfo-canary' }),
            weight: 100,
          }),
        ]);
        expect(JSON.stringify(ab?.[0]?.match)).toContain(kind === 'header' ? 'insider' : 'canary=always');
        expect(ab?.[1]?.route.map((r) => r.weight)).toEqual([100, 0]);
        // Only matching simulated users reached the canary, and they did.
        expect(await canaryRequests(ns.name)).toBeGreaterThan(0);
        await expectPromotedEndState(ns.name, v2);
        await recordHistory(e.client, id, `release-ab-${kind}`);
      } finally {
        await ns.cleanup();
      }
    },
  );

  it('blue/green with mirroring: live traffic mirrored to green during iterations, then all traffic to green, then promoted', async () => {
    // Plain blue/green sends green no live traffic (Flagger relies on a load tester hitting the canary service,
    // which the project's webhook service never executes); mirroring gives the metrics something to measure.
    const ns = await targetNamespace(e, 'e2e-bg', v1);
    try {
      const { id, result, snapshots } = await run(
        ns.name,
        v2,
        canaryYaml(ns.name, {
          analysis: `    interval: 3s\n    threshold: 2\n    iterations: 2\n    mirror: true`,
        }),
      );
      expect(result.outcome).toBe('Promoted');
      const mirrored = snapshots.find((s) => s[0]?.mirror !== undefined);
      expect(mirrored?.[0]?.route.map((r) => r.weight)).toEqual([100, 0]);
      expect(mirrored?.[0]?.mirrorPercentage?.value ?? 100).toBe(100);
      const weights = snapshots.map((s) => s[s.length - 1]?.route.map((r) => r.weight));
      expect(weights).toContainEqual([0, 100]); // green takes all traffic before the primary is promoted
      await expectPromotedEndState(ns.name, v2);
      await recordHistory(e.client, id, 'release-blue-green');
    } finally {
      await ns.cleanup();
    }
  });

  it('mirroring first (50% mirrored at 0% weight), then weight steps, then promoted', async () => {
    const ns = await targetNamespace(e, 'e2e-mirror', v1);
    try {
      const { id, result, snapshots } = await run(
        ns.name,
        v2,
        canaryYaml(ns.name, {
          analysis: `    interval: 3s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50\n    mirror: true\n    mirrorWeight: 50`,
        }),
      );
      expect(result.outcome).toBe('Promoted');
      const mirrored = snapshots.findIndex((s) => s[0]?.mirror !== undefined);
      expect(mirrored).toBeGreaterThanOrEqual(0);
      expect(snapshots[mirrored]?.[0]).toMatchObject({
        mirror: { host: 'podinfo-canary' },
        mirrorPercentage: { value: 50 },
      });
      expect(snapshots[mirrored]?.[0]?.route.map((r) => r.weight)).toEqual([100, 0]);
      const weighted = snapshots.findIndex((s) => (s[0]?.route[1]?.weight ?? 0) === 50);
      expect(weighted).toBeGreaterThan(mirrored);
      expect(snapshots[weighted]?.[0]?.mirror).toBeUndefined();
      await expectPromotedEndState(ns.name, v2);
      await recordHistory(e.client, id, 'release-mirror');
    } finally {
      await ns.cleanup();
    }
  });

  it('rolls back a latency regression (p99 above request-duration max)', async () => {
    const ns = await targetNamespace(e, 'e2e-slow', v1);
    try {
      const extra = `      - name: request-duration\n        thresholdRange:\n          max: 500\n        interval: 10s\n`;
      const { result } = await run(
        ns.name,
        'ghcr.io/stefanprodan/podinfo:6.5.1-slow',
        canaryYaml(ns.name, { extraAnalysis: extra }),
      );
      expect(result.outcome).toBe('RolledBack');
      expect(result.failingCheck).toMatchObject({
        kind: 'metric',
        name: 'request-duration',
        thresholdRange: { max: 500 },
      });
      expect(result.failingCheck?.value).toBeGreaterThan(500);
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });
    } finally {
      await ns.cleanup();
    }
  });
});

describe('operators', () => {
  it('confirm-promotion gate approved by an operator; an approve with nothing pending is rejected', async () => {
    const ns = await targetNamespace(e, 'e2e-gate', v1);
    try {
      const yaml = canaryYaml(ns.name, {
        analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
        fledge: '  fledge:\n    manualGates: [confirm-promotion]\n',
      });
      const oracle = await endState(e, yaml);
      const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'e2e' });
      const h = e.client.workflow.getHandle(sub.workflowId);
      const early = await h
        .executeUpdate(approveUpdate, { args: [{ actor: 'mallory', reason: 'too early' }] })
        .catch((err: unknown) => err);
      expect(early).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(String((early as WorkflowUpdateFailedError).cause)).toMatch(/nothing to approve/);
      const pending = await eventually(
        'the confirm-promotion gate',
        async () => {
          const st = (await h.query(statusQuery)) as ReleaseStatus;
          return st.pendingGate?.gate === 'confirm-promotion' ? st : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(pending.phase).toBe('WaitingPromotion');
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });
      await h.executeUpdate(approveUpdate, { args: [{ actor: 'alice', reason: 'looks good' }] });
      const result = (await h.result()) as ReleaseResult;
      expect(result.outcome).toBe('Promoted');
      expect(result.approvals).toContainEqual(
        expect.objectContaining({
          gate: 'confirm-promotion',
          via: 'operator',
          by: 'alice',
          reason: 'looks good',
        }),
      );
      expect(result.operatorActions.filter((a) => a.action === 'approve')).toHaveLength(1); // the rejected update left no trace
      await expectPromotedEndState(ns.name, v2);
      await oracle.verify(result, { app: v2 });
      await recordHistory(e.client, sub.workflowId, 'release-gate-approved');
    } finally {
      await ns.cleanup();
    }
  });

  it('confirm-promotion via the Flagger loadtester gate, opened through the webhook service', async () => {
    const ns = await targetNamespace(e, 'e2e-lt-gate', v1);
    try {
      const gateUrl = `${stack().urls.webhook}/gate/check`;
      const yaml = canaryYaml(ns.name, {
        analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
        webhooks: `      - name: promotion-gate\n        type: confirm-promotion\n        url: ${gateUrl}\n`,
      });
      const oracle = await endState(e, yaml);
      const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'e2e' });
      const h = e.client.workflow.getHandle(sub.workflowId);
      await eventually(
        'waiting for promotion',
        async () =>
          ((await h.query(statusQuery)) as ReleaseStatus).phase === 'WaitingPromotion' ? true : undefined,
        { timeoutMs: 60_000 },
      );
      await e.hooks.openGate('podinfo', ns.name);
      const result = (await h.result()) as ReleaseResult;
      expect(result.outcome).toBe('Promoted');
      expect(result.approvals).toContainEqual(
        expect.objectContaining({ gate: 'confirm-promotion', via: 'webhook' }),
      );
      await expectPromotedEndState(ns.name, v2);
      await oracle.verify(result, { app: v2 });
    } finally {
      await ns.cleanup();
    }
  });

  it('abort by signal (the Web UI path) mid-analysis: back to 100% primary at once, outcome Aborted', async () => {
    const ns = await targetNamespace(e, 'e2e-abort', v1);
    try {
      const yaml = canaryYaml(ns.name, {
        analysis: '    interval: 20s\n    threshold: 2\n    stepWeight: 20\n    maxWeight: 80',
      });
      const oracle = await endState(e, yaml);
      const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'e2e' });
      const h = e.client.workflow.getHandle(sub.workflowId);
      await eventually(
        'canary weight > 0',
        async () => (((await h.query(statusQuery)) as ReleaseStatus).weights.canary > 0 ? true : undefined),
        { timeoutMs: 60_000 },
      );
      const t0 = Date.now();
      await h.signal(abortSignal, { actor: 'bob', reason: 'pager went off' });
      const result = (await h.result()) as ReleaseResult;
      const elapsed = Date.now() - t0;
      console.log(`abort signal → result in ${elapsed} ms`);
      expect(elapsed).toBeLessThan(10_000); // far less than the 20 s interval: the abort did not wait for a tick
      expect(result.outcome).toBe('Aborted');
      expect(result.operatorActions).toContainEqual(
        expect.objectContaining({ action: 'abort', actor: 'bob', reason: 'pager went off', accepted: true }),
      );
      expect(await virtualServiceWeights(e.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(e.kube, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });
      await oracle.verify(result, { app: v2 });
      await recordHistory(e.client, sub.workflowId, 'release-aborted-by-signal');
    } finally {
      await ns.cleanup();
    }
  });
});

describe('release identity', () => {
  it('the same tag started twice (also concurrently) is one execution', async () => {
    const ns = await targetNamespace(e, 'e2e-twice', v1);
    try {
      const yaml = canaryYaml(ns.name);
      const oracle = await endState(e, yaml);
      const [a, b] = await Promise.all([
        submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'ci-1' }),
        submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'ci-2' }),
      ]);
      expect(a.workflowId).toBe(b.workflowId);
      expect([a.disposition, b.disposition].sort()).toEqual(['attached', 'started']);
      const c = await submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'ci-3' });
      expect(c).toMatchObject({ workflowId: a.workflowId, disposition: 'attached' });
      const result = (await e.client.workflow.getHandle(a.workflowId).result()) as ReleaseResult;
      expect(result.outcome).toBe('Promoted');
      await oracle.verify(result, { app: v2 });
      const runs: string[] = [];
      for await (const wf of e.client.workflow.list({ query: `WorkflowId = '${a.workflowId}'` }))
        runs.push(wf.runId);
      expect(runs).toHaveLength(1);
    } finally {
      await ns.cleanup();
    }
  });

  it('a newer tag supersedes the running release; traffic is never moved by both', async () => {
    const ns = await targetNamespace(e, 'e2e-supersede', v1);
    try {
      const slow = canaryYaml(ns.name, {
        analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 10\n    maxWeight: 90',
      });
      const oracle = await endState(e, slow);
      const first = await submitRelease(e.client, e.cfg, {
        yaml: slow,
        images: { app: v2 },
        initiator: 'ci',
      });
      const h1 = e.client.workflow.getHandle(first.workflowId);
      await eventually(
        'first release at ≥ 10%',
        async () =>
          (((await h1.query(statusQuery)) as ReleaseStatus).weights.canary ?? 0) >= 10 ? true : undefined,
        { timeoutMs: 60_000 },
      );
      const v3 = 'ghcr.io/stefanprodan/podinfo:6.5.2';
      const second = await submitRelease(e.client, e.cfg, {
        yaml: canaryYaml(ns.name),
        images: { app: v3 },
        initiator: 'ci',
      });
      expect(second).toMatchObject({ disposition: 'superseding', supersedes: first.workflowId });
      const r1 = (await h1.result()) as ReleaseResult;
      expect(r1.outcome).toBe('Superseded');
      const r2 = await releaseResult(e.client, second.workflowId);
      expect(r2.outcome).toBe('Promoted');
      // The second release started only after the first had ended.
      expect(r2.startedAt).toBeGreaterThanOrEqual(r1.finishedAt);
      await expectPromotedEndState(ns.name, v3);
      await oracle.verify(r2, { app: v3 });
      // Nothing left to run: the lane ends (patch lane-ends-when-idle; the next release starts a new run).
      const lane = e.client.workflow.getHandle(laneWorkflowId(ns.name, 'podinfo'));
      await eventually(
        'the lane to end',
        async () => ((await lane.describe()).status.name === 'COMPLETED' ? true : undefined),
        { timeoutMs: 30_000 },
      );
      await recordHistory(e.client, first.workflowId, 'release-superseded');
      await recordHistory(e.client, laneWorkflowId(ns.name, 'podinfo'), 'lane-supersede');
    } finally {
      await ns.cleanup();
    }
  });
});
