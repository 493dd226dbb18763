// Bounded authority on the real stack: the release policy (FLEDGE_ALLOWED_NAMESPACES, FLEDGE_ALLOWED_IMAGES, the
// reserved namespaces) refuses a release before anything exists — `fledge start` exits 5 naming the setting, no
// workflow is started (neither the release nor the target's lane) and no object is created — and the worker refuses
// a release workflow started directly (bypassing the starter) with the typed, non-retryable `PolicyViolation`,
// before any write.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { projectRoot } from '../../src/dev/stack/config.js';
import { parseCanaryYaml } from '../../src/domain/manifest/index.js';
import { releaseIdFor, releaseResult } from '../../src/starter.js';
import { laneWorkflowId } from '../../src/workflows/lane.js';
import { abortSignal } from '../../src/workflows/messages.js';
import type { ReleaseInput } from '../../src/workflows/prepare.js';
import { canaryYaml, startE2E, targetNamespace, type E2E } from '../e2e/support.js';

const allowedImage = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const oldImage = 'ghcr.io/stefanprodan/podinfo:6.5.0';
/** The worker's and the CLI's policy in this file. */
const policyEnv = {
  FLEDGE_ALLOWED_NAMESPACES: 'fledge-pol-ok-*',
  FLEDGE_ALLOWED_IMAGES: 'ghcr.io/stefanprodan/*',
};

let e: E2E;
let dir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  e = await startE2E('policy', policyEnv);
  dir = mkdtempSync(join(tmpdir(), 'fledge-policy-'));
});
afterAll(async () => {
  await e?.stop();
  for (const c of cleanups) await c();
});

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function fledge(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const merged: Record<string, string | undefined> = {
      ...process.env,
      FLEDGE_TASK_QUEUE: e.cfg.taskQueue,
      NO_COLOR: '1',
      FLEDGE_ACTOR: 'policy-test',
      FLEDGE_ALLOWED_NAMESPACES: undefined,
      FLEDGE_ALLOWED_IMAGES: undefined,
      ...env,
    };
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    const child = spawn(process.execPath, [join(projectRoot, 'bin/fledge.js'), ...args], { env: merged });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}
const show = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`;

function specFile(ns: string): string {
  const file = join(dir, `${ns}.yaml`);
  writeFileSync(file, canaryYaml(ns));
  return file;
}

async function notFound(workflowId: string): Promise<boolean> {
  try {
    await e.client.workflow.getHandle(workflowId).describe();
    return false;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
}

/** No release and no lane workflow for the target. */
async function expectNoWorkflow(ns: string, images: Record<string, string>): Promise<void> {
  expect(await notFound(releaseIdFor({ namespace: ns, name: 'podinfo' }, images)), 'release workflow').toBe(
    true,
  );
  expect(await notFound(laneWorkflowId(ns, 'podinfo')), 'lane workflow').toBe(true);
}

/** Nothing Fledge would create exists in `ns`: only the target Deployment the test made (if any), no Services,
 * no VirtualService or DestinationRules, no Events from Fledge. */
async function expectNothingCreated(ns: string, target: string[]): Promise<void> {
  const k = e.kube;
  const deployments = await k.apps.listNamespacedDeployment({ namespace: ns });
  expect(deployments.items.map((d) => d.metadata?.name).sort()).toEqual(target);
  const services = await k.core.listNamespacedService({ namespace: ns });
  expect(services.items.map((s) => s.metadata?.name)).toEqual([]);
  const custom = k.kc.makeApiClient(k8s.CustomObjectsApi);
  for (const plural of ['virtualservices', 'destinationrules']) {
    const list = (await custom.listNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1beta1',
      namespace: ns,
      plural,
    })) as { items: unknown[] };
    expect(list.items, plural).toEqual([]);
  }
  const events = await k.core.listNamespacedEvent({ namespace: ns });
  expect(events.items.filter((ev) => ev.source?.component === 'fledge')).toEqual([]);
}

describe('the starter (fledge start) refuses before anything is started — exit 5, naming the setting', () => {
  it('a namespace outside FLEDGE_ALLOWED_NAMESPACES', async () => {
    const ns = await targetNamespace(e, 'fledge-pol-no', oldImage);
    cleanups.push(ns.cleanup);
    const r = await fledge(
      ['start', '-f', specFile(ns.name), '--image', `podinfod=${allowedImage}`],
      policyEnv,
    );
    expect(r.code, show(r)).toBe(5);
    expect(r.err).toMatch(/nothing was started/);
    expect(r.err).toContain(
      `namespace: namespace "${ns.name}" is not allowed by FLEDGE_ALLOWED_NAMESPACES="fledge-pol-ok-*"`,
    );
    await expectNoWorkflow(ns.name, { podinfod: allowedImage });
    await expectNothingCreated(ns.name, ['podinfo']);
  });

  it('an image outside FLEDGE_ALLOWED_IMAGES', async () => {
    const ns = await targetNamespace(e, 'fledge-pol-ok', oldImage);
    cleanups.push(ns.cleanup);
    const bad = 'docker.io/evil/miner:1.0';
    const r = await fledge(['start', '-f', specFile(ns.name), '--image', `podinfod=${bad}`], policyEnv);
    expect(r.code, show(r)).toBe(5);
    expect(r.err).toMatch(/nothing was started/);
    expect(r.err).toContain(
      `images.podinfod: image "${bad}" (repository docker.io/evil/miner) is not allowed by FLEDGE_ALLOWED_IMAGES="ghcr.io/stefanprodan/*"`,
    );
    await expectNoWorkflow(ns.name, { podinfod: bad });
    await expectNothingCreated(ns.name, ['podinfo']);
  });

  it('kube-system with the default settings (no policy configured at all)', async () => {
    const r = await fledge(
      ['start', '-f', specFile('kube-system'), '--image', `podinfod=${allowedImage}`],
      {},
    );
    expect(r.code, show(r)).toBe(5);
    expect(r.err).toMatch(
      /"kube-system" is a system namespace and is refused unless FLEDGE_ALLOWED_NAMESPACES/,
    );
    await expectNoWorkflow('kube-system', { podinfod: allowedImage });
    for (const name of ['podinfo', 'podinfo-primary'])
      await expect(
        e.kube.apps.readNamespacedDeployment({ name, namespace: 'kube-system' }),
      ).rejects.toMatchObject({
        code: 404,
      });
    await expect(
      e.kube.core.readNamespacedService({ name: 'podinfo-canary', namespace: 'kube-system' }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('positive control: an allowed namespace and image start (and the worker lets it run)', async () => {
    const ns = await targetNamespace(e, 'fledge-pol-ok', oldImage);
    cleanups.push(ns.cleanup);
    const r = await fledge(
      ['start', '-f', specFile(ns.name), '--image', `podinfod=${allowedImage}`],
      policyEnv,
    );
    expect(r.code, show(r)).toBe(0);
    const id = releaseIdFor({ namespace: ns.name, name: 'podinfo' }, { podinfod: allowedImage });
    // Wait until the worker initialised it (its primary exists), then abort: the release ran past the worker's check.
    const handle = e.client.workflow.getHandle(id);
    for (let i = 0; i < 240; i++) {
      const ok = await e.kube.apps
        .readNamespacedDeployment({ name: 'podinfo-primary', namespace: ns.name })
        .then(() => true)
        .catch(() => false);
      if (ok) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    await handle.signal(abortSignal, { actor: 'policy-test', reason: 'positive control done' });
    const result = await releaseResult(e.client, id, { timeoutMs: 60_000 });
    expect(result.outcome).toBe('Aborted');
  });
});

describe('the worker refuses a release workflow started directly (bypassing the starter)', () => {
  async function startDirectly(ns: string, image: string): Promise<unknown> {
    const parsed = parseCanaryYaml(canaryYaml(ns));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const input: ReleaseInput = {
      documents: parsed.value.documents,
      images: { podinfod: image },
      initiator: 'policy-test (direct start)',
    };
    const handle = await e.client.workflow.start('releaseWorkflow', {
      taskQueue: e.cfg.taskQueue,
      workflowId: `${releaseIdFor({ namespace: ns, name: 'podinfo' }, input.images)}-direct`,
      args: [input],
      workflowExecutionTimeout: '2 minutes',
    });
    return handle.result().then(
      () => new Error('the release was not refused'),
      (err: unknown) => err,
    );
  }

  const expectPolicyViolation = (err: unknown, setting: string): void => {
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'PolicyViolation', nonRetryable: true });
    expect((cause as ApplicationFailure).message).toContain(setting);
    expect((cause as ApplicationFailure).message).toMatch(/nothing was done/);
  };

  it('a namespace outside FLEDGE_ALLOWED_NAMESPACES: typed PolicyViolation, nothing created', async () => {
    const ns = await targetNamespace(e, 'fledge-pol-no', oldImage);
    cleanups.push(ns.cleanup);
    expectPolicyViolation(await startDirectly(ns.name, allowedImage), 'FLEDGE_ALLOWED_NAMESPACES');
    await expectNothingCreated(ns.name, ['podinfo']);
  });

  it('an image outside FLEDGE_ALLOWED_IMAGES: typed PolicyViolation, nothing created', async () => {
    const ns = await targetNamespace(e, 'fledge-pol-ok', oldImage);
    cleanups.push(ns.cleanup);
    expectPolicyViolation(await startDirectly(ns.name, 'docker.io/evil/miner:1.0'), 'FLEDGE_ALLOWED_IMAGES');
    await expectNothingCreated(ns.name, ['podinfo']);
  });

  it('kube-system (reserved, whatever the globs say): typed PolicyViolation, nothing created there', async () => {
    expectPolicyViolation(await startDirectly('kube-system', allowedImage), 'FLEDGE_ALLOWED_NAMESPACES');
    await expect(
      e.kube.apps.readNamespacedDeployment({ name: 'podinfo-primary', namespace: 'kube-system' }),
    ).rejects.toMatchObject({ code: 404 });
  });
});
