// The worker process is killed (SIGKILL) mid-analysis and a new one started: the release resumes from its
// history and finishes with the right end state, and no traffic step is applied twice or out of order.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { loadFledgeConfig, type FledgeConfig } from '../../src/config.js';
import { projectRoot } from '../../src/dev/stack/config.js';
import { connectClient, releaseResult, submitRelease } from '../../src/starter.js';
import { recordHistory } from '../support/histories.js';
import { deployment, eventually, kube, withNamespace, type KubeClients } from '../support/stack.js';
import { canaryYaml, deploymentState, endState, virtualServiceWeights } from './support.js';

const taskQueue = `e2e-restart-${Date.now().toString(36)}`;
let cfg: FledgeConfig;
let client: Client;
let k: KubeClients;
const children: ChildProcess[] = [];

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: projectRoot,
    env: { ...process.env, FLEDGE_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      if (b.toString().includes('fledge worker: task queue')) resolve();
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

beforeAll(async () => {
  cfg = loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue });
  client = await connectClient(cfg);
  k = kube();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await client?.connection.close();
});

describe('worker killed mid-analysis', () => {
  it('a new worker finishes the release; traffic steps are applied once, in order', async () => {
    const ns = await withNamespace(k, 'e2e-restart');
    try {
      await k.apps.createNamespacedDeployment({
        namespace: ns.name,
        body: deployment('podinfo', ns.name, 'ghcr.io/stefanprodan/podinfo:6.5.0', { app: 'podinfo' }, 2),
      });
      const first = startWorker();
      await ready(first);
      const yaml = canaryYaml(ns.name, {
        analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 20\n    maxWeight: 80',
      });
      const oracle = await endState({ kube: k }, yaml);
      const sub = await submitRelease(client, cfg, {
        yaml,
        images: { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' },
        initiator: 'e2e',
      });
      await eventually(
        'canary weight ≥ 20',
        async () =>
          ((await virtualServiceWeights(k, ns.name))['podinfo-canary'] ?? 0) >= 20 ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      first.kill('SIGKILL');
      const weightAtKill = (await virtualServiceWeights(k, ns.name))['podinfo-canary'];
      await new Promise((r) => setTimeout(r, 4000));
      // Nothing moves while no worker runs.
      expect((await virtualServiceWeights(k, ns.name))['podinfo-canary']).toBe(weightAtKill);
      const second = startWorker();
      await ready(second);
      const result = await releaseResult(client, sub.workflowId, { timeoutMs: 120_000 });
      expect(result.outcome).toBe('Promoted');
      expect(result.stepsCompleted).toBe(4);
      expect(await virtualServiceWeights(k, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
      expect(await deploymentState(k, ns.name, 'podinfo-primary')).toMatchObject({
        image: 'ghcr.io/stefanprodan/podinfo:6.5.1',
      });
      expect(await deploymentState(k, ns.name, 'podinfo')).toMatchObject({ replicas: 0 });
      await oracle.verify(result, { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' });

      // Every route write recorded in history (local-activity markers carry the weights read back), in order.
      const events = (await client.workflow.getHandle(sub.workflowId).fetchHistory()).events ?? [];
      const canaryWeights: number[] = [];
      for (const ev of events) {
        const details = ev.markerRecordedEventAttributes?.details;
        const data = details?.data?.payloads?.[0]?.data;
        const res = details?.result?.payloads?.[0]?.data;
        if (!data || !res) continue;
        const meta = JSON.parse(Buffer.from(data).toString()) as { activity_type: string };
        if (meta.activity_type === 'setRoutes')
          canaryWeights.push(
            (JSON.parse(Buffer.from(res).toString()) as { canaryWeight: number }).canaryWeight,
          );
      }
      // Progress 20 → 40 → 60 → 80 exactly once each, then back to 0 after promotion.
      expect(canaryWeights).toEqual([20, 40, 60, 80, 0]);
      await recordHistory(client, sub.workflowId, 'release-worker-restart');
    } finally {
      await ns.cleanup();
    }
  });
});
