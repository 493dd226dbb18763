// The CLI entry on hostile arguments, options, environment and files, without a server: TEMPORAL_ADDRESS points at
// a closed port, so any attempt to connect would take the client's ~10 s connection deadline and exit 6. Every
// case must exit 5 (invalid input) in under 2 s — everything is validated before anything connects — and print
// escaped, bounded messages.
import { createServer } from 'node:net';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatStatus } from '../../../src/cli/operate.js';
import { painter, sanitizeDeep } from '../../../src/cli/output.js';
import { runCli } from '../../../src/cli/program.js';
import { describeResult } from '../../../src/cli/start.js';
import { progressLine } from '../../../src/cli/watch.js';
import type { ReleaseResult } from '../../../src/domain/result.js';
import type { ReleaseStatus } from '../../../src/domain/status.js';
import { base, edit } from '../manifest/hostile-inputs.js';

const ESC = '\x1b';
let dir: string;
let closedPort: number;
const saved: Record<string, string | undefined> = {};
const envKeys = [
  'TEMPORAL_ADDRESS',
  'FLEDGE_ACTOR',
  'FLEDGE_MAX_SPEC_BYTES',
  'TEMPORAL_TLS',
  'NO_COLOR',
  'FLEDGE_ALLOWED_NAMESPACES',
];

/** A port nothing listens on: bound, then closed. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fledge-hostile-cli-'));
  closedPort = await freePort();
  for (const k of envKeys) saved[k] = process.env[k];
});
afterAll(() => {
  for (const k of envKeys) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

interface Run {
  code: number;
  ms: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process (no server): exit code, time, what it printed. */
async function fledge(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  process.env.TEMPORAL_ADDRESS = `127.0.0.1:${closedPort}`;
  process.env.FLEDGE_ACTOR = 'hostile-test';
  process.env.NO_COLOR = '1';
  delete process.env.FLEDGE_MAX_SPEC_BYTES;
  delete process.env.TEMPORAL_TLS;
  delete process.env.FLEDGE_ALLOWED_NAMESPACES;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let out = '';
  let err = '';
  const text = (a: unknown[]): string => `${a.map(String).join(' ')}\n`;
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += text(a)));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += text(a)));
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  const t0 = performance.now();
  process.exitCode = undefined;
  const code = await runCli(['node', 'fledge', ...args]);
  const ms = performance.now() - t0;
  vi.restoreAllMocks();
  process.exitCode = undefined;
  return { code, ms, out, err };
}

const show = (r: Run): string =>
  `exit ${r.code} in ${Math.round(r.ms)} ms\n--- stdout\n${r.out}\n--- stderr\n${r.err}`;

/** Exit 5 in under 2 s, with `message` on stderr, and nothing raw from the input echoed. */
async function expectInvalid(args: string[], message: RegExp, env: Record<string, string | undefined> = {}) {
  const r = await fledge(args, env);
  expect(r.code, show(r)).toBe(5);
  expect(r.ms, show(r)).toBeLessThan(2000);
  expect(r.err, show(r)).toMatch(message);
  expect(r.err + r.out).not.toContain(ESC);
  expect(r.err.length, 'bounded output').toBeLessThan(30_000);
  return r;
}

describe('invalid input exits 5 at once, before anything connects (Temporal unreachable)', () => {
  const valid = (): string => file('valid.yaml', base);
  const image = ['--image', 'app=ghcr.io/acme/app:1.0.0'];

  it('start: an invalid spec (the review saw exit 1 after ~15 s)', async () => {
    const f = file('invalid.yaml', edit('    port: 9898\n', '    port: "9898"\n'));
    const r = await expectInvalid(['start', '-f', f, ...image, '--wait'], /nothing was started/);
    expect(r.err).toMatch(/invalid\.yaml:17:5 spec\.service\.port: expected number, got string/);
  });

  it('start: --timeout abc (the review saw it submitted, then exit 7)', async () => {
    await expectInvalid(
      ['start', '-f', valid(), ...image, '--wait', '--timeout', 'abc'],
      /--timeout "abc": expected a number of seconds/,
    );
  });

  for (const t of ['0', '-1', '1e3', 'NaN', 'Infinity', '99999999', ' 60', '60s', '']) {
    it(`start: --timeout ${JSON.stringify(t)}`, async () => {
      await expectInvalid(['start', '-f', valid(), ...image, '--wait', '--timeout', t], /--timeout /);
    });
  }

  it('start: no --image, a malformed --image, a bad image reference', async () => {
    await expectInvalid(['start', '-f', valid()], /at least one --image/);
    await expectInvalid(['start', '-f', valid(), '--image', 'app'], /expected <container>=<image reference>/);
    await expectInvalid(
      ['start', '-f', valid(), '--image', `app=Not A Ref${ESC}[2J`],
      /images\.app: invalid image reference "Not A Ref\\u001b\[2J"/,
    );
    await expectInvalid(['start', '-f', valid(), '--image', `app=x:${'1'.repeat(100_000)}`], /characters\)/);
  });

  it('start: a hostile --initiator or $FLEDGE_ACTOR', async () => {
    await expectInvalid(
      ['start', '-f', valid(), ...image, '--initiator', `ci${ESC}]0;x\x07`],
      /--initiator "ci\\u001b\]0;x\\u0007": must not contain control characters/,
    );
    await expectInvalid(
      ['start', '-f', valid(), ...image, '--initiator', ''],
      /--initiator "": must not be empty/,
    );
    await expectInvalid(
      ['start', '-f', valid(), ...image, '--initiator', 'x'.repeat(300)],
      /must be at most 200 characters/,
    );
    await expectInvalid(
      ['start', '-f', valid(), ...image],
      /the default initiator .*must not contain control characters/,
      { FLEDGE_ACTOR: `evil\n${ESC}[2J` },
    );
  });

  it('start/validate: the size limit, from the option and the environment', async () => {
    await expectInvalid(
      ['validate', '-f', valid(), '--max-spec-bytes', '100'],
      /the spec is [\d,]+ bytes; the limit is 100 bytes; raise it with --max-spec-bytes or FLEDGE_MAX_SPEC_BYTES/,
    );
    await expectInvalid(['start', '-f', valid(), ...image], /the limit is 100 bytes/, {
      FLEDGE_MAX_SPEC_BYTES: '100',
    });
    await expectInvalid(
      ['validate', '-f', valid(), '--max-spec-bytes', 'lots'],
      /--max-spec-bytes "lots": expected a whole number of bytes/,
    );
    await expectInvalid(
      ['validate', '-f', valid()],
      /FLEDGE_MAX_SPEC_BYTES "0": must be between 1 and 16777216/,
      { FLEDGE_MAX_SPEC_BYTES: '0' },
    );
    await expectInvalid(
      ['validate', '-f', valid(), '--max-spec-bytes', String(64 * 1024 * 1024)],
      /must be between 1 and 16777216/,
    );
    const big = file('big.yaml', `${base}status:\n  x: "${'a'.repeat(1024 * 1024)}"\n`);
    await expectInvalid(
      ['start', '-f', big, ...image],
      /big\.yaml: the spec is 1,04\d,\d{3} bytes; the limit is 1,048,576 bytes \(1 MiB\)/,
    );
    const r = await fledge(['validate', '-f', big, '--max-spec-bytes', String(2 * 1024 * 1024)]);
    expect(r.code, show(r)).toBe(0);
  });

  it('start/validate: a missing file, a directory, a file that is not UTF-8', async () => {
    await expectInvalid(['start', '-f', join(dir, 'nope.yaml'), ...image], /cannot read .*nope\.yaml/);
    const sub = join(dir, 'a-directory');
    mkdirSync(sub, { recursive: true });
    await expectInvalid(['validate', '-f', sub], /it is a directory/);
    const latin1 = file(
      'latin1.yaml',
      Buffer.concat([
        Buffer.from('apiVersion: v1\nkind: Canary\nmetadata:\n  name: caf'),
        Buffer.from([0xe9, 0x0a]),
      ]),
    );
    await expectInvalid(['validate', '-f', latin1], /latin1\.yaml:4:12 the spec is not valid UTF-8 text/);
  });

  it('start/validate: hostile manifests are refused with file:line:col', async () => {
    const deep = file('deep.yaml', `${base}status:\n  - ${'- '.repeat(10_000)}x\n`);
    await expectInvalid(
      ['validate', '-f', deep],
      /deep\.yaml:45:\d+ YAML error: nested deeper than 64 levels/,
    );
    await expectInvalid(
      ['start', '-f', deep, ...image],
      /nothing was started:\n.*deep\.yaml:45:\d+ YAML error: nested deeper/,
    );
    const laughs = file(
      'laughs.yaml',
      `${base}status:\n  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n${Array.from(
        { length: 8 },
        (_, i) =>
          `  b${i}: &b${i} [${Array(9)
            .fill(i === 0 ? '*a' : `*b${i - 1}`)
            .join(',')}]\n`,
      ).join('')}`,
    );
    await expectInvalid(
      ['validate', '-f', laughs],
      /YAML error: aliases expand the documents to [\d,]+ nodes/,
    );
    const cycle = file('cycle.yaml', `${base}status:\n  a: &a [*a]\n`);
    // The review: validate passed it and start failed with "Unable to convert [object Object] to payload".
    await expectInvalid(
      ['validate', '-f', cycle],
      /cycle\.yaml:45:\d+ YAML error: alias \*a is inside the node it names/,
    );
    await expectInvalid(['start', '-f', cycle, ...image], /alias \*a is inside the node it names/);
    const escName = file(
      'esc.yaml',
      edit('  name: podinfo\n  namespace', `  name: "evil\\e]0;pwned\\a\\e[2J"\n  namespace`),
    );
    await expectInvalid(
      ['validate', '-f', escName],
      /esc\.yaml:4:3 metadata\.name: "evil\\u001b\]0;pwned\\u0007\\u001b\[2J" is not a valid Kubernetes name/,
    );
    const huge = file(
      'huge.yaml',
      edit('  name: podinfo\n  namespace', `  name: ${'a'.repeat(1_000_000)}\n  namespace`),
    );
    const r = await expectInvalid(
      ['validate', '-f', huge],
      /metadata\.name: "a{80}…" \(1,000,000 characters\) is not a valid Kubernetes name/,
    );
    expect(r.err.length).toBeLessThan(2000);
    const rawEsc = file(
      `raw${ESC}[31m.yaml`,
      base.replace('podinfo\n  namespace', `pod${ESC}[2Jinfo\n  namespace`),
    );
    await expectInvalid(
      ['validate', '-f', rawEsc],
      /raw\\x1b\[31m\.yaml:4:12 YAML syntax error: control character U\+001B is not allowed in YAML/,
    );
    const port = file('port.yaml', edit('    targetPort: http\n', '    targetPort: "not a port!"\n'));
    await expectInvalid(
      ['start', '-f', port, ...image],
      /spec\.service\.targetPort: "not a port!" is not a valid port name/,
    );
  });

  it('validate and start agree: a spec validate accepts passes start up to the connection (exit 6, not 5)', async () => {
    const ok = await fledge(['validate', '-f', valid(), '-o', 'json']);
    expect(ok.code, show(ok)).toBe(0);
    expect(JSON.parse(ok.out)).toHaveProperty('plan');
    // start on the same file gets past every check and only then fails to connect: that takes the client's
    // connection deadline, so it is covered by test/integration/cli.test.ts (exit 6); here, the checks alone.
  });

  it('operator commands: the release, --reason, --actor, --gate', async () => {
    await expectInvalid(['status', `a${ESC}[2Jb`], /"a\\u001b\[2Jb" is neither a release ID/);
    await expectInvalid(['status', 'NotATarget'], /is neither a release ID/);
    await expectInvalid(['status', 'fledge/ns/name'], /is neither a release ID/);
    await expectInvalid(['status', `x/${'y'.repeat(300)}`], /is neither a release ID/);
    await expectInvalid(['status', 'x/y', '--watch', '--timeout', 'soon'], /--timeout "soon"/);
    await expectInvalid(['approve', 'x/y', '--gate', 'nope'], /--gate "nope": .*confirm-rollout/);
    await expectInvalid(
      ['abort', 'x/y', '--reason', ''],
      /--reason must not be empty: abort needs a recorded reason/,
    );
    await expectInvalid(['promote', 'x/y', '--reason', '   '], /--reason must not be empty/);
    await expectInvalid(
      ['pause', 'x/y', '--reason', 'r'.repeat(2000)],
      /--reason .*must be at most 1000 characters/,
    );
    await expectInvalid(
      ['resume', 'x/y', '--reason', `ok\n${ESC}[1A`],
      /must not contain control characters/,
    );
    await expectInvalid(
      ['approve', 'x/y', '--actor', `me\u202eevil`],
      /--actor "me\\u202eevil": must not contain control characters/,
    );
    await expectInvalid(['approve', 'x/y'], /the default actor/, { FLEDGE_ACTOR: `x${ESC}` });
  });

  it('retry, history and list: every option', async () => {
    await expectInvalid(['retry', 'not a ref'], /is neither a release ID/);
    await expectInvalid(['retry', 'x/y', '--wait', '--timeout', '-5'], /--timeout "-5"/);
    await expectInvalid(['retry', 'x/y', '--reason', `a${ESC}`], /--reason .*control characters/);
    await expectInvalid(['history', 'x/y', '--run', '12'], /--run "12": expected a run ID/);
    await expectInvalid(['history', '../../etc'], /is neither a release ID/);
    await expectInvalid(['list', '--limit', 'abc'], /--limit "abc": expected a whole number/);
    await expectInvalid(['list', '--limit', '0'], /--limit "0": must be between 1 and 1000/);
    await expectInvalid(['list', '--limit', '100000'], /must be between 1 and 1000/);
    await expectInvalid(['list', '--phase', 'Bogus'], /--phase "Bogus"/);
    await expectInvalid(['list', '--outcome', "Promoted' OR 1=1"], /--outcome "Promoted' OR 1=1"/);
    await expectInvalid(['list', '-n', 'BAD_NS'], /--namespace "BAD_NS"/);
    await expectInvalid(['list', '-t', "a/b' OR 'x"], /--target "a\/b' OR 'x"/);
  });

  it('usage errors from commander are escaped too', async () => {
    await expectInvalid(['status', 'x/y', `--${ESC}[2J`], /unknown option '--\\x1b\[2J'/);
    await expectInvalid(['status', 'x/y', 'extra'], /too many arguments/);
    await expectInvalid(
      ['start', '-f', valid(), ...image, '-o', `yaml${ESC}`],
      /argument 'yaml\\x1b' is invalid/,
    );
  });

  it('start: a namespace the release policy refuses, before connecting', async () => {
    await expectInvalid(['start', '-f', valid(), ...image], /nothing was started:\n.*test/s, {
      FLEDGE_ALLOWED_NAMESPACES: 'prod-*',
    });
  });

  it('an invalid environment is invalid input too', async () => {
    await expectInvalid(['status', 'x/y'], /invalid configuration: invalid environment: TEMPORAL_TLS/, {
      TEMPORAL_TLS: 'maybe',
    });
  });
});

describe('status, progress and results echo input escaped and bounded', () => {
  const evil = `x${ESC}]0;pwned\x07${ESC}[2J\u202e`;
  const status = {
    target: 'test/podinfo',
    phase: 'Progressing',
    strategy: 'canary',
    progress: { unit: 'step', current: 1, total: 5 },
    progressText: 'step 1/5',
    weights: { primary: 90, canary: 10, mirror: null, abMatch: false },
    failedChecks: 1,
    threshold: 5,
    pendingGate: null,
    paused: { by: evil, reason: 'r'.repeat(1_000_000), since: 0 },
    waitingFor: 'analysis results',
    lastAnalysis: {
      at: 0,
      tick: 1,
      ok: false,
      verdict: 'failed',
      metrics: [],
      hooks: [{ name: evil, ok: false, message: `${evil}\nFAKE: promoted`, status: 500 }],
    },
    outcome: null,
    reason: null,
    startedAt: 0,
    operatorLog: [{ action: 'pause', actor: evil, reason: evil, at: 0, accepted: true }],
    summary: evil,
  } as unknown as ReleaseStatus;

  it('formatStatus, progressLine and describeResult', () => {
    const p = painter(false);
    const texts = [
      formatStatus('fledge/test/podinfo/1', status, 'http://ui', p),
      progressLine(sanitizeDeep(status), p),
      describeResult(
        {
          outcome: 'Aborted',
          reason: { code: 'Aborted', message: evil },
          failedChecks: 0,
          threshold: 5,
          durationMs: 1000,
          phaseDurationsMs: {},
          approvals: [{ gate: 'confirm-promotion', by: evil, via: 'update', reason: evil }],
          operatorActions: [
            { action: 'abort', actor: evil, reason: 'x'.repeat(100_000), at: 0, accepted: true },
          ],
        } as unknown as ReleaseResult,
        p,
      ),
    ];
    for (const t of texts) {
      // eslint-disable-next-line no-control-regex -- raw control characters are what must not be there
      expect(t).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
      expect(t.length).toBeLessThan(10_000);
    }
    expect(texts[0]).toContain('x\\x1b]0;pwned\\x07\\x1b[2J\\u202e');
    // A line feed in a webhook answer cannot fake a line of its own.
    expect(texts[0]).not.toMatch(/^FAKE/m);
  });
});
