// Cost benchmark (`npm run bench:cost`): what one Fledge worker process costs per release and at rest, in the
// production build (`npm run build` → dist/ with the prebuilt workflow bundle, run by plain `node dist/worker.js`
// as the image runs it) and from sources (`node bin/fledge.js worker`, tsx). Prints a table and writes
// test-artifacts/bench-cost-<time>.json and the "Cost per release" section of docs/benchmarks.md. Asserts nothing
// beyond sanity: a release that does not end Promoted is reported as a note.
//
// Per build: one worker process on a task queue of its own against the local stack (its defaults, as the image:
// the /metrics endpoint on, here on a free loopback port and not scraped), then
//   idle      after a settle (--settle S, default 45 s: V8's threads finish compiling and collecting the start-up),
//             CPU seconds (utime + stime of /proc/<pid>/stat) over the idle window, as CPU s per minute, and VmRSS at
//             its end ("RSS idle");
//   releases  one warm-up release (not measured: the process's first release pays for compiling its code paths),
//             then 1, then 10, then 30 good releases at once on distinct targets (fresh Deployments, the bench:peer
//             Canary: interval 10 s, threshold 2, stepWeight 20, maxWeight 60, Istio built-in metrics), started through
//             the lanes as `fledge start` does and waited for: CPU seconds of the worker (and of the Temporal dev
//             server, shared with anything else on the stack) from the first start to the last result, per release;
//             VmRSS sampled every 250 ms — its peak above the VmRSS just before the batch, per concurrent release;
//             history events and workflow tasks (WorkflowTaskCompleted) per release, counting the release workflow
//             and its lane (one lane per target here);
//   at rest   a second idle window after the releases (their lanes still open): CPU s per minute, VmRSS.
// The Flagger figures the targets compare with are the newest `npm run bench:peer` JSON's (test-artifacts/), else
// the bench:peer table in docs/benchmarks.md.
//
// Options: --quick (idle 30 s, batches 1 and 10), --idle S (default 60), --batches 1,10,30, --builds prod,source,
// --settle S, --no-build (use the existing dist/), --cpu-prof / --heap-prof (the worker writes V8 profiles to
// test-artifacts/bench-cost/profiles/), --node-options "<flags>" (NODE_OPTIONS for the worker, e.g. V8 heap flags, to
// compare settings), --worker-env K=V[,K=V…] (more environment for the worker, e.g. MALLOC_ARENA_MAX=2), --no-docs.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadFledgeConfig } from '../src/config.js';
import { devStackEnv, projectRoot } from '../src/dev/stack/config.js';
import { stackStatus, stackUp } from '../src/dev/stack/stack.js';
import type { ReleaseResult } from '../src/domain/result.js';
import { connectClient, submitRelease } from '../src/starter.js';
import { laneWorkflowId } from '../src/workflows/lane.js';
import { mean, replaceDocSection, sampleProcess } from './bench-peer/measure.js';
import { args, option } from './lib/options.js';
import { benchCommit, benchMachine, loadAverage } from './lib/provenance.js';

// ── options ─────────────────────────────────────────────────────────────────────────────────────────────────
const quick = args.includes('--quick');
const idleSeconds = Math.max(10, Number(option('--idle') ?? (quick ? 30 : 60)) || 60);
const batches = (option('--batches') ?? (quick ? '1,10' : '1,10,30'))
  .split(',')
  .map((x) => Math.floor(Number(x)))
  .filter((x) => x > 0);
type Build = 'prod' | 'source';
const builds = (option('--builds') ?? 'prod,source')
  .split(',')
  .filter((b): b is Build => b === 'prod' || b === 'source');
const doBuild = !args.includes('--no-build');
const settleSeconds = Math.max(0, Number(option('--settle') ?? 45) || 0);
const cpuProf = args.includes('--cpu-prof');
const heapProf = args.includes('--heap-prof');
const writeDocs = !args.includes('--no-docs');
const nodeOptions = option('--node-options');
const workerEnv: Record<string, string> = Object.fromEntries(
  (option('--worker-env') ?? '')
    .split(',')
    .map((kv) => kv.split('='))
    .filter((kv): kv is [string, string] => kv.length === 2 && Boolean(kv[0])),
);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => console.log(`[bench:cost ${new Date().toISOString().slice(11, 19)}] ${m}`);
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const load = loadAverage;

// ── stack and build ─────────────────────────────────────────────────────────────────────────────────────────
const stack = await stackUp({ log: () => undefined });
const loadAtStart = load();
const id = Date.now().toString(36);
const artifacts = join(projectRoot, 'test-artifacts', 'bench-cost');
const profiles = join(artifacts, 'profiles');
mkdirSync(profiles, { recursive: true });

/** The production artefact: `npm run build`, then a snapshot of dist/ (a later build by someone else cannot touch it). */
function productionApp(): string {
  if (doBuild) {
    log('npm run build (tsc -p tsconfig.build.json + the workflow bundle)');
    execFileSync('npm', ['run', 'build'], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const dist = join(projectRoot, 'dist');
  if (!existsSync(join(dist, 'worker.js')) || !existsSync(join(dist, 'workflow-bundle.js')))
    throw new Error('dist/ has no worker.js and workflow-bundle.js: run `npm run build`');
  // Inside the checkout, so node_modules and package.json ("type": "module") resolve as in the image's /app.
  const app = join(artifacts, `app-${id}`);
  cpSync(dist, join(app, 'dist'), { recursive: true });
  return app;
}

const kc = new k8s.KubeConfig();
kc.loadFromFile(stack.kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const devEnv = devStackEnv();
const temporalPid = (await stackStatus()).find((c) => c.name === 'temporal')?.pid;
if (!temporalPid) throw new Error('the local stack has no Temporal server running');

// ── one worker process ──────────────────────────────────────────────────────────────────────────────────────
let current: ChildProcess | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    current?.kill('SIGTERM');
    process.exit(130);
  });

function startWorker(build: Build, app: string | null, taskQueue: string): ChildProcess {
  const out = createWriteStream(join(artifacts, `worker-${build}-${id}.log`));
  const prof = [
    ...(cpuProf
      ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`, `--cpu-prof-name=${build}-${id}.cpuprofile`]
      : []),
    ...(heapProf
      ? ['--heap-prof', `--heap-prof-dir=${profiles}`, `--heap-prof-name=${build}-${id}.heapprofile`]
      : []),
  ];
  const settings = {
    ...devEnv,
    FLEDGE_TASK_QUEUE: taskQueue,
    // As the image (metrics on), on a free loopback port so parallel runs do not collide; nobody scrapes it.
    FLEDGE_METRICS_PORT: '0',
    FLEDGE_METRICS_HOST: '127.0.0.1',
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    ...workerEnv,
  };
  const child =
    build === 'prod' && app
      ? // The container's environment: NODE_ENV=production, everything explicit (no checkout defaults).
        spawn(process.execPath, [...prof, join(app, 'dist', 'worker.js')], {
          cwd: app,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...settings },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(process.execPath, [...prof, join(projectRoot, 'bin', 'fledge.js'), 'worker'], {
          cwd: projectRoot,
          env: { ...process.env, ...settings },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  current = child;
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 30_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM'); // drains, exits normally: --cpu-prof / --heap-prof write their profiles then
  });
}

async function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`worker did not print ${re} in ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const on = (b: Buffer): void => {
      seen += b.toString();
      if (re.test(seen)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', (b: Buffer) => (seen += b.toString()));
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`worker exited (${code}) before it was ready:\n${seen}`));
    });
  });
}

// ── releases ────────────────────────────────────────────────────────────────────────────────────────────────
const BASE_IMAGE = 'ghcr.io/acme/podinfo:1.0.0';
function canaryDoc(ns: string, name: string): string {
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: ${name}, namespace: ${ns} }
spec:
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: ${name} }
  progressDeadlineSeconds: 120
  service: { port: 9898 }
  analysis:
    interval: 10s
    threshold: 2
    stepWeight: 20
    maxWeight: 60
    metrics:
      - name: request-success-rate
        thresholdRange: { min: 99 }
        interval: 30s
      - name: request-duration
        thresholdRange: { max: 500 }
        interval: 30s
`;
}

async function createTarget(ns: string, name: string): Promise<void> {
  const labels = { app: name };
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: BASE_IMAGE }] } },
      },
    },
  });
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
/** The event's type name (`workflowTaskCompleted`, `markerRecorded`, …): the attributes field it carries. */
const eventKind = (e: HistoryEvent): string =>
  Object.keys(e)
    .find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k])
    ?.replace(/EventAttributes$/, '') ?? 'unknown';

interface BatchFigures {
  n: number;
  outcomes: Record<string, number>;
  wallS: number;
  workerCpuS: number;
  temporalCpuS: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssAfterMiB: number;
  eventsPerRelease: number;
  workflowTasksPerRelease: number;
  /** Per release, release + lane histories: event kind → count. */
  eventKinds: Record<string, number>;
  loadAverage: string;
}

async function runBatch(
  client: Client,
  cfg: ReturnType<typeof loadFledgeConfig>,
  pid: number,
  ns: string,
  n: number,
  notes: string[],
  prefix = 'c',
): Promise<BatchFigures> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}${n}-${i + 1}`);
  await Promise.all(names.map((name) => createTarget(ns, name)));
  await sleep(3000); // the targets' pods come up (kwok)
  const rssBefore = sampleProcess(pid).rssMiB;
  let peak = rssBefore;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, sampleProcess(pid).rssMiB);
    } catch {
      // gone: reported below
    }
  }, 250);
  const w0 = sampleProcess(pid).cpuSeconds;
  const t0cpu = sampleProcess(temporalPid as number).cpuSeconds;
  const t0 = Date.now();
  const image = `ghcr.io/acme/podinfo:3.${n}.${prefix === 'c' ? 0 : 1}`;
  const subs = await Promise.all(
    names.map((name) =>
      submitRelease(client, cfg, {
        yaml: canaryDoc(ns, name),
        images: { app: image },
        initiator: 'bench-cost',
      }),
    ),
  );
  const results = await Promise.all(
    subs.map((s) =>
      (client.workflow.getHandle(s.workflowId).result() as Promise<ReleaseResult>).catch(
        (e: unknown): ReleaseResult =>
          ({ outcome: 'Failed', reason: { message: errText(e) } }) as ReleaseResult,
      ),
    ),
  );
  const wall = (Date.now() - t0) / 1000;
  const w1 = sampleProcess(pid).cpuSeconds;
  const t1cpu = sampleProcess(temporalPid as number).cpuSeconds;
  clearInterval(sampler);
  const outcomes: Record<string, number> = {};
  for (const [i, r] of results.entries()) {
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    if (r.outcome !== 'Promoted') notes.push(`${ns}/${names[i]}: ${r.outcome} — ${r.reason?.message ?? ''}`);
  }
  // History: the release and its lane (one per target). The lane is still open: its events so far.
  const kinds: Record<string, number> = {};
  let events = 0;
  let wfts = 0;
  await Promise.all(
    names.map(async (name, i) => {
      for (const wid of [subs[i]?.workflowId as string, laneWorkflowId(ns, name)]) {
        const evs = (await client.workflow.getHandle(wid).fetchHistory()).events ?? [];
        events += evs.length;
        for (const e of evs) {
          const k = eventKind(e);
          kinds[k] = (kinds[k] ?? 0) + 1;
          if (k === 'workflowTaskCompleted') wfts++;
        }
      }
    }),
  );
  await sleep(5000);
  const rssAfter = sampleProcess(pid).rssMiB;
  return {
    n,
    outcomes,
    wallS: wall,
    workerCpuS: w1 - w0,
    temporalCpuS: t1cpu - t0cpu,
    rssBeforeMiB: rssBefore,
    rssPeakMiB: peak,
    rssAfterMiB: rssAfter,
    eventsPerRelease: events / n,
    workflowTasksPerRelease: wfts / n,
    eventKinds: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, v / n])),
    loadAverage: load(),
  };
}

interface BuildFigures {
  build: Build;
  startupCpuS: number;
  idleSeconds: number;
  idleWorkerCpuPerMin: number;
  idleTemporalCpuPerMin: number;
  /** Worker CPU s per minute at rest after the releases (their lanes still open). */
  idleAfterWorkerCpuPerMin: number;
  rssIdleMiB: number;
  /** Worker CPU s of the first (warm-up) release, not in the batches. */
  warmUpCpuS: number;
  batches: BatchFigures[];
  /** VmRSS after the batches, at rest (cached workflows, lanes). */
  rssEndMiB: number;
  peakRssMiB: number;
  loadAverage: string;
}

async function measureBuild(build: Build, app: string | null, notes: string[]): Promise<BuildFigures> {
  const taskQueue = `bench-cost-${id}-${build}`;
  const ns = `cost-${build}-${id}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  const cfg = loadFledgeConfig({ ...process.env, ...devEnv, FLEDGE_TASK_QUEUE: taskQueue });
  const client = await connectClient(cfg);
  log(`${build}: starting the worker on task queue ${taskQueue}`);
  const child = startWorker(build, app, taskQueue);
  const pid = child.pid as number;
  try {
    await waitForLine(child, /task queue/, 120_000);
    const startupCpuS = sampleProcess(pid).cpuSeconds;
    // Settle: V8's background threads finish compiling and collecting the start-up (~0.5 CPU s per minute during the
    // first minute of the production build, ~0.05 after).
    await sleep(settleSeconds * 1000);
    log(`${build}: idle window ${idleSeconds} s (load ${load()})`);
    const c0 = sampleProcess(pid).cpuSeconds;
    const tc0 = sampleProcess(temporalPid as number).cpuSeconds;
    const i0 = Date.now();
    await sleep(idleSeconds * 1000);
    const c1 = sampleProcess(pid).cpuSeconds;
    const tc1 = sampleProcess(temporalPid as number).cpuSeconds;
    const minutes = (Date.now() - i0) / 60_000;
    const rssIdleMiB = sampleProcess(pid).rssMiB;
    // One release first, not measured: the process's first release compiles (JIT) its code paths and opens its
    // connections; the batches measure a worker that has run releases, as a long-running one has.
    log(`${build}: warm-up release (not measured)`);
    const warm = await runBatch(client, cfg, pid, ns, 1, notes, 'warm');
    const out: BatchFigures[] = [];
    for (const n of batches) {
      log(`${build}: ${n} release(s) at once (load ${load()})`);
      const b = await runBatch(client, cfg, pid, ns, n, notes);
      out.push(b);
      log(
        `${build}: ${n} → ${JSON.stringify(b.outcomes)} in ${b.wallS.toFixed(0)} s; worker ${(b.workerCpuS / n).toFixed(3)} CPU s/release, ` +
          `Temporal ${(b.temporalCpuS / n).toFixed(3)}; RSS ${b.rssBeforeMiB.toFixed(0)} → peak ${b.rssPeakMiB.toFixed(0)} MiB; ` +
          `${b.eventsPerRelease.toFixed(0)} events, ${b.workflowTasksPerRelease.toFixed(1)} workflow tasks per release`,
      );
    }
    // At rest again, with every release's lane still open (cached by the worker or not).
    log(`${build}: idle window ${idleSeconds} s after the releases (load ${load()})`);
    await sleep(settleSeconds * 1000);
    const a0 = sampleProcess(pid).cpuSeconds;
    const a0t = Date.now();
    await sleep(idleSeconds * 1000);
    const afterMinutes = (Date.now() - a0t) / 60_000;
    const s = sampleProcess(pid);
    return {
      build,
      startupCpuS,
      idleSeconds: minutes * 60,
      idleWorkerCpuPerMin: (c1 - c0) / minutes,
      idleTemporalCpuPerMin: (tc1 - tc0) / minutes,
      idleAfterWorkerCpuPerMin: (s.cpuSeconds - a0) / afterMinutes,
      rssIdleMiB,
      warmUpCpuS: warm.workerCpuS,
      batches: out,
      rssEndMiB: s.rssMiB,
      peakRssMiB: s.peakRssMiB,
      loadAverage: load(),
    };
  } finally {
    await stopWorker(child);
    current = null;
    await client.connection.close();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

// ── Flagger's figures (for the targets) ─────────────────────────────────────────────────────────────────────
function flaggerReference(): { releaseCpuS: number; idleCpuPerMin: number; from: string } | null {
  const dir = join(projectRoot, 'test-artifacts');
  const newest = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^bench-peer-.*\.json$/.test(f))
        .sort()
        .at(-1)
    : undefined;
  const pick = (rows: Array<{ figure: string; flagger: number[] }>, figure: string): number =>
    mean(rows.find((r) => r.figure === figure)?.flagger ?? []);
  if (newest) {
    try {
      const j = JSON.parse(readFileSync(join(dir, newest), 'utf8')) as {
        rows: Array<{ figure: string; flagger: number[] }>;
      };
      const releaseCpuS = pick(j.rows, 'good: CPU s per release (worker)');
      const idleCpuPerMin = pick(j.rows, 'idle: CPU s per minute (worker)');
      if (Number.isFinite(releaseCpuS))
        return { releaseCpuS, idleCpuPerMin, from: `test-artifacts/${newest}` };
    } catch {
      // fall through to the docs
    }
  }
  const docs = join(projectRoot, 'docs', 'benchmarks.md');
  if (!existsSync(docs)) return null;
  const md = readFileSync(docs, 'utf8');
  const cell = (figure: string): number => {
    const m = new RegExp(`^\\| ${figure.replace(/[()]/g, '\\$&')} \\| ([0-9.]+)`, 'm').exec(md);
    return m?.[1] ? Number(m[1]) : NaN;
  };
  const releaseCpuS = cell('good: CPU s per release (worker)');
  return Number.isFinite(releaseCpuS)
    ? {
        releaseCpuS,
        idleCpuPerMin: cell('idle: CPU s per minute (worker)'),
        from: 'docs/benchmarks.md (bench:peer)',
      }
    : null;
}

// ── run ─────────────────────────────────────────────────────────────────────────────────────────────────────
const notes: string[] = [];
const measured: BuildFigures[] = [];
let failure: string | null = null;
try {
  const app = builds.includes('prod') ? productionApp() : null;
  for (const b of builds) measured.push(await measureBuild(b, app, notes));
  if (app) rmSync(app, { recursive: true, force: true });
} catch (e) {
  failure = errText(e);
  log(`aborted: ${failure}`);
}

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────────
const flagger = flaggerReference();
const label: Record<Build, string> = { prod: 'production (dist/)', source: 'sources (tsx)' };
interface Row {
  figure: string;
  values: Partial<Record<Build, string>>;
}
const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
const per = (m: BuildFigures, pick: (b: BatchFigures) => string): Partial<Record<Build, string>> => ({
  [m.build]: m.batches.map(pick).join(' / '),
});
const merge = (pick: (m: BuildFigures) => Partial<Record<Build, string>>): Partial<Record<Build, string>> =>
  Object.assign({}, ...measured.map(pick)) as Partial<Record<Build, string>>;
const batchLabel = batches.join(' / ');
const rows: Row[] = [
  { figure: 'CPU s at start-up (until polling)', values: merge((m) => ({ [m.build]: f(m.startupCpuS, 2) })) },
  {
    figure: 'idle: worker CPU s per minute',
    values: merge((m) => ({ [m.build]: f(m.idleWorkerCpuPerMin, 3) })),
  },
  {
    figure: 'idle: Temporal server CPU s per minute (shared)',
    values: merge((m) => ({ [m.build]: f(m.idleTemporalCpuPerMin, 3) })),
  },
  {
    figure: 'idle after the releases: worker CPU s per minute',
    values: merge((m) => ({ [m.build]: f(m.idleAfterWorkerCpuPerMin, 3) })),
  },
  { figure: 'RSS idle (MiB)', values: merge((m) => ({ [m.build]: f(m.rssIdleMiB, 0) })) },
  {
    figure: 'worker CPU s of the first release (warm-up, not in the batches)',
    values: merge((m) => ({ [m.build]: f(m.warmUpCpuS, 3) })),
  },
  {
    figure: `worker CPU s per release (${batchLabel} at once)`,
    values: merge((m) => per(m, (b) => f(b.workerCpuS / b.n, 3))),
  },
  {
    figure: `worker + Temporal CPU s per release (${batchLabel})`,
    values: merge((m) => per(m, (b) => f((b.workerCpuS + b.temporalCpuS) / b.n, 3))),
  },
  {
    figure: `RSS peak (MiB) (${batchLabel})`,
    values: merge((m) => per(m, (b) => f(b.rssPeakMiB, 0))),
  },
  {
    figure: `RSS growth per concurrent release (MiB) (${batchLabel})`,
    values: merge((m) => per(m, (b) => f((b.rssPeakMiB - b.rssBeforeMiB) / b.n, 2))),
  },
  {
    figure: `release duration (s) (${batchLabel})`,
    values: merge((m) => per(m, (b) => f(b.wallS, 0))),
  },
  {
    figure: 'history events per release (release + lane)',
    values: merge((m) => per(m, (b) => f(b.eventsPerRelease, 0))),
  },
  {
    figure: 'workflow tasks per release (release + lane)',
    values: merge((m) => per(m, (b) => f(b.workflowTasksPerRelease, 1))),
  },
  {
    figure: 'RSS at rest after the releases (MiB)',
    values: merge((m) => ({ [m.build]: f(m.rssEndMiB, 0) })),
  },
  { figure: 'peak RSS (VmHWM, MiB)', values: merge((m) => ({ [m.build]: f(m.peakRssMiB, 0) })) },
];

// Targets (issue 12): against Flagger's controller on this machine.
const targets: string[] = [];
for (const m of measured) {
  const one = m.batches[0];
  const worst = <T>(xs: T[], pick: (x: T) => number): number => Math.max(...xs.map(pick));
  const cpu = one ? one.workerCpuS / one.n : NaN;
  const cpuT = one ? (one.workerCpuS + one.temporalCpuS) / one.n : NaN;
  const growth = m.batches.filter((b) => b.n > 1);
  const g = growth.length ? worst(growth, (b) => (b.rssPeakMiB - b.rssBeforeMiB) / b.n) : NaN;
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const fl = flagger?.releaseCpuS ?? NaN;
  const idle = Math.max(m.idleWorkerCpuPerMin, m.idleAfterWorkerCpuPerMin);
  targets.push(
    `${label[m.build]}: worker CPU per release ${f(cpu, 3)} s ≤ 2 × Flagger (${f(2 * fl, 2)}): ${Number.isFinite(fl) ? mark(cpu <= 2 * fl) : '-'}; ` +
      `worker + Temporal ${f(cpuT, 3)} s ≤ 5 × (${f(5 * fl, 2)}): ${Number.isFinite(fl) ? mark(cpuT <= 5 * fl) : '-'}; ` +
      `idle ${f(idle, 3)} ≤ 0.05 CPU s/min: ${mark(idle <= 0.05)}; ` +
      `RSS idle ${f(m.rssIdleMiB, 0)} ≤ 200 MiB: ${mark(m.rssIdleMiB <= 200)}; ` +
      `growth ${f(g, 2)} ≤ 0.5 MiB per concurrent release: ${Number.isFinite(g) ? mark(g <= 0.5) : '-'}`,
  );
}

const commit = benchCommit();
const machine = benchMachine(loadAtStart, ' (shared with other work)');
const date = new Date().toISOString();
const conditions =
  `one worker process per build on its own task queue, metrics endpoint on (not scraped), ${idleSeconds} s idle windows after ${settleSeconds} s of settling, ` +
  `batches of ${batchLabel} good releases at once on distinct targets (interval 10 s, 3 steps)${nodeOptions ? `, NODE_OPTIONS=${nodeOptions}` : ''}${Object.entries(
    workerEnv,
  )
    .map(([k, v]) => `, ${k}=${v}`)
    .join('')}; CPU = utime + stime ` +
  "from /proc; the Temporal dev server is the stack's, shared with anything else using it. Flagger's figures: " +
  (flagger
    ? `${flagger.from} (${f(flagger.releaseCpuS, 2)} CPU s per good release, ${f(flagger.idleCpuPerMin, 3)} CPU s/min idle)`
    : 'none found (run npm run bench:peer)');

const shown = measured.map((m) => m.build);
const header = `${'figure'.padEnd(60)} ${shown.map((b) => label[b].padStart(26)).join(' ')}`;
console.log(`\nCost per release: one Fledge worker process\n`);
console.log(header);
for (const r of rows)
  console.log(`${r.figure.padEnd(60)} ${shown.map((b) => (r.values[b] ?? '-').padStart(26)).join(' ')}`);
console.log(`\n${conditions}\nmachine: ${machine}\ncommit: ${commit}`);
for (const t of targets) console.log(`targets: ${t}`);
for (const n of notes) console.log(`note: ${n}`);
if (failure) console.log(`ABORTED: ${failure}`);

const jsonPath = join(projectRoot, 'test-artifacts', `bench-cost-${date.replace(/[:.]/g, '-')}.json`);
writeFileSync(
  jsonPath,
  JSON.stringify(
    { date, machine, commit, conditions, flagger, builds: measured, rows, targets, notes, failure },
    null,
    2,
  ),
);
console.log(`JSON: ${jsonPath}`);

if (writeDocs && measured.length > 0) {
  const section = [
    '## Cost per release (`npm run bench:cost`)',
    '',
    'One Fledge worker process on a task queue of its own, in the production build (`npm run build`: `node dist/worker.js`',
    'with the prebuilt workflow bundle, as the image runs it) and from sources (tsx); `scripts/bench-cost.ts` says',
    'exactly what each figure measures. Figures separated by `/` are for the batches of releases started at once.',
    '',
    `- date: ${date}`,
    `- machine: ${machine}`,
    `- commit: ${commit}`,
    `- conditions: ${conditions}`,
    '',
    `| figure | ${shown.map((b) => label[b]).join(' | ')} |`,
    `|---|${shown.map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.figure} | ${shown.map((b) => r.values[b] ?? '-').join(' | ')} |`),
    '',
    'Targets (issue 12):',
    '',
    ...targets.map((t) => `- ${t}`),
    '',
    ...(notes.length ? ['Notes:', '', ...notes.map((n) => `- ${n}`), ''] : []),
    ...(failure ? [`The run was aborted: ${failure}`, ''] : []),
  ]
    .map((l) => l.trimEnd())
    .join('\n');
  const docs = join(projectRoot, 'docs', 'benchmarks.md');
  const md = existsSync(docs) ? readFileSync(docs, 'utf8') : '# Benchmarks\n';
  // Replaces this section (up to the next `## ` heading) or appends it; the rest of the file is left as it is.
  writeFileSync(docs, replaceDocSection(md, '## Cost per release (`npm run bench:cost`)', section));
  console.log('docs/benchmarks.md: "Cost per release" section written');
}
process.exit(failure ? 1 : 0);
