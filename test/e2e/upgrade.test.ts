// Upgrading with a release in flight: the PREVIOUS version of Fledge — its whole source tree taken from git
// (`git archive`), run as its own worker process and CLI — starts a release that waits at its confirm-promotion
// gate; that worker is stopped and the CURRENT worker takes over (it replays the history the previous version
// wrote, legacy input and all); the operator approves and the release ends Promoted, checked by the end-state
// oracle. No workflow task may fail on the way (a replay mismatch shows up as one).
//
// The previous version is pinned (`previousVersion`: the last commit before the release workflow took compiled
// input), not HEAD, so the test keeps meaning the same once this change is committed. It needs the git history: a
// shallow clone or an exported tree has none, and the test is skipped saying so (FLEDGE_PREVIOUS_VERSION names
// another commit; the legacy histories in test/replay cover replay alone either way).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadFledgeConfig, type FledgeConfig } from '../../src/config.js';
import { projectRoot } from '../../src/dev/stack/config.js';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { connectClient, releaseResult } from '../../src/starter.js';
import { createFledgeWorker } from '../../src/worker.js';
import { approveUpdate, statusQuery } from '../../src/workflows/messages.js';
import { deployment, eventually, kube, withNamespace, type KubeClients } from '../support/stack.js';
import { canaryYaml, deploymentState, endState, virtualServiceWeights } from './support.js';

/** The last commit whose release workflow compiled raw documents itself (legacy input). */
const previousVersion = process.env.FLEDGE_PREVIOUS_VERSION ?? 'e970cf215f1515f02773e951d1723755f4c33af3';

const git = (...args: string[]) => spawnSync('git', ['-C', projectRoot, ...args], { encoding: 'utf8' });
const available = git('cat-file', '-e', `${previousVersion}^{commit}`).status === 0;
if (!available)
  console.warn(
    `upgrade test skipped: commit ${previousVersion} is not in this checkout (a shallow clone or exported tree); clone with history to run it`,
  );

const taskQueue = `e2e-upgrade-${Date.now().toString(36)}`;
const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
let dir: string;
let cfg: FledgeConfig;
let client: Client;
let k: KubeClients;
const children: ChildProcess[] = [];
let current: { worker: Worker; connection: NativeConnection; running: Promise<void> } | undefined;

/** The previous version's environment: the stack's settings, this test's task queue. */
const previousEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  FLEDGE_TASK_QUEUE: taskQueue,
  FLEDGE_STATE_DIR: process.env.FLEDGE_STATE_DIR ?? join(projectRoot, '.fledge'),
});

function previous(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: dir,
    env: previousEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function output(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

function ready(child: ChildProcess): Promise<void> {
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('fledge worker: task queue')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`previous worker exited early with ${code}: ${err}`)));
  });
}

beforeAll(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'fledge-previous-'));
  // The previous version's tree; its dependencies are this checkout's (same lockfile across the change).
  const archive = spawnSync(
    'sh',
    [
      '-c',
      `git -C "${projectRoot}" archive ${previousVersion} src package.json tsconfig.json | tar -x -C "${dir}"`,
    ],
    { encoding: 'utf8' },
  );
  if (archive.status !== 0) throw new Error(`git archive failed: ${archive.stderr}`);
  symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  cfg = loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue });
  client = await connectClient(cfg);
  k = kube();
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (current) {
    current.worker.shutdown();
    await current.running.catch(() => undefined);
    await current.connection.close();
  }
  await client?.connection.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('upgrade with a release in flight', () => {
  it.skipIf(!available)(
    'a release the previous version started and left at its gate is finished by the current worker: Promoted',
    async () => {
      const ns = await withNamespace(k, 'e2e-upgrade');
      try {
        await k.apps.createNamespacedDeployment({
          namespace: ns.name,
          body: deployment('podinfo', ns.name, v1, { app: 'podinfo' }, 2),
        });
        const yaml = canaryYaml(ns.name, {
          analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
          fledge: '  fledge:\n    manualGates: [confirm-promotion]\n',
        });
        const specFile = join(dir, 'canary.yaml');
        writeFileSync(specFile, yaml);
        const oracle = await endState({ kube: k }, yaml);

        // The previous version: its worker, and its CLI starting the release.
        const oldWorker = previous(['src/worker.ts']);
        await ready(oldWorker);
        const start = await output(
          previous([
            'src/cli/main.ts',
            'start',
            '-f',
            specFile,
            '--image',
            `app=${v2}`,
            '--initiator',
            'e2e',
          ]),
        );
        expect(start.code, `${start.out}\n${start.err}`).toBe(0);
        const id = `fledge/${ns.name}/podinfo/6.5.1`;
        expect(start.out).toContain(id);
        const h = client.workflow.getHandle(id);

        // It really is the previous version's input: raw documents, compiled by the workflow.
        const first = (await h.fetchHistory()).events?.[0];
        const payload = first?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
        const input = payload ? defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload) : {};
        expect(Array.isArray(input.documents)).toBe(true);
        expect(input.kind).toBeUndefined();

        await eventually(
          'the confirm-promotion gate (previous version)',
          async () => {
            const st = (await h.query(statusQuery)) as ReleaseStatus;
            return st.pendingGate?.gate === 'confirm-promotion' ? st : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 500 },
        );
        expect(await virtualServiceWeights(k, ns.name)).toEqual({
          'podinfo-primary': 50,
          'podinfo-canary': 50,
        });

        // The upgrade: the previous worker stops (as a rolling deploy stops it), the current one starts.
        const stopped = output(oldWorker);
        oldWorker.kill('SIGTERM');
        const kill = setTimeout(() => oldWorker.kill('SIGKILL'), 15_000);
        await stopped;
        clearTimeout(kill);
        const { worker, connection } = await createFledgeWorker(cfg);
        current = { worker, connection, running: worker.run() };

        // The operator approves through the current client; the current worker replays and carries on.
        await h.executeUpdate(approveUpdate, { args: [{ actor: 'alice', reason: 'upgrade test' }] });
        const result: ReleaseResult = await releaseResult(client, id, { timeoutMs: 120_000 });
        expect(result.outcome).toBe('Promoted');
        expect(result.approvals).toContainEqual(
          expect.objectContaining({ gate: 'confirm-promotion', via: 'operator', by: 'alice' }),
        );
        expect(await deploymentState(k, ns.name, 'podinfo-primary')).toMatchObject({ image: v2 });
        await oracle.verify(result, { app: v2 });

        // No workflow task failed: the current code replayed the previous version's history without a mismatch.
        const events = (await h.fetchHistory()).events ?? [];
        expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
        // Both versions worked on it: tasks completed before and after the upgrade.
        const identities = new Set(
          events.map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter((x) => !!x),
        );
        expect(identities.size).toBeGreaterThanOrEqual(2);
      } finally {
        await ns.cleanup();
      }
    },
    300_000,
  );
});
