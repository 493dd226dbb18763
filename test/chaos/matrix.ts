// Runs fault-matrix scenarios one at a time: a fresh namespace and worker per scenario, the end-state oracle
// after the outcome, one row per scenario (scenario | expected | seen | oracle | time to recover).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { FledgeConfig } from '../../src/config.js';
import type { ReleaseResult } from '../../src/domain/result.js';
import { releaseResult, submitRelease } from '../../src/starter.js';
import { endStateOracle } from './end-state.js';
import {
  createSpace,
  scenarioClient,
  workerEnv,
  workerProcess,
  type ChaosEnv,
  type ScenarioSpace,
  type WorkerHandle,
} from './harness.js';
import {
  canaryYaml,
  defaultSpec,
  failedRouteWrites,
  firstProgressAfter,
  historyOf,
  newImage,
  routeWrites,
  stepWeights,
  type HistoryEvent,
  type SpecOptions,
} from './kit.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface RunCtx {
  env: ChaosEnv;
  space: ScenarioSpace;
  worker: WorkerHandle;
  client: Client;
  cfg: FledgeConfig;
  spec: SpecOptions;
  intervalMs: number;
  /** Submits the release (once); returns its workflow ID. */
  submit: () => Promise<string>;
  workflowId: () => string;
  /** Waits for the release's typed result. */
  result: (timeoutMs?: number) => Promise<ReleaseResult>;
  history: () => Promise<HistoryEvent[]>;
  /** The fault is over (link restored, worker back): time to recover is measured from here. */
  lifted: () => void;
  /** For a fault of N answers rather than a time span: the time to recover, measured by the scenario. */
  recovered: (ms: number) => void;
  check: (name: string, ok: boolean, detail: string) => void;
  note: (line: string) => void;
  /** Replace the harness's client/config (a scenario with its own Temporal server). */
  useClient: (client: Client) => void;
  /** Replace the worker (e.g. pointed at another Temporal proxy). */
  useWorker: (w: WorkerHandle) => void;
  /** Runs after the end-state check (e.g. stop a scenario's own Temporal server). */
  onCleanup: (fn: () => Promise<void>) => void;
}

export interface Scenario {
  id: string;
  group: string;
  /** What is done to the release. */
  fault: string;
  /** What a correct Fledge does (the expectation is never weakened to match what it does). */
  expected: string;
  spec?: SpecOptions;
  /** Part of the representative subset `npm test` runs. */
  subset?: boolean;
  /** The worker is started by the scenario itself. */
  manualWorker?: boolean;
  budgetMs?: number;
  /**
   * The oracle is expected to report exactly this deviation (a fault no product can undo, e.g. no RBAC left to
   * restore traffic): the row passes only if it does, and says why.
   */
  oracleExpect?: { violated: RegExp; why: string };
  run: (ctx: RunCtx) => Promise<ReleaseResult>;
}

export interface Row {
  id: string;
  group: string;
  fault: string;
  expected: string;
  seen: string;
  oracle: string;
  oracleOk: boolean;
  recoverMs: number | null;
  pass: boolean;
  checks: Check[];
  evidence: string[];
  durationMs: number;
  namespace: string;
  workflowId: string | null;
  error?: string;
}

function describeResult(r: ReleaseResult, writes: number[]): string {
  const fc = r.failingCheck
    ? `; ${r.failingCheck.kind} ${r.failingCheck.name}: ${r.failingCheck.message.slice(0, 120)}`
    : '';
  return `${r.outcome} (${r.reason.code}), checks ${r.failedChecks}/${r.threshold}, writes [${writes.join(',')}]${fc}`;
}

/** Standard expectations reused by many scenarios. */
export function expectOutcome(
  ctx: RunCtx,
  r: ReleaseResult,
  outcome: ReleaseResult['outcome'],
  code?: string,
): void {
  ctx.check(
    'outcome',
    r.outcome === outcome && (code === undefined || r.reason.code === code),
    `${r.outcome} (${r.reason.code}), want ${outcome}${code ? ` (${code})` : ''}: ${r.reason.message.slice(0, 200)}`,
  );
}

/** Each step's weight written exactly once, in order, then 0 (promotion or rollback). */
export async function expectWrites(ctx: RunCtx, want: number[]): Promise<number[]> {
  const events = await ctx.history();
  const got = routeWrites(events);
  const failed = failedRouteWrites(events);
  if (failed > 0) ctx.note(`${failed} route write(s) failed after their retries (markers without result)`);
  ctx.check(
    'route writes in history',
    JSON.stringify(got) === JSON.stringify(want),
    `[${got.join(',')}], want [${want.join(',')}]`,
  );
  return got;
}

export function promotedWrites(spec: SpecOptions): number[] {
  return [...stepWeights(spec), 0];
}

/** Exactly one Slack parent for the release, and it shows how the release ended. */
export async function expectSlackThread(ctx: RunCtx, r: ReleaseResult): Promise<void> {
  const msgs = await ctx.env.slack.messages(ctx.space.channel);
  const replies = msgs.flatMap((m) => m.replies.map((x) => x.text ?? ''));
  const dupReplies = replies.length - new Set(replies).size;
  ctx.check(
    'one Slack parent',
    msgs.length === 1,
    `${msgs.length} parent(s), ${replies.length} replies (${dupReplies} duplicate texts)`,
  );
  if (dupReplies > 0) ctx.note(`${dupReplies} duplicate Slack replies`);
  const state =
    r.outcome === 'Promoted'
      ? 'promoted'
      : r.outcome === 'RolledBack'
        ? 'rolled back'
        : r.outcome.toLowerCase();
  const parent = msgs[0]?.text ?? '';
  ctx.check(
    'Slack shows the outcome',
    parent.includes(`release ${state}`),
    `parent: ${parent.slice(0, 140) || '(none)'}`,
  );
}

export async function runScenario(env: ChaosEnv, s: Scenario, log: (m: string) => void): Promise<Row> {
  const t0 = Date.now();
  const checks: Check[] = [];
  const evidence: string[] = [];
  const space = await createSpace(env, s.id);
  const spec = s.spec ?? {};
  const initial = scenarioClient(env, space);
  const cfg = initial.cfg;
  let client = initial.client;
  let worker = workerProcess(env, space, workerEnv(env, space));
  let workflowId: string | null = null;
  let liftedAt: number | null = null;
  let recoverMs: number | null = null;
  const cleanups: Array<() => Promise<void>> = [];
  // Activity attempts that failed and are being retried are visible only while pending: sampled, for evidence.
  const failures = new Map<string, number>();
  let sampler: { stop: () => Promise<void> } | undefined;
  const history = (): Promise<HistoryEvent[]> => {
    if (!workflowId) throw new Error('not submitted');
    return historyOf(client, workflowId);
  };
  const ctx: RunCtx = {
    env,
    space,
    get worker() {
      return worker;
    },
    get client() {
      return client;
    },
    cfg,
    spec,
    intervalMs: (spec.intervalS ?? defaultSpec.intervalS) * 1000,
    submit: async () => {
      if (workflowId) return workflowId;
      const sub = await submitRelease(client, cfg, {
        yaml: canaryYaml(env, space, spec),
        images: { app: newImage },
        initiator: `chaos:${s.id}`,
      });
      workflowId = sub.workflowId;
      sampler = samplePendingFailures(() => client, sub.workflowId, failures);
      return workflowId;
    },
    workflowId: () => {
      if (!workflowId) throw new Error('not submitted');
      return workflowId;
    },
    result: async (timeoutMs = 240_000) => {
      if (!workflowId) throw new Error('not submitted');
      return releaseResult(client, workflowId, { timeoutMs });
    },
    history,
    lifted: () => {
      liftedAt = Date.now();
    },
    recovered: (ms) => {
      recoverMs = ms;
    },
    check: (name, ok, detail) => {
      checks.push({ name, ok, detail });
    },
    note: (line) => {
      evidence.push(line);
    },
    useClient: (c) => {
      client = c;
    },
    useWorker: (w) => {
      worker = w;
    },
    onCleanup: (fn) => {
      cleanups.push(fn);
    },
  };
  let seen = '';
  let oracle = 'not run';
  let oracleOk = false;
  let error: string | undefined;
  try {
    const baseline = await endStateOracle.capture(env.admin, space.namespace);
    if (!s.manualWorker) await worker.start();
    const budget = s.budgetMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      s.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario over its ${budget / 1000} s budget`)), budget);
      }),
    ]).finally(() => clearTimeout(timer));
    const events = await history();
    seen = describeResult(result, routeWrites(events));
    const v = await endStateOracle.verify(env.admin, space.namespace, baseline, result, {
      newImages: { app: newImage },
    });
    if (s.oracleExpect) {
      const expected = s.oracleExpect;
      oracleOk = !v.ok && v.problems.some((p) => expected.violated.test(p));
      oracle = `${oracleOk ? 'expected deviation' : 'UNEXPECTED'}: ${v.ok ? 'no problem reported' : v.problems.join('; ')} (${expected.why})`;
    } else {
      oracleOk = v.ok;
      oracle = v.ok ? `ok (${endStateOracle.name})` : v.problems.join('; ');
    }
    if (liftedAt !== null && recoverMs === null) recoverMs = firstProgressAfter(events, liftedAt) ?? null;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    seen = seen || `error: ${error}`;
  } finally {
    await sampler?.stop();
    for (const [line, n] of failures) evidence.push(`retried activity failure (seen ${n}×): ${line}`);
    writeFileSync(
      join(env.artifactsDir, space.namespace, 'kube-requests.json'),
      JSON.stringify(
        env.kubeLayer.log.filter((e) => e.path.includes(`/namespaces/${space.namespace}/`)),
        null,
        1,
      ),
    );
    for (const fn of cleanups) await fn().catch(() => undefined);
    await worker.stop().catch(() => undefined);
    await env.toxi.reset().catch(() => undefined);
    env.kubeLayer.clearRules();
    env.slackLayer.clearRules();
    if (process.env.FLEDGE_CHAOS_KEEP !== '1') await space.cleanup();
  }
  const pass = error === undefined && oracleOk && checks.every((c) => c.ok);
  const row: Row = {
    id: s.id,
    group: s.group,
    fault: s.fault,
    expected: s.expected,
    seen,
    oracle,
    oracleOk,
    recoverMs,
    pass,
    checks,
    evidence,
    durationMs: Date.now() - t0,
    namespace: space.namespace,
    workflowId,
    ...(error ? { error } : {}),
  };
  log(`${pass ? 'PASS' : 'FAIL'} ${s.id} in ${(row.durationMs / 1000).toFixed(1)} s — ${seen}`);
  for (const c of checks.filter((x) => !x.ok)) log(`     ✗ ${c.name}: ${c.detail}`);
  if (!oracleOk) log(`     ✗ oracle: ${oracle}`);
  return row;
}

/** Polls the release's pending activities once a second and counts each distinct last failure. */
function samplePendingFailures(
  client: () => Client,
  workflowId: string,
  into: Map<string, number>,
): { stop: () => Promise<void> } {
  let stopped = false;
  const seenAttempt = new Set<string>();
  const loop = (async () => {
    while (!stopped) {
      try {
        const d = await client().workflow.getHandle(workflowId).describe();
        for (const a of d.raw.pendingActivities ?? []) {
          const msg = a.lastFailure?.message;
          if (!msg) continue;
          const key = `${a.activityId}/${a.attempt}`;
          if (seenAttempt.has(key)) continue;
          seenAttempt.add(key);
          const line = `${a.activityType?.name ?? '?'}: ${msg.slice(0, 200)}`;
          into.set(line, (into.get(line) ?? 0) + 1);
        }
      } catch {
        /* server away (a Temporal fault) or the release ended */
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

function pad(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

/** scenario | expected | seen | oracle | time to recover */
export function formatTable(rows: Row[]): string {
  const head = `${pad('scenario', 34)} | ${pad('expected', 44)} | ${pad('seen', 60)} | ${pad('oracle', 24)} | recover`;
  const lines = [head, '-'.repeat(head.length + 4)];
  for (const r of rows) {
    const rec = r.recoverMs === null ? '-' : `${(r.recoverMs / 1000).toFixed(1)} s`;
    lines.push(
      `${pad(`${r.pass ? '✓' : '✗'} ${r.id}`, 34)} | ${pad(r.expected, 44)} | ${pad(r.seen, 60)} | ${pad(r.oracle, 24)} | ${rec}`,
    );
  }
  return lines.join('\n');
}

export function writeRows(file: string, rows: Row[], meta: Record<string, unknown>): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
}
