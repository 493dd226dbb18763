// The fledge CLI as a user runs it (a child process), against the real local stack: validation with line
// numbers, invalid input rejected before anything starts, a release started and waited for with its exit code,
// list by search attributes, and rejected/unknown operator requests with their exit codes.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/dev/stack/config.js';
import { canaryYaml, startE2E, targetNamespace, type E2E } from '../e2e/support.js';

let e: E2E;
let dir: string;
beforeAll(async () => {
  e = await startE2E('cli');
  dir = mkdtempSync(join(tmpdir(), 'fledge-cli-'));
});
afterAll(async () => {
  await e?.stop();
});

/** Runs the CLI asynchronously: the test's Fledge worker lives in this process and must keep running. */
function fledge(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin/fledge.js'), ...args], {
      env: { ...process.env, FLEDGE_TASK_QUEUE: e.cfg.taskQueue, NO_COLOR: '1', FLEDGE_ACTOR: 'cli-test' },
    });
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

describe('fledge CLI', () => {
  it('validate: a valid spec shows its plan; an invalid one lists every problem with file:line:col and exits 5', async () => {
    const ok = await fledge('validate', '-f', join(projectRoot, 'test/fixtures/canaries/podinfo-istio.yaml'));
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/valid/);
    expect(ok.out).toMatch(/target\s+test\/podinfo via istio/);
    const bad = await fledge(
      'validate',
      '-f',
      join(projectRoot, 'test/fixtures/canaries/several-errors.yaml'),
    );
    expect(bad.code).toBe(5);
    const lines = bad.err.split('\n').filter((l) => /several-errors\.yaml:\d+:\d+ /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(3);
  });

  it('start: invalid input is rejected before anything starts (exit 5)', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, canaryYaml('cli-never'));
    const badImage = await fledge('start', '-f', file, '--image', 'app=Not A Ref');
    expect(badImage.code).toBe(5);
    expect(badImage.err).toMatch(/image/i);
    const noImage = await fledge('start', '-f', file);
    expect(noImage.code).toBe(5);
    const missing = await fledge('start', '-f', join(dir, 'nope.yaml'), '--image', 'app=x:1');
    expect(missing.code).toBe(5);
    expect(missing.err).toMatch(/cannot read/);
  });

  it('start --wait exits 0 when promoted; list finds it; approve on a finished release is rejected (exit 9); unknown targets exit 8', async () => {
    const ns = await targetNamespace(e, 'cli', 'ghcr.io/stefanprodan/podinfo:6.5.0');
    try {
      const file = join(dir, 'release.yaml');
      writeFileSync(file, canaryYaml(ns.name));
      const run = await fledge(
        'start',
        '-f',
        file,
        '--image',
        'app=ghcr.io/stefanprodan/podinfo:6.5.1',
        '--wait',
      );
      expect(run.code, `${run.out}\n${run.err}`).toBe(0);
      expect(run.out).toMatch(/Promoted/);
      expect(run.out).toMatch(new RegExp(`fledge/${ns.name}/podinfo/6\\.5\\.1`));
      const list = await fledge('list', '--target', `${ns.name}/podinfo`, '-o', 'json');
      expect(list.code).toBe(0);
      const rows = JSON.parse(list.out) as Array<{ outcome: string; tag: string; initiator: string }>;
      expect(rows).toEqual([
        expect.objectContaining({ outcome: 'Promoted', tag: '6.5.1', initiator: 'cli-test' }),
      ]);
      const status = await fledge('status', `${ns.name}/podinfo`);
      expect(status.code).toBe(0);
      expect(status.out).toMatch(/Succeeded/);
      const approve = await fledge('approve', `${ns.name}/podinfo`, '--reason', 'late');
      expect(approve.code).toBe(9);
      expect(approve.err).toMatch(/approve rejected/);
      const unknown = await fledge('status', 'nowhere/nothing');
      expect(unknown.code).toBe(8);
      expect(unknown.err).toMatch(/unknown target/);
    } finally {
      await ns.cleanup();
    }
  });
});
