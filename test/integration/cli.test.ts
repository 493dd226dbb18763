// The fledge CLI as a user runs it (a child process), against the real local stack: --help everywhere, validation
// with line numbers, invalid input rejected before anything starts, every operator command on running releases
// (accepted and rejected, with their exit codes and messages), status --watch, history with who did what, retry of
// a rolled-back release, -o json, and NO_COLOR / non-TTY output without escape sequences.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { projectRoot } from '../../src/dev/stack/config.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { eventually, stack } from '../support/stack.js';
import { releaseResult } from '../../src/starter.js';
import { canaryYaml, endState, startE2E, targetNamespace, type E2E } from '../e2e/support.js';

let e: E2E;
let dir: string;
beforeAll(async () => {
  e = await startE2E('cli');
  dir = mkdtempSync(join(tmpdir(), 'fledge-cli-'));
});
afterAll(async () => {
  await e?.stop();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const ESC = '\x1b';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs the CLI asynchronously (never spawnSync: the test's Fledge worker lives in this process and must keep
 * running). NO_COLOR is set unless `env` says otherwise; stdout and stderr are pipes (not a terminal).
 */
function fledge(
  args: string[],
  env: Record<string, string | undefined> = {},
  onStdout?: (chunk: string, child: ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const merged: Record<string, string | undefined> = {
      ...process.env,
      FLEDGE_TASK_QUEUE: e.cfg.taskQueue,
      NO_COLOR: '1',
      FLEDGE_ACTOR: 'cli-test',
      ...env,
    };
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    const child = spawn(process.execPath, [join(projectRoot, 'bin/fledge.js'), ...args], { env: merged });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      onStdout?.(out, child);
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** The end-state oracle around a release started by the CLI from `file` (see src/dev/oracle.ts). */
async function oracleFor(file: string): Promise<{ verify: (id: string) => Promise<void> }> {
  const oracle = await endState(e, readFileSync(file, 'utf8'));
  return { verify: async (id) => oracle.verify(await releaseResult(e.client, id), { app: v2 }) };
}

const show = (r: Run): string => `exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`;

async function statusOf(id: string): Promise<ReleaseStatus> {
  return (await e.client.workflow.getHandle(id).query(statusQuery)) as ReleaseStatus;
}

/** Writes a spec for a target namespace; fast analysis so each release takes seconds. */
function specFile(ns: string, name: string, opts: Parameters<typeof canaryYaml>[1] = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, canaryYaml(ns, opts));
  return file;
}

describe('fledge CLI: help, validation, invalid input', () => {
  it('--help works for the program and every command (exit 0)', async () => {
    const commands = [
      [],
      ['start'],
      ['validate'],
      ['status'],
      ['approve'],
      ['pause'],
      ['resume'],
      ['promote'],
      ['abort'],
      ['retry'],
      ['history'],
      ['list'],
      ['dev'],
      ['dev', 'up'],
      ['dev', 'down'],
      ['dev', 'status'],
    ];
    const runs = await Promise.all(commands.map((c) => fledge([...c, '--help'])));
    runs.forEach((r, i) => {
      expect(r.code, show(r)).toBe(0);
      expect(r.out).toContain(`Usage: fledge ${commands[i]?.join(' ')}`.trimEnd());
    });
    expect(runs[0]?.out).toMatch(/--no-color/);
    for (const c of ['status', 'list', 'history', 'validate', 'start', 'retry', 'approve', 'abort'])
      expect(runs[commands.findIndex((x) => x[0] === c)]?.out, c).toMatch(/-o, --output <format>/);
    expect(runs[commands.findIndex((x) => x[0] === 'status')]?.out).toMatch(/--watch/);
  });

  it('validate: a valid spec shows its plan (also -o json); schema problems and YAML syntax errors give file:line:col and exit 5', async () => {
    const fixture = join(projectRoot, 'test/fixtures/canaries/podinfo-istio.yaml');
    const [ok, okJson, bad] = await Promise.all([
      fledge(['validate', '-f', fixture]),
      fledge(['validate', '-f', fixture, '-o', 'json']),
      fledge(['validate', '-f', join(projectRoot, 'test/fixtures/canaries/several-errors.yaml')]),
    ]);
    expect(ok.code, show(ok)).toBe(0);
    expect(ok.out).toMatch(/valid/);
    expect(ok.out).toMatch(/target\s+test\/podinfo via istio/);
    expect(okJson.code, show(okJson)).toBe(0);
    const compiled = JSON.parse(okJson.out) as { plan: { target: { name: string } } };
    expect(compiled.plan.target.name).toBe('podinfo');
    expect(bad.code).toBe(5);
    const lines = bad.err.split('\n').filter((l) => /several-errors\.yaml:\d+:\d+ /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(3);

    const broken = join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      'apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: x\n  namespace: y\nspec:\n  targetRef: [unclosed\n  service:\n    port: 80\n',
    );
    const [syntax, startSyntax] = await Promise.all([
      fledge(['validate', '-f', broken]),
      fledge(['start', '-f', broken, '--image', `app=${v2}`]),
    ]);
    for (const r of [syntax, startSyntax]) {
      expect(r.code, show(r)).toBe(5);
      expect(r.err).toMatch(/broken\.yaml:8:3 YAML syntax error/);
    }
    expect(startSyntax.err).toMatch(/nothing was started/);
  });

  it('start: a bad image reference, no image, a missing file exit 5 naming the problem; nothing starts', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, canaryYaml('cli-never'));
    const [badImage, noImage, missing] = await Promise.all([
      fledge(['start', '-f', file, '--image', 'app=Not A Ref']),
      fledge(['start', '-f', file]),
      fledge(['start', '-f', join(dir, 'nope.yaml'), '--image', 'app=x:1']),
    ]);
    expect(badImage.code).toBe(5);
    expect(badImage.err).toMatch(/images\.app: invalid image reference "Not A Ref"/);
    expect(noImage.code).toBe(5);
    expect(noImage.err).toMatch(/at least one --image/);
    expect(missing.code).toBe(5);
    expect(missing.err).toMatch(/cannot read/);
    const list = await fledge(['list', '--target', 'cli-never/podinfo', '-o', 'json']);
    expect(JSON.parse(list.out)).toEqual([]);
  });

  it('unknown targets and releases exit 8 for every command; malformed arguments exit 5', async () => {
    const runs = await Promise.all([
      fledge(['status', 'nowhere/nothing']),
      fledge(['history', 'nowhere/nothing']),
      fledge(['approve', 'nowhere/nothing', '--reason', 'x']),
      fledge(['abort', 'nowhere/nothing', '--reason', 'x']),
      fledge(['retry', 'nowhere/nothing']),
      fledge(['status', 'fledge/nowhere/nothing/1.0.0']),
      fledge(['history', 'fledge/nowhere/nothing/1.0.0']),
    ]);
    for (const r of runs) expect(r.code, show(r)).toBe(8);
    for (const r of runs.slice(0, 5)) expect(r.err).toMatch(/unknown target nowhere\/nothing/);
    for (const r of runs.slice(5)) expect(r.err).toMatch(/fledge\/nowhere\/nothing\/1\.0\.0 not found/);
    const bad = await Promise.all([
      fledge(['status', 'NotATarget']),
      fledge(['status', 'x/y', '-o', 'yaml']),
      fledge(['abort', 'x/y']),
      fledge(['approve']),
    ]);
    for (const r of bad) expect(r.code, show(r)).toBe(5);
    expect(bad[0]?.err).toMatch(/neither a release ID/);
    expect(bad[1]?.err).toMatch(/Allowed choices are text, table, json/);
    expect(bad[2]?.err).toMatch(/required option '-r, --reason <text>'/);
  });

  it('colours: only with FORCE_COLOR on a pipe, and never with NO_COLOR or --no-color', async () => {
    const fixture = join(projectRoot, 'test/fixtures/canaries/podinfo-istio.yaml');
    const args = ['validate', '-f', fixture];
    const [forced, noColorEnv, noColorFlag, pipe, emptyNoColor] = await Promise.all([
      fledge(args, { NO_COLOR: undefined, FORCE_COLOR: '1' }),
      fledge(args, { NO_COLOR: '1', FORCE_COLOR: '1' }),
      fledge([...args, '--no-color'], { NO_COLOR: undefined, FORCE_COLOR: '1' }),
      fledge(args, { NO_COLOR: undefined, FORCE_COLOR: undefined }),
      fledge(args, { NO_COLOR: '', FORCE_COLOR: '1' }),
    ]);
    expect(forced.out).toContain(`${ESC}[32mvalid`);
    for (const r of [noColorEnv, noColorFlag, pipe, emptyNoColor]) {
      expect(r.code, show(r)).toBe(0);
      expect(r.out + r.err).not.toContain(ESC);
    }
  });
});

describe('fledge CLI without a server (hostile input)', () => {
  /** A port nothing listens on. */
  const closedPort = async (): Promise<number> =>
    new Promise((resolve, reject) => {
      const server = createServer();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });

  /** A Temporal address that accepts TCP connections and counts them (it never answers). */
  const countingListener = async (): Promise<{
    address: string;
    connections: () => number;
    close: () => void;
  }> =>
    new Promise((resolve, reject) => {
      let count = 0;
      const sockets = new Set<Socket>();
      const server = createServer((socket) => {
        count += 1;
        sockets.add(socket);
        socket.on('error', () => undefined);
      });
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        resolve({
          address: `127.0.0.1:${port}`,
          connections: () => count,
          close: () => {
            for (const socket of sockets) socket.destroy();
            server.close();
          },
        });
      });
    });

  it('invalid input exits 5 before connecting; a valid release against an unreachable server exits 6', async () => {
    // "Before connecting" is proven by a listener that counts connections, not by wall time: a CLI that
    // connected first would show up here (and, as the listener never answers, exit 6 at its deadline).
    const listener = await countingListener();
    const env = { TEMPORAL_ADDRESS: listener.address };
    const valid = join(dir, 'no-server.yaml');
    writeFileSync(valid, canaryYaml('cli-no-server'));
    const invalid = join(dir, 'no-server-invalid.yaml');
    writeFileSync(invalid, canaryYaml('cli-no-server').replace(/port: \d+/, 'port: "x"'));
    const deep = join(dir, 'no-server-deep.yaml');
    writeFileSync(deep, `${canaryYaml('cli-no-server')}status:\n  - ${'- '.repeat(10_000)}x\n`);
    try {
      const [badSpec, badTimeout, deepSpec, badRef, unreachable] = await Promise.all([
        fledge(['start', '-f', invalid, '--image', `app=${v2}`, '--wait'], env),
        fledge(['start', '-f', valid, '--image', `app=${v2}`, '--wait', '--timeout', 'abc'], env),
        fledge(['validate', '-f', deep], env),
        fledge(['abort', `x/y${ESC}[2J`, '--reason', 'r'], env),
        fledge(['start', '-f', valid, '--image', `app=${v2}`], {
          TEMPORAL_ADDRESS: `127.0.0.1:${await closedPort()}`,
        }),
      ]);
      for (const r of [badSpec, badTimeout, deepSpec, badRef]) {
        expect(r.code, show(r)).toBe(5);
        expect(r.err).not.toContain(ESC);
      }
      expect(listener.connections()).toBe(0);
      expect(badSpec.err).toMatch(/nothing was started/);
      expect(badTimeout.err).toMatch(/--timeout "abc": expected a number of seconds/);
      expect(deepSpec.err).toMatch(/YAML error: nested deeper than 64 levels/);
      expect(badRef.err).toMatch(/"x\/y\\u001b\[2J" is neither a release ID/);
      expect(unreachable.code, show(unreachable)).toBe(6);
      expect(unreachable.err).toMatch(/cannot connect to Temporal at 127\.0\.0\.1:\d+/);
    } finally {
      listener.close();
    }
  });
});

describe.concurrent('fledge CLI on running releases', () => {
  it('start --wait exits 0 when promoted; list, status and history show it; approve and retry afterwards are rejected (exit 9)', async () => {
    const ns = await targetNamespace(e, 'cli', v1);
    try {
      const target = `${ns.name}/podinfo`;
      const file = specFile(ns.name, 'release');
      const oracle = await oracleFor(file);
      const run = await fledge(['start', '-f', file, '--image', `app=${v2}`, '--wait']);
      expect(run.code, show(run)).toBe(0);
      await oracle.verify(`fledge/${target}/6.5.1`);
      expect(run.out).toMatch(/Promoted/);
      expect(run.out).toMatch(new RegExp(`fledge/${ns.name}/podinfo/6\\.5\\.1`));
      expect(run.out).toMatch(/Progressing\s+step \d\/2/);
      const [list, status, approve, retry, history] = await Promise.all([
        fledge(['list', '--target', target, '-o', 'json']),
        fledge(['status', target]),
        fledge(['approve', target, '--reason', 'late']),
        fledge(['retry', target]),
        fledge(['history', target, '-o', 'json']),
      ]);
      expect(list.code).toBe(0);
      const rows = JSON.parse(list.out) as Array<{ outcome: string; tag: string; initiator: string }>;
      expect(rows).toEqual([
        expect.objectContaining({ outcome: 'Promoted', tag: '6.5.1', initiator: 'cli-test' }),
      ]);
      expect(status.code).toBe(0);
      expect(status.out).toMatch(/Succeeded/);
      expect(status.out).toMatch(/outcome\s+Promoted/);
      expect(approve.code).toBe(9);
      expect(approve.err).toMatch(/approve rejected: release .* has already ended: Promoted/);
      expect(retry.code, show(retry)).toBe(9);
      expect(retry.err).toMatch(/retry rejected: .* it was promoted/);
      expect(history.code, show(history)).toBe(0);
      const h = JSON.parse(history.out) as { status: string; entries: Array<{ kind: string; text: string }> };
      expect(h.status).toBe('COMPLETED');
      const kinds = h.entries.map((x) => x.kind);
      for (const k of ['started', 'phase', 'traffic', 'hooks', 'analysis', 'workload', 'outcome'])
        expect(kinds).toContain(k);
      // The last analysis before promotion passed (the first tick may see no traffic yet on a loaded machine).
      expect(h.entries.filter((x) => x.kind === 'analysis').at(-1)?.text).toMatch(
        /request-success-rate [\d.]+ \(min 99\) ✓/,
      );
      expect(h.entries.at(-1)).toMatchObject({ kind: 'outcome', text: expect.stringMatching(/^Promoted/) });
    } finally {
      await ns.cleanup();
    }
  });

  it('approve with nothing pending says so and what the release waits for (9); pause/resume with actor and reason; the manual gate approved; status --watch follows it to exit 0; history shows who did what', async () => {
    const ns = await targetNamespace(e, 'cli-gate', v1);
    try {
      const target = `${ns.name}/podinfo`;
      const file = specFile(ns.name, 'gate', {
        // A 20 s interval keeps the gate well ahead of the early approve and the pause (two CLI runs, seconds
        // each on a loaded machine); once paused, nothing advances until the resume.
        analysis: '    interval: 20s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
        fledge: '  fledge:\n    manualGates: [confirm-promotion]\n',
      });
      const oracle = await oracleFor(file);
      const started = await fledge(['start', '-f', file, '--image', `app=${v2}`, '-o', 'json']);
      expect(started.code, show(started)).toBe(0);
      const sub = JSON.parse(started.out) as { workflowId: string; disposition: string; link: string };
      expect(sub).toMatchObject({ workflowId: `fledge/${target}/6.5.1`, disposition: 'started' });
      expect(sub.link).toMatch(/^http/);
      const id = sub.workflowId;

      // Followed from the start, as a CI log would (not a terminal): one line per change, then the outcome.
      const watching = fledge(['status', target, '--watch']);

      const early = await fledge(['approve', target, '--reason', 'too early', '--actor', 'mallory']);
      expect(early.code, show(early)).toBe(9);
      expect(early.err).toMatch(/approve rejected: nothing to approve: no gate is pending/);
      expect(early.err).toMatch(/waiting for /);

      const pause = await fledge(['pause', id, '--reason', 'investigating a spike', '--actor', 'alice']);
      expect(pause.code, show(pause)).toBe(0);
      expect(pause.out).toMatch(/pause accepted \(alice: "investigating a spike"\)/);
      expect(pause.out).toMatch(/paused by alice: investigating a spike/);
      const again = await fledge(['pause', target, '--reason', 'me too', '--actor', 'bob']);
      expect(again.code, show(again)).toBe(9);
      expect(again.err).toMatch(/pause rejected: already paused by alice/);
      const paused = await fledge(['status', target]);
      expect(paused.out).toMatch(
        /operator\s+\d\d:\d\d:\d\d pause by alice: "investigating a spike" — accepted/,
      );
      const resume = await fledge(['resume', target, '--actor', 'alice']);
      expect(resume.code, show(resume)).toBe(0);
      expect(resume.out).toMatch(/resume accepted \(alice\)/);

      await eventually(
        'the confirm-promotion gate',
        async () => ((await statusOf(id)).pendingGate?.gate === 'confirm-promotion' ? true : undefined),
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      const waiting = await fledge(['status', target]);
      expect(waiting.out).toMatch(/WaitingPromotion/);
      expect(waiting.out).toMatch(
        new RegExp(
          `gate\\s+confirm-promotion pending — fledge approve ${target} --gate confirm-promotion --reason "<why>" \\(manual gate`,
        ),
      );
      expect(waiting.out).toMatch(/metric\s+request-success-rate [\d.]+ \(min 99\) ✓/);
      const statusJson = JSON.parse((await fledge(['status', target, '-o', 'json'])).out) as {
        status: ReleaseStatus;
      };
      expect(statusJson.status.pendingGate?.gate).toBe('confirm-promotion');

      const approve = await fledge([
        'approve',
        target,
        '--reason',
        'dashboards look good',
        '--actor',
        'alice',
      ]);
      expect(approve.code, show(approve)).toBe(0);
      expect(approve.out).toMatch(/approve accepted/);

      const watched = await watching;
      expect(watched.code, show(watched)).toBe(0);
      const progress = watched.out.split('\n').filter((l) => /step \d\/1/.test(l));
      expect(progress.length, watched.out).toBeGreaterThanOrEqual(3);
      // Appended only when something changed: never the same line twice in a row.
      expect(progress.filter((l, i) => i > 0 && l === progress[i - 1])).toEqual([]);
      expect(watched.out).toMatch(/WaitingPromotion/);
      expect(watched.out).toMatch(/^Promoted: /m);
      expect(watched.out + watched.err).not.toContain(ESC);

      const [history, historyJson] = await Promise.all([
        fledge(['history', target]),
        fledge(['history', id, '-o', 'json']),
      ]);
      expect(history.code, show(history)).toBe(0);
      expect(history.out).toMatch(/operator\s+pause by alice: "investigating a spike" \[update\] — accepted/);
      expect(history.out).toMatch(/operator\s+resume by alice \[update\] — accepted/);
      expect(history.out).toMatch(
        /operator\s+approve by alice: "dashboards look good" \[update\] — accepted/,
      );
      expect(history.out).toMatch(/phase\s+WaitingPromotion/);
      expect(history.out).toMatch(/outcome\s+Promoted/);
      expect(history.out).not.toMatch(/mallory/); // a rejected update leaves nothing in history
      await oracle.verify(id);
      const h = JSON.parse(historyJson.out) as {
        entries: Array<{
          kind: string;
          operator?: { action: string; actor: string; reason: string; accepted?: boolean };
        }>;
      };
      expect(h.entries.filter((x) => x.kind === 'operator').map((x) => x.operator)).toEqual([
        expect.objectContaining({
          action: 'pause',
          actor: 'alice',
          reason: 'investigating a spike',
          accepted: true,
        }),
        expect.objectContaining({ action: 'resume', actor: 'alice', reason: '', accepted: true }),
        expect.objectContaining({
          action: 'approve',
          actor: 'alice',
          reason: 'dashboards look good',
          accepted: true,
        }),
      ]);
    } finally {
      await ns.cleanup();
    }
  });

  it('promote needs a reason (5) and skips the remaining analysis (status --watch exits 0); abort needs a reason, rolls back (status --watch exits 3) and is rejected once ended (9); retry of a running release is rejected (9)', async () => {
    const [pns, ans] = await Promise.all([
      targetNamespace(e, 'cli-promote', v1),
      targetNamespace(e, 'cli-abort', v1),
    ]);
    try {
      const slow = { analysis: '    interval: 30s\n    threshold: 2\n    stepWeight: 20\n    maxWeight: 80' };
      const [pfile, afile] = [specFile(pns.name, 'promote', slow), specFile(ans.name, 'abort', slow)];
      const [poracle, aoracle] = await Promise.all([oracleFor(pfile), oracleFor(afile)]);
      const [p, a] = await Promise.all([
        fledge(['start', '-f', pfile, '--image', `app=${v2}`, '-o', 'json']),
        fledge(['start', '-f', afile, '--image', `app=${v2}`, '-o', 'json']),
      ]);
      expect(p.code, show(p)).toBe(0);
      expect(a.code, show(a)).toBe(0);
      const pid = (JSON.parse(p.out) as { workflowId: string }).workflowId;
      const aid = (JSON.parse(a.out) as { workflowId: string }).workflowId;
      await Promise.all(
        [pid, aid].map((id) =>
          eventually(
            'canary weight > 0',
            async () => ((await statusOf(id)).weights.canary > 0 ? true : undefined),
            {
              timeoutMs: 60_000,
              intervalMs: 500,
            },
          ),
        ),
      );
      const [noReason, noAbortReason, retryRunning] = await Promise.all([
        fledge(['promote', `${pns.name}/podinfo`]),
        fledge(['abort', `${ans.name}/podinfo`]),
        fledge(['retry', `${ans.name}/podinfo`]),
      ]);
      expect(noReason.code).toBe(5);
      expect(noReason.err).toMatch(/required option '-r, --reason <text>'/);
      expect(noAbortReason.code).toBe(5);
      expect(retryRunning.code, show(retryRunning)).toBe(9);
      expect(retryRunning.err).toMatch(/retry rejected: release .* is still running/);

      // Ctrl-C while watching: a clean exit (130), the release goes on.
      let sent = false;
      const interrupted = await fledge(['status', `${ans.name}/podinfo`, '--watch'], {}, (soFar, child) => {
        if (!sent && /step \d\/4/.test(soFar)) sent = child.kill('SIGINT');
      });
      expect(interrupted.code, show(interrupted)).toBe(130);
      expect(interrupted.err).toMatch(/^fledge: interrupted; the release goes on/);
      expect(interrupted.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
      expect((await statusOf(aid)).outcome).toBeNull();

      const [promote, abort] = await Promise.all([
        fledge([
          'promote',
          `${pns.name}/podinfo`,
          '--reason',
          'hotfix, metrics verified by hand',
          '-o',
          'json',
        ]),
        fledge(['abort', `${ans.name}/podinfo`, '--reason', 'pager went off', '--actor', 'bob']),
      ]);
      expect(promote.code, show(promote)).toBe(0);
      expect((JSON.parse(promote.out) as { action: string; status: ReleaseStatus }).status.phase).toMatch(
        /Promoting|Finalising|Succeeded/,
      );
      expect(abort.code, show(abort)).toBe(0);
      expect(abort.out).toMatch(/abort accepted \(bob: "pager went off"\)/);

      const [pw, aw] = await Promise.all([
        fledge(['status', `${pns.name}/podinfo`, '--watch']),
        fledge(['status', `${ans.name}/podinfo`, '--watch', '-o', 'json']),
      ]);
      expect(pw.code, show(pw)).toBe(0);
      expect(pw.out).toMatch(/Promoted: .*hotfix, metrics verified by hand/);
      expect(aw.code, show(aw)).toBe(3);
      const last = JSON.parse(aw.out.trim().split('\n').at(-1) ?? '{}') as {
        result?: { outcome: string; reason: { message: string } };
      };
      expect(last.result).toMatchObject({
        outcome: 'Aborted',
        reason: { message: 'Aborted by bob: pager went off' },
      });
      const late = await fledge(['abort', aid, '--reason', 'again']);
      expect(late.code).toBe(9);
      expect(late.err).toMatch(/abort rejected: release .* has already ended: Aborted/);
      const history = await fledge(['history', aid]);
      expect(history.out).toMatch(/operator\s+abort by bob: "pager went off" \[update\] — accepted/);
      expect(history.out).toMatch(/outcome\s+Aborted: Aborted by bob: pager went off/);
      await Promise.all([poracle.verify(pid), aoracle.verify(aid)]);
    } finally {
      await Promise.all([pns.cleanup(), ans.cleanup()]);
    }
  });

  it('retry of a rolled-back release: a new run of the same spec and images, identified as a retry, promoted once the failing webhook is fixed', async () => {
    // threshold 2: the always-failing gatekeeper still rolls the first run back, and the retry tolerates the one
    // "no values" tick a freshly scaled canary can show before Prometheus has two samples of it (Flagger's rule).
    const ns = await targetNamespace(e, 'cli-retry', v1);
    const hookPath = `/cli-retry/${ns.name}/gatekeeper`;
    try {
      await e.hooks.program({ path: hookPath, status: 500 });
      const target = `${ns.name}/podinfo`;
      const file = specFile(ns.name, 'retry', {
        analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
        webhooks: `      - name: gatekeeper\n        url: ${stack().urls.webhook}${hookPath}\n        timeout: 5s\n`,
      });
      const oracle = await oracleFor(file);
      const first = await fledge(['start', '-f', file, '--image', `app=${v2}`, '--wait']);
      expect(first.code, show(first)).toBe(2);
      expect(first.out).toMatch(/^RolledBack: /m);
      const id = `fledge/${target}/6.5.1`;
      const firstRun = (await e.client.workflow.getHandle(id).describe()).runId;

      await e.hooks.reset(hookPath);
      const retry = await fledge([
        'retry',
        target,
        '--wait',
        '--actor',
        'bob',
        '--reason',
        'gatekeeper fixed',
      ]);
      expect(retry.code, show(retry)).toBe(0);
      expect(retry.out).toContain(`retry of ${id}: run ${firstRun} ended RolledBack`);
      expect(retry.out).toMatch(/app=ghcr\.io\/stefanprodan\/podinfo:6\.5\.1\) as bob: "gatekeeper fixed"/);
      expect(retry.out).toMatch(/\(started\), new run [0-9a-f-]+/);
      expect(retry.out).toMatch(/^Promoted: /m);
      const secondRun = (await e.client.workflow.getHandle(id).describe()).runId;
      expect(secondRun).not.toBe(firstRun);

      const [list, history, oldHistory, again] = await Promise.all([
        fledge(['list', '--target', target, '-o', 'json']),
        fledge(['history', target]),
        fledge(['history', id, '--run', firstRun, '-o', 'json']),
        fledge(['retry', id]),
      ]);
      const rows = JSON.parse(list.out) as Array<{
        workflowId: string;
        runId: string;
        outcome: string;
        initiator: string;
      }>;
      expect(rows).toHaveLength(2);
      expect(rows).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            workflowId: id,
            runId: firstRun,
            outcome: 'RolledBack',
            initiator: 'cli-test',
          }),
          expect.objectContaining({
            workflowId: id,
            runId: secondRun,
            outcome: 'Promoted',
            initiator: 'bob',
          }),
        ]),
      );
      expect(history.code, show(history)).toBe(0);
      expect(history.out).toMatch(
        new RegExp(`retry\\s+of 1 earlier run\\(s\\); the last, ${firstRun}, ended RolledBack`),
      );
      expect(history.out).toMatch(
        /started\s+Release .* — retry \(RolledBack before\) by bob: gatekeeper fixed, initiated by bob/,
      );
      expect(history.out).toMatch(/outcome\s+Promoted/);
      const old = JSON.parse(oldHistory.out) as {
        runIds: string[];
        entries: Array<{ kind: string; ok?: boolean; text: string }>;
      };
      expect(old.runIds).toEqual([firstRun]);
      expect(old.entries.find((x) => x.kind === 'analysis')).toMatchObject({
        ok: false,
        text: expect.stringMatching(/gatekeeper ✗/),
      });
      expect(old.entries.at(-1)?.text).toMatch(/^RolledBack/);
      expect(again.code, show(again)).toBe(9);
      expect(again.err).toMatch(/it was promoted/);
      await oracle.verify(id);
    } finally {
      await e.hooks.reset(hookPath).catch(() => undefined);
      await ns.cleanup();
    }
  });
});
