// CLI submission benchmark against the real local stack (`npm run bench:cli`): what CI pays to start releases.
// Asserts nothing beyond sanity (a call that did not exit 0 is reported, not measured).
//
// The CLI measured is a production install: the compiled `dist/` (`npm run build`, unless --no-build) run through
// `bin/fledge.js` from a directory without `src/` (so the bin runs dist, exactly as after `npm install`). A Fledge
// worker runs in this process on a task queue of its own; every target is a fresh namespace with a Deployment, and
// every release parks at a `confirm-rollout` manual gate (so the worker does little while the CLI is timed); all
// are aborted and the namespaces deleted at the end.
//
//   1. `fledge start --help` and `fledge validate -f <spec>`: process start to exit, 3 calls each (start-up cost).
//   2. N sequential `fledge start -f <spec> --image …` processes on N distinct targets: wall time per call.
//   3. One `fledge start --batch <file>` call of N releases on N other targets: wall time, and per release.
//
// --baseline <git rev> measures the same (1 and 2; 3 when that build has --batch) with the CLI built from that
// commit (git archive + tsc into a temporary directory), so the "before" figure is measured on the same machine in
// the same run. Options: --n N (default 10), --baseline <rev>, --no-build (use dist/ as it is), --no-docs (do not
// write docs/benchmarks.md), --json. Writes test-artifacts/bench-cli-<time>.json and the "CLI submission" section of
// docs/benchmarks.md (replaced in place; the rest of the file is left as it is).
import { spawn, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cpus, hostname, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadFledgeConfig, type FledgeConfig } from '../src/config.js';
import { devStackEnv, loadStackConfig, projectRoot } from '../src/dev/stack/config.js';
import { stackUp } from '../src/dev/stack/stack.js';
import { connectClient } from '../src/starter.js';
import { abortUpdate } from '../src/workflows/messages.js';
import { createFledgeWorker } from '../src/worker.js';
import { args, option } from './lib/options.js';

// ── options ─────────────────────────────────────────────────────────────────────────────────────────────────
const n = Math.max(1, Math.min(200, Math.floor(Number(option('--n') ?? 10) || 10)));
const baselineRev = option('--baseline');
const build = !args.includes('--no-build');
const writeDocs = !args.includes('--no-docs');
const json = args.includes('--json');
const log = (m: string): void => {
  if (!json) console.log(m);
};
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadAtStart = load();

// ── installs: a directory with bin/, package.json, node_modules and dist/ but no src/ ──────────────────────────
const work = mkdtempSync(join(tmpdir(), 'fledge-bench-cli-'));
function install(name: string, dist: string): string {
  const root = join(work, name);
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(join(projectRoot, 'bin', 'fledge.js'), join(root, 'bin', 'fledge.js'));
  copyFileSync(join(projectRoot, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(projectRoot, 'node_modules'), join(root, 'node_modules'));
  if (dist !== join(root, 'dist')) symlinkSync(dist, join(root, 'dist'));
  return root;
}
if (build) {
  log('building the production CLI (npm run build) …');
  execFileSync('npm', ['run', 'build'], { cwd: projectRoot, stdio: json ? 'ignore' : 'inherit' });
}
const installs: Array<{ label: string; root: string }> = [];
if (baselineRev) {
  const root = join(work, 'baseline');
  mkdirSync(join(root, 'src-tree'), { recursive: true });
  log(`building the baseline CLI from ${baselineRev} …`);
  const archive = execFileSync(
    'git',
    ['archive', baselineRev, 'src', 'tsconfig.json', 'tsconfig.build.json'],
    {
      cwd: projectRoot,
      maxBuffer: 1 << 30,
    },
  );
  execFileSync('tar', ['-x', '-C', join(root, 'src-tree')], { input: archive });
  symlinkSync(join(projectRoot, 'node_modules'), join(root, 'src-tree', 'node_modules'));
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(root, 'dist')], {
      cwd: join(root, 'src-tree'),
      stdio: 'ignore',
    });
  } catch {
    // Type errors do not stop tsc from emitting; a missing dist does (checked below).
  }
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error(`baseline ${baselineRev}: no build`);
  installs.push({ label: `before (${baselineRev})`, root: install('baseline', join(root, 'dist')) });
}
installs.push({ label: 'after', root: install('current', join(projectRoot, 'dist')) });

// ── stack, worker, targets ──────────────────────────────────────────────────────────────────────────────────
Runtime.install({ logger: new DefaultLogger('ERROR') });
await stackUp({ log: () => undefined });
const taskQueue = `bench-cli-${Date.now().toString(36)}`;
const cliEnv: Record<string, string> = {
  ...devStackEnv(),
  ...(process.env as Record<string, string>),
  FLEDGE_TASK_QUEUE: taskQueue,
  FLEDGE_ACTOR: 'bench-cli',
  NO_COLOR: '1',
};
const cfg: FledgeConfig = loadFledgeConfig(cliEnv);
const { worker, connection } = await createFledgeWorker(cfg);
const running = worker.run();
const client = await connectClient(cfg);
const kc = new k8s.KubeConfig();
kc.loadFromFile(loadStackConfig().kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);

const namespaces: string[] = [];
const started: string[] = [];
const stamp = Date.now().toString(36);
/** A fresh namespace with the target Deployment and a spec file for it; returns the spec's path. */
async function target(label: string, i: number): Promise<string> {
  const ns = `bench-cli-${stamp}-${label}-${i}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  namespaces.push(ns);
  const labels = { app: 'podinfo' };
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'podinfo', labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/podinfo:1.0.0' }] },
        },
      },
    },
  });
  const file = join(work, `${ns}.yaml`);
  writeFileSync(
    file,
    `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: ${ns}
spec:
  provider: istio
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: podinfo }
  progressDeadlineSeconds: 60
  service: { port: 9898 }
  analysis: { interval: 5s, threshold: 2, stepWeight: 50, maxWeight: 50 }
  fledge:
    manualGates: [confirm-rollout]
`,
  );
  return file;
}

// ── running the CLI ─────────────────────────────────────────────────────────────────────────────────────────
interface Call {
  ms: number;
  code: number | null;
  out: string;
  err: string;
}
function fledge(root: string, argv: string[]): Promise<Call> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin', 'fledge.js'), ...argv], { env: cliEnv });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code, out, err }));
  });
}
const notes: string[] = [];
function checked(what: string, c: Call): number {
  if (c.code !== 0) notes.push(`${what} exited ${c.code}: ${(c.err || c.out).trim().split('\n')[0] ?? ''}`);
  return c.ms;
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

interface Figures {
  label: string;
  help: number[];
  validate: number[];
  sequential: number[];
  batch?: number;
}
const figures: Figures[] = [];
let tagSeq = 0;
for (const { label, root } of installs) {
  const key = label.startsWith('before') ? 'b' : 'a';
  log(`\n${label}: ${root}`);
  const f: Figures = { label, help: [], validate: [], sequential: [] };
  const first = await target(`${key}s`, 0);
  for (let i = 0; i < 3; i++) f.help.push(checked('start --help', await fledge(root, ['start', '--help'])));
  for (let i = 0; i < 3; i++)
    f.validate.push(checked('validate', await fledge(root, ['validate', '-f', first])));
  log(`  start --help ${mean(f.help).toFixed(0)} ms, validate ${mean(f.validate).toFixed(0)} ms (mean of 3)`);

  const seqSpecs = [first];
  for (let i = 1; i < n; i++) seqSpecs.push(await target(`${key}s`, i));
  for (const spec of seqSpecs) {
    const c = await fledge(root, [
      'start',
      '-f',
      spec,
      '--image',
      `app=ghcr.io/acme/podinfo:2.0.${++tagSeq}`,
    ]);
    f.sequential.push(checked('start', c));
    const id = /^release (\S+)/m.exec(c.out)?.[1];
    if (id) started.push(id);
  }
  log(`  ${n} sequential starts: ${mean(f.sequential).toFixed(0)} ms per call`);

  const help = await fledge(root, ['start', '--help']);
  if (help.out.includes('--batch')) {
    const entries = [];
    for (let i = 0; i < n; i++)
      entries.push({
        file: await target(`${key}b`, i),
        images: { app: `ghcr.io/acme/podinfo:2.0.${++tagSeq}` },
      });
    const batchFile = join(work, `batch-${key}.json`);
    writeFileSync(batchFile, JSON.stringify(entries, null, 2));
    const c = await fledge(root, ['start', '--batch', batchFile]);
    f.batch = checked('start --batch', c);
    for (const m of c.out.matchAll(/^release (\S+)/gm)) if (m[1]) started.push(m[1]);
    log(`  one batch call of ${n}: ${f.batch.toFixed(0)} ms (${(f.batch / n).toFixed(0)} ms per release)`);
  } else {
    log('  (no --batch in this build)');
  }
  figures.push(f);
}

// ── clean-up ────────────────────────────────────────────────────────────────────────────────────────────────
log('\ncleaning up (abort every release, delete the namespaces) …');
await Promise.all(
  started.map((id) =>
    client.workflow
      .getHandle(id)
      .executeUpdate(abortUpdate, { args: [{ actor: 'bench-cli', reason: 'benchmark done' }] })
      .catch(() => undefined),
  ),
);
await Promise.all(
  started.map((id) =>
    client.workflow
      .getHandle(id)
      .result()
      .catch(() => undefined),
  ),
);
await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
worker.shutdown();
await running;
await connection.close();
await client.connection.close();
rmSync(work, { recursive: true, force: true });

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────────
const ms = (x: number | undefined): string => (x === undefined ? '-' : `${Math.round(x)}`);
const rows: Array<{ figure: string; values: string[] }> = [
  { figure: '`fledge start --help` (ms, mean of 3)', values: figures.map((f) => ms(mean(f.help))) },
  { figure: '`fledge validate -f spec` (ms, mean of 3)', values: figures.map((f) => ms(mean(f.validate))) },
  {
    figure: `\`fledge start\`, ${n} sequential processes: per call (ms, mean)`,
    values: figures.map((f) => ms(mean(f.sequential))),
  },
  {
    figure: `\`fledge start\`, ${n} sequential processes: slowest call (ms)`,
    values: figures.map((f) => ms(Math.max(...f.sequential))),
  },
  {
    figure: `\`fledge start\`, ${n} sequential processes: all (s)`,
    values: figures.map((f) => ((mean(f.sequential) * f.sequential.length) / 1000).toFixed(1)),
  },
  {
    figure: `\`fledge start --batch\` of ${n}: the call (ms)`,
    values: figures.map((f) => ms(f.batch)),
  },
  {
    figure: `\`fledge start --batch\` of ${n}: per release (ms)`,
    values: figures.map((f) => (f.batch === undefined ? '-' : ms(f.batch / n))),
  },
];
const commit = (() => {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: projectRoot })
      .toString()
      .trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain'], { cwd: projectRoot }).toString().trim() !== '';
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
})();
const date = new Date().toISOString();
const machine = `${hostname()}: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadAtStart} at the start, ${load()} at the end (shared with other work)`;
const conditions = `production build (\`npm run build\`; \`bin/fledge.js\` from a directory without \`src/\`, so it runs \`dist/\`), Node ${process.version}; the local stack's Temporal dev server; a Fledge worker (from sources) in the benchmark's process; every call a new process, timed from spawn to exit; releases park at a confirm-rollout gate and are aborted afterwards`;
const table = [
  `| figure | ${figures.map((f) => f.label).join(' | ')} |`,
  `|---|${figures.map(() => '---:').join('|')}|`,
  ...rows.map((r) => `| ${r.figure} | ${r.values.join(' | ')} |`),
];
log(`\n${table.join('\n')}\n\nmachine: ${machine}\ncommit: ${commit}`);
if (notes.length) log(`notes:\n${notes.map((x) => `  ${x}`).join('\n')}`);
mkdirSync(join(projectRoot, 'test-artifacts'), { recursive: true });
const artefact = join(projectRoot, 'test-artifacts', `bench-cli-${date.replace(/[:.]/g, '-')}.json`);
writeFileSync(artefact, JSON.stringify({ date, machine, commit, conditions, n, figures, notes }, null, 2));
if (json) console.log(JSON.stringify({ date, machine, commit, conditions, n, figures, notes }));

if (writeDocs) {
  const section = [
    '## CLI submission (`npm run bench:cli`)',
    '',
    'What CI pays to start releases with the CLI (`scripts/bench-cli.ts` says exactly what each figure measures):',
    `${n} sequential \`fledge start\` processes on ${n} targets, then one \`fledge start --batch\` call of ${n} releases on`,
    `${n} other targets${baselineRev ? `, for the build of ${baselineRev} (before) and this one (after)` : ''}.`,
    '',
    `- date: ${date}`,
    `- machine: ${machine}`,
    `- commit: ${commit}`,
    `- conditions: ${conditions}`,
    '',
    ...table,
    '',
    ...(notes.length ? ['Notes:', '', ...notes.map((x) => `- ${x}`), ''] : []),
  ]
    .map((l) => l.trimEnd())
    .join('\n');
  const docs = join(projectRoot, 'docs', 'benchmarks.md');
  const md = existsSync(docs) ? readFileSync(docs, 'utf8') : '# Benchmarks\n';
  // Replaces this section (up to the next `## ` heading) or appends it.
  const start = md.indexOf('## CLI submission');
  const next = start >= 0 ? md.indexOf('\n## ', start + 1) : -1;
  const updated =
    start >= 0
      ? `${md.slice(0, start)}${section}\n${next >= 0 ? md.slice(next) : ''}`
      : `${md.trimEnd()}\n\n${section}\n`;
  writeFileSync(docs, updated.replace(/\n{3,}/g, '\n\n'));
  log('docs/benchmarks.md: "CLI submission" section written');
}
process.exit(0);
