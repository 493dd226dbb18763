// Peer benchmark (`npm run bench:peer`): the real Flagger controller and the Fledge worker side by side on one
// local stack, the same Canary on identical Deployments, the same image released on both at the same moment.
// Prints one table with Fledge ÷ Flagger ratios, writes test-artifacts/bench-peer-<time>.json and
// docs/benchmarks.md. Asserts nothing beyond sanity: a scenario that did not end the way it was set up to is
// reported as a note, not measured.
//
// Set-up. Flagger (built by `scripts/install-tools.sh flagger`, version FLAGGER_VERSION of scripts/versions.env)
// runs as a local process: -kubeconfig, -mesh-provider=istio, -metrics-server=<the stack's Prometheus>,
// -namespace=<its own namespace>. The Fledge worker runs as a process too (`node bin/fledge.js worker`, from
// sources through tsx) on a task queue of its own. Each talks to the kube-apiserver through its own counting
// proxy (scripts/bench-peer/proxy.ts: TLS on loopback, every request recorded as read / write / watch). The
// Canary: interval 10 s, threshold 2, stepWeight 20, maxWeight 60, Istio's built-in request-success-rate (min
// 99 %) and request-duration (max 500 ms) over 30 s. Flagger's Canary is created first and released once it is
// Initialized; Fledge initialises inside its release (its start → end figures include that).
//
// Scenarios (each run: fresh targets `<scenario>-<run>` in both namespaces; Flagger's Canary deleted after it):
//   bad    image tag `…-bad` (the mesh simulator gives it 20 % errors). Reaction: from the threshold-th failing
//          check (Flagger: its Canary status read with failedChecks = threshold, polled every 100 ms; Fledge: the
//          history time of the runAnalysis that reached the threshold) to the VirtualService read at 100 % primary
//          (polled every 100 ms). Also start → back at 100 % primary, analysis ticks (Flagger: its Advance/Halt/
//          Rolling back events, counted; Fledge: runAnalysis activities) and the requests of the release.
//   good   a healthy tag: start → primary runs it and the VirtualService is back at 100 % primary.
//   gated  confirm-promotion: Flagger through the webhook service's loadtester-like gate (/gate/check), Fledge
//          through `spec.fledge.manualGates` and the `approve` update. Once both wait at the gate, after a random
//          part of one interval, the gate is opened and the update sent at the same moment; latency from the gate's
//          202 (Flagger) / the update's acceptance (Fledge) to the primary Deployment's template carrying the image.
//   idle   after the last run, one target each at rest: requests per 10 s per target, CPU seconds per minute.
// CPU seconds (utime + stime of /proc/<pid>/stat) per process over each release (from the release to its end) and
// peak RSS (VmHWM of /proc/<pid>/status, and the highest VmRSS sampled during the releases): the Fledge worker,
// the Temporal dev server (shared with anything else using the stack) and the Flagger controller.
//
// Options: --runs N (default 3), --quick (1 run, 30 s idle window), --idle S (idle window in seconds, default 60).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { WorkflowUpdateStage, type Client, type WorkflowHandle } from '@temporalio/client';
import { loadFledgeConfig } from '../src/config.js';
import { devStackEnv, flaggerBinary, projectRoot } from '../src/dev/stack/config.js';
import { stackStatus, stackUp } from '../src/dev/stack/stack.js';
import { WebhookServiceClient } from '../src/dev/webhook-service/client.js';
import type { ReleaseResult } from '../src/domain/result.js';
import type { ReleaseStatus } from '../src/domain/status.js';
import { connectClient, submitRelease } from '../src/starter.js';
import { approveUpdate, statusQuery } from '../src/workflows/messages.js';
import {
  between,
  countClasses,
  formatRange,
  ratio,
  replaceDocSection,
  requestKind,
  sampleProcess,
  type ClassCounts,
  type CountedRequest,
} from './bench-peer/measure.js';
import { makeProxyCert, startCountingProxy, type CountingProxy } from './bench-peer/proxy.js';
import { args, option } from './lib/options.js';
import { benchCommit, benchMachine, loadAverage } from './lib/provenance.js';

// ── options ─────────────────────────────────────────────────────────────────────────────────────────────────
const quick = args.includes('--quick');
const runs = quick ? 1 : Math.max(1, Math.floor(Number(option('--runs') ?? 3) || 3));
const idleSeconds = Math.max(10, Number(option('--idle') ?? (quick ? 30 : 60)) || 60);
const INTERVAL_S = 10;
const THRESHOLD = 2;
const POLL_MS = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => console.log(`[bench:peer ${new Date().toISOString().slice(11, 19)}] ${m}`);
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// ── stack, tools, proxies ───────────────────────────────────────────────────────────────────────────────────
const stack = await stackUp({ log: () => undefined });
const loadAtStart = loadAverage();
const { version: flaggerVersion, bin: flaggerBin } = flaggerBinary();
if (!existsSync(flaggerBin)) {
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
const artifacts = join(projectRoot, 'test-artifacts', 'bench-peer');
mkdirSync(artifacts, { recursive: true });
const flaggerProxy = await startCountingProxy('flagger', upstream, cert);
const fledgeProxy = await startCountingProxy('fledge', upstream, cert);
flaggerProxy.writeKubeconfig(join(artifacts, 'flagger.kubeconfig'), user.token);
fledgeProxy.writeKubeconfig(join(artifacts, 'fledge.kubeconfig'), user.token);

const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const hooks = new WebhookServiceClient(stack.urls.webhook);

const id = Date.now().toString(36);
const nsFlagger = `peer-flagger-${id}`;
const nsFledge = `peer-fledge-${id}`;
for (const ns of [nsFlagger, nsFledge]) await core.createNamespace({ body: { metadata: { name: ns } } });

// ── the two controllers ─────────────────────────────────────────────────────────────────────────────────────
const children: ChildProcess[] = [];
function startProcess(name: string, command: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const out = createWriteStream(join(artifacts, `${name}.log`));
  const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: projectRoot });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) log(`${name} exited (${code ?? signal}); see ${join(artifacts, `${name}.log`)}`);
  });
  return child;
}
let stopping = false;
// Ctrl-C / SIGTERM: the controllers are children of this process; they stop with it.
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
    process.exit(130);
  });

const flaggerPort = 20000 + Math.floor(Math.random() * 9000);
const flagger = startProcess(
  'flagger',
  flaggerBin,
  [
    `-kubeconfig=${join(artifacts, 'flagger.kubeconfig')}`,
    '-mesh-provider=istio',
    `-metrics-server=${stack.urls.prometheus}`,
    `-namespace=${nsFlagger}`,
    `-port=${flaggerPort}`,
    '-log-level=info',
  ],
  process.env,
);
const taskQueue = `bench-peer-${id}`;
const devEnv = devStackEnv();
const worker = startProcess(
  'fledge-worker',
  process.execPath,
  [join(projectRoot, 'bin', 'fledge.js'), 'worker'],
  {
    ...process.env,
    ...devEnv,
    KUBECONFIG: join(artifacts, 'fledge.kubeconfig'),
    FLEDGE_TASK_QUEUE: taskQueue,
    FLEDGE_METRICS_PORT: 'off',
  },
);
const temporalPid = (await stackStatus()).find((c) => c.name === 'temporal')?.pid;
const pids = { flagger: flagger.pid, worker: worker.pid, temporal: temporalPid };
if (!pids.flagger || !pids.worker || !pids.temporal)
  throw new Error(`missing a pid: ${JSON.stringify(pids)}`);
type Proc = keyof typeof pids;
const procs: Proc[] = ['flagger', 'worker', 'temporal'];

const cfg = loadFledgeConfig({ ...process.env, ...devEnv, FLEDGE_TASK_QUEUE: taskQueue });
const client: Client = await connectClient(cfg);

// Peak RSS while releases run: VmRSS sampled every 500 ms (VmHWM, the process's own peak, is reported too).
const sampledPeak: Record<Proc, number> = { flagger: 0, worker: 0, temporal: 0 };
const cpuNow = (): Record<Proc, number> =>
  Object.fromEntries(procs.map((p) => [p, sampleProcess(pids[p] as number).cpuSeconds])) as Record<
    Proc,
    number
  >;
const sampler = setInterval(() => {
  for (const p of procs) {
    try {
      sampledPeak[p] = Math.max(sampledPeak[p], sampleProcess(pids[p] as number).rssMiB);
    } catch {
      // the process is gone; reported by its exit handler
    }
  }
}, 500);

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────────────────
const BASE_IMAGE = 'ghcr.io/acme/podinfo:1.0.0';
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

function canaryDoc(ns: string, name: string, gate: 'webhook' | 'manual' | null): string {
  const webhook =
    gate === 'webhook'
      ? `    webhooks:\n      - name: promotion-gate\n        type: confirm-promotion\n        url: ${stack.urls.webhook}/gate/check\n`
      : '';
  const fledge = gate === 'manual' ? '  fledge:\n    manualGates: [confirm-promotion]\n' : '';
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: ${name}, namespace: ${ns} }
spec:
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: ${name} }
  progressDeadlineSeconds: 120
  service: { port: 9898 }
  analysis:
    interval: ${INTERVAL_S}s
    threshold: ${THRESHOLD}
    stepWeight: 20
    maxWeight: 60
    metrics:
      - name: request-success-rate
        thresholdRange: { min: 99 }
        interval: 30s
      - name: request-duration
        thresholdRange: { max: 500 }
        interval: 30s
${webhook}${fledge}`;
}

interface CanaryStatus {
  phase?: string;
  failedChecks?: number;
  canaryWeight?: number;
}
async function flaggerStatus(name: string): Promise<CanaryStatus> {
  const c = (await custom.getNamespacedCustomObjectStatus({
    group: 'flagger.app',
    version: 'v1beta1',
    namespace: nsFlagger,
    plural: 'canaries',
    name,
  })) as { status?: CanaryStatus };
  return c.status ?? {};
}

interface Weights {
  primary: number;
  canary: number;
}
async function vsWeights(ns: string, name: string): Promise<Weights | undefined> {
  try {
    const vs = (await custom.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'virtualservices',
      namespace: ns,
      name,
    })) as {
      spec: {
        http: Array<{ match?: unknown; route: Array<{ destination: { host: string }; weight?: number }> }>;
      };
    };
    const main = vs.spec.http.find((r) => !r.match) ?? vs.spec.http[0];
    const w = (h: string): number => main?.route.find((r) => r.destination.host === h)?.weight ?? 0;
    return { primary: w(`${name}-primary`), canary: w(`${name}-canary`) };
  } catch {
    return undefined;
  }
}

async function primaryImage(ns: string, name: string): Promise<string | undefined> {
  try {
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: `${name}-primary` });
    return d.spec?.template.spec?.containers[0]?.image;
  } catch {
    return undefined;
  }
}

/** Observations of one side of a release, polled every POLL_MS and stamped when the answer arrived. */
interface Observation {
  at: number;
  w?: Weights;
  primaryImage?: string;
  flagger?: CanaryStatus;
}
function observe(ns: string, name: string, withFlaggerStatus: boolean) {
  const seen: Observation[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const [w, img, st] = await Promise.all([
        vsWeights(ns, name),
        primaryImage(ns, name),
        withFlaggerStatus ? flaggerStatus(name).catch(() => undefined) : Promise.resolve(undefined),
      ]);
      seen.push({
        at: Date.now(),
        ...(w ? { w } : {}),
        ...(img ? { primaryImage: img } : {}),
        ...(st ? { flagger: st } : {}),
      });
      await sleep(POLL_MS);
    }
  })();
  return {
    seen,
    first: (pred: (o: Observation) => boolean, after = 0) => seen.find((o) => o.at >= after && pred(o)),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
const atPrimary = (o: Observation): boolean => o.w?.primary === 100 && o.w.canary === 0;

async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = POLL_MS * 2,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Sum of the counts of Flagger's analysis-tick events on a Canary (one Advance/Halt/Rolling back per tick). */
async function flaggerTicks(name: string): Promise<number> {
  const evs = await core.listNamespacedEvent({
    namespace: nsFlagger,
    fieldSelector: `involvedObject.kind=Canary,involvedObject.name=${name}`,
  });
  return evs.items
    .filter((e) => /^(Advance |Halt |Rolling back .*failed checks threshold)/.test(e.message ?? ''))
    .reduce((n, e) => n + (e.count ?? 1), 0);
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const eventMs = (e: HistoryEvent): number =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
function completedAnalyses(events: HistoryEvent[]): HistoryEvent[] {
  const ids = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAnalysis')
      .map((e) => String(e.eventId)),
  );
  return events.filter(
    (e) =>
      e.activityTaskCompletedEventAttributes &&
      ids.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId)),
  );
}

// ── per-release measurements ─────────────────────────────────────────────────────────────────────────────────
interface SideFigures {
  /** threshold-th failing check → VS at 100 % primary (bad). */
  reactionS?: number;
  /** release → VS back at 100 % primary (bad) / promoted and back at primary (good, gated). */
  totalS?: number;
  /** gate opened / approve accepted → primary template updated (gated). */
  gateS?: number;
  ticks?: number;
  requests: ClassCounts;
  /** Requests per analysis interval from the first canary traffic to the end. */
  perInterval?: number;
  cpuS: number;
}
interface ReleaseRecord {
  scenario: Scenario;
  run: number;
  flagger: SideFigures;
  fledge: SideFigures;
  temporalCpuS: number;
  kinds: { flagger: string; fledge: string };
}
type Scenario = 'bad' | 'good' | 'gated';
const records: ReleaseRecord[] = [];
const notes: string[] = [];

function kinds(reqs: CountedRequest[]): string {
  const m = new Map<string, number>();
  for (const r of reqs) m.set(requestKind(r.method, r.path), (m.get(requestKind(r.method, r.path)) ?? 0) + 1);
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
}

async function runScenario(scenario: Scenario, run: number): Promise<void> {
  const name = `${scenario}-${run}`;
  const image = {
    bad: `ghcr.io/acme/podinfo:2.0.${run}-bad`,
    good: `ghcr.io/acme/podinfo:2.1.${run}`,
    gated: `ghcr.io/acme/podinfo:2.2.${run}`,
  }[scenario];
  log(`${name}: targets in ${nsFlagger} and ${nsFledge}; Flagger initialising its Canary`);
  await Promise.all([createTarget(nsFlagger, name), createTarget(nsFledge, name)]);
  if (scenario === 'gated') await hooks.closeGate(name, nsFlagger);
  await custom.createNamespacedCustomObject({
    group: 'flagger.app',
    version: 'v1beta1',
    namespace: nsFlagger,
    plural: 'canaries',
    body: parseYaml(canaryDoc(nsFlagger, name, scenario === 'gated' ? 'webhook' : null)),
  });
  await waitFor(
    `Flagger to initialise ${nsFlagger}/${name}`,
    async () => ((await flaggerStatus(name)).phase === 'Initialized' ? true : undefined),
    180_000,
  );
  await sleep(2000);

  // The same image on both at the same moment.
  const obsFlagger = observe(nsFlagger, name, true);
  const obsFledge = observe(nsFledge, name, false);
  const cpu0 = cpuNow();
  const t0 = Date.now();
  const [, sub] = await Promise.all([
    apps.patchNamespacedDeployment(
      {
        namespace: nsFlagger,
        name,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    ),
    submitRelease(client, cfg, {
      yaml: canaryDoc(nsFledge, name, scenario === 'gated' ? 'manual' : null),
      images: { app: image },
      initiator: 'bench-peer',
    }),
  ]);
  const h = client.workflow.getHandle(sub.workflowId);
  log(`${name}: released ${image} on both`);

  let flaggerGateAt: number | undefined;
  let fledgeAcceptedAt: number | undefined;
  if (scenario === 'gated') {
    await Promise.all([
      waitFor(
        'Flagger at its confirm-promotion gate',
        async () => ((await flaggerStatus(name)).phase === 'WaitingPromotion' ? true : undefined),
        300_000,
      ),
      waitFor(
        'Fledge at its confirm-promotion gate',
        async () => {
          const st = (await h.query(statusQuery)) as ReleaseStatus;
          if (st.outcome) throw new Error(`Fledge release ended ${st.outcome} before the gate`);
          return st.pendingGate?.gate === 'confirm-promotion' ? true : undefined;
        },
        300_000,
        1000, // status queries are answered by the worker: once a second, as `fledge start --wait`
      ),
    ]);
    await sleep(Math.floor(Math.random() * INTERVAL_S * 1000));
    await Promise.all([
      hooks.openGate(name, nsFlagger).then(() => (flaggerGateAt = Date.now())),
      h
        .startUpdate(approveUpdate, {
          args: [{ actor: 'bench-peer', reason: 'measure' }],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        })
        .then(() => (fledgeAcceptedAt = Date.now())),
    ]);
  }

  // Both ends: Flagger's Canary phase, Fledge's result.
  const flaggerEnd = waitFor(
    'Flagger to finish',
    async () => {
      const p = (await flaggerStatus(name)).phase;
      return p === 'Succeeded' || p === 'Failed' ? { phase: p, at: Date.now() } : undefined;
    },
    420_000,
  );
  const fledgeEnd = (h.result() as Promise<ReleaseResult>).then((r) => ({ result: r, at: Date.now() }));
  const [fl, fd] = await Promise.all([flaggerEnd, fledgeEnd]);
  await sleep(1000);
  const cpu1 = cpuNow();
  const tEnd = Date.now();
  await Promise.all([obsFlagger.stop(), obsFledge.stop()]);

  const expected = scenario === 'bad' ? ['Failed', 'RolledBack'] : ['Succeeded', 'Promoted'];
  if (fl.phase !== expected[0]) notes.push(`${name}: Flagger ended ${fl.phase}, expected ${expected[0]}`);
  if (fd.result.outcome !== expected[1])
    notes.push(
      `${name}: Fledge ended ${fd.result.outcome} (${fd.result.reason.code}), expected ${expected[1]}`,
    );

  const side = (
    proxy: CountingProxy,
    obs: ReturnType<typeof observe>,
    cpu: number,
  ): SideFigures & { reqs: CountedRequest[] } => {
    const reqs = between(proxy.requests, t0, tEnd);
    const firstCanary = obs.first((o) => (o.w?.canary ?? 0) > 0);
    const back = firstCanary ? obs.first(atPrimary, firstCanary.at) : undefined;
    const promoted = obs.first((o) => o.primaryImage === image);
    const endAt =
      scenario === 'bad'
        ? back?.at
        : promoted
          ? obs.first((o) => atPrimary(o) && o.primaryImage === image, promoted.at)?.at
          : undefined;
    const analysisEnd = back?.at ?? endAt;
    const perInterval =
      firstCanary && analysisEnd && analysisEnd > firstCanary.at
        ? (between(reqs, firstCanary.at, analysisEnd).length * INTERVAL_S * 1000) /
          (analysisEnd - firstCanary.at)
        : undefined;
    return {
      reqs,
      requests: countClasses(reqs),
      cpuS: cpu,
      ...(endAt !== undefined ? { totalS: (endAt - t0) / 1000 } : {}),
      ...(perInterval !== undefined ? { perInterval } : {}),
    };
  };
  const f = side(flaggerProxy, obsFlagger, cpu1.flagger - cpu0.flagger);
  const d = side(fledgeProxy, obsFledge, cpu1.worker - cpu0.worker);

  if (scenario === 'bad') {
    const threshold = obsFlagger.first((o) => (o.flagger?.failedChecks ?? 0) >= THRESHOLD);
    const back = threshold ? obsFlagger.first(atPrimary, threshold.at) : undefined;
    if (threshold && back) f.reactionS = (back.at - threshold.at) / 1000;
    else notes.push(`${name}: Flagger's threshold-th failed check or its rollback was not observed`);
    const events = (await h.fetchHistory()).events ?? [];
    const analyses = completedAnalyses(events);
    d.ticks = analyses.length;
    const trigger = analyses.at(-1);
    const backD = trigger ? obsFledge.first(atPrimary, eventMs(trigger)) : undefined;
    if (trigger && backD && fd.result.reason.code === 'failed-checks-threshold')
      d.reactionS = (backD.at - eventMs(trigger)) / 1000;
    else notes.push(`${name}: Fledge's threshold-reaching analysis or its rollback was not observed`);
  } else {
    d.ticks = completedAnalyses((await h.fetchHistory()).events ?? []).length;
  }
  f.ticks = await flaggerTicks(name);
  if (scenario === 'gated') {
    const fp = obsFlagger.first((o) => o.primaryImage === image, flaggerGateAt);
    const dp = obsFledge.first((o) => o.primaryImage === image, fledgeAcceptedAt);
    if (fp && flaggerGateAt) f.gateS = (fp.at - flaggerGateAt) / 1000;
    if (dp && fledgeAcceptedAt) d.gateS = (dp.at - fledgeAcceptedAt) / 1000;
  }
  const { reqs: fReqs, ...fFig } = f;
  const { reqs: dReqs, ...dFig } = d;
  records.push({
    scenario,
    run,
    flagger: fFig,
    fledge: dFig,
    temporalCpuS: cpu1.temporal - cpu0.temporal,
    kinds: { flagger: kinds(fReqs), fledge: kinds(dReqs) },
  });
  log(
    `${name}: Flagger ${fl.phase} (${fFig.totalS?.toFixed(1) ?? '-'} s, ${fFig.requests.total} requests, ` +
      `${fFig.cpuS.toFixed(2)} CPU s), Fledge ${fd.result.outcome} (${dFig.totalS?.toFixed(1) ?? '-'} s, ` +
      `${dFig.requests.total} requests, ${dFig.cpuS.toFixed(2)} CPU s + Temporal ${(cpu1.temporal - cpu0.temporal).toFixed(2)})`,
  );
}

async function deleteFlaggerCanary(name: string): Promise<void> {
  await custom
    .deleteNamespacedCustomObject({
      group: 'flagger.app',
      version: 'v1beta1',
      namespace: nsFlagger,
      plural: 'canaries',
      name,
    })
    .catch(() => undefined);
}

// ── run ─────────────────────────────────────────────────────────────────────────────────────────────────────
let idle: {
  seconds: number;
  requests: { flagger: ClassCounts; fledge: ClassCounts };
  cpuS: Record<Proc, number>;
} | null = null;
let failure: string | null = null;
try {
  await sleep(3000); // the controllers start their informers / pollers
  const scenarios: Scenario[] = ['bad', 'good', 'gated'];
  let last = '';
  for (let run = 1; run <= runs; run++) {
    for (const s of scenarios) {
      if (last) await deleteFlaggerCanary(last);
      try {
        await runScenario(s, run);
      } catch (e) {
        notes.push(`${s}-${run}: ${errText(e)}`);
        log(`${s}-${run} failed: ${errText(e)}`);
      }
      last = `${s}-${run}`;
    }
  }
  // Idle: the last target of each side at rest (Flagger's Canary still exists; Fledge's release has ended).
  log(`idle window: ${idleSeconds} s with one target each at rest`);
  await sleep(5000);
  const c0 = cpuNow();
  const i0 = Date.now();
  await sleep(idleSeconds * 1000);
  const c1 = cpuNow();
  const i1 = Date.now();
  idle = {
    seconds: (i1 - i0) / 1000,
    requests: {
      flagger: countClasses(between(flaggerProxy.requests, i0, i1)),
      fledge: countClasses(between(fledgeProxy.requests, i0, i1)),
    },
    cpuS: {
      flagger: c1.flagger - c0.flagger,
      worker: c1.worker - c0.worker,
      temporal: c1.temporal - c0.temporal,
    },
  };
  if (last) await deleteFlaggerCanary(last);
} catch (e) {
  failure = errText(e);
  log(`aborted: ${failure}`);
}

// Peak memory (VmHWM) before the processes stop.
const peak: Record<Proc, { hwmMiB: number; sampledMiB: number }> = Object.fromEntries(
  procs.map((p) => {
    let hwm = NaN;
    try {
      hwm = sampleProcess(pids[p] as number).peakRssMiB;
    } catch {
      // gone
    }
    return [p, { hwmMiB: hwm, sampledMiB: sampledPeak[p] }];
  }),
) as Record<Proc, { hwmMiB: number; sampledMiB: number }>;

clearInterval(sampler);
stopping = true;
for (const c of children) c.kill('SIGTERM');
await Promise.all(
  children.map(
    (c) =>
      new Promise<void>((r) => {
        if (c.exitCode !== null || c.signalCode !== null) return r();
        const t = setTimeout(() => {
          c.kill('SIGKILL');
          r();
        }, 15_000);
        c.on('exit', () => {
          clearTimeout(t);
          r();
        });
      }),
  ),
);
await client.connection.close();
await flaggerProxy.close();
await fledgeProxy.close();
for (const ns of [nsFlagger, nsFledge]) await core.deleteNamespace({ name: ns }).catch(() => undefined);

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────────
const of = (s: Scenario, pick: (r: ReleaseRecord) => number | undefined): number[] =>
  records
    .filter((r) => r.scenario === s)
    .map(pick)
    .filter((x): x is number => x !== undefined && Number.isFinite(x));
interface Row {
  figure: string;
  flagger: number[];
  fledge: number[];
  digits: number;
  /** Fledge's column when it is not just the worker (e.g. "worker + Temporal"). */
  fledgeNote?: string;
}
const rows: Row[] = [
  {
    figure: 'bad: threshold-th failing check → VS at 100 % primary (s)',
    flagger: of('bad', (r) => r.flagger.reactionS),
    fledge: of('bad', (r) => r.fledge.reactionS),
    digits: 2,
  },
  {
    figure: 'bad: release → back at 100 % primary (s)',
    flagger: of('bad', (r) => r.flagger.totalS),
    fledge: of('bad', (r) => r.fledge.totalS),
    digits: 1,
  },
  {
    figure: 'bad: analysis ticks',
    flagger: of('bad', (r) => r.flagger.ticks),
    fledge: of('bad', (r) => r.fledge.ticks),
    digits: 0,
  },
  {
    figure: 'good: release → promoted, back at 100 % primary (s)',
    flagger: of('good', (r) => r.flagger.totalS),
    fledge: of('good', (r) => r.fledge.totalS),
    digits: 1,
  },
  {
    figure: 'gated: gate opened / approve accepted → primary template updated (s)',
    flagger: of('gated', (r) => r.flagger.gateS),
    fledge: of('gated', (r) => r.fledge.gateS),
    digits: 2,
  },
];
for (const s of ['bad', 'good', 'gated'] as const) {
  rows.push({
    figure: `${s}: API requests per release (all)`,
    flagger: of(s, (r) => r.flagger.requests.total),
    fledge: of(s, (r) => r.fledge.requests.total),
    digits: 0,
  });
  for (const cls of ['read', 'write', 'watch'] as const)
    rows.push({
      figure: `${s}:   ${cls === 'watch' ? 'watches started' : `${cls}s`}`,
      flagger: of(s, (r) => r.flagger.requests[cls]),
      fledge: of(s, (r) => r.fledge.requests[cls]),
      digits: 0,
    });
  rows.push({
    figure: `${s}: API requests per analysis interval (10 s)`,
    flagger: of(s, (r) => r.flagger.perInterval),
    fledge: of(s, (r) => r.fledge.perInterval),
    digits: 1,
  });
}
if (idle) {
  rows.push({
    figure: 'idle: API requests per 10 s per target',
    flagger: [(idle.requests.flagger.total * 10) / idle.seconds],
    fledge: [(idle.requests.fledge.total * 10) / idle.seconds],
    digits: 1,
  });
}
// Watches are long-lived: most start with the controller, outside any release window; these count the whole run.
const wholeRun = { flagger: countClasses(flaggerProxy.requests), fledge: countClasses(fledgeProxy.requests) };
for (const cls of ['total', 'read', 'write', 'watch'] as const)
  rows.push({
    figure: `whole run (${records.length} releases each + idle): ${cls === 'total' ? 'all requests' : cls === 'watch' ? 'watches started' : `${cls}s`}`,
    flagger: [wholeRun.flagger[cls]],
    fledge: [wholeRun.fledge[cls]],
    digits: 0,
  });
for (const s of ['bad', 'good', 'gated'] as const) {
  rows.push({
    figure: `${s}: CPU s per release (worker)`,
    flagger: of(s, (r) => r.flagger.cpuS),
    fledge: of(s, (r) => r.fledge.cpuS),
    digits: 2,
  });
  rows.push({
    figure: `${s}: CPU s per release (worker + Temporal)`,
    flagger: of(s, (r) => r.flagger.cpuS),
    fledge: of(s, (r) => r.fledge.cpuS + r.temporalCpuS),
    digits: 2,
    fledgeNote: 'worker + Temporal',
  });
}
if (idle) {
  const perMin = (x: number): number => (x * 60) / (idle as { seconds: number }).seconds;
  rows.push(
    {
      figure: 'idle: CPU s per minute (worker)',
      flagger: [perMin(idle.cpuS.flagger)],
      fledge: [perMin(idle.cpuS.worker)],
      digits: 3,
    },
    {
      figure: 'idle: CPU s per minute (worker + Temporal)',
      flagger: [perMin(idle.cpuS.flagger)],
      fledge: [perMin(idle.cpuS.worker + idle.cpuS.temporal)],
      digits: 3,
    },
  );
}
rows.push(
  {
    figure: 'peak RSS (MiB, VmHWM) (worker)',
    flagger: [peak.flagger.hwmMiB],
    fledge: [peak.worker.hwmMiB],
    digits: 0,
  },
  {
    figure: 'peak RSS (MiB, VmHWM) (Temporal server)',
    flagger: [],
    fledge: [peak.temporal.hwmMiB],
    digits: 0,
  },
);

const header = `${'figure'.padEnd(70)} ${'Flagger'.padStart(12)} ${'Fledge'.padStart(12)} ${'Fledge÷Flagger'.padStart(15)}`;
const lines = rows.map(
  (r) =>
    `${r.figure.padEnd(70)} ${formatRange(r.flagger, r.digits).padStart(12)} ${formatRange(r.fledge, r.digits).padStart(12)} ${ratio(r.fledge, r.flagger).padStart(15)}`,
);
const commit = benchCommit();
const machine = benchMachine(loadAtStart);
const date = new Date().toISOString();
const conditions =
  `Flagger ${flaggerVersion} (Go module proxy build) vs the Fledge worker from sources (tsx, \`node bin/fledge.js worker\`, ` +
  `metrics endpoint off, Flagger's not scraped either); ${runs} run(s) per scenario${quick ? ' (--quick)' : ''}, idle window ${idle ? idle.seconds.toFixed(0) : '-'} s. ` +
  'Ranges are min–max over runs; the ratio compares means. Times are read by polling every 100 ms (that is their ' +
  "resolution). The Temporal dev server is the stack's, shared with anything else using it (its CPU includes theirs).";

console.log(
  `\nFledge vs Flagger ${flaggerVersion}: one local stack, the same Canary, the same image at the same moment\n`,
);
console.log(header);
for (const l of lines) console.log(l);
console.log(`\n${conditions}`);
console.log(`machine: ${machine}\ncommit: ${commit}`);
for (const n of notes) console.log(`note: ${n}`);
if (failure) console.log(`ABORTED: ${failure}`);

const jsonPath = join(projectRoot, 'test-artifacts', `bench-peer-${date.replace(/[:.]/g, '-')}.json`);
writeFileSync(
  jsonPath,
  JSON.stringify(
    {
      date,
      machine,
      commit,
      flaggerVersion,
      runs,
      quick,
      conditions,
      rows: rows.map((r) => ({ ...r, ratio: ratio(r.fledge, r.flagger) })),
      releases: records,
      idle,
      peakRss: peak,
      notes,
      failure,
    },
    null,
    2,
  ),
);
console.log(`JSON: ${jsonPath}`);

const md = [
  '## Fledge beside Flagger (`npm run bench:peer`)',
  '',
  'The real Flagger controller and the Fledge worker on one local stack (`scripts/bench-peer.ts` says exactly what ',
  'each figure measures): the same Canary (interval 10 s, threshold 2, stepWeight 20, maxWeight 60, Istio built-in ',
  'metrics) on identical Deployments in two namespaces, the same image released on both at the same moment, each ',
  'controller talking to the kube-apiserver through its own counting proxy.',
  '',
  `- date: ${date}`,
  `- machine: ${machine}`,
  `- commit: ${commit}`,
  `- conditions: ${conditions}`,
  '',
  '| figure | Flagger | Fledge | Fledge ÷ Flagger |',
  '|---|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.figure.replace(/\|/g, '\\|')} | ${formatRange(r.flagger, r.digits)} | ${formatRange(r.fledge, r.digits)} | ${ratio(r.fledge, r.flagger)} |`,
  ),
  '',
  ...(notes.length ? ['Notes:', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ...(failure ? [`The run was aborted: ${failure}`, ''] : []),
];
// Only this section is replaced: bench:cost and bench:cli write their own sections of the same file.
const docsFile = join(projectRoot, 'docs', 'benchmarks.md');
writeFileSync(
  docsFile,
  replaceDocSection(
    existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '# Benchmarks\n',
    '## Fledge beside Flagger (`npm run bench:peer`)',
    md.map((l) => l.trimEnd()).join('\n'),
  ),
);
console.log('docs/benchmarks.md written');
process.exit(failure ? 1 : 0);
