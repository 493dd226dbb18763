// Release-engine benchmark against the real local stack (`npm run bench`). Prints figures; asserts nothing
// beyond sanity (a scenario that did not end the way it was set up to is reported, not measured).
//
//   1. threshold → 100 % primary: a bad tag (mesh-sim: 20 % errors) with threshold 2. From the history time of
//      the ActivityTaskCompleted of the runAnalysis that reached the threshold (the last one) to the first
//      read of the VirtualService, polled by this process every 20 ms, at 100/0.
//   2. approve → next action: `spec.fledge.manualGates: [confirm-promotion]`. Once `status` shows the pending
//      gate after a passing tick, wait a random part of one interval, send the `approve` update, and measure
//      until the primary Deployment's pod template carries the new image (the promotion, read every 20 ms).
//   2b. gate webhook opened → next action: a `confirm-promotion` webhook on the webhook service's loadtester gate
//      (interval 10 s, default gatePollInterval 2 s). Once the gate is pending after a passing tick, wait a random
//      part of one interval, open the gate, measure until the primary's pod template carries the new image.
//   3. abort → 100 % primary: once the VirtualService reads canary > 0, wait a random part of one interval
//      (so the abort lands in the timer or during an analysis), send the `abort` update, measure until the
//      VirtualService reads 100/0.
//   4. Kubernetes API requests per steady analysis tick: a healthy release of 8 steps. Every HTTP request the
//      worker's Kubernetes clients send is counted (hook on the worker's KubeConfig, which every client of the
//      worker is made from). A tick is the window between the ActivityTaskScheduled events of two consecutive
//      runAnalysis activities in phase Progressing; the figure is the mean over those windows. The request
//      budget's own count is shown too (calls that bypass it are real requests all the same).
//   5. History events per steady tick (same windows, counted in event IDs) and per release.
//   6. abort during a hanging webhook → 100 % primary: a rollout webhook with a 60 s timeout; once the
//      VirtualService reads canary > 0, the webhook service is told to hold that hook's answers for 120 s; once a
//      call is hanging (the analysis tick waits on it), wait a random part of a second, send the `abort` update,
//      measure until the VirtualService reads 100/0 (read every 20 ms). Without interruption: up to 60 s.
//   7. abort during initialise → workflow closed: the target's pods can be scheduled on no node, so the primary
//      never becomes ready and initialise keeps waiting (up to the progress deadline). Once its activity is
//      pending, wait a random part of a second, send `abort`, measure until the workflow's result arrives.
//   8. Cluster mode idle cost: `--idle-canaries N` (default 5) Canary objects applied to the cluster and initialised
//      by a cluster-mode controller (src/cluster) with its own KubeConfig; then, for `--idle-seconds S` (default 60)
//      with nothing changing, every request that KubeConfig makes is counted (API calls and watch connections alike)
//      and reported per Canary per minute, beside Flagger's ~72 (about 12 requests per Canary every 10 s idle).
//
// Options: --runs N (default 5), --json (print the figures as JSON only), --verbose (event/request breakdowns).
// Percentiles are nearest-rank: with 5 runs, p95 is the maximum.
import { cpus } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadFledgeConfig, type FledgeConfig } from '../src/config.js';
import { devStackEnv, loadStackConfig } from '../src/dev/stack/config.js';
import { stackUp } from '../src/dev/stack/stack.js';
import type { ReleaseResult } from '../src/domain/result.js';
import type { ReleaseStatus } from '../src/domain/status.js';
import { createRequestBudget } from '../src/integrations/kubernetes/budget.js';
import { loadKubeConfig } from '../src/integrations/kubernetes/client.js';
import { WebhookServiceClient } from '../src/dev/webhook-service/client.js';
import { connectClient, submitRelease } from '../src/starter.js';
import { abortUpdate, approveUpdate, statusQuery } from '../src/workflows/messages.js';
import { createFledgeWorker } from '../src/worker.js';
import { createClusterMode } from '../src/cluster/controller.js';
import { loadToolPaths } from '../src/dev/stack/config.js';
import { applyCrds, crdFiles } from '../src/dev/stack/kube.js';
import { parse as parseYaml } from 'yaml';
import { args, option } from './lib/options.js';

// ── options ─────────────────────────────────────────────────────────────────────────────────────────────────
const runs = Math.max(1, Math.floor(Number(option('--runs') ?? 5) || 5));
const json = args.includes('--json');
const verbose = args.includes('--verbose');
const POLL_MS = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => {
  if (!json) console.log(m);
};

// ── stack, worker (with request counters), clients ──────────────────────────────────────────────────────────
Runtime.install({ logger: new DefaultLogger('ERROR') });
const stack = await stackUp({ log: () => undefined });
const cfg: FledgeConfig = loadFledgeConfig({
  ...devStackEnv(), // the embedded stack's settings, unless the environment says otherwise
  ...process.env,
  FLEDGE_TASK_QUEUE: `bench-${Date.now().toString(36)}`,
});
// A budget generous enough never to throttle: the bench measures the engine, not the rate limiter.
const budget = createRequestBudget({ qps: 1000, burst: 1000, max429Retries: 3 });

interface WireRequest {
  at: number;
  method: string;
  path: string;
}
const wire: WireRequest[] = [];
const workerKc = loadKubeConfig(cfg.kubeconfig);
const authenticate = workerKc.applySecurityAuthentication.bind(workerKc);
// Every request of a client made by `kc.makeApiClient` is authenticated by the KubeConfig once, just before it
// is sent: counting there counts the wire, whichever integration made it and whether or not it used the budget.
workerKc.applySecurityAuthentication = async (
  req: Parameters<k8s.KubeConfig['applySecurityAuthentication']>[0],
) => {
  wire.push({ at: Date.now(), method: req.getHttpMethod(), path: new URL(req.getUrl()).pathname });
  return authenticate(req);
};

const { worker, connection } = await createFledgeWorker(cfg, { budget, kubeConfig: workerKc });
const running = worker.run();
const client: Client = await connectClient(cfg);
const kc = new k8s.KubeConfig();
kc.loadFromFile(loadStackConfig().kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────────────────
const namespaces: string[] = [];
async function freshTarget(tag: string, opts: { unschedulable?: boolean } = {}): Promise<string> {
  const ns = `bench-${tag}-${Date.now().toString(36)}`;
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
          spec: {
            containers: [{ name: 'app', image: 'ghcr.io/acme/podinfo:1.0.0' }],
            // No node carries this label: the pods stay Pending, the primary never becomes ready.
            ...(opts.unschedulable ? { nodeSelector: { 'fledge.bench/no-such-node': 'true' } } : {}),
          },
        },
      },
    },
  });
  return ns;
}

interface Analysis {
  interval: string;
  threshold: number;
  stepWeight: number;
  maxWeight: number;
}
function canaryYaml(ns: string, a: Analysis, fledge = '', webhooks = ''): string {
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: podinfo, namespace: ${ns} }
spec:
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: podinfo }
  service: { port: 9898 }
  analysis:
    interval: ${a.interval}
    threshold: ${a.threshold}
    stepWeight: ${a.stepWeight}
    maxWeight: ${a.maxWeight}
    metrics:
      - name: request-success-rate
        thresholdRange: { min: 99 }
        interval: 6s
${webhooks ? `    webhooks:\n${webhooks}` : ''}${fledge}`;
}

async function release(
  ns: string,
  image: string,
  a: Analysis,
  fledge = '',
  webhooks = '',
): Promise<WorkflowHandle> {
  const sub = await submitRelease(client, cfg, {
    yaml: canaryYaml(ns, a, fledge, webhooks),
    images: { app: image },
    initiator: 'bench',
  });
  return client.workflow.getHandle(sub.workflowId);
}

interface Weights {
  primary: number;
  canary: number;
}
async function vsWeights(ns: string): Promise<Weights | undefined> {
  try {
    const vs = (await custom.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'virtualservices',
      namespace: ns,
      name: 'podinfo',
    })) as {
      spec: {
        http: Array<{ match?: unknown; route: Array<{ destination: { host: string }; weight?: number }> }>;
      };
    };
    const main = vs.spec.http.find((r) => !r.match) ?? vs.spec.http[0];
    const w = (h: string): number => main?.route.find((r) => r.destination.host === h)?.weight ?? 0;
    return { primary: w('podinfo-primary'), canary: w('podinfo-canary') };
  } catch {
    return undefined; // not created yet
  }
}

/** Reads a namespace's VirtualService every POLL_MS; each observation is stamped when its response arrived. */
function watchVs(ns: string) {
  const seen: Array<{ at: number; w: Weights }> = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const w = await vsWeights(ns);
      if (w) seen.push({ at: Date.now(), w });
      await sleep(POLL_MS);
    }
  })();
  const first = (pred: (o: { at: number; w: Weights }) => boolean) => seen.find(pred);
  return {
    first,
    async waitFor(pred: (o: { at: number; w: Weights }) => boolean, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const o = first(pred);
        if (o) return o;
        if (Date.now() > deadline) throw new Error(`${ns}: VirtualService never matched`);
        await sleep(POLL_MS / 2);
      }
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

async function waitStatus(
  h: WorkflowHandle,
  pred: (s: ReleaseStatus) => boolean,
  timeoutMs = 90_000,
): Promise<ReleaseStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = (await h.query(statusQuery)) as ReleaseStatus;
    if (pred(st)) return st;
    if (st.outcome || Date.now() > deadline)
      throw new Error(`${h.workflowId}: gave up waiting (${st.summary})`);
    await sleep(POLL_MS);
  }
}

async function pollUntil(pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return Date.now();
    if (Date.now() > deadline) throw new Error('timeout');
    await sleep(POLL_MS);
  }
}

const jitter = (intervalMs: number): number => Math.floor(Math.random() * intervalMs);

// History helpers.
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const eventMs = (e: HistoryEvent): number =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
const eventId = (e: HistoryEvent): number => Number(e.eventId ?? 0);
/** `activityTaskScheduled`, `markerRecorded`, … (the attributes field that is set), with a detail. */
function describe(e: HistoryEvent): string {
  const rec = e as unknown as Record<string, unknown>;
  const key = Object.keys(rec).find((k) => k.endsWith('EventAttributes') && rec[k]) ?? 'unknown';
  const kind = key.replace(/EventAttributes$/, '');
  if (e.activityTaskScheduledEventAttributes)
    return `${kind}(${e.activityTaskScheduledEventAttributes.activityType?.name ?? '?'})`;
  if (e.markerRecordedEventAttributes) {
    const payload = e.markerRecordedEventAttributes.details?.data?.payloads?.[0]?.data;
    const m = payload ? /"activity_type":"(\w+)"/.exec(Buffer.from(payload).toString()) : null;
    return `${kind}(${m?.[1] ?? e.markerRecordedEventAttributes.markerName ?? '?'})`;
  }
  if (e.upsertWorkflowSearchAttributesEventAttributes)
    return `${kind}(${Object.keys(e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {}).join(',')})`;
  return kind;
}
function phaseSet(e: HistoryEvent): string | undefined {
  const f =
    e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.FledgePhase?.data;
  return f ? (JSON.parse(Buffer.from(f).toString()) as string) : undefined;
}
const scheduledName = (e: HistoryEvent): string | undefined =>
  e.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined;
function completedOf(events: HistoryEvent[], name: string): HistoryEvent[] {
  const ids = new Set(events.filter((e) => scheduledName(e) === name).map((e) => String(e.eventId)));
  return events.filter(
    (e) =>
      e.activityTaskCompletedEventAttributes &&
      ids.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId)),
  );
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN) : NaN;
};
const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const count = <T>(xs: T[], key: (x: T) => string): string =>
  Object.entries(xs.reduce<Record<string, number>>((m, x) => ((m[key(x)] = (m[key(x)] ?? 0) + 1), m), {}))
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
/** `PATCH virtualservices`, `PATCH deployments/scale`, `POST events`, … */
function resourceOf(r: WireRequest): string {
  const [resource, , sub] = r.path.split(/\/namespaces\/[^/]+\//)[1]?.split('/') ?? [r.path];
  return `${r.method} ${resource}${sub ? `/${sub}` : ''}`;
}
/** Totals of every release the bench ran, per scenario. */
const totals: Record<string, Array<{ requests: number; events: number }>> = {};
async function recordTotals(scenario: string, ns: string, h: WorkflowHandle): Promise<void> {
  const events = (await h.fetchHistory()).events ?? [];
  const requests = wire.filter((r) => r.path.includes(`/namespaces/${ns}/`)).length;
  (totals[scenario] ??= []).push({ requests, events: events.length });
}
const notes: string[] = [];

// ── 1. threshold reached → VirtualService read back at 100 % primary ────────────────────────────────────────
log(`Fledge benchmark: ${runs} runs per latency figure, worker in-process, stack ${stack.urls.temporal}`);
const thresholdMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('thr');
  const vs = watchVs(ns);
  const h = await release(ns, 'ghcr.io/acme/podinfo:1.0.1-bad', {
    interval: '2s',
    threshold: 2,
    stepWeight: 20,
    maxWeight: 60,
  });
  const result = (await h.result()) as ReleaseResult;
  await recordTotals('threshold rollback', ns, h);
  const events = (await h.fetchHistory()).events ?? [];
  const trigger = completedOf(events, 'runAnalysis').at(-1);
  if (result.reason.code !== 'failed-checks-threshold' || !trigger) {
    notes.push(`threshold run ${i + 1}: ended ${result.outcome}/${result.reason.code}; not measured`);
    await vs.stop();
    continue;
  }
  const t0 = eventMs(trigger);
  const canaryAt = vs.first((o) => o.w.canary > 0)?.at;
  const back = await vs.waitFor((o) => o.at > t0 && o.w.primary === 100 && o.w.canary === 0, 5000);
  await vs.stop();
  if (canaryAt === undefined || canaryAt > t0) {
    notes.push(`threshold run ${i + 1}: canary weight never observed before the threshold; not measured`);
    continue;
  }
  thresholdMs.push(back.at - t0);
  log(`  threshold run ${i + 1}: ${back.at - t0} ms (${result.failedChecks} failed checks)`);
}

// ── 2. approve → next action (the primary's pod template carries the new image) ─────────────────────────────
const approveMs: number[] = [];
const approveReturnMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('appr');
  const image = `ghcr.io/acme/podinfo:1.0.${i + 2}`;
  const h = await release(
    ns,
    image,
    { interval: '2s', threshold: 3, stepWeight: 50, maxWeight: 50 },
    '  fledge:\n    manualGates: [confirm-promotion]\n',
  );
  await waitStatus(h, (s) => s.pendingGate?.gate === 'confirm-promotion' && s.lastAnalysis?.ok === true);
  await sleep(jitter(2000));
  const t0 = Date.now();
  const update = h
    .executeUpdate(approveUpdate, { args: [{ actor: 'bench', reason: 'measure' }] })
    .then(() => Date.now() - t0);
  const t1 = await pollUntil(
    async () =>
      (await apps.readNamespacedDeployment({ name: 'podinfo-primary', namespace: ns })).spec?.template.spec
        ?.containers[0]?.image === image,
  );
  approveMs.push(t1 - t0);
  approveReturnMs.push(await update);
  log(`  approve run ${i + 1}: ${t1 - t0} ms (update returned after ${approveReturnMs.at(-1)} ms)`);
  const result = (await h.result()) as ReleaseResult;
  await recordTotals('approve + promotion', ns, h);
  if (result.outcome !== 'Promoted') notes.push(`approve run ${i + 1}: ended ${result.outcome}`);
}

// ── 2b. gate webhook opened → next action (Flagger's loadtester gate on the webhook service) ────────────────
// A `confirm-promotion` webhook on the stack's webhook service (`/gate/check`, closed until opened), interval 10 s
// and the default gatePollInterval (2 s). Once `status` shows the gate pending after a passing tick, wait a random
// part of one interval, open the gate as an operator's curl would, and measure until the primary's pod template
// carries the new image. Also counted per run: gate checks received and pollGate activities (history grows per
// wait, not per poll).
const gateMs: number[] = [];
const gateChecksPerMin: number[] = [];
const gateWatchActivities: number[] = [];
const gateHooks = new WebhookServiceClient(stack.urls.webhook);
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('gate');
  const image = `ghcr.io/acme/podinfo:1.0.${i + 20}`;
  const h = await release(
    ns,
    image,
    { interval: '10s', threshold: 3, stepWeight: 50, maxWeight: 50 },
    '',
    `      - name: promotion-gate\n        type: confirm-promotion\n        url: ${stack.urls.webhook}/gate/check\n`,
  );
  await waitStatus(h, (s) => s.pendingGate?.gate === 'confirm-promotion' && s.lastAnalysis?.ok === true);
  const since = Date.now();
  await sleep(jitter(10_000));
  const checks = (await gateHooks.calls('/gate/check')).filter((c) => c.payload?.namespace === ns).length;
  const t0 = Date.now();
  await gateHooks.openGate('podinfo', ns);
  const t1 = await pollUntil(
    async () =>
      (await apps.readNamespacedDeployment({ name: 'podinfo-primary', namespace: ns })).spec?.template.spec
        ?.containers[0]?.image === image,
  );
  gateMs.push(t1 - t0);
  if (t0 - since >= 1_000) gateChecksPerMin.push(Math.round((checks / ((t0 - since) / 60_000)) * 10) / 10);
  const result = (await h.result()) as ReleaseResult;
  const history = await h.fetchHistory();
  gateWatchActivities.push(
    (history.events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'pollGate',
    ).length,
  );
  log(`  gate run ${i + 1}: ${t1 - t0} ms (gate opened ${t0 - since} ms into the wait)`);
  await recordTotals('gate webhook + promotion', ns, h);
  if (result.outcome !== 'Promoted') notes.push(`gate run ${i + 1}: ended ${result.outcome}`);
}

// ── 3. abort → 100 % primary ────────────────────────────────────────────────────────────────────────────────
const abortMs: number[] = [];
const abortReturnMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('abort');
  const vs = watchVs(ns);
  const h = await release(ns, `ghcr.io/acme/podinfo:1.1.${i}`, {
    interval: '3s',
    threshold: 3,
    stepWeight: 20,
    maxWeight: 80,
  });
  await vs.waitFor((o) => o.w.canary > 0);
  await sleep(jitter(3000));
  const t0 = Date.now();
  const update = h
    .executeUpdate(abortUpdate, { args: [{ actor: 'bench', reason: 'measure' }] })
    .then(() => Date.now() - t0);
  const back = await vs.waitFor((o) => o.at > t0 && o.w.primary === 100 && o.w.canary === 0);
  await vs.stop();
  abortMs.push(back.at - t0);
  abortReturnMs.push(await update);
  log(`  abort run ${i + 1}: ${back.at - t0} ms (update returned after ${abortReturnMs.at(-1)} ms)`);
  const result = (await h.result()) as ReleaseResult;
  await recordTotals('abort', ns, h);
  if (result.reason.code !== 'operator-abort')
    notes.push(`abort run ${i + 1}: ended ${result.outcome}/${result.reason.code}`);
}

// ── 6. abort during a hanging webhook → 100 % primary ──────────────────────────────────────────────────────
const hooks = new WebhookServiceClient(stack.urls.webhook);
const abortHookMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('abhook');
  const path = `/bench-hang-${ns}`;
  const vs = watchVs(ns);
  try {
    const h = await release(
      ns,
      `ghcr.io/acme/podinfo:1.2.${i}`,
      { interval: '2s', threshold: 3, stepWeight: 20, maxWeight: 80 },
      '',
      `      - name: load\n        type: rollout\n        url: ${stack.urls.webhook}${path}\n        timeout: 60s\n`,
    );
    await vs.waitFor((o) => o.w.canary > 0);
    await hooks.program({ path, status: 200, delayMs: 120_000 });
    await pollUntil(async () => (await hooks.calls(path)).some((c) => c.response === undefined));
    await sleep(jitter(1000));
    const t0 = Date.now();
    const update = h.executeUpdate(abortUpdate, { args: [{ actor: 'bench', reason: 'measure' }] });
    const back = await vs.waitFor((o) => o.at > t0 && o.w.primary === 100 && o.w.canary === 0);
    await update;
    abortHookMs.push(back.at - t0);
    log(`  abort during a hanging webhook run ${i + 1}: ${back.at - t0} ms`);
    const result = (await h.result()) as ReleaseResult;
    await recordTotals('abort (hanging hook)', ns, h);
    if (result.reason.code !== 'operator-abort')
      notes.push(`abort-during-webhook run ${i + 1}: ended ${result.outcome}/${result.reason.code}`);
  } finally {
    await vs.stop();
    await hooks.reset(path);
  }
}

// ── 7. abort during initialise (primary never ready) → workflow closed ──────────────────────────────────────
const abortInitMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('abinit', { unschedulable: true });
  const h = await release(ns, `ghcr.io/acme/podinfo:1.3.${i}`, {
    interval: '2s',
    threshold: 3,
    stepWeight: 20,
    maxWeight: 80,
  });
  await pollUntil(async () =>
    ((await h.describe()).raw.pendingActivities ?? []).some(
      (a) => a.activityType?.name === 'initializeRelease',
    ),
  );
  await sleep(jitter(2000));
  const t0 = Date.now();
  await h.executeUpdate(abortUpdate, { args: [{ actor: 'bench', reason: 'measure' }] });
  const result = (await h.result()) as ReleaseResult;
  const closedMs = Date.now() - t0;
  abortInitMs.push(closedMs);
  log(`  abort during initialise run ${i + 1}: ${closedMs} ms (${result.outcome}/${result.reason.code})`);
  if (result.reason.code !== 'operator-abort')
    notes.push(`abort-during-initialise run ${i + 1}: ended ${result.outcome}/${result.reason.code}`);
}

// ── 4 + 5. a healthy release: Kubernetes requests and history events per steady analysis tick ───────────────
const steadyNs = await freshTarget('steady');
const budgetBefore = budget.stats.requests;
const steady = await release(steadyNs, 'ghcr.io/acme/podinfo:2.0.0', {
  interval: '2s',
  threshold: 2,
  stepWeight: 10,
  maxWeight: 80,
});
const steadyResult = (await steady.result()) as ReleaseResult;
await recordTotals('healthy (8 steps)', steadyNs, steady);
const budgetRequests = budget.stats.requests - budgetBefore;
const events = (await steady.fetchHistory()).events ?? [];
const releaseWire = wire.filter((r) => r.path.includes(`/namespaces/${steadyNs}/`));
// The phase each runAnalysis was scheduled in (from the FledgePhase search-attribute upserts before it).
let phase = '';
const ticks: HistoryEvent[] = [];
for (const e of events) {
  phase = phaseSet(e) ?? phase;
  if (scheduledName(e) === 'runAnalysis' && phase === 'Progressing') ticks.push(e);
}
const windows = ticks.slice(1).map((end, k) => {
  const start = ticks[k] as HistoryEvent;
  return {
    events: events.filter((e) => eventId(e) >= eventId(start) && eventId(e) < eventId(end)),
    requests: releaseWire.filter((r) => r.at >= eventMs(start) && r.at < eventMs(end)),
  };
});
const perTickRequests = windows.map((w) => w.requests.length);
const perTickEvents = windows.map((w) => w.events.length);
if (steadyResult.outcome !== 'Promoted') notes.push(`healthy release ended ${steadyResult.outcome}`);

// ── 8. cluster mode: idle Kubernetes API requests per Canary per minute ──────────────────────────────────────
const idleCanaries = Math.max(1, Math.floor(Number(option('--idle-canaries') ?? 5) || 5));
const idleSeconds = Math.max(5, Number(option('--idle-seconds') ?? 60) || 60);
await applyCrds(kc, crdFiles(loadToolPaths().crdsDir)); // a stack started before they were part of it
const clusterWire: WireRequest[] = [];
const clusterKc = loadKubeConfig(cfg.kubeconfig);
const clusterAuth = clusterKc.applySecurityAuthentication.bind(clusterKc);
clusterKc.applySecurityAuthentication = async (
  req: Parameters<k8s.KubeConfig['applySecurityAuthentication']>[0],
) => {
  clusterWire.push({ at: Date.now(), method: req.getHttpMethod(), path: new URL(req.getUrl()).pathname });
  return clusterAuth(req);
};
// Watches do not go through applySecurityAuthentication: their connections are counted here.
const clusterFetch = clusterKc.applyToFetchOptions.bind(clusterKc);
clusterKc.applyToFetchOptions = async (opts: Parameters<k8s.KubeConfig['applyToFetchOptions']>[0]) => {
  clusterWire.push({ at: Date.now(), method: 'WATCH', path: '(watch)' });
  return clusterFetch(opts);
};
const clusterMode = createClusterMode({ kc: clusterKc, client, cfg, log: () => undefined });
await clusterMode.start();
const idleNs: string[] = [];
for (let i = 0; i < idleCanaries; i++) {
  const ns = await freshTarget(`idle${i}`);
  idleNs.push(ns);
  await custom.createNamespacedCustomObject({
    group: 'flagger.app',
    version: 'v1beta1',
    namespace: ns,
    plural: 'canaries',
    body: parseYaml(
      canaryYaml(ns, { interval: '10s', threshold: 2, stepWeight: 10, maxWeight: 50 }),
    ) as object,
  });
}
let idleInitialised = true;
try {
  await pollUntil(async () => {
    for (const ns of idleNs) {
      const c = (await custom.getNamespacedCustomObject({
        group: 'flagger.app',
        version: 'v1beta1',
        namespace: ns,
        plural: 'canaries',
        name: 'podinfo',
      })) as { status?: { phase?: string } };
      if (c.status?.phase !== 'Initialized') return false;
    }
    return true;
  }, 120_000);
} catch {
  idleInitialised = false;
  notes.push('cluster mode: not every idle Canary reached Initialized in 120 s');
}
await sleep(2000); // the last status writes' watch events settle
log(`  cluster mode: ${idleCanaries} Canaries initialised; idle for ${idleSeconds} s`);
const idleFrom = Date.now();
await sleep(idleSeconds * 1000);
const idleWindow = clusterWire.filter((r) => r.at >= idleFrom);
const idlePerCanaryPerMin = idleInitialised ? idleWindow.length / idleCanaries / (idleSeconds / 60) : NaN;
await clusterMode.stop();
const flaggerIdlePerCanaryPerMin = 72; // ../shared/reference: ~12 requests per Canary every 10 s (control loop)

for (const ns of namespaces) await core.deleteNamespace({ name: ns }).catch(() => undefined);
worker.shutdown();
await running;
await connection.close();
await client.connection.close();

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────────
interface Row {
  figure: string;
  unit: string;
  samples: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
  target: number;
  /** Which statistic the verdict compares with the target. */
  basis: 'p95' | 'mean';
  ok: boolean;
}
const row = (figure: string, unit: string, xs: number[], target: number, basis: Row['basis']): Row => {
  const r = {
    figure,
    unit,
    samples: xs.length,
    p50: pct(xs, 50),
    p95: pct(xs, 95),
    max: xs.length ? Math.max(...xs) : NaN,
    mean: Math.round(mean(xs) * 100) / 100,
    target,
    basis,
  };
  return { ...r, ok: r[basis] <= target };
};
const rows: Row[] = [
  row('threshold reached → VS at 100% primary', 'ms', thresholdMs, 1000, 'p95'),
  row('approve → primary template updated', 'ms', approveMs, 1000, 'p95'),
  row('gate webhook opened → primary updated (10 s interval, 2 s poll)', 'ms', gateMs, 3000, 'p95'),
  row('abort → VS at 100% primary', 'ms', abortMs, 1000, 'p95'),
  row('abort during a hanging webhook → VS 100% primary', 'ms', abortHookMs, 1000, 'p95'),
  row('abort during initialise (primary not ready) → workflow closed', 'ms', abortInitMs, 1000, 'p95'),
  row('Kubernetes API requests per steady tick', 'requests', perTickRequests, 2, 'mean'),
  row('history events per steady tick', 'events', perTickEvents, 15, 'mean'),
  row(
    'cluster mode: idle API requests per Canary per minute',
    'requests',
    Number.isNaN(idlePerCanaryPerMin) ? [] : [idlePerCanaryPerMin],
    1,
    'mean',
  ),
];
const perRelease = {
  outcome: steadyResult.outcome,
  failedChecks: steadyResult.failedChecks,
  historyEvents: events.length,
  analysisTicks: completedOf(events, 'runAnalysis').length,
  kubernetesRequests: releaseWire.length,
  kubernetesRequestsViaBudget: budgetRequests,
  requestsByKind: count(releaseWire, resourceOf),
  typicalTick: {
    requests: count(windows[Math.floor(windows.length / 2)]?.requests ?? [], resourceOf),
    events: count(windows[Math.floor(windows.length / 2)]?.events ?? [], describe),
  },
};

if (json) {
  console.log(
    JSON.stringify(
      {
        runs,
        cores: cpus().length,
        rows,
        perRelease,
        releaseTotals: totals,
        clusterModeIdle: {
          canaries: idleCanaries,
          seconds: idleSeconds,
          requests: idleWindow.length,
          perCanaryPerMinute: idlePerCanaryPerMin,
          flaggerPerCanaryPerMinute: flaggerIdlePerCanaryPerMin,
          requestsByKind: count(idleWindow, resourceOf),
        },
        samples: {
          thresholdMs,
          approveMs,
          approveUpdateReturnedMs: approveReturnMs,
          gateOpenedMs: gateMs,
          gateChecksPerMinuteWaiting: gateChecksPerMin,
          gatePollActivitiesPerRelease: gateWatchActivities,
          abortMs,
          abortUpdateReturnedMs: abortReturnMs,
          abortDuringWebhookMs: abortHookMs,
          abortDuringInitialiseMs: abortInitMs,
          perTickRequests,
          perTickEvents,
        },
        notes,
      },
      null,
      2,
    ),
  );
} else {
  const n = (x: number): string => (Number.isNaN(x) ? '-' : String(x));
  console.log(`\nFledge release-engine benchmark (local stack, ${cpus().length} CPUs)\n`);
  console.log(
    `${'figure'.padEnd(62)} ${'unit'.padEnd(8)} ${'n'.padStart(3)} ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'max'.padStart(6)} ${'mean'.padStart(7)} ${'target'.padStart(7)}  verdict`,
  );
  for (const r of rows) {
    console.log(
      `${r.figure.padEnd(62)} ${r.unit.padEnd(8)} ${String(r.samples).padStart(3)} ${n(r.p50).padStart(6)} ${n(r.p95).padStart(6)} ${n(r.max).padStart(6)} ${n(r.mean).padStart(7)} ${('≤' + r.target).padStart(7)}  ${r.samples === 0 ? 'NO DATA' : r.ok ? 'OK' : 'MISS'} (${r.basis})`,
    );
  }
  console.log(
    `\nupdate round trip (sent → returned): approve p50 ${pct(approveReturnMs, 50)} ms, abort p50 ${pct(abortReturnMs, 50)} ms`,
  );
  console.log(
    `gate watch: ${Math.round(mean(gateChecksPerMin) * 10) / 10} gate checks per minute waiting (poll 2 s), ` +
      `${mean(gateWatchActivities)} pollGate activities per gated release`,
  );
  console.log('per release (mean):');
  for (const [scenario, xs] of Object.entries(totals)) {
    console.log(
      `  ${scenario.padEnd(20)} ${String(mean(xs.map((x) => x.requests))).padStart(5)} Kubernetes requests, ${String(mean(xs.map((x) => x.events))).padStart(5)} history events (${xs.length} releases)`,
    );
  }
  console.log(
    `healthy release (8 steps of 10%, ${perRelease.outcome}, ${perRelease.failedChecks} failed checks): ` +
      `${perRelease.historyEvents} history events, ${perRelease.analysisTicks} analysis ticks ` +
      `(${windows.length} steady windows), ${perRelease.kubernetesRequests} Kubernetes requests ` +
      `(${perRelease.kubernetesRequestsViaBudget} through the request budget)`,
  );
  if (steadyResult.failingCheck)
    console.log(`  failed check: ${steadyResult.failingCheck.name}: ${steadyResult.failingCheck.message}`);
  console.log(`  requests: ${perRelease.requestsByKind}`);
  console.log(`  a steady tick: ${perRelease.typicalTick.requests}`);
  console.log(`                 ${perRelease.typicalTick.events}`);
  console.log(
    `cluster mode idle (${idleCanaries} Canaries, ${idleSeconds} s, watches open): ${idleWindow.length} Kubernetes requests = ` +
      `${Number.isNaN(idlePerCanaryPerMin) ? '-' : Math.round(idlePerCanaryPerMin * 100) / 100} per Canary per minute ` +
      `(Flagger: ~${flaggerIdlePerCanaryPerMin}, about 12 requests per Canary every 10 s)`,
  );
  if (idleWindow.length > 0) console.log(`  idle requests: ${count(idleWindow, resourceOf)}`);
  if (verbose) {
    windows.forEach((w, k) => {
      console.log(`  tick ${k + 1}: ${w.events.length} events: ${w.events.map(describe).join(' ')}`);
      console.log(`          ${w.requests.length} requests: ${w.requests.map(resourceOf).join(', ')}`);
    });
  }
  for (const note of notes) console.log(`note: ${note}`);
}
