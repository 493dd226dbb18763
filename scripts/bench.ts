// Release-engine benchmark against the real local stack (`npm run bench`). Prints figures; asserts nothing.
//   1. failed-check threshold reached → VirtualService read back at 100 % primary
//   2. approve (update sent) → the next action visible in the cluster (primary template = new image)
//   3. abort (update sent) → VirtualService at 100 % primary
//   4. Kubernetes API requests per steady-state analysis tick (counted by the worker's request budget)
//   5. history events per analysis tick and per release
// Options: --runs N (default 5), --json.
import * as k8s from '@kubernetes/client-node';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { loadFledgeConfig, type FledgeConfig } from '../src/config.js';
import { loadStackConfig } from '../src/dev/stack/config.js';
import { stackUp } from '../src/dev/stack/stack.js';
import type { ReleaseStatus } from '../src/domain/status.js';
import { createRequestBudget } from '../src/integrations/kubernetes/budget.js';
import { connectClient, submitRelease } from '../src/starter.js';
import { abortUpdate, approveUpdate, statusQuery } from '../src/workflows/messages.js';
import { createFledgeWorker } from '../src/worker.js';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
const json = args.includes('--json');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (m: string): void => {
  if (!json) console.log(m);
};

Runtime.install({ logger: new DefaultLogger('ERROR') });
const stack = await stackUp({ log: () => undefined });
const taskQueue = `bench-${Date.now().toString(36)}`;
const cfg: FledgeConfig = loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue });
const budget = createRequestBudget({ qps: 1000, burst: 1000, max429Retries: 3 });
const { worker, connection } = await createFledgeWorker(cfg, { budget });
const running = worker.run();
const client: Client = await connectClient(cfg);
const kc = new k8s.KubeConfig();
kc.loadFromFile(loadStackConfig().kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

async function freshTarget(tag: string): Promise<string> {
  const ns = `bench-${tag}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
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
  return ns;
}

function yaml(ns: string, analysis: string, fledge = ''): string {
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: podinfo, namespace: ${ns} }
spec:
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: podinfo }
  service: { port: 9898 }
  analysis:
${analysis}
    metrics:
      - name: request-success-rate
        thresholdRange: { min: 99 }
        interval: 6s
${fledge}`;
}

async function vsWeights(ns: string): Promise<{ primary: number; canary: number } | undefined> {
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
    return undefined;
  }
}

async function waitStatus(
  id: string,
  pred: (s: ReleaseStatus) => boolean,
  timeoutMs = 90_000,
): Promise<ReleaseStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = (await client.workflow.getHandle(id).query(statusQuery)) as ReleaseStatus;
    if (pred(st)) return st;
    if (Date.now() > deadline) throw new Error(`timeout waiting on ${id}: ${st.summary}`);
    await sleep(25);
  }
}

async function pollUntil(pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return Date.now();
    if (Date.now() > deadline) throw new Error('timeout');
    await sleep(20);
  }
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const eventMs = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

// 1. threshold reached → VS read back at 100 % primary
const thresholdMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('thr');
  const sub = await submitRelease(client, cfg, {
    yaml: yaml(ns, '    interval: 3s\n    threshold: 1\n    stepWeight: 50\n    maxWeight: 100'),
    images: { app: 'ghcr.io/acme/podinfo:1.0.1-bad' },
    initiator: 'bench',
  });
  let sawCanary = false;
  let backAt = 0;
  const poll = (async () => {
    for (;;) {
      const w = await vsWeights(ns);
      if (w && w.canary > 0) sawCanary = true;
      if (sawCanary && w && w.primary === 100) {
        backAt = Date.now();
        return;
      }
      await sleep(20);
    }
  })();
  const h = client.workflow.getHandle(sub.workflowId);
  await h.result();
  await Promise.race([poll, sleep(5000)]);
  const events = (await h.fetchHistory()).events ?? [];
  const analyses = events.filter(
    (e) =>
      e.activityTaskCompletedEventAttributes &&
      events.find(
        (s) => s.eventId?.toString() === e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString(),
      )?.activityTaskScheduledEventAttributes?.activityType?.name === 'runAnalysis',
  );
  const last = analyses[analyses.length - 1];
  if (last && backAt) thresholdMs.push(backAt - eventMs(last));
  log(`  threshold run ${i + 1}: ${backAt && last ? `${backAt - eventMs(last)} ms` : 'not measured'}`);
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
}

// 2. approve → next action (primary template carries the new image)
const approveMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('appr');
  const image = `ghcr.io/acme/podinfo:1.0.${i + 2}`;
  const sub = await submitRelease(client, cfg, {
    yaml: yaml(
      ns,
      '    interval: 2s\n    threshold: 3\n    stepWeight: 50\n    maxWeight: 50',
      '  fledge:\n    manualGates: [confirm-promotion]\n',
    ),
    images: { app: image },
    initiator: 'bench',
  });
  await waitStatus(
    sub.workflowId,
    (s) => s.pendingGate?.gate === 'confirm-promotion' && s.lastAnalysis?.ok === true,
  );
  const t0 = Date.now();
  await client.workflow
    .getHandle(sub.workflowId)
    .executeUpdate(approveUpdate, { args: [{ actor: 'bench', reason: 'measure' }] });
  const t1 = await pollUntil(
    async () =>
      (await apps.readNamespacedDeployment({ name: 'podinfo-primary', namespace: ns })).spec?.template.spec
        ?.containers[0]?.image === image,
  );
  approveMs.push(t1 - t0);
  log(`  approve run ${i + 1}: ${t1 - t0} ms`);
  await client.workflow.getHandle(sub.workflowId).result();
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
}

// 3. abort → 100 % primary
const abortMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const ns = await freshTarget('abort');
  const sub = await submitRelease(client, cfg, {
    yaml: yaml(ns, '    interval: 30s\n    threshold: 3\n    stepWeight: 20\n    maxWeight: 80'),
    images: { app: 'ghcr.io/acme/podinfo:1.1.0' },
    initiator: 'bench',
  });
  await waitStatus(sub.workflowId, (s) => s.weights.canary > 0);
  const t0 = Date.now();
  await client.workflow
    .getHandle(sub.workflowId)
    .executeUpdate(abortUpdate, { args: [{ actor: 'bench', reason: 'measure' }] });
  const t1 = await pollUntil(async () => (await vsWeights(ns))?.primary === 100);
  abortMs.push(t1 - t0);
  log(`  abort run ${i + 1}: ${t1 - t0} ms`);
  await client.workflow.getHandle(sub.workflowId).result();
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
}

// 4 + 5. steady-state ticks of a healthy release: Kubernetes requests and history events per tick
const ns = await freshTarget('steady');
const reqStart = budget.stats.requests;
const sub = await submitRelease(client, cfg, {
  yaml: yaml(ns, '    interval: 2s\n    threshold: 2\n    stepWeight: 10\n    maxWeight: 60'),
  images: { app: 'ghcr.io/acme/podinfo:2.0.0' },
  initiator: 'bench',
});
const perTickRequests: number[] = [];
let lastTick = -1;
let lastCount = 0;
for (;;) {
  const st = (await client.workflow.getHandle(sub.workflowId).query(statusQuery)) as ReleaseStatus;
  const tick = st.lastAnalysis?.tick ?? -1;
  if (tick !== lastTick) {
    if (lastTick >= 1 && st.phase === 'Progressing') perTickRequests.push(budget.stats.requests - lastCount);
    lastTick = tick;
    lastCount = budget.stats.requests;
  }
  if (st.outcome) break;
  await sleep(20);
}
const requestsBefore = budget.stats.requests;
const events = (await client.workflow.getHandle(sub.workflowId).fetchHistory()).events ?? [];
const analysisIdx = events
  .map((e, i) => ({ e, i }))
  .filter(({ e }) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAnalysis')
  .map(({ i }) => i);
const perTickEvents = analysisIdx.slice(1).map((idx, k) => idx - (analysisIdx[k] ?? idx));
await core.deleteNamespace({ name: ns }).catch(() => undefined);

worker.shutdown();
await running;
await connection.close();
await client.connection.close();

const rows = [
  {
    figure: 'threshold reached → VS at 100% primary (ms)',
    p50: pct(thresholdMs, 50),
    p95: pct(thresholdMs, 95),
    max: Math.max(...thresholdMs),
    target: 1000,
  },
  {
    figure: 'approve → next action: primary template updated (ms)',
    p50: pct(approveMs, 50),
    p95: pct(approveMs, 95),
    max: Math.max(...approveMs),
    target: 1000,
  },
  {
    figure: 'abort → VS at 100% primary (ms)',
    p50: pct(abortMs, 50),
    p95: pct(abortMs, 95),
    max: Math.max(...abortMs),
    target: 1000,
  },
  {
    figure: 'Kubernetes API requests per steady analysis tick',
    p50: pct(perTickRequests, 50),
    p95: pct(perTickRequests, 95),
    max: Math.max(...perTickRequests),
    target: 2,
  },
  {
    figure: 'history events per analysis tick',
    p50: pct(perTickEvents, 50),
    p95: pct(perTickEvents, 95),
    max: Math.max(...perTickEvents),
    target: 15,
  },
];
const perRelease = {
  historyEvents: events.length,
  analysisTicks: analysisIdx.length,
  kubernetesRequests: requestsBefore - reqStart,
};
if (json) {
  console.log(JSON.stringify({ runs, rows, perRelease, stack: stack.urls.temporal }, null, 2));
} else {
  console.log(`\nFledge release-engine benchmark (${runs} runs each; local stack; 2 cores)\n`);
  console.log(
    `${'figure'.padEnd(56)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'max'.padStart(7)} ${'target'.padStart(7)}  verdict`,
  );
  for (const r of rows) {
    const ok = r.p95 <= r.target && r.max <= r.target * 1.5;
    console.log(
      `${r.figure.padEnd(56)} ${String(r.p50).padStart(7)} ${String(r.p95).padStart(7)} ${String(r.max).padStart(7)} ${('≤' + r.target).padStart(7)}  ${r.p95 <= r.target ? 'OK' : 'MISS'}${ok ? '' : ' (max above 1.5× target)'}`,
    );
  }
  console.log(
    `\nhealthy release (6 steps of 10%): ${perRelease.historyEvents} history events, ${perRelease.analysisTicks} analysis ticks, ${perRelease.kubernetesRequests} Kubernetes requests in total`,
  );
}
