// Following a release until it ends: live progress (redrawn in place on a terminal, appended lines otherwise,
// JSON lines with -o json) and the outcome mapped to an exit code. Shared by `start --wait`, `retry --wait` and
// `status --watch`.
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import { statusQuery } from '../workflows/messages.js';
import { CliError, exitCodes, type ExitCode } from './errors.js';
import { safeJson } from '../domain/sanitize.js';
import { LiveRegion, out, pad, type Painter } from './output.js';

export function outcomeExitCode(outcome: ReleaseResult['outcome']): ExitCode {
  switch (outcome) {
    case 'Promoted':
      return exitCodes.promoted;
    case 'RolledBack':
      return exitCodes.rolledBack;
    case 'Aborted':
      return exitCodes.aborted;
    case 'Superseded':
      return exitCodes.superseded;
    case 'Failed':
      return exitCodes.infrastructure;
  }
}

export function phaseColour(phase: string, p: Painter): string {
  switch (phase) {
    case 'Succeeded':
      return p.green(phase);
    case 'Failed':
    case 'Terminated':
    case 'Terminating':
      return p.red(phase);
    case 'Waiting':
    case 'WaitingPromotion':
      return p.yellow(phase);
    default:
      return p.cyan(phase);
  }
}

export function outcomeColour(outcome: string, p: Painter): string {
  switch (outcome) {
    case 'Promoted':
      return p.green(outcome);
    case 'Superseded':
      return p.yellow(outcome);
    default:
      return p.red(outcome);
  }
}

/** One progress line: what `start --wait` and a non-terminal `status --watch` append when something changed. */
export function progressLine(st: ReleaseStatus, p: Painter = out()): string {
  const phase = `${st.phase}${st.paused ? ' (paused)' : ''}`;
  const checks = `checks ${st.failedChecks}/${st.threshold}`;
  const gate = st.pendingGate ? `${p.yellow(`gate ${st.pendingGate.gate} pending`)}  ` : '';
  return `${pad(phaseColour(phase, p), 16)} ${st.progressText.padEnd(22)} canary ${String(st.weights.canary).padStart(3)}%  ${st.failedChecks > 0 ? p.red(checks) : checks}  ${gate}${st.waitingFor}`;
}

/** The current run's ID, or null while the release does not exist yet (queued behind another one). */
async function currentRunId(client: Client, workflowId: string): Promise<string | null> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).runId;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return null;
    throw e;
  }
}

export interface FollowOptions {
  /** Give up after this long (exit 7). */
  timeoutMs: number;
  /** Wait while the release does not exist yet (queued behind another release); else not found = exit 8. */
  waitForStart?: boolean;
  /** A retry: wait for a run other than this one (the lane may start it later when it queued). */
  afterRunId?: string;
  /** Called with each status that differs from the previous one (at most once per `pollMs`). */
  onStatus?: (st: ReleaseStatus) => void;
  pollMs?: number;
}

/**
 * Waits for the release's result, polling its status for `onStatus`. A queued release (not started yet) is
 * waited for. Failures become CliErrors with the documented exit codes.
 */
export async function followRelease(
  client: Client,
  workflowId: string,
  opts: FollowOptions,
): Promise<ReleaseResult> {
  const pollMs = opts.pollMs ?? 1000;
  const deadline = Date.now() + opts.timeoutMs;
  let stopped = false;
  let last = '';
  let runId: string | null = null;
  const timedOut = (): CliError =>
    new CliError(
      `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${workflowId}`,
      exitCodes.timeout,
    );
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  // The run to wait for: the current one, or (retry) the first one that is not `afterRunId`.
  for (;;) {
    runId = await currentRunId(client, workflowId);
    if (runId !== null && runId !== opts.afterRunId) break;
    if (runId === null && !opts.waitForStart)
      throw new CliError(`release ${workflowId} not found`, exitCodes.notFound);
    if (Date.now() > deadline) throw timedOut();
    await sleep(Math.min(pollMs, 500));
  }
  // The result follows continue-as-new from this run; the status is asked of whichever run is current.
  const handle = client.workflow.getHandle(workflowId, runId);
  const latest = client.workflow.getHandle(workflowId);

  const poll = async (): Promise<void> => {
    while (!stopped) {
      try {
        // Bounded: with no worker polling, a query would hold the loop (and the exit) for ~30 s.
        const st = (await client.withDeadline(Date.now() + 5000, () =>
          latest.query(statusQuery),
        )) as ReleaseStatus;
        const key = JSON.stringify(st);
        if (!stopped && key !== last) {
          last = key;
          opts.onStatus?.(st);
        }
      } catch {
        // Not queryable right now (no worker yet, workflow task retrying): the next poll tries again.
      }
      await sleep(pollMs);
    }
  };
  const polling = opts.onStatus ? poll() : Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  try {
    return (await Promise.race([
      handle.result() as Promise<ReleaseResult>,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timedOut()), Math.max(0, deadline - Date.now()));
      }),
    ])) as ReleaseResult;
  } catch (e) {
    if (e instanceof WorkflowFailedError) {
      const cause = e.cause instanceof Error ? e.cause.message : e.message;
      const invalid = (e.cause as { type?: string } | undefined)?.type === 'InvalidSpec';
      throw new CliError(
        `release ${workflowId} failed: ${cause}`,
        invalid ? exitCodes.invalidInput : exitCodes.infrastructure,
      );
    }
    throw e;
  } finally {
    stopped = true;
    if (timer) clearTimeout(timer);
    await polling;
  }
}

/** How live progress is shown: redrawn block (terminal), appended lines (pipe, CI log), JSON lines (-o json). */
export type ProgressMode = 'redraw' | 'lines' | 'json';

export function progressMode(json: boolean, stream: { isTTY?: boolean } = process.stdout): ProgressMode {
  if (json) return 'json';
  return stream.isTTY === true ? 'redraw' : 'lines';
}

/**
 * A progress printer for `mode`: `frame` renders the full block (redraw mode), `line` the one-line form.
 * Ctrl-C leaves the terminal clean (cursor shown, last frame kept) and exits with 130.
 */
export function progressPrinter(
  mode: ProgressMode,
  render: { frame: (st: ReleaseStatus) => string; line: (st: ReleaseStatus) => string },
): { onStatus: (st: ReleaseStatus) => void; stop: () => void } {
  const region = mode === 'redraw' ? new LiveRegion(process.stdout) : null;
  let lastLine = '';
  const onSigint = (): void => {
    region?.done();
    process.stdout.write('\n');
    process.stderr.write('fledge: interrupted; the release goes on (fledge status shows it)\n');
    process.exit(exitCodes.interrupted);
  };
  process.once('SIGINT', onSigint);
  return {
    onStatus: (st) => {
      if (mode === 'json') {
        process.stdout.write(`${safeJson({ status: st })}\n`);
      } else if (region) {
        region.render(render.frame(st));
      } else {
        const line = render.line(st);
        if (line !== lastLine) console.log(line);
        lastLine = line;
      }
    },
    stop: () => {
      region?.done();
      process.removeListener('SIGINT', onSigint);
    },
  };
}
