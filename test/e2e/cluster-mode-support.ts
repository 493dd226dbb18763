// Helpers of the cluster-mode end-to-end tests: child processes (worker, `fledge cluster-mode`, Flagger) whose output
// is kept, the Canary object and its status, the target Deployment.
import { spawn, type ChildProcess } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { projectRoot } from '../../src/dev/stack/config.js';
import type { CanaryStatus } from '../../src/cluster/status.js';
import { eventually, type KubeClients } from '../support/stack.js';

export interface Proc {
  child: ChildProcess;
  label: string;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves when its output contains `text` (after `from` characters). */
  waitFor(text: string | RegExp, timeoutMs?: number, from?: number): Promise<void>;
  exited(): boolean;
}

export function startProc(
  command: string,
  args: string[],
  label: string,
  env: Record<string, string | undefined>,
  registry: Proc[],
): Proc {
  const child = spawn(command, args, {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  const listeners = new Set<() => void>();
  const onData = (b: Buffer): void => {
    chunks.push(b.toString());
    if (process.env.FLEDGE_TEST_VERBOSE) process.stderr.write(`[${label}] ${b.toString()}`);
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.once('exit', () => {
    for (const l of listeners) l();
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const p: Proc = {
    child,
    label,
    output: () => chunks.join(''),
    exited,
    waitFor: (text, timeoutMs = 60_000, from = 0) =>
      new Promise<void>((resolve, reject) => {
        const check = (): boolean => {
          const out = chunks.join('').slice(from);
          if (typeof text === 'string' ? out.includes(text) : text.test(out)) {
            done();
            resolve();
            return true;
          }
          if (exited()) {
            done();
            reject(new Error(`${label} exited before printing ${String(text)}:\n${chunks.join('')}`));
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${label}: no ${String(text)} within ${timeoutMs} ms:\n${chunks.join('')}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        const listener = (): void => void check();
        listeners.add(listener);
        check();
      }),
  };
  registry.push(p);
  return p;
}

/** A Node child of this repository (`src/worker.ts`, `src/cli/main.ts …`) run with tsx. */
export const startNode = (
  args: string[],
  label: string,
  env: Record<string, string | undefined>,
  registry: Proc[],
): Proc => startProc(process.execPath, ['--import', 'tsx', ...args], label, env, registry);

export function stopProc(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (p.exited()) return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill(signal);
  });
}

export const canaryApi = { group: 'flagger.app', version: 'v1beta1', plural: 'canaries' } as const;

export interface CanaryObj {
  metadata: { finalizers?: string[]; resourceVersion?: string; generation?: number };
  spec: Record<string, unknown>;
  status?: CanaryStatus;
}

export async function readCanary(k: KubeClients, ns: string, name = 'podinfo'): Promise<CanaryObj> {
  return (await k.custom.getNamespacedCustomObject({ ...canaryApi, namespace: ns, name })) as CanaryObj;
}

export const promotedOf = (s: CanaryStatus | undefined) => s?.conditions?.find((c) => c.type === 'Promoted');

export async function waitPhase(
  k: KubeClients,
  ns: string,
  phases: string[],
  timeoutMs = 120_000,
): Promise<CanaryStatus> {
  return eventually(
    `Canary phase ${phases.join('|')}`,
    async () => {
      const s = (await readCanary(k, ns)).status;
      return s?.phase && phases.includes(s.phase) ? s : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** `kubectl set image deployment/podinfo app=<image>`: a strategic merge patch of the container's image. */
export async function setImage(k: KubeClients, ns: string, image: string): Promise<void> {
  await k.apps.patchNamespacedDeployment(
    {
      name: 'podinfo',
      namespace: ns,
      body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
}

/** Replaces a ConfigMap's data (what a GitOps tool applying an edited ConfigMap does). */
export async function setConfigMapData(
  k: KubeClients,
  ns: string,
  name: string,
  data: Record<string, string>,
): Promise<void> {
  await k.core.patchNamespacedConfigMap(
    { name, namespace: ns, body: { data } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

/** The release workflows of the target, oldest first. */
export async function releasesOf(
  client: Client,
  ns: string,
): Promise<Array<{ id: string; runId: string; initiator: unknown }>> {
  const out: Array<{ id: string; runId: string; initiator: unknown; start: Date }> = [];
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'releaseWorkflow' AND FledgeTarget = '${ns}/podinfo'`,
  }))
    out.push({
      id: wf.workflowId,
      runId: wf.runId,
      initiator: wf.searchAttributes.FledgeInitiator?.[0],
      start: wf.startTime,
    });
  return out
    .sort((a, b) => a.start.getTime() - b.start.getTime())
    .map(({ id, runId, initiator }) => ({ id, runId, initiator }));
}

/**
 * The Canary without its `metrics` (webhooks only). These tests are about what starts a release and what the status
 * says, not about the analysis: they must not depend on the mesh simulator's metrics reaching Prometheus in time on a
 * loaded machine (its scrape times out there: no values → rolled back).
 */
export function withoutMetrics(yaml: string): string {
  const out = yaml.replace(/^ {4}metrics:\n(?: {6}.*\n| {8}.*\n| {10}.*\n)+/m, '');
  if (out === yaml || /request-success-rate/.test(out))
    throw new Error('withoutMetrics: no metrics block removed');
  return out;
}
