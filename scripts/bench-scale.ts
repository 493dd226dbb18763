// Scale benchmark (`npm run bench:scale`): N concurrent releases on one Fledge worker (or two with --workers 2),
// with the real Flagger controller at the same N on the same local stack. Prints one table, writes
// test-artifacts/bench-scale-<time>.json and the "Scale" section of docs/benchmarks.md.
//
// For each N (--n 30,100,300 by default; 1000 when asked): N targets per side (Deployment, 1 replica) in a
// namespace of their own, the same Canary (Istio, built-in request-success-rate and request-duration, interval
// --interval seconds (default 30, the issue's goal), threshold 2, one short step: stepWeight 50, maxWeight 50,
// progress deadline 600 s) and one good release on all of them at once.
//   Flagger  a fresh controller process per N (-namespace=<its namespace>), its Canaries created and Initialized
//            first; the release is N image patches of the targets, sent at once.
//   Fledge   fresh worker process(es) per N on a task queue of their own (the production build from a snapshot of
//            dist/ when it has worker.js and workflow-bundle.js, else from sources), the default request budget;
//            the release is N `submitRelease` calls at once (the CLI's path), Fledge initialising inside them.
// Both sides start at the same moment and each talks to the kube-apiserver through its own counting proxy.
//
// Figures per side and N:
//   outcomes      Fledge: each release's result (Promoted / RolledBack / Failed / …); Flagger: the Canary's final
//                 phase (Succeeded / Failed). Then the cluster is read back: every target's primary Deployment
//                 image and VirtualService weights; a "disagrees" count is an outcome that does not match them
//                 (Promoted/Succeeded but the primary is not on the new image or traffic not back at 100 %
//                 primary, or not promoted although the primary runs the new image).
//   durations     release start (the moment both sides were released) → end: Fledge, the result's arrival;
//                 Flagger, the Succeeded/Failed condition's lastTransitionTime (1 s resolution). p50/p95/max.
//   tick lateness Fledge: from each history, runAnalysis ActivityTaskStarted − the preceding timer's due time
//                 (TimerStarted + startToFireTimeout) — timer delay + workflow task + queue time. Flagger: from
//                 its JSON log, per canary, the ticks' offsets from their ticker's grid (phase = the canary's most
//                 punctual tick; see scripts/bench-scale/stats.ts). p50/p95/p99.
//   CPU / RSS     utime+stime of /proc over the release window and peak VmRSS sampled every second: the worker(s),
//                 the Temporal dev server (shared), Flagger; the rig's apiserver, etcd, mesh-sim and Prometheus too.
//   requests/s    per counting proxy: mean over the release window and the busiest 10 s.
//   submissions   Fledge: how long the N submissions took (the moment of release → the last one accepted).
//   task timeouts Fledge: workflow tasks of the releases that timed out (WorkflowTaskTimedOut in the histories), in
//                 how many releases, and the longest stall from a timeout to the next completed workflow task.
//   workers 2     each worker's share of workflow tasks, activities and local activities (history identities).
// A side "breaks" at an N when a release ends Failed, an outcome disagrees with the cluster, a controller process
// dies, or the side has not finished within the deadline (--timeout minutes, default 10 + N/25); that side is not
// run at larger N.
//
// Options: --n 30,100,300  --side fledge|flagger|both  --interval S  --workers 1|2  --build dist|src
//          --dist DIR (a production build other than dist/)  --timeout MIN  --no-doc (do not write the docs)
//          --stack-metrics (the stack's mesh simulator and Prometheus instead of the bench's own)  --scrape 1s
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { loadFledgeConfig } from '../src/config.js';
import { devStackEnv, flaggerBinary, loadToolPaths, projectRoot } from '../src/dev/stack/config.js';
import { ensureKwokNodes } from '../src/dev/stack/kube.js';
import { stackStatus, stackUp } from '../src/dev/stack/stack.js';
import type { ReleaseResult } from '../src/domain/result.js';
import {
  checkRelease,
  connectClient,
  releaseResult,
  submitRelease,
  type CheckedRelease,
} from '../src/starter.js';
import { replaceDocSection, sampleProcess } from './bench-peer/measure.js';
import { makeProxyCert, startCountingProxy } from './bench-peer/proxy.js';
import {
  flaggerTickLateness,
  fledgeTickLateness,
  parseFlaggerLog,
  percentile,
  requestRates,
  workShare,
  workflowTaskTimeouts,
  type HistoryEventLike,
} from './bench-scale/stats.js';
import { args, option } from './lib/options.js';
import { benchCommit, benchMachine, loadAverage } from './lib/provenance.js';

// ── options ─────────────────────────────────────────────────────────────────────────────────────────────────
const sizes = (option('--n') ?? '30,100,300')
  .split(',')
  .map((s) => Math.floor(Number(s.trim())))
  .filter((n) => n > 0);
const sideOpt = option('--side') ?? 'both';
if (!['fledge', 'flagger', 'both'].includes(sideOpt))
  throw new Error(`--side ${sideOpt}: fledge|flagger|both`);
const sides = (sideOpt === 'both' ? ['fledge', 'flagger'] : [sideOpt]) as Side[];
const INTERVAL_S = Math.max(5, Number(option('--interval') ?? 30) || 30);
const workersN = Number(option('--workers') ?? 1) === 2 ? 2 : 1;
const buildOpt = option('--build');
const timeoutMin = option('--timeout');
const writeDoc = !args.includes('--no-doc');
/** Use the stack's shared mesh simulator and Prometheus instead of the bench's own (see "metrics rig" below). */
const stackMetrics = args.includes('--stack-metrics');
// 5 s: at a 1 s scrape (the stack's) with hundreds of routed services on a loaded machine the simulator's answer
// (MBs of text) took longer than the 1 s scrape timeout, every series went stale, and analyses saw "no values".
const scrapeInterval = option('--scrape') ?? '5s';
type Side = 'fledge' | 'flagger';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => console.log(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${m}`);
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Runs `f` over `items` with at most `limit` in flight. */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  f: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i] as T, i);
      }
    }),
  );
  return out;
}
/** Retries a set-up call the apiserver refused while busy (429, 5xx, a reset). */
async function retrying<T>(f: () => Promise<T>, tries = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      const code = e instanceof k8s.ApiException ? e.code : 0;
      if (code === 409 || i >= tries || (code > 0 && code < 500 && code !== 429)) throw e;
      await sleep(500 * i);
    }
  }
}

// ── stack, proxies, builds ──────────────────────────────────────────────────────────────────────────────────
const stack = await stackUp({ log: () => undefined });
const loadAtStart = loadAverage();
const { version: flaggerVersion, bin: flaggerBin } = flaggerBinary();
if (sides.includes('flagger') && !existsSync(flaggerBin)) {
  console.error(
    `Flagger ${flaggerVersion} is not built: run \`bash scripts/install-tools.sh flagger\` first`,
  );
  process.exit(5);
}

const kc = new k8s.KubeConfig();
kc.loadFromFile(stack.kubeconfig);
const cluster = kc.getCurrentCluster();
const user = kc.getCurrentUser();
if (!cluster?.caData || !user?.token)
  throw new Error(`${stack.kubeconfig}: expected a CA and a bearer token`);
const upstream = { server: cluster.server, ca: Buffer.from(cluster.caData, 'base64').toString('utf8') };
const cert = makeProxyCert();
const id = Date.now().toString(36);
const artifacts = join(projectRoot, 'test-artifacts', 'bench-scale', id);
mkdirSync(artifacts, { recursive: true });
const proxies = {
  flagger: await startCountingProxy('flagger', upstream, cert),
  fledge: await startCountingProxy('fledge', upstream, cert),
};
proxies.flagger.writeKubeconfig(join(artifacts, 'flagger.kubeconfig'), user.token);
proxies.fledge.writeKubeconfig(join(artifacts, 'fledge.kubeconfig'), user.token);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

// The production build when dist/ has it (a snapshot: a rebuild by someone else cannot change it mid-run).
const distDir = option('--dist') ?? join(projectRoot, 'dist');
const distOk = existsSync(join(distDir, 'worker.js')) && existsSync(join(distDir, 'workflow-bundle.js'));
const build: 'dist' | 'src' = buildOpt === 'src' || (buildOpt !== 'dist' && !distOk) ? 'src' : 'dist';
let app: string | null = null;
if (build === 'dist') {
  if (!distOk) throw new Error('--build dist: dist/ has no worker.js and workflow-bundle.js (npm run build)');
  app = join(artifacts, 'app');
  cpSync(distDir, join(app, 'dist'), { recursive: true });
}
const statusNow = await stackStatus();
const pidOf = (name: string): number | undefined => statusNow.find((c) => c.name === name)?.pid;
const rigPids: Record<string, number | undefined> = {
  temporal: pidOf('temporal'),
  apiserver: pidOf('kube-apiserver'),
  etcd: pidOf('etcd'),
  'mesh-sim': pidOf('mesh-sim'),
  prometheus: pidOf('prometheus'),
  'controller-manager': pidOf('kube-controller-manager'),
};
const devEnv = devStackEnv();

// ── processes ───────────────────────────────────────────────────────────────────────────────────────────────
const children = new Set<ChildProcess>();
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
    process.exit(130);
  });
function startProcess(name: string, command: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const logFile = join(artifacts, `${name}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(command, argv, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.add(child);
  let died: string | null = null;
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) {
      died = `${name} exited (${code ?? signal})`;
      log(`${died}; see ${logFile}`);
    }
  });
  return { child, logFile, died: () => died };
}
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((r) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      r();
    }, 20_000);
    child.once('exit', () => {
      clearTimeout(t);
      r();
    });
    child.kill('SIGTERM');
  });
}
async function waitForOutput(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`no ${re} within ${timeoutMs} ms: ${seen.slice(-500)}`)),
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
    child.stderr?.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited (${code}) before it was ready: ${seen.slice(-500)}`));
    });
  });
}

function startWorker(name: string, taskQueue: string) {
  const settings = {
    ...devEnv,
    KUBECONFIG: join(artifacts, 'fledge.kubeconfig'),
    FLEDGE_TASK_QUEUE: taskQueue,
    FLEDGE_PROMETHEUS_URL: prometheusUrl,
    FLEDGE_METRICS_PORT: '0',
    FLEDGE_METRICS_HOST: '127.0.0.1',
  };
  return build === 'dist' && app
    ? startProcess(
        name,
        process.execPath,
        [join(app, 'dist', 'worker.js')],
        { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...settings },
        app,
      )
    : startProcess(
        name,
        process.execPath,
        [join(projectRoot, 'bin', 'fledge.js'), 'worker'],
        { ...process.env, ...settings },
        projectRoot,
      );
}

// ── metrics rig ─────────────────────────────────────────────────────────────────────────────────────────────
// By default the bench runs its own mesh simulator (this checkout's code) and Prometheus (the stack's binary, same
// 1 s scrape unless --scrape), on free ports, for the duration of the run: both controllers read their metrics from
// it. The stack's own are shared with whatever else runs on the machine, and restarting them is not the bench's to
// do. The simulator still sees the whole cluster (it lists and watches cluster-wide).
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
let prometheusUrl = stack.urls.prometheus;
if (!stackMetrics) {
  const meshPort = await freePort();
  const promPort = await freePort();
  const mesh = startProcess(
    'mesh-sim',
    process.execPath,
    [
      '--import',
      'tsx',
      join(projectRoot, 'src', 'dev', 'mesh-sim', 'main.ts'),
      '--port',
      String(meshPort),
      '--kubeconfig',
      stack.kubeconfig,
    ],
    process.env,
    projectRoot,
  );
  const promConf = join(artifacts, 'prometheus.yml');
  writeFileSync(
    promConf,
    `global:\n  scrape_interval: ${scrapeInterval}\n  evaluation_interval: ${scrapeInterval}\nscrape_configs:\n  - job_name: mesh-sim\n    static_configs:\n      - targets: ['127.0.0.1:${meshPort}']\n`,
  );
  const prom = startProcess(
    'prometheus',
    loadToolPaths().prometheus,
    [
      `--config.file=${promConf}`,
      `--storage.tsdb.path=${join(artifacts, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
    process.env,
    artifacts,
  );
  prometheusUrl = `http://127.0.0.1:${promPort}`;
  rigPids['mesh-sim'] = mesh.child.pid;
  rigPids.prometheus = prom.child.pid;
  for (let i = 0; ; i++) {
    const ok = await Promise.all([
      fetch(`http://127.0.0.1:${meshPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
      fetch(`${prometheusUrl}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ),
    ]);
    if (ok.every(Boolean)) break;
    if (i > 120) throw new Error("the bench's mesh simulator / Prometheus did not become ready in 60 s");
    await sleep(500);
  }
  log(`metrics rig: mesh-sim :${meshPort}, Prometheus ${prometheusUrl} (scrape ${scrapeInterval})`);
  // The stack's own simulator and Prometheus serve neither controller now, yet kept working through the run (its
  // simulator alone ~15 % of a core at N = 1,000, in no figure): paused until the bench exits (`dev up` resumes them
  // too, should the bench be killed).
  const paused = [pidOf('mesh-sim'), pidOf('prometheus')].filter((p): p is number => p !== undefined);
  const signalAll = (sig: NodeJS.Signals): void => {
    for (const pid of paused)
      try {
        process.kill(pid, sig);
      } catch {
        // gone already
      }
  };
  signalAll('SIGSTOP');
  process.on('exit', () => signalAll('SIGCONT'));
}

// ── targets ─────────────────────────────────────────────────────────────────────────────────────────────────
const BASE_IMAGE = 'ghcr.io/acme/podinfo:1.0.0';
const NEW_IMAGE = 'ghcr.io/acme/podinfo:1.1.0';
function canaryDoc(ns: string, name: string): string {
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: ${name}, namespace: ${ns} }
spec:
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: ${name} }
  progressDeadlineSeconds: 600
  service: { port: 9898 }
  analysis:
    interval: ${INTERVAL_S}s
    threshold: 2
    stepWeight: 50
    maxWeight: 50
    metrics:
      - name: request-success-rate
        thresholdRange: { min: 99 }
        interval: 1m
      - name: request-duration
        thresholdRange: { max: 500 }
        interval: 1m
`;
}
async function createTargets(ns: string, names: string[]): Promise<void> {
  await retrying(() => core.createNamespace({ body: { metadata: { name: ns } } }));
  await pool(names, 16, (name) => {
    const labels = { app: name };
    return retrying(() =>
      apps.createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name, labels },
          spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: BASE_IMAGE }] } },
          },
        },
      }),
    );
  });
}

interface CanaryObj {
  metadata?: { name?: string };
  status?: {
    phase?: string;
    conditions?: Array<{ type?: string; lastTransitionTime?: string }>;
  };
}
async function listCanaries(ns: string): Promise<CanaryObj[]> {
  const l = (await custom.listNamespacedCustomObject({
    group: 'flagger.app',
    version: 'v1beta1',
    namespace: ns,
    plural: 'canaries',
  })) as { items?: CanaryObj[] };
  return l.items ?? [];
}

interface VsObj {
  metadata?: { name?: string };
  spec?: {
    http?: Array<{ match?: unknown; route?: Array<{ destination?: { host?: string }; weight?: number }> }>;
  };
}
/** Per target: the primary Deployment's image and whether the VirtualService is at 100 % primary. */
async function clusterState(ns: string): Promise<Map<string, { primaryImage?: string; atPrimary: boolean }>> {
  const [deps, vss] = await Promise.all([
    retrying(() => apps.listNamespacedDeployment({ namespace: ns })),
    retrying(
      () =>
        custom.listNamespacedCustomObject({
          group: 'networking.istio.io',
          version: 'v1',
          namespace: ns,
          plural: 'virtualservices',
        }) as Promise<{ items?: VsObj[] }>,
    ),
  ]);
  const m = new Map<string, { primaryImage?: string; atPrimary: boolean }>();
  for (const vs of vss.items ?? []) {
    const name = vs.metadata?.name ?? '';
    const main = vs.spec?.http?.find((r) => !r.match) ?? vs.spec?.http?.[0];
    const w = (h: string): number => main?.route?.find((r) => r.destination?.host === h)?.weight ?? 0;
    m.set(name, { atPrimary: w(`${name}-primary`) === 100 && w(`${name}-canary`) === 0 });
  }
  for (const d of deps.items) {
    const n = d.metadata?.name ?? '';
    if (!n.endsWith('-primary')) continue;
    const name = n.slice(0, -'-primary'.length);
    const image = d.spec?.template.spec?.containers[0]?.image;
    m.set(name, { ...(m.get(name) ?? { atPrimary: false }), ...(image ? { primaryImage: image } : {}) });
  }
  return m;
}

// ── one size ────────────────────────────────────────────────────────────────────────────────────────────────
interface Dist {
  p50: number;
  p95: number;
  p99?: number;
  max: number;
  n: number;
}
const dist = (xs: number[], withP99 = false): Dist => ({
  p50: percentile(xs, 50),
  p95: percentile(xs, 95),
  ...(withP99 ? { p99: percentile(xs, 99) } : {}),
  max: xs.length ? Math.max(...xs) : NaN,
  n: xs.length,
});
interface SideResult {
  side: Side;
  n: number;
  outcomes: Record<string, number>;
  disagrees: string[];
  unfinished: number;
  durationS: Dist;
  latenessS: Dist;
  cpuS: Record<string, number>;
  peakRssMiB: Record<string, number>;
  requests: { total: number; perSecond: number; peak10sPerSecond: number };
  broke: string | null;
  shares?: Record<string, { workflowTasks: number; activities: number; localActivities: number }>;
  failures?: string[];
  setupS?: number;
  /** Fledge: submissions that errored and were sent again (CI's retry; a started release is attached to). */
  submitErrors?: string[];
  /** Fledge: seconds from the moment of release until the last submission was accepted. */
  submitS?: number;
  /** Fledge: workflow tasks of the releases that timed out, in how many releases, and the longest stall. */
  workflowTaskTimeouts?: { timedOut: number; releases: number; longestStallS: number };
}
interface SizeResult {
  n: number;
  workers: number;
  startedAt: string;
  load: string;
  windowS: number;
  rig: { cpuS: Record<string, number>; peakRssMiB: Record<string, number> };
  sides: SideResult[];
  notes: string[];
}

const broken: Partial<Record<Side, string>> = {};

async function runSize(n: number): Promise<SizeResult> {
  const active = sides.filter((s) => !broken[s]);
  const notes: string[] = [];
  const names = Array.from({ length: n }, (_, i) => `t${String(i).padStart(4, '0')}`);
  const ns: Record<Side, string> = { fledge: `scale-fledge-${id}-${n}`, flagger: `scale-flagger-${id}-${n}` };
  // Pods at the peak: per target a primary and a canary (Flagger also runs the target until it is initialised).
  const nodes = await ensureKwokNodes(kc, active.length * n * 2 + 300);
  log(`N=${n}: ${active.join(' + ')}; ${nodes.length} kwok node(s); creating ${n} targets per side`);
  const tSetup = Date.now();
  await Promise.all(active.map((s) => createTargets(ns[s], names)));

  // Controllers.
  const procPids: Record<string, number> = {};
  const deaths: Array<() => string | null> = [];
  let flaggerLog = '';
  let flaggerChild: ChildProcess | null = null;
  const workerChildren: ChildProcess[] = [];
  const taskQueue = `bench-scale-${id}-${n}`;
  let client: Client | null = null;
  const cfg = loadFledgeConfig({
    ...process.env,
    ...devEnv,
    FLEDGE_TASK_QUEUE: taskQueue,
    FLEDGE_PROMETHEUS_URL: prometheusUrl,
  });
  if (active.includes('flagger')) {
    const p = startProcess(
      `flagger-${n}`,
      flaggerBin,
      [
        `-kubeconfig=${join(artifacts, 'flagger.kubeconfig')}`,
        '-mesh-provider=istio',
        `-metrics-server=${prometheusUrl}`,
        `-namespace=${ns.flagger}`,
        `-port=${20000 + Math.floor(Math.random() * 9000)}`,
        '-log-level=info',
      ],
      process.env,
      projectRoot,
    );
    flaggerChild = p.child;
    flaggerLog = p.logFile;
    procPids.flagger = p.child.pid as number;
    deaths.push(p.died);
    await sleep(2000);
    await pool(names, 16, (name) =>
      retrying(() =>
        custom.createNamespacedCustomObject({
          group: 'flagger.app',
          version: 'v1beta1',
          namespace: ns.flagger,
          plural: 'canaries',
          body: parseYaml(canaryDoc(ns.flagger, name)),
        }),
      ),
    );
  }
  if (active.includes('fledge')) {
    for (let w = 1; w <= workersN; w++) {
      const p = startWorker(`worker${w}-${n}`, taskQueue);
      workerChildren.push(p.child);
      procPids[`worker${w}`] = p.child.pid as number;
      deaths.push(p.died);
    }
    await Promise.all(workerChildren.map((c) => waitForOutput(c, /task queue/, 180_000)));
    client = await connectClient(cfg);
  }
  if (flaggerChild) {
    // Flagger initialises each Canary (primary, services, VirtualService) before it can release it.
    const deadline = Date.now() + (5 + n / 20) * 60_000;
    for (;;) {
      const cs = await listCanaries(ns.flagger).catch(() => [] as CanaryObj[]);
      const ready = cs.filter((c) => c.status?.phase === 'Initialized').length;
      if (ready === n) break;
      if (Date.now() > deadline) {
        notes.push(`Flagger initialised only ${ready}/${n} Canaries in time`);
        break;
      }
      await sleep(3000);
    }
    await sleep(2000);
  }
  const setupS = (Date.now() - tSetup) / 1000;
  log(`N=${n}: set up in ${setupS.toFixed(0)} s; releasing ${NEW_IMAGE} on all at once`);

  // CPU/RSS: every second.
  const allPids: Record<string, number> = { ...procPids };
  for (const [k, v] of Object.entries(rigPids)) if (v) allPids[k] = v;
  const peakRss: Record<string, number> = {};
  const cpuNow = (): Record<string, number> => {
    const o: Record<string, number> = {};
    for (const [k, pid] of Object.entries(allPids)) {
      try {
        o[k] = sampleProcess(pid).cpuSeconds;
      } catch {
        o[k] = NaN;
      }
    }
    return o;
  };
  const sampler = setInterval(() => {
    for (const [k, pid] of Object.entries(allPids)) {
      try {
        peakRss[k] = Math.max(peakRss[k] ?? 0, sampleProcess(pid).rssMiB);
      } catch {
        // gone: reported by its exit handler
      }
    }
  }, 1000);

  // Fledge's inputs are validated and compiled before the moment of release, as CI does in its own process
  // (`fledge validate` / the CLI before it connects): the release is the submission alone.
  const checked = new Map<string, CheckedRelease>();
  if (client)
    for (const name of names)
      checked.set(name, checkRelease({ yaml: canaryDoc(ns.fledge, name), images: { app: NEW_IMAGE } }));

  // Release on both at the same moment.
  const cpu0 = cpuNow();
  const t0 = Date.now();
  const fledgeEnds = new Map<string, { at: number; result?: ReleaseResult; error?: string }>();
  const workflowIds = new Map<string, string>();
  const fledgeDone: Promise<void>[] = [];
  const submitErrors: string[] = [];
  const subs: Promise<unknown>[] = [];
  if (flaggerChild)
    subs.push(
      pool(names, 32, (name) =>
        retrying(() =>
          apps.patchNamespacedDeployment(
            {
              namespace: ns.flagger,
              name,
              body: { spec: { template: { spec: { containers: [{ name: 'app', image: NEW_IMAGE }] } } } },
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
          ),
        ),
      ),
    );
  if (client) {
    const c = client;
    subs.push(
      pool(names, 32, async (name) => {
        try {
          // As CI would: a submission that errors (e.g. "context deadline exceeded" while the lane's workflow task
          // waits for a busy worker) is sent again, and attaches to the release if it did start. Counted.
          let sub: Awaited<ReturnType<typeof submitRelease>> | undefined;
          for (let attempt = 1; !sub; attempt++) {
            try {
              sub = await submitRelease(c, cfg, {
                yaml: canaryDoc(ns.fledge, name),
                ...(checked.has(name) ? { checked: checked.get(name) as CheckedRelease } : {}),
                images: { app: NEW_IMAGE },
                initiator: 'bench-scale',
              });
            } catch (e) {
              submitErrors.push(`${name} (attempt ${attempt}): ${errText(e)}`);
              if (attempt >= 3) throw e;
            }
          }
          workflowIds.set(name, sub.workflowId);
          fledgeDone.push(
            // As `fledge start --wait`: a release attached while still queued in its lane (e.g. a submission
            // retried after a deadline) exists only once the lane starts it, so wait for it to exist.
            releaseResult(c, sub.workflowId).then(
              (result) => void fledgeEnds.set(name, { at: Date.now(), result }),
              (e: unknown) => void fledgeEnds.set(name, { at: Date.now(), error: errText(e) }),
            ),
          );
        } catch (e) {
          fledgeEnds.set(name, { at: Date.now(), error: `submit: ${errText(e)}` });
        }
      }),
    );
  }
  await Promise.all(subs);
  const submitS = (Date.now() - t0) / 1000;
  log(`N=${n}: released in ${submitS.toFixed(1)} s; waiting for the ends`);

  // Wait for both sides.
  const deadline = t0 + (Number(timeoutMin) > 0 ? Number(timeoutMin) : 10 + n / 25) * 60_000;
  const flaggerEnds = new Map<string, { phase: string; at: number }>();
  let lastReport = 0;
  for (;;) {
    if (flaggerChild) {
      const cs = await listCanaries(ns.flagger).catch(() => null);
      for (const c of cs ?? []) {
        const p = c.status?.phase;
        const name = c.metadata?.name ?? '';
        if ((p === 'Succeeded' || p === 'Failed') && !flaggerEnds.has(name)) {
          const cond = c.status?.conditions?.find((x) => x.type === 'Promoted');
          const at = cond?.lastTransitionTime ? Date.parse(cond.lastTransitionTime) : Date.now();
          flaggerEnds.set(name, { phase: p, at });
        }
      }
    }
    const fledgeLeft = client ? n - fledgeEnds.size : 0;
    const flaggerLeft = flaggerChild ? n - flaggerEnds.size : 0;
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      log(
        `N=${n}: ${((Date.now() - t0) / 1000).toFixed(0)} s: Fledge ${client ? `${fledgeEnds.size}/${n}` : '-'} ended, Flagger ${flaggerChild ? `${flaggerEnds.size}/${n}` : '-'}; load ${loadavg()[0]?.toFixed(1)}`,
      );
    }
    if (fledgeLeft === 0 && flaggerLeft === 0) break;
    if (Date.now() > deadline) {
      notes.push(`deadline reached: Fledge ${fledgeLeft} and Flagger ${flaggerLeft} not finished`);
      break;
    }
    if (deaths.some((d) => d() !== null)) {
      notes.push(...deaths.map((d) => d()).filter((d): d is string => d !== null));
      break;
    }
    await sleep(2000);
  }
  const cpu1 = cpuNow();
  const tEnd = Date.now();
  clearInterval(sampler);
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(cpu1)) cpu[k] = (cpu1[k] ?? NaN) - (cpu0[k] ?? NaN);

  const results: SideResult[] = [];
  // ── Fledge ──
  if (client) {
    const c = client;
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    const durations: number[] = [];
    for (const [name, e] of fledgeEnds) {
      const o = e.result?.outcome ?? 'Error';
      outcomes[o] = (outcomes[o] ?? 0) + 1;
      durations.push((e.at - t0) / 1000);
      if (o !== 'Promoted')
        failures.push(
          `${name}: ${o}${e.result ? ` (${e.result.reason.code}: ${e.result.reason.message ?? ''})` : ` ${e.error ?? ''}`}`.slice(
            0,
            300,
          ),
        );
    }
    const state = await clusterState(ns.fledge);
    const disagrees: string[] = [];
    for (const [name, e] of fledgeEnds) {
      const s = state.get(name);
      const promoted = e.result?.outcome === 'Promoted';
      const shipped = s?.primaryImage === NEW_IMAGE;
      if (promoted && !(shipped && s.atPrimary))
        disagrees.push(
          `${name}: Promoted, but primary ${s?.primaryImage ?? '-'} / at primary ${s?.atPrimary}`,
        );
      if (!promoted && shipped)
        disagrees.push(`${name}: ${e.result?.outcome ?? 'error'} but the primary runs ${NEW_IMAGE}`);
    }
    // Histories: tick lateness and, with two workers, who did the work.
    const lateness: number[] = [];
    const shares = new Map<string, { workflowTasks: number; activities: number; localActivities: number }>();
    const wftTimeouts = { timedOut: 0, releases: 0, longestStallS: 0 };
    await pool([...workflowIds.values()], 8, async (wid) => {
      try {
        const h = await c.workflow.getHandle(wid).fetchHistory();
        const events = (h.events ?? []) as unknown as HistoryEventLike[];
        lateness.push(...fledgeTickLateness(events));
        const to = workflowTaskTimeouts(events);
        if (to.timedOut > 0) {
          wftTimeouts.timedOut += to.timedOut;
          wftTimeouts.releases++;
          wftTimeouts.longestStallS = Math.max(wftTimeouts.longestStallS, to.longestStallMs / 1000);
        }
        for (const [who, v] of workShare(events)) {
          const s = shares.get(who) ?? { workflowTasks: 0, activities: 0, localActivities: 0 };
          s.workflowTasks += v.workflowTasks;
          s.activities += v.activities;
          s.localActivities += v.localActivities;
          shares.set(who, s);
        }
      } catch (e) {
        notes.push(`history of ${wid}: ${errText(e)}`);
      }
    });
    const reqs = requestRates(
      proxies.fledge.requests.map((r) => r.at),
      t0,
      tEnd,
    );
    const total = proxies.fledge.requests.filter((r) => r.at >= t0 && r.at < tEnd).length;
    const failed = (outcomes.Failed ?? 0) + (outcomes.Error ?? 0);
    const unfinished = n - fledgeEnds.size;
    const workerKeys = Object.keys(procPids).filter((k) => k.startsWith('worker'));
    results.push({
      side: 'fledge',
      n,
      outcomes,
      disagrees,
      unfinished,
      durationS: dist(durations),
      latenessS: dist(
        lateness.map((x) => x / 1000),
        true,
      ),
      cpuS: Object.fromEntries([...workerKeys, 'temporal'].map((k) => [k, cpu[k] ?? NaN])),
      peakRssMiB: Object.fromEntries([...workerKeys, 'temporal'].map((k) => [k, peakRss[k] ?? NaN])),
      requests: { total, perSecond: reqs.mean, peak10sPerSecond: reqs.peak10s },
      broke:
        failed > 0
          ? `${failed} release(s) ended Failed/errored`
          : n - fledgeEnds.size === 0 && (outcomes.Promoted ?? 0) < n
            ? `${n - (outcomes.Promoted ?? 0)} good release(s) not promoted`
            : disagrees.length > 0
              ? `${disagrees.length} outcome(s) disagree with the cluster`
              : unfinished > 0
                ? `${unfinished} release(s) unfinished at the deadline`
                : deaths.some((d) => d()?.startsWith('worker'))
                  ? 'a worker died'
                  : null,
      ...(shares.size > 0 ? { shares: Object.fromEntries(shares) } : {}),
      submitErrors,
      submitS,
      workflowTaskTimeouts: wftTimeouts,
      failures: failures.slice(0, 40),
      setupS,
    });
  }
  // ── Flagger ──
  if (flaggerChild) {
    const outcomes: Record<string, number> = {};
    const durations: number[] = [];
    for (const e of flaggerEnds.values()) {
      outcomes[e.phase] = (outcomes[e.phase] ?? 0) + 1;
      durations.push((e.at - t0) / 1000);
    }
    const state = await clusterState(ns.flagger);
    const disagrees: string[] = [];
    for (const [name, e] of flaggerEnds) {
      const s = state.get(name);
      const shipped = s?.primaryImage === NEW_IMAGE;
      if (e.phase === 'Succeeded' && !(shipped && s.atPrimary))
        disagrees.push(
          `${name}: Succeeded, but primary ${s?.primaryImage ?? '-'} / at primary ${s?.atPrimary}`,
        );
      if (e.phase !== 'Succeeded' && shipped)
        disagrees.push(`${name}: ${e.phase} but the primary runs ${NEW_IMAGE}`);
    }
    const lines = parseFlaggerLog(readFileSync(flaggerLog, 'utf8')).filter((l) => Date.parse(l.ts) >= t0);
    const lateness = flaggerTickLateness(
      lines,
      INTERVAL_S * 1000,
      new Set(names.map((x) => `${x}.${ns.flagger}`)),
    );
    const reqs = requestRates(
      proxies.flagger.requests.map((r) => r.at),
      t0,
      tEnd,
    );
    const total = proxies.flagger.requests.filter((r) => r.at >= t0 && r.at < tEnd).length;
    const unfinished = n - flaggerEnds.size;
    results.push({
      side: 'flagger',
      n,
      outcomes,
      disagrees,
      unfinished,
      durationS: dist(durations),
      latenessS: dist(
        lateness.map((x) => x / 1000),
        true,
      ),
      cpuS: { flagger: cpu.flagger ?? NaN },
      peakRssMiB: { flagger: peakRss.flagger ?? NaN },
      requests: { total, perSecond: reqs.mean, peak10sPerSecond: reqs.peak10s },
      broke:
        (outcomes.Failed ?? 0) > 0
          ? `${outcomes.Failed} Canary(ies) ended Failed (rolled back)`
          : disagrees.length > 0
            ? `${disagrees.length} outcome(s) disagree with the cluster`
            : unfinished > 0
              ? `${unfinished} Canary(ies) unfinished at the deadline`
              : deaths.some((d) => d()?.startsWith('flagger'))
                ? 'the controller died'
                : null,
      setupS,
    });
  }

  // Stop this size's processes and clean up (namespaces deleted in the background).
  stopping = true;
  await Promise.all([...workerChildren, ...(flaggerChild ? [flaggerChild] : [])].map(stopProcess));
  stopping = false;
  await client?.connection.close();
  for (const s of active) await core.deleteNamespace({ name: ns[s] }).catch(() => undefined);
  for (const r of results) if (r.broke) broken[r.side] = `N=${n}: ${r.broke}`;

  const rigKeys = Object.keys(rigPids).filter((k) => k !== 'temporal');
  return {
    n,
    workers: workersN,
    startedAt: new Date(t0).toISOString(),
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    windowS: (tEnd - t0) / 1000,
    rig: {
      cpuS: Object.fromEntries(rigKeys.map((k) => [k, cpu[k] ?? NaN])),
      peakRssMiB: Object.fromEntries(rigKeys.map((k) => [k, peakRss[k] ?? NaN])),
    },
    sides: results,
    notes,
  };
}

// ── run ─────────────────────────────────────────────────────────────────────────────────────────────────────
const sizesRun: SizeResult[] = [];
let failure: string | null = null;
try {
  for (const n of sizes) {
    if (sides.every((s) => broken[s])) {
      log(`N=${n}: skipped, every side broke at a smaller N`);
      continue;
    }
    const r = await runSize(n);
    sizesRun.push(r);
    writeFileSync(join(artifacts, 'sizes.json'), JSON.stringify(sizesRun, null, 2));
    for (const s of r.sides)
      log(
        `N=${n} ${s.side}: ${JSON.stringify(s.outcomes)}, duration p50 ${s.durationS.p50.toFixed(0)} s, ` +
          `lateness p95 ${s.latenessS.p95.toFixed(2)} s${s.broke ? `; BROKE: ${s.broke}` : ''}`,
      );
  }
} catch (e) {
  failure = errText(e);
  log(`aborted: ${failure}`);
}
stopping = true;
for (const c of children) c.kill('SIGTERM');
await proxies.flagger.close();
await proxies.fledge.close();

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────────
const f = (x: number | undefined, d = 1): string =>
  x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d);
const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
const maxOf = (o: Record<string, number>): number => Math.max(...Object.values(o));
const header = [
  'N',
  'side',
  'outcomes',
  'disagree',
  'duration p50/p95/max s',
  'tick late p50/p95/p99 s',
  'CPU s (ctl + Temporal)',
  'peak RSS MiB (ctl / Temporal)',
  'API req/s mean/peak10s',
  'broke',
];
const rows: string[][] = [];
for (const r of sizesRun)
  for (const s of r.sides) {
    const ctlKeys = Object.keys(s.cpuS).filter((k) => k !== 'temporal');
    const ctlCpu = ctlKeys.reduce((a, k) => a + (s.cpuS[k] ?? 0), 0);
    const ctlRss = ctlKeys.map((k) => f(s.peakRssMiB[k], 0)).join('+');
    rows.push([
      String(r.n),
      s.side === 'fledge'
        ? `Fledge (${r.workers} worker${r.workers > 1 ? 's' : ''}, ${build})`
        : `Flagger ${flaggerVersion}`,
      Object.entries(s.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') + (s.unfinished ? `, unfinished ${s.unfinished}` : ''),
      String(s.disagrees.length),
      `${f(s.durationS.p50, 0)} / ${f(s.durationS.p95, 0)} / ${f(s.durationS.max, 0)}`,
      `${f(s.latenessS.p50, 2)} / ${f(s.latenessS.p95, 2)} / ${f(s.latenessS.p99, 2)}`,
      s.side === 'fledge' ? `${f(ctlCpu, 1)} + ${f(s.cpuS.temporal, 1)}` : f(ctlCpu, 1),
      s.side === 'fledge' ? `${ctlRss} / ${f(s.peakRssMiB.temporal, 0)}` : ctlRss,
      `${f(s.requests.perSecond, 1)} / ${f(s.requests.peak10sPerSecond, 1)}`,
      s.broke ?? '-',
    ]);
  }
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
console.log(`\nScale: N concurrent good releases, interval ${INTERVAL_S} s\n`);
console.log(header.map((h, i) => h.padEnd(widths[i] as number)).join('  '));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] as number)).join('  '));
const rigLines = sizesRun.map(
  (r) =>
    `N=${r.n}: window ${f(r.windowS, 0)} s, load ${r.load}; rig CPU s ${Object.entries(r.rig.cpuS)
      .map(([k, v]) => `${k} ${f(v, 1)}`)
      .join(', ')} (total ${f(sum(r.rig.cpuS), 1)}); peak RSS MiB ${Object.entries(r.rig.peakRssMiB)
      .map(([k, v]) => `${k} ${f(v, 0)}`)
      .join(', ')} (max ${f(maxOf(r.rig.peakRssMiB), 0)})`,
);
const shareLines = sizesRun.flatMap((r) =>
  r.sides
    .filter((s) => s.shares && Object.keys(s.shares).length > 1)
    .map(
      (s) =>
        `N=${r.n}: ${Object.entries(s.shares ?? {})
          .map(
            ([who, v]) =>
              `${who}: ${v.workflowTasks} workflow tasks, ${v.activities} activities, ${v.localActivities} local activities`,
          )
          .join('; ')}`,
    ),
);
const noteLines = sizesRun.flatMap((r) => [
  ...r.notes.map((x) => `N=${r.n}: ${x}`),
  ...r.sides.flatMap((s) => [
    ...s.disagrees.slice(0, 10).map((x) => `N=${r.n} ${s.side} disagrees: ${x}`),
    ...(s.failures ?? []).slice(0, 10).map((x) => `N=${r.n} ${s.side}: ${x}`),
    ...(s.side === 'fledge' && s.submitS !== undefined
      ? [
          `N=${r.n} fledge: the ${r.n} submissions took ${f(s.submitS, 0)} s; ${s.workflowTaskTimeouts?.timedOut ?? 0} workflow task(s) of ${s.workflowTaskTimeouts?.releases ?? 0} release(s) timed out (longest stall ${f(s.workflowTaskTimeouts?.longestStallS ?? 0, 0)} s)`,
        ]
      : []),
    ...(s.submitErrors?.length
      ? [
          `N=${r.n} ${s.side}: ${s.submitErrors.length} submission(s) errored and were sent again: ${s.submitErrors.slice(0, 3).join('; ')}`,
        ]
      : []),
  ]),
]);
console.log('');
for (const l of rigLines) console.log(l);
for (const l of shareLines) console.log(`work share ${l}`);
for (const l of noteLines) console.log(`note: ${l}`);
for (const [s, why] of Object.entries(broken)) console.log(`${s} broke at ${why}`);
if (failure) console.log(`ABORTED: ${failure}`);

const commit = benchCommit();
const machine = benchMachine(loadAtStart);
const date = new Date().toISOString();
const conditions =
  `${workersN} Fledge worker process(es) per N (${build === 'dist' ? `production build: a snapshot of ${distDir.replace(`${projectRoot}/`, '')}, NODE_ENV=production` : 'from sources (tsx)'}, ` +
  `default request budget, metrics endpoint on, not scraped) beside Flagger ${flaggerVersion} (Go module proxy build, ` +
  `not scraped), both started fresh per N and released at the same moment on the same stack; Canary interval ${INTERVAL_S} s, ` +
  'threshold 2, one step (stepWeight = maxWeight = 50), built-in Istio metrics over 1 m, progress deadline 600 s; ' +
  (stackMetrics
    ? "the stack's Prometheus scrapes the stack's mesh simulator every second. "
    : `the bench's own mesh simulator (this checkout) and Prometheus (scrape ${scrapeInterval}) serve both controllers. `) +
  'The machine is shared (see the load average); the Temporal dev ' +
  "server is the stack's and its CPU includes anything else using it.";
const jsonPath = join(projectRoot, 'test-artifacts', `bench-scale-${date.replace(/[:.]/g, '-')}.json`);
writeFileSync(
  jsonPath,
  JSON.stringify(
    {
      date,
      machine,
      commit,
      conditions,
      interval: INTERVAL_S,
      build,
      workers: workersN,
      sizes: sizesRun,
      broken,
      failure,
    },
    null,
    2,
  ),
);
console.log(`JSON: ${jsonPath}`);

if (writeDoc && sizesRun.length > 0) {
  const heading = '## Scale (`npm run bench:scale`)';
  const docsFile = join(projectRoot, 'docs', 'benchmarks.md');
  const md = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '# Benchmarks\n';
  // The section keeps one table per worker count: a --workers 2 run replaces only its own part.
  const part = `### ${workersN} worker${workersN > 1 ? 's' : ''}, sizes ${sizes.join(', ')}`;
  const body = [
    part,
    '',
    `- date: ${date}`,
    `- machine: ${machine}`,
    `- commit: ${commit}`,
    `- conditions: ${conditions}`,
    `- JSON: test-artifacts/${jsonPath.split('/test-artifacts/')[1] ?? ''}`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
    '',
    ...rigLines.map((l) => `- rig ${l}`),
    ...shareLines.map((l) => `- work share ${l}`),
    ...noteLines.slice(0, 12).map((l) => `- note: ${l.replace(/\|/g, '\\|')}`),
    ...Object.entries(broken).map(([s, why]) => `- ${s} broke at ${why}`),
    ...(failure ? [`- the run was aborted: ${failure}`] : []),
    '',
  ].join('\n');
  const start = md.indexOf(heading);
  const existing =
    start >= 0
      ? md.slice(start, md.indexOf('\n## ', start + 1) >= 0 ? md.indexOf('\n## ', start + 1) : undefined)
      : '';
  const intro = existing
    ? existing.slice(0, existing.indexOf('\n### ') >= 0 ? existing.indexOf('\n### ') : existing.length)
    : `${heading}\n\nN concurrent good releases on one local stack, Fledge beside the real Flagger (\`scripts/bench-scale.ts\` says exactly how each figure is measured).\n`;
  // Other parts (### …) of the section are kept; this run's part replaces the one with the same heading.
  const parts = existing
    ? existing
        .split(/\n(?=### )/)
        .slice(1)
        .filter((p) => !p.startsWith(part))
    : [];
  const section = [intro.trimEnd(), ...parts.map((p) => p.trimEnd()), body.trimEnd()].join('\n\n');
  writeFileSync(docsFile, replaceDocSection(md, heading, section));
  console.log('docs/benchmarks.md written (Scale section)');
}
process.exit(failure ? 1 : 0);
