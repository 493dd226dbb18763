// The releases behind cluster mode, read from Temporal: which release a Canary's template change belongs to, and
// following one until it ends. Following is push-driven: a long poll of the run's history (`waitNewEvent`) wakes the
// follower when the workflow records something (a route change, an analysis, a phase change); only then is the
// release's `status` query asked (or, with no worker answering, its search attributes read). Nothing is polled
// while a Canary has no release running.
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import { statusQuery } from '../workflows/messages.js';
import { fledgeInitiator, fledgePhase, fledgeWeight } from '../workflows/search-attributes.js';
import { changeFromRelease, changeFromSearchAttributes, type StatusChange } from './status.js';

export interface ReleaseInfo {
  workflowId: string;
  runId: string;
  running: boolean;
  startTime: Date;
  initiator: string | undefined;
}

function infoOf(d: WorkflowExecutionDescription): ReleaseInfo {
  return {
    workflowId: d.workflowId,
    runId: d.runId,
    running: d.status.name === 'RUNNING',
    startTime: d.startTime,
    initiator: d.typedSearchAttributes.get(fledgeInitiator),
  };
}

/** The release's latest run, or null when no release has this ID. */
export async function describeRelease(client: Client, workflowId: string): Promise<ReleaseInfo | null> {
  try {
    return infoOf(await client.workflow.getHandle(workflowId).describe());
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return null;
    throw e;
  }
}

/** The target's most recently started release (visibility: `fledge list -t ns/name`'s first row), if any. */
export async function latestReleaseOf(
  client: Client,
  target: { namespace: string; name: string },
): Promise<ReleaseInfo | null> {
  const ref = `${target.namespace}/${target.name}`.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const query = `WorkflowType = 'releaseWorkflow' AND FledgeTarget = '${ref}'`;
  let latest: ReleaseInfo | null = null;
  for await (const wf of client.workflow.list({ query, pageSize: 20 })) {
    const info: ReleaseInfo = {
      workflowId: wf.workflowId,
      runId: wf.runId,
      running: wf.status.name === 'RUNNING',
      startTime: wf.startTime,
      initiator: wf.typedSearchAttributes.get(fledgeInitiator),
    };
    if (latest === null || info.startTime > latest.startTime) latest = info;
  }
  return latest;
}

/** How a followed release ended. */
export type FollowEnd =
  | { kind: 'result'; result: ReleaseResult }
  | { kind: 'workflow-failed'; message: string }
  | { kind: 'stopped' };

export interface FollowOptions {
  signal: AbortSignal;
  /** Called with the release's live status after each change the history shows (the caller writes on change). */
  onProgress: (change: StatusChange) => Promise<void>;
  /** Deadline of one status query (ms): with no worker polling, the search attributes answer instead. */
  queryTimeoutMs?: number;
  /** How often a release queued in its lane (not started yet) is looked for (ms). */
  queuedPollMs?: number;
  /** Least time between two status reads (ms): a burst of history events is read once. */
  minGapMs?: number;
  log?: (msg: string) => void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * `connection.withAbortSignal` for one call: the SDK adds an abort listener per call and never removes it, so each
 * call gets a signal of its own, linked to the follower's for the call's duration.
 */
async function withSignal<T>(client: Client, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const own = new AbortController();
  const onAbort = (): void => own.abort();
  if (signal.aborted) own.abort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await client.connection.withAbortSignal(own.signal, fn);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The release's live status: its `status` query, else (no worker answering) its search attributes. */
export async function liveStatus(
  client: Client,
  workflowId: string,
  queryTimeoutMs = 3_000,
): Promise<StatusChange | null> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const st = (await client.connection.withDeadline(Date.now() + queryTimeoutMs, () =>
      handle.query(statusQuery),
    )) as ReleaseStatus;
    if (st && typeof st === 'object' && typeof st.phase === 'string') return changeFromRelease(st);
  } catch {
    // No worker (restarting) or the query timed out: the search attributes still say phase and weight.
  }
  const d = await handle.describe();
  return changeFromSearchAttributes(
    d.typedSearchAttributes.get(fledgePhase),
    d.typedSearchAttributes.get(fledgeWeight),
  );
}

/**
 * Follows the release until it ends (across continue-as-new runs) or `signal` aborts. Each long poll of the history
 * returns when the workflow records events (or after the server's long-poll timeout, with none); only events wake
 * a status read.
 */
export async function followRelease(
  client: Client,
  workflowId: string,
  opts: FollowOptions,
): Promise<FollowEnd> {
  const { signal } = opts;
  const handle = client.workflow.getHandle(workflowId);
  const minGap = opts.minGapMs ?? 200;
  let lastRead = 0;
  const report = async (): Promise<void> => {
    const wait = lastRead + minGap - Date.now();
    if (wait > 0) await sleep(wait, signal);
    if (signal.aborted) return;
    lastRead = Date.now();
    const change = await liveStatus(client, workflowId, opts.queryTimeoutMs).catch((e: unknown) => {
      opts.log?.(`status of ${workflowId} not read: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    });
    if (change && !signal.aborted) await opts.onProgress(change);
  };
  let failures = 0;
  for (;;) {
    if (signal.aborted) return { kind: 'stopped' };
    let desc: WorkflowExecutionDescription;
    try {
      desc = await withSignal(client, signal, () => handle.describe());
    } catch (e) {
      if (signal.aborted) return { kind: 'stopped' };
      if (e instanceof WorkflowNotFoundError) {
        // Queued in the target's lane (`spec.fledge.supersede: queue`): it exists once the lane starts it. Checked
        // every few seconds while it waits (a queued release only; an idle Canary has no follower).
        await sleep(opts.queuedPollMs ?? 3_000, signal);
        continue;
      }
      failures++;
      opts.log?.(
        `describe ${workflowId} failed (${failures}): ${e instanceof Error ? e.message : String(e)}`,
      );
      await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), signal);
      continue;
    }
    if (desc.status.name !== 'RUNNING') break;
    const execution = { workflowId, runId: desc.runId };
    let token: Uint8Array | undefined;
    for (;;) {
      if (signal.aborted) return { kind: 'stopped' };
      let events = 0;
      try {
        const res = await withSignal(client, signal, () =>
          client.workflowService.getWorkflowExecutionHistory({
            namespace: client.options.namespace,
            execution,
            ...(token ? { nextPageToken: token } : {}),
            waitNewEvent: true,
            skipArchival: true,
          }),
        );
        failures = 0;
        events = res.history?.events?.length ?? 0;
        token = res.nextPageToken && res.nextPageToken.length > 0 ? res.nextPageToken : undefined;
      } catch (e) {
        if (signal.aborted) return { kind: 'stopped' };
        failures++;
        opts.log?.(
          `history of ${workflowId} not read (${failures}): ${e instanceof Error ? e.message : String(e)}`,
        );
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), signal);
        break; // describe again: the run may have ended or continued as new meanwhile
      }
      if (events > 0) await report();
      // No next page: this run is closed (completed, failed, or continued as new — describe tells which).
      if (token === undefined) break;
    }
  }
  if (signal.aborted) return { kind: 'stopped' };
  try {
    return { kind: 'result', result: (await handle.result()) as ReleaseResult };
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
      return { kind: 'workflow-failed', message: `${e.message}${cause}` };
    }
    throw e;
  }
}
