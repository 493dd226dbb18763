// Cluster mode on the real local stack: a Canary object applied to the cluster is initialised without a release; a
// change of the target's image (what `kubectl set image` / a GitOps image bump does) starts a release through the
// target's lane; the Canary's status (phase, weight, Promoted condition) follows it as Flagger writes it; a failing
// release ends Failed and is not retried; a controller and worker killed mid-release are replaced and the release
// still ends right. Every release ends with the end-state oracle.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Client } from '@temporalio/client';
import * as k8s from '@kubernetes/client-node';
import { loadFledgeConfig, type FledgeConfig } from '../../src/config.js';
import { loadToolPaths, projectRoot } from '../../src/dev/stack/config.js';
import { applyCrds, crdFiles } from '../../src/dev/stack/kube.js';
import { connectClient, releaseResult, submitRelease } from '../../src/starter.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { statusQuery } from '../../src/workflows/messages.js';
import type { CanaryStatus } from '../../src/cluster/status.js';
import { deployment, eventually, kube, stack, withNamespace, type KubeClients } from '../support/stack.js';
import { canaryYaml, deploymentState, endState } from './support.js';

const taskQueue = `e2e-cluster-${Date.now().toString(36)}`;
let cfg: FledgeConfig;
let client: Client;
let k: KubeClients;
const children: ChildProcess[] = [];
const v0 = 'ghcr.io/stefanprodan/podinfo:6.5.0';

function spawnChild(
  args: string[],
  readyText: string,
  label: string,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: projectRoot,
    env: { ...process.env, FLEDGE_TASK_QUEUE: taskQueue, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      output.push(b.toString());
      if (process.env.FLEDGE_TEST_VERBOSE) process.stderr.write(`[${label}] ${b.toString()}`);
      if (output.join('').includes(readyText)) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${label} exited early with ${code}: ${output.join('')}`)));
  });
}

const startWorker = (): Promise<ChildProcess> =>
  spawnChild(['src/worker.ts'], 'fledge worker: task queue', 'worker');
// Leader election is on: each test's controllers hold a Lease in the test's namespace (no waiting on each other), with
// short durations so a SIGKILLed controller's replacement leads within seconds.
const startController = (ns: string): Promise<ChildProcess> =>
  spawnChild(['src/cli/main.ts', 'cluster-mode', '-n', ns], 'fledge cluster-mode: ready', 'cluster-mode', {
    FLEDGE_LEASE_NAMESPACE: ns,
    FLEDGE_LEASE_DURATION: '4s',
    FLEDGE_LEASE_RENEW_DEADLINE: '3s',
    FLEDGE_LEASE_RETRY_PERIOD: '1s',
  });

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function canary(ns: string): Promise<{ status?: CanaryStatus; metadata: { finalizers?: string[] } }> {
  return (await k.custom.getNamespacedCustomObject({
    group: 'flagger.app',
    version: 'v1beta1',
    namespace: ns,
    plural: 'canaries',
    name: 'podinfo',
  })) as { status?: CanaryStatus; metadata: { finalizers?: string[] } };
}

const run = promisify(execFile);
/** `kubectl` against the local stack. */
const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', stack().kubeconfig, ...args]);

async function patchCanary(ns: string, body: object, subresource?: 'status'): Promise<void> {
  const args = {
    group: 'flagger.app',
    version: 'v1beta1',
    namespace: ns,
    plural: 'canaries',
    name: 'podinfo',
    body,
  };
  const opts = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  if (subresource === 'status') await k.custom.patchNamespacedCustomObjectStatus(args, opts);
  else await k.custom.patchNamespacedCustomObject(args, opts);
}

async function releasesOf(ns: string): Promise<Array<{ id: string; initiator: unknown }>> {
  const out: Array<{ id: string; initiator: unknown }> = [];
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'releaseWorkflow' AND FledgeTarget = '${ns}/podinfo'`,
  }))
    out.push({ id: wf.workflowId, initiator: wf.searchAttributes.FledgeInitiator?.[0] });
  return out;
}

const promoted = (s: CanaryStatus | undefined) => s?.conditions?.find((c) => c.type === 'Promoted');

/** `kubectl set image deployment/podinfo app=<image>`: a strategic merge patch of the container's image. */
async function setImage(ns: string, image: string): Promise<void> {
  await k.apps.patchNamespacedDeployment(
    {
      name: 'podinfo',
      namespace: ns,
      body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
}

/** Records every status the Canary shows (read every 100 ms) until stopped. */
function recordStatuses(ns: string) {
  const seen: CanaryStatus[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const s = (await canary(ns).catch(() => undefined))?.status;
      if (s) seen.push(s);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    seen,
    stop: async () => {
      on = false;
      await loop;
      return seen;
    },
  };
}

/**
 * A namespace with the target (2 replicas of v0), a cluster-mode controller watching it, and the Canary applied as an
 * object; waits for Initialized.
 */
async function initialisedCanary(prefix: string, analysis: string) {
  const ns = await withNamespace(k, prefix);
  await k.apps.createNamespacedDeployment({
    namespace: ns.name,
    body: deployment('podinfo', ns.name, v0, { app: 'podinfo' }, 2),
  });
  const controller = await startController(ns.name);
  const yaml = canaryYaml(ns.name, { analysis });
  await k.custom.createNamespacedCustomObject({
    group: 'flagger.app',
    version: 'v1beta1',
    namespace: ns.name,
    plural: 'canaries',
    body: parse(yaml) as object,
  });
  const status = await eventually(
    'Canary Initialized',
    async () => {
      const s = (await canary(ns.name)).status;
      return s?.phase === 'Initialized' ? s : undefined;
    },
    { timeoutMs: 90_000 },
  );
  return { ns, yaml, status, controller };
}

async function waitPhase(ns: string, phases: string[], timeoutMs = 120_000): Promise<CanaryStatus> {
  return eventually(
    `Canary phase ${phases.join('|')}`,
    async () => {
      const s = (await canary(ns)).status;
      return s?.phase && phases.includes(s.phase) ? s : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

beforeAll(async () => {
  cfg = loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue });
  client = await connectClient(cfg);
  k = kube();
  // A stack started before the Flagger CRDs were part of it gets them now (creation is idempotent).
  await applyCrds(k.kc, crdFiles(loadToolPaths().crdsDir));
  await startWorker();
});
afterAll(async () => {
  for (const c of children) await kill(c);
  await client?.connection.close();
});

describe('cluster mode', () => {
  it('initialises a new Canary without a release; a new image is released and Promoted; status follows', async () => {
    const {
      ns,
      yaml,
      status: init,
    } = await initialisedCanary(
      'e2e-cluster',
      '    interval: 2s\n    threshold: 2\n    stepWeight: 25\n    maxWeight: 50',
    );
    try {
      // Initialised as Flagger does: primary serving v0, target scaled to zero, Promoted True, no release.
      expect(promoted(init)).toMatchObject({ status: 'True', reason: 'Initialized' });
      expect(init.lastAppliedSpec).toBeTruthy();
      expect(init.lastPromotedSpec).toBe(init.lastAppliedSpec);
      expect(await deploymentState(k, ns.name, 'podinfo-primary')).toMatchObject({ image: v0 });
      await eventually('target scaled to zero', async () =>
        (await deploymentState(k, ns.name, 'podinfo')).replicas === 0 ? true : undefined,
      );
      const releasesBefore = [];
      for await (const wf of client.workflow.list({
        query: `WorkflowType = 'releaseWorkflow' AND FledgeTarget = '${ns.name}/podinfo'`,
      }))
        releasesBefore.push(wf.workflowId);
      expect(releasesBefore).toEqual([]);

      const oracle = await endState({ kube: k }, yaml);
      const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
      const statuses = recordStatuses(ns.name);
      await setImage(ns.name, v1);
      await waitPhase(ns.name, ['Progressing']);
      // What a pipeline or Flux waits on: returns once the Promoted condition is True again (Succeeded).
      const waited = await kubectl(
        'wait',
        'canary/podinfo',
        '-n',
        ns.name,
        '--for=condition=promoted',
        '--timeout=150s',
      );
      expect(waited.stdout).toContain('condition met');
      const done = await waitPhase(ns.name, ['Succeeded', 'Failed']);
      const table = (await kubectl('get', 'canaries', '-n', ns.name)).stdout;
      expect(table).toMatch(/podinfo\s+Succeeded\s+0/);
      const seen = await statuses.stop();
      expect(done.phase).toBe('Succeeded');
      expect(promoted(done)).toMatchObject({ status: 'True', reason: 'Succeeded' });
      expect(done.canaryWeight).toBe(0);
      expect(done.lastAppliedSpec).not.toBe(init.lastAppliedSpec);
      expect(done.lastPromotedSpec).toBe(done.lastAppliedSpec);
      // During the release: Progressing with the Promoted condition Unknown (Flagger), and the weights it moved.
      const progressing = seen.filter((s) => s.phase === 'Progressing');
      expect(progressing.length).toBeGreaterThan(0);
      expect(progressing.every((s) => promoted(s)?.status === 'Unknown')).toBe(true);
      expect(progressing.some((s) => promoted(s)?.reason === 'Progressing')).toBe(true);
      expect(Math.max(...seen.map((s) => s.canaryWeight ?? 0))).toBeGreaterThanOrEqual(25);

      const id = `fledge/${ns.name}/podinfo/6.5.1`;
      const result = await releaseResult(client, id, { timeoutMs: 10_000 });
      expect(result.outcome).toBe('Promoted');
      const desc = await client.workflow.getHandle(id).describe();
      expect(desc.searchAttributes.FledgeInitiator).toEqual([`cluster-mode@${done.lastAppliedSpec}`]);
      await oracle.verify(result, { app: v1 });

      // A scale of the target is not a template change: no release starts.
      await k.apps.patchNamespacedDeploymentScale(
        { name: 'podinfo', namespace: ns.name, body: { spec: { replicas: 3 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await new Promise((r) => setTimeout(r, 3000));
      expect((await canary(ns.name)).status?.phase).toBe('Succeeded');
      expect((await canary(ns.name)).status?.lastAppliedSpec).toBe(done.lastAppliedSpec);
    } finally {
      await ns.cleanup();
    }
  }, 240_000);

  it('a failing release ends Failed (Promoted False) and the same template is not retried', async () => {
    const { ns, yaml } = await initialisedCanary(
      'e2e-cluster-bad',
      '    interval: 2s\n    threshold: 2\n    stepWeight: 25\n    maxWeight: 50',
    );
    try {
      const oracle = await endState({ kube: k }, yaml);
      const bad = 'ghcr.io/stefanprodan/podinfo:6.5.1-bad';
      await setImage(ns.name, bad);
      await waitPhase(ns.name, ['Progressing'], 60_000);
      const done = await waitPhase(ns.name, ['Succeeded', 'Failed']);
      expect(done.phase).toBe('Failed');
      expect(promoted(done)).toMatchObject({ status: 'False', reason: 'Failed' });
      expect(promoted(done)?.message).toContain('RolledBack');
      expect(done.canaryWeight).toBe(0);
      expect(done.lastPromotedSpec).not.toBe(done.lastAppliedSpec);
      const id = `fledge/${ns.name}/podinfo/6.5.1-bad`;
      const result = await releaseResult(client, id, { timeoutMs: 10_000 });
      expect(result.outcome).toBe('RolledBack');
      await oracle.verify(result, { app: bad });
      // Flagger: lastAppliedSpec holds the failed template, so nothing is retried while it stays.
      await new Promise((r) => setTimeout(r, 3000));
      const runs = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.runId);
      expect(runs).toHaveLength(1);
      expect((await canary(ns.name)).status?.phase).toBe('Failed');
    } finally {
      await ns.cleanup();
    }
  }, 240_000);

  it('controller and worker killed mid-release: their replacements finish it, the status ends Succeeded', async () => {
    const { ns, yaml, controller } = await initialisedCanary(
      'e2e-cluster-restart',
      '    interval: 2s\n    threshold: 2\n    stepWeight: 20\n    maxWeight: 80',
    );
    try {
      const oracle = await endState({ kube: k }, yaml);
      const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
      await setImage(ns.name, v1);
      await eventually(
        'canary weight > 0 in the Canary status',
        async () => ((await canary(ns.name)).status?.canaryWeight ?? 0) > 0 || undefined,
        { timeoutMs: 90_000, intervalMs: 200 },
      );
      // SIGKILL both, mid-release.
      await kill(controller);
      for (const c of children) if (c !== controller) await kill(c);
      const frozen = (await canary(ns.name)).status;
      expect(frozen?.phase).toBe('Progressing');
      await new Promise((r) => setTimeout(r, 2000));
      await startWorker();
      await startController(ns.name);
      const done = await waitPhase(ns.name, ['Succeeded', 'Failed'], 180_000);
      expect(done.phase).toBe('Succeeded');
      expect(promoted(done)).toMatchObject({ status: 'True', reason: 'Succeeded' });
      const id = `fledge/${ns.name}/podinfo/6.5.1`;
      const result = await releaseResult(client, id, { timeoutMs: 10_000 });
      expect(result.outcome).toBe('Promoted');
      // One release, one run: the new controller followed it instead of starting another.
      const runs = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.runId);
      expect(runs).toHaveLength(1);
      await oracle.verify(result, { app: v1 });
    } finally {
      await ns.cleanup();
    }
  }, 300_000);
  it('beside CI and GitOps edits: a `fledge start` is followed, not doubled; Canary edits apply to the next release; suspend; delete aborts', async () => {
    const { ns, yaml } = await initialisedCanary(
      'e2e-cluster-ci',
      '    interval: 2s\n    threshold: 2\n    stepWeight: 25\n    maxWeight: 50',
    );
    try {
      // CI starts a release of the same target: cluster mode sees the template change and follows that release.
      const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
      let oracle = await endState({ kube: k }, yaml);
      const sub = await submitRelease(client, cfg, { yaml, images: { app: v1 }, initiator: 'ci-job' });
      const done = await waitPhase(ns.name, ['Succeeded', 'Failed']);
      expect(done.phase).toBe('Succeeded');
      const result = await releaseResult(client, sub.workflowId, { timeoutMs: 10_000 });
      expect(result.outcome).toBe('Promoted');
      await oracle.verify(result, { app: v1 });
      expect(await releasesOf(ns.name)).toEqual([{ id: sub.workflowId, initiator: 'ci-job' }]);

      // Editing the Canary's analysis starts nothing…
      await patchCanary(ns.name, { spec: { analysis: { stepWeight: 50 } } });
      // …and neither does a new image while the Canary is suspended.
      await patchCanary(ns.name, { spec: { suspend: true } });
      const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.2';
      await setImage(ns.name, v2);
      await new Promise((r) => setTimeout(r, 4000));
      expect(await releasesOf(ns.name)).toHaveLength(1);
      expect((await canary(ns.name)).status?.phase).toBe('Succeeded');

      // Resumed: the pending template is released, with the edited analysis (one step of 50 %).
      oracle = await endState({ kube: k }, yaml.replace('stepWeight: 25', 'stepWeight: 50'));
      await patchCanary(ns.name, { spec: { suspend: false } });
      const id = `fledge/${ns.name}/podinfo/6.5.2`;
      const st = await eventually(
        'release of 6.5.2 running',
        async () =>
          (await client.workflow
            .getHandle(id)
            .query(statusQuery)
            .catch(() => undefined)) as ReleaseStatus | undefined,
        { timeoutMs: 60_000 },
      );
      expect(st.progress.total).toBe(1);
      await waitPhase(ns.name, ['Progressing']);

      // Deleting the Canary aborts its release (traffic back to the primary); the objects stay.
      await k.custom.deleteNamespacedCustomObject({
        group: 'flagger.app',
        version: 'v1beta1',
        namespace: ns.name,
        plural: 'canaries',
        name: 'podinfo',
      });
      const aborted = await releaseResult(client, id, { timeoutMs: 60_000 });
      expect(aborted.outcome).toBe('Aborted');
      expect(aborted.operatorActions.at(-1)).toMatchObject({
        actor: 'fledge-cluster-mode',
        reason: 'Canary deleted',
      });
      await oracle.verify(aborted, { app: v2 });
      expect(await deploymentState(k, ns.name, 'podinfo-primary')).toMatchObject({ image: v1 });
    } finally {
      await ns.cleanup();
    }
  }, 300_000);

  it('takes a Canary over from Flagger: no release when the primary runs the target; a pending change is released', async () => {
    const { ns, yaml, controller } = await initialisedCanary(
      'e2e-cluster-takeover',
      '    interval: 2s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
    );
    try {
      // Flagger's status (its own hashes), with the primary running the target's images.
      await kill(controller);
      const flaggerStatus = {
        phase: 'Succeeded',
        lastAppliedSpec: '5d8f7b9c6',
        lastPromotedSpec: '5d8f7b9c6',
      };
      await patchCanary(ns.name, { status: flaggerStatus }, 'status');
      // Flagger's finalizer, as Flagger leaves it on a Canary that once had revertOnDeletion: removed (opt-out).
      await patchCanary(ns.name, { metadata: { finalizers: ['finalizer.flagger.app'] } });
      let c2 = await startController(ns.name);
      await eventually('Flagger finalizer removed', async () =>
        (await canary(ns.name)).metadata.finalizers?.length ? undefined : true,
      );
      const adopted = await eventually(
        'status taken over',
        async () => {
          const s = (await canary(ns.name)).status;
          return s?.lastAppliedSpec !== flaggerStatus.lastAppliedSpec ? s : undefined;
        },
        { timeoutMs: 30_000 },
      );
      expect(adopted).toMatchObject({ phase: 'Succeeded' });
      expect(adopted.lastPromotedSpec).toBe(adopted.lastAppliedSpec);
      expect(await releasesOf(ns.name)).toEqual([]);

      // Flagger's status again, now with a change Flagger never released.
      await kill(c2);
      await patchCanary(ns.name, { status: flaggerStatus }, 'status');
      const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
      const oracle = await endState({ kube: k }, yaml);
      await setImage(ns.name, v1);
      c2 = await startController(ns.name);
      await waitPhase(ns.name, ['Progressing'], 60_000);
      const done = await waitPhase(ns.name, ['Succeeded', 'Failed']);
      expect(done.phase).toBe('Succeeded');
      const result = await releaseResult(client, `fledge/${ns.name}/podinfo/6.5.1`, { timeoutMs: 10_000 });
      expect(result.outcome).toBe('Promoted');
      await oracle.verify(result, { app: v1 });
    } finally {
      await ns.cleanup();
    }
  }, 300_000);
});
