// `npm run bench:probe`: where a worker's CPU goes, without a cluster. Prints figures; asserts nothing.
//   cpu [--batches 30,30] [--bundle F]   a worker process with Fledge's workflows and fake, instant activities
//                                         (scripts/bench-probe/worker.ts) runs batches of good releases at once
//                                         (interval 2 s, 3 steps, 2 metrics): worker CPU s per release by thread
//                                         group (/proc/<pid>/task: main = the JS main thread; node = V8 platform
//                                         threads and the workflow thread; tokio = Core) and RSS growth per release.
//                                         --cpu-prof: the worker writes V8 CPU profiles of its main and workflow
//                                         threads to test-artifacts/bench-probe/ (one .cpuprofile per thread).
//   idle [--window S]                     CPU s per minute at rest, by thread: a bare Node process, one with a
//                                         100 ms interval timer, one that only installs the Temporal runtime, and
//                                         the probe worker above.
// The workflow bundle is dist/workflow-bundle.js (npm run build) unless --bundle is given. Uses the local stack's
// Temporal server (started if needed).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { loadFledgeConfig } from '../src/config.js';
import { devStackEnv, projectRoot } from '../src/dev/stack/config.js';
import { stackUp } from '../src/dev/stack/stack.js';
import { connectClient, submitRelease } from '../src/starter.js';
import { args, option } from './lib/options.js';

const mode = args[0] === 'idle' ? 'idle' : 'cpu';
const bundle = option('--bundle') ?? `${projectRoot}/dist/workflow-bundle.js`;
if (!existsSync(bundle)) {
  console.error(`no workflow bundle at ${bundle}: run npm run build (or give --bundle)`);
  process.exit(2);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU seconds per thread group of a process (utime + stime from /proc). */
function threadCpu(pid: number, perThread = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      const f = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      const name = t === String(pid) ? 'main' : comm.replace(/[0-9]+$/, '').replace(/-runtime-w$/, '');
      const key = perThread && t !== String(pid) ? `${name}#${t}` : name;
      out[key] = (out[key] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // the thread ended
    }
  }
  return out;
}
const rssMiB = (pid: number): number =>
  (Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[21]) * 4096) / 2 ** 20;
const diff = (a: Record<string, number>, b: Record<string, number>, scale: number): Record<string, number> =>
  Object.fromEntries(Object.keys(b).map((k) => [k, ((b[k] ?? 0) - (a[k] ?? 0)) * scale]));
const show = (r: Record<string, number>, digits = 3): string => {
  const total = Object.values(r).reduce((s, v) => s + v, 0);
  return `total ${total.toFixed(digits)} (${Object.entries(r)
    .filter(([, v]) => v > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${v.toFixed(digits)}`)
    .join(', ')})`;
};

async function startProbeWorker(taskQueue: string): Promise<ChildProcess> {
  const prof = args.includes('--cpu-prof')
    ? ['--cpu-prof', `--cpu-prof-dir=${projectRoot}/test-artifacts/bench-probe`]
    : [];
  const child = spawn(
    process.execPath,
    [...prof, '--import', 'tsx', `${projectRoot}/scripts/bench-probe/worker.ts`],
    {
      env: { ...process.env, PROBE_TQ: taskQueue, PROBE_BUNDLE: bundle },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => b.toString().includes('task queue ready') && resolve());
    child.on('exit', (code) => reject(new Error(`probe worker exited (${code})`)));
  });
  return child;
}

await stackUp({ log: () => undefined });

if (mode === 'idle') {
  const windowS = Math.max(10, Number(option('--window') ?? 40));
  const settleMs = 15_000;
  const idleOf = async (label: string, code: string | null, perThread = false): Promise<void> => {
    let child: ChildProcess;
    if (code === null) child = await startProbeWorker(`bench-probe-idle-${Date.now().toString(36)}`);
    else
      child = spawn(process.execPath, ['--input-type=module', '-e', code], {
        cwd: projectRoot,
        stdio: 'ignore',
      });
    await sleep(settleMs);
    const pid = child.pid as number;
    const a = threadCpu(pid, perThread);
    await sleep(windowS * 1000);
    const b = threadCpu(pid, perThread);
    console.log(`${label.padEnd(42)} CPU s/min ${show(diff(a, b, 60 / windowS))}`);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  const keepAlive = 'setInterval(() => {}, 1 << 30);';
  const { TEMPORAL_ADDRESS } = devStackEnv();
  await idleOf('bare node', keepAlive);
  await idleOf('node + a 100 ms interval timer', `${keepAlive} setInterval(() => {}, 100);`);
  await idleOf(
    'node + Temporal runtime + connection',
    `${keepAlive} const w = await import('@temporalio/worker'); w.Runtime.install({ logger: new w.DefaultLogger('WARN') }); await w.NativeConnection.connect({ address: ${JSON.stringify(TEMPORAL_ADDRESS)} });`,
  );
  await idleOf('probe worker (Fledge workflows, fake activities)', null);
  process.exit(0);
}

// cpu
const batches = (option('--batches') ?? '30,30')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const taskQueue = `bench-probe-${Date.now().toString(36)}`;
const child = await startProbeWorker(taskQueue);
const pid = child.pid as number;
const cfg = loadFledgeConfig({ ...process.env, ...devStackEnv(), FLEDGE_TASK_QUEUE: taskQueue });
const client = await connectClient(cfg);
const doc = (name: string): string => `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: ${name}, namespace: ${taskQueue} }
spec:
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: ${name} }
  service: { port: 9898 }
  analysis:
    interval: 2s
    threshold: 2
    stepWeight: 20
    maxWeight: 60
    metrics:
      - { name: request-success-rate, thresholdRange: { min: 99 }, interval: 30s }
      - { name: request-duration, thresholdRange: { max: 500 }, interval: 30s }
`;
const batch = async (n: number, tag: string, label: string): Promise<void> => {
  const before = threadCpu(pid);
  const rssBefore = rssMiB(pid);
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 200);
  const subs = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      submitRelease(client, cfg, {
        yaml: doc(`t${i}`),
        images: { app: `example/app:${tag}` },
        initiator: 'probe',
      }),
    ),
  );
  const results = await Promise.all(
    subs.map((s) => client.workflow.getHandle(s.workflowId).result() as Promise<{ outcome: string }>),
  );
  await sleep(1500);
  clearInterval(sampler);
  const promoted = results.filter((r) => r.outcome === 'Promoted').length;
  console.log(
    `${label}: ${promoted}/${n} promoted; worker CPU s per release ${show(diff(before, threadCpu(pid), 1 / n))}; RSS ${rssBefore.toFixed(0)} → peak ${peak.toFixed(0)} MiB (+${((peak - rssBefore) / n).toFixed(2)} MiB per release)`,
  );
};
await batch(2, 'warm', 'warm-up, 2 releases');
for (const [i, n] of batches.entries()) await batch(n, `b${i}`, `batch ${i + 1}, ${n} releases at once`);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await client.connection.close();
process.exit(0);
