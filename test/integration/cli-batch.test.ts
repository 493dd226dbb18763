// `fledge start --batch` as a user runs it (a child process) against the real local stack: invalid input anywhere in
// the batch starts nothing (exit 5); three releases on three targets submitted in one call over one connection, one
// line each; `--wait` follows all of them to Promoted (exit 0), each checked with the end-state oracle.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/dev/stack/config.js';
import { releaseResult } from '../../src/starter.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { canaryYaml, endState, startE2E, targetNamespace, type E2E } from '../e2e/support.js';

let e: E2E;
let dir: string;
beforeAll(async () => {
  e = await startE2E('cli-batch');
  dir = mkdtempSync(join(tmpdir(), 'fledge-cli-batch-'));
});
afterAll(async () => {
  await e?.stop();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';

function fledge(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin/fledge.js'), ...args], {
      env: {
        ...process.env,
        FLEDGE_TASK_QUEUE: e.cfg.taskQueue,
        NO_COLOR: '1',
        FLEDGE_ACTOR: 'cli-batch-test',
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('fledge start --batch', () => {
  it('invalid input in one entry: nothing is started, every problem listed (exit 5)', async () => {
    const ns = await targetNamespace(e, 'cli-batch-bad', v1);
    try {
      writeFileSync(join(dir, 'ok.yaml'), canaryYaml(ns.name));
      const batch = join(dir, 'bad.yaml');
      writeFileSync(
        batch,
        `- file: ok.yaml\n  images: {app: "${v2}"}\n- file: missing.yaml\n  images: {app: "${v2}"}\n- file: ok.yaml\n  images: {app: "${v2}"}\n- file: ok.yaml\n  images: {app: "Not A Ref"}\n`,
      );
      const r = await fledge(['start', '--batch', batch]);
      expect(r.code, r.err).toBe(5);
      expect(r.err).toMatch(/invalid input, nothing was started/);
      expect(r.err).toMatch(/cannot read .*missing\.yaml/);
      expect(r.err).toMatch(/\[2\]: target .* is already released by entry \[0\]/);
      expect(r.err).toMatch(/ok\.yaml: images\.app: /);
      // Nothing was submitted: the valid entry's release does not exist.
      const id = `fledge/${ns.name}/podinfo/6.5.1`;
      await expect(e.client.workflow.getHandle(id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    } finally {
      await ns.cleanup();
    }
  });

  it('three targets in one call, --wait: one line per release, all promoted, exit 0; the cluster matches', async () => {
    const targets = await Promise.all([0, 1, 2].map((i) => targetNamespace(e, `cli-batch-${i}`, v1)));
    try {
      const files = targets.map((ns, i) => {
        const file = join(dir, `t${i}.yaml`);
        writeFileSync(file, canaryYaml(ns.name));
        return file;
      });
      const oracles = await Promise.all(files.map((f) => endState(e, readFileSync(f, 'utf8'))));
      const batch = join(dir, 'batch.json');
      writeFileSync(
        batch,
        JSON.stringify(files.map((f, i) => ({ file: i === 0 ? `t0.yaml` : f, images: { app: v2 } }))),
      );
      const r = await fledge(['start', '--batch', batch, '--wait', '--timeout', '180']);
      expect(r.code, `${r.out}\n${r.err}`).toBe(0);
      const ids = targets.map((ns) => `fledge/${ns.name}/podinfo/6.5.1`);
      for (const id of ids) {
        expect(r.out).toMatch(new RegExp(`^release ${id} \\(started\\)  http`, 'm'));
        expect(r.out).toMatch(new RegExp(`^release ${id}: Promoted`, 'm'));
      }
      expect(r.out).toMatch(/^3 releases: 3 Promoted; exit 0$/m);
      for (const [i, id] of ids.entries()) {
        const result = await releaseResult(e.client, id);
        expect(result.outcome).toBe('Promoted');
        await oracles[i]?.verify(result, { app: v2 });
      }
      // Submitting the same batch again attaches to the same releases (nothing new starts); -o json: one object each.
      const again = await fledge(['start', '--batch', batch, '-o', 'json']);
      expect(again.code, again.err).toBe(0);
      const subs = JSON.parse(again.out) as Array<{
        workflowId: string;
        disposition: string;
        exitCode: number;
      }>;
      expect(subs.map((s) => [s.workflowId, s.disposition, s.exitCode])).toEqual(
        ids.map((id) => [id, 'attached', 0]),
      );
    } finally {
      await Promise.all(targets.map((ns) => ns.cleanup()));
    }
  });
});
