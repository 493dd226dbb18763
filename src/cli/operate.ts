// Operator commands: status (and --watch), approve, pause, resume, promote, abort, list.
import type { Command } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import { webUiWorkflowUrl } from '../starter.js';
import { laneStatusQuery, laneWorkflowId } from '../workflows/lane.js';
import {
  operatorActionNames,
  statusQuery,
  type OperatorActionName,
  type OperatorRequest,
} from '../workflows/messages.js';
import { checkIdentityTokenShape } from '../domain/approvers.js';
import { defaultActor } from './actor.js';
import { connectCli } from './connect.js';
import { exitCodes, CliError } from './errors.js';
import {
  cliConfig,
  parseActor,
  parseGate,
  parseListOptions,
  parseReason,
  parseReleaseRef,
  parseTimeout,
} from './options.js';
import {
  clock,
  isJson,
  out,
  outputOption,
  printJson,
  quote as quoteValue,
  safe,
  sanitizeDeep,
  table,
  type Painter,
} from './output.js';
import { describeResult } from './start.js';
import {
  followRelease,
  outcomeColour,
  outcomeExitCode,
  phaseColour,
  progressLine,
  progressMode,
  progressPrinter,
} from './watch.js';

const quote = (v: string): string => `'${v.replace(/'/g, "\\'")}'`;

/** A query with a deadline: a workflow no worker polls would otherwise keep the command waiting ~30 s. */
export async function boundedQuery<T>(
  client: Client,
  query: () => Promise<T>,
  timeoutMs: number,
): Promise<T | null> {
  try {
    return await client.withDeadline(Date.now() + timeoutMs, query);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw e;
    return null;
  }
}

/**
 * `<namespace>/<name>` (a target: its lane's current release, else its latest) or a workflow ID (`fledge/...`).
 * The lane answers when a worker runs; otherwise the releases are found by their search attributes.
 */
export async function resolveRelease(client: Client, ref: string): Promise<string> {
  if (ref.startsWith('fledge/')) return ref;
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(ref);
  if (!m?.[1] || !m[2])
    throw new CliError(
      `${quoteValue(ref)} is neither a release ID (fledge/...) nor a target <namespace>/<name>`,
      exitCodes.invalidInput,
    );
  let lane;
  try {
    lane = await boundedQuery(
      client,
      () => client.workflow.getHandle(laneWorkflowId(m[1] ?? '', m[2] ?? '')).query(laneStatusQuery),
      5000,
    );
  } catch (e) {
    if (e instanceof WorkflowNotFoundError)
      throw new CliError(`unknown target ${ref}: no release was ever started for it`, exitCodes.notFound);
    throw e;
  }
  const fromLane = lane ? (lane.current ?? lane.recent[lane.recent.length - 1]?.releaseId) : undefined;
  if (fromLane) return fromLane;
  // No worker answered (or the lane forgot): the running release, else the most recently started one.
  let best: { id: string; running: boolean; started: number } | null = null;
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'releaseWorkflow' AND FledgeTarget = ${quote(ref)}`,
  })) {
    const cand = {
      id: wf.workflowId,
      running: wf.status.name === 'RUNNING',
      started: wf.startTime.getTime(),
    };
    if (
      !best ||
      (cand.running && !best.running) ||
      (cand.running === best.running && cand.started > best.started)
    )
      best = cand;
  }
  if (!best) throw new CliError(`target ${ref} has no releases yet`, exitCodes.notFound);
  return best.id;
}

// Re-exported: callers (retry, tests) import it from here; it lives in ./actor.ts so start.ts need not import
// this module (which imports start.ts).
export { defaultActor };

export function formatStatus(id: string, status: ReleaseStatus, link: string, p: Painter = out()): string {
  // Actors, reasons, webhook answers and metric texts may echo input: escaped and bounded.
  const st = sanitizeDeep(status);
  const label = (s: string): string => p.bold(s.padEnd(11));
  const lines = [
    `${p.bold(st.target)}  ${phaseColour(st.phase, p)}${st.paused ? p.yellow(` (paused by ${st.paused.by}: ${st.paused.reason})`) : ''}  ${st.progressText}`,
    `  ${label('release')} ${id}`,
    `  ${label('started')} ${new Date(st.startedAt).toISOString()}`,
    `  ${label('traffic')} primary ${st.weights.primary}%  canary ${st.weights.canary}%${st.weights.mirror !== null ? `  mirror ${st.weights.mirror}%` : ''}${st.weights.abMatch ? '  A/B match → canary' : ''}`,
    `  ${label('checks')} ${st.failedChecks > 0 ? p.red(`${st.failedChecks}/${st.threshold} failed`) : `${st.failedChecks}/${st.threshold} failed`}`,
    `  ${label('waiting for')} ${st.waitingFor}`,
  ];
  for (const m of st.lastAnalysis?.metrics ?? [])
    lines.push(`  ${label('metric')} ${m.ok ? m.text.replace(/✓$/, p.green('✓')) : p.red(m.text)}`);
  for (const h of st.lastAnalysis?.hooks ?? [])
    lines.push(
      `  ${label('webhook')} ${h.name} ${h.ok ? p.green('✓') : p.red(`✗ ${h.message}`)}${h.status !== undefined ? ` (HTTP ${h.status})` : ''}`,
    );
  if (st.pendingGate)
    lines.push(
      `  ${label('gate')} ${p.yellow(`${st.pendingGate.gate} pending`)}${st.pendingGate.approvedBy ? ` (approved by ${st.pendingGate.approvedBy})` : ''} — ${st.pendingGate.howToApprove}`,
    );
  for (const a of st.operatorLog) {
    const verdict = a.accepted
      ? p.green('accepted')
      : p.red(`rejected: ${a.rejectionReason ?? 'no reason recorded'}`);
    lines.push(
      `  ${label('operator')} ${clock(a.at)} ${a.action}${a.gate ? ` ${a.gate}` : ''} by ${a.actor}${a.verified ? ` (verified: ${a.verified})` : ''}${a.reason ? `: "${a.reason}"` : ''} — ${verdict}${a.note ? ` (${a.note})` : ''}`,
    );
  }
  if (st.outcome)
    lines.push(
      `  ${label('outcome')} ${outcomeColour(st.outcome, p)}${st.reason ? ` — ${st.reason.message}` : ''}`,
    );
  lines.push(`  ${label('web ui')} ${link}`);
  return lines.join('\n');
}

/** "has already ended: RolledBack — Failed checks threshold reached …" for a release that is not running. */
async function endedText(client: Client, id: string, status: string): Promise<string> {
  if (status !== 'COMPLETED') return `has already ended (${status.toLowerCase()})`;
  try {
    const r = (await client.workflow.getHandle(id).result()) as ReleaseResult;
    return `has already ended: ${r.outcome} — ${r.reason.message}`;
  } catch {
    return 'has already ended';
  }
}

async function sendAction(
  action: OperatorActionName,
  ref: string,
  opts: { reason?: string; actor?: string; gate?: string; idToken?: string; output: string },
): Promise<void> {
  // Every argument and option is checked before anything connects.
  parseReleaseRef(ref);
  const idToken = parseIdToken(opts.idToken);
  const reason = parseReason(opts.reason);
  if (reasonRequired.has(action) && reason.trim() === '')
    throw new CliError(
      `--reason must not be empty: ${action} needs a recorded reason`,
      exitCodes.invalidInput,
    );
  const gate = parseGate(opts.gate);
  const req: OperatorRequest = {
    actor:
      opts.actor !== undefined
        ? parseActor(opts.actor)
        : parseActor(defaultActor(), 'the default actor ($FLEDGE_ACTOR, git user.email or <user>@<host>)'),
    reason,
    ...(gate ? { gate } : {}),
    ...(idToken ? { idToken } : {}),
  };
  const cfg = cliConfig();
  const client = await connectCli(cfg);
  try {
    const id = await resolveRelease(client, ref);
    const handle = client.workflow.getHandle(id);
    let st: ReleaseStatus;
    try {
      const desc = await handle.describe();
      if (desc.status.name !== 'RUNNING') {
        throw new CliError(
          `${action} rejected: release ${id} ${await endedText(client, id, desc.status.name)}; ${action} no longer applies`,
          exitCodes.rejected,
        );
      }
      st = (await handle.executeUpdate(action, { args: [req] })) as ReleaseStatus;
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) {
        const why = e.cause instanceof Error ? e.cause.message : e.message;
        // Say where the release stands, so the operator knows what it waits for instead.
        const now = (await boundedQuery(client, () => handle.query(statusQuery), 5000).catch(
          () => null,
        )) as ReleaseStatus | null;
        const context = now
          ? `\n  the release is ${now.phase}${now.paused ? ' (paused)' : ''}, ${now.progressText}, waiting for ${now.waitingFor}` +
            (now.pendingGate ? `\n  pending gate: ${now.pendingGate.howToApprove}` : '')
          : '';
        throw new CliError(`${action} rejected: ${why}${context}`, exitCodes.rejected);
      }
      if (e instanceof WorkflowNotFoundError)
        throw new CliError(`release ${id} not found`, exitCodes.notFound);
      throw e;
    }
    if (isJson(opts.output)) {
      printJson({
        workflowId: id,
        action,
        request: { ...req, ...(req.idToken ? { idToken: '[redacted]' } : {}) },
        status: st,
      });
      return;
    }
    const p = out();
    console.log(
      `${p.green(`${action} accepted`)} (${safe(req.actor)}${req.reason ? `: "${safe(req.reason)}"` : ''}).\n${formatStatus(id, st, webUiWorkflowUrl(cfg, id), p)}`,
    );
  } finally {
    await client.connection.close();
  }
}

async function showStatus(
  ref: string,
  opts: { output: string; watch?: boolean; timeout: string },
): Promise<void> {
  // Every argument and option is checked before anything connects.
  parseReleaseRef(ref);
  const timeoutMs = parseTimeout(opts.timeout);
  const cfg = cliConfig();
  const client = await connectCli(cfg);
  try {
    const id = await resolveRelease(client, ref);
    const link = webUiWorkflowUrl(cfg, id);
    const json = isJson(opts.output);
    const handle = client.workflow.getHandle(id);
    let running: boolean;
    let taskQueue: string;
    try {
      const desc = await handle.describe();
      running = desc.status.name === 'RUNNING';
      taskQueue = desc.taskQueue;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError)
        throw new CliError(`release ${ref} not found`, exitCodes.notFound);
      throw e;
    }
    const st = (await boundedQuery(
      client,
      () => handle.query(statusQuery),
      running ? 20_000 : 5000,
    )) as ReleaseStatus | null;
    if (!st && running && !opts.watch)
      throw new CliError(
        `no Fledge worker answered the status query of ${id} (task queue ${taskQueue}): is a worker running?`,
        exitCodes.infrastructure,
      );
    if (!opts.watch && st) {
      if (json) printJson({ workflowId: id, status: st });
      else console.log(formatStatus(id, st, link));
      return;
    }
    if (!running) {
      // Ended: the result is in history (no worker needed); --watch exits with the outcome's code.
      const result = await followRelease(client, id, { timeoutMs: 10_000 });
      if (json) printJson({ workflowId: id, status: st, result }, opts.watch ? 0 : 2);
      else
        console.log(
          `${st ? formatStatus(id, st, link) : `${id}  (ended; no worker answered the status query)`}\n${describeResult(result, out())}`,
        );
      if (opts.watch) process.exitCode = outcomeExitCode(result.outcome);
      return;
    }
    const mode = progressMode(json);
    const printer = progressPrinter(mode, {
      frame: (s) => formatStatus(id, s, link),
      line: (s) => progressLine(sanitizeDeep(s)),
    });
    if (mode === 'lines') console.log(`watching ${id}  (${link})`);
    if (st) printer.onStatus(st);
    let result: ReleaseResult;
    try {
      result = await followRelease(client, id, {
        timeoutMs,
        onStatus: printer.onStatus,
      });
      const final = (await boundedQuery(
        client,
        () => handle.query(statusQuery),
        5000,
      )) as ReleaseStatus | null;
      if (final) printer.onStatus(final);
    } finally {
      printer.stop();
    }
    if (json) printJson({ workflowId: id, result }, 0);
    else console.log(describeResult(result, out()));
    process.exitCode = outcomeExitCode(result.outcome);
  } finally {
    await client.connection.close();
  }
}

/**
 * `--id-token`, else `$FLEDGE_ID_TOKEN`: an OIDC ID token the worker verifies (verified approvers). Only its shape is
 * checked here; never printed.
 */
export function parseIdToken(
  value: string | undefined,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const token = (value ?? env.FLEDGE_ID_TOKEN)?.trim();
  if (token === undefined || token === '') return undefined;
  const shape = checkIdentityTokenShape(token);
  if (!shape.ok)
    throw new CliError(
      `${value !== undefined ? '--id-token' : 'FLEDGE_ID_TOKEN'}: ${shape.reason}`,
      exitCodes.invalidInput,
    );
  return token;
}

/** Operator actions that override the analysis need a recorded reason; the others may carry one. */
const reasonRequired: ReadonlySet<OperatorActionName> = new Set(['abort', 'promote']);

export function registerOperatorCommands(program: Command): void {
  program
    .command('status')
    .description(
      'show a release: phase, step, weights, failed checks, metrics vs thresholds, pending gate, who did what',
    )
    .argument('<release>', 'release ID (fledge/...) or target <namespace>/<name>')
    .option(
      '-w, --watch',
      'follow it until it ends (redrawn in place on a terminal, one line per change otherwise, JSON lines with -o json); exit code per outcome',
    )
    .option('--timeout <seconds>', 'with --watch: give up after this long (exit 7; at most 604800)', '3600')
    .addOption(outputOption())
    .action(showStatus);

  const help: Record<OperatorActionName, string> = {
    approve: 'open the pending gate (confirm-rollout, confirm-traffic-increase or confirm-promotion)',
    pause: 'freeze the release at its current weights (no advance, no failed-check counting)',
    resume: 'continue a paused release at once',
    promote: 'skip the remaining analysis and promote now',
    abort: 'roll back now: 100% primary, canary scaled to zero (outcome Aborted)',
  };
  for (const action of operatorActionNames) {
    const cmd = program
      .command(action)
      .description(help[action])
      .argument('<release>', 'release ID (fledge/...) or target <namespace>/<name>');
    if (reasonRequired.has(action))
      cmd.requiredOption('-r, --reason <text>', 'why (required: recorded in the audit log and the result)');
    else cmd.option('-r, --reason <text>', 'why (recorded in the audit log)');
    cmd.option('--actor <name>', 'who is acting (default $FLEDGE_ACTOR, git user.email, or <user>@<host>)');
    if (action === 'approve') cmd.option('--gate <gate>', 'which gate (default: the pending one)');
    cmd.option(
      '--id-token <jwt>',
      'an OIDC ID token proving who acts, verified by the worker (default $FLEDGE_ID_TOKEN); the verified identity replaces --actor',
    );
    cmd
      .addOption(outputOption())
      .action(
        async (
          ref: string,
          opts: { reason?: string; actor?: string; gate?: string; idToken?: string; output: string },
        ) => sendAction(action, ref, opts),
      );
  }
}

/** A visibility query over Fledge's search attributes. */
export function listQuery(opts: {
  namespace?: string;
  target?: string;
  phase?: string;
  outcome?: string;
  running?: boolean;
}): string {
  const parts = [`WorkflowType = 'releaseWorkflow'`];
  if (opts.namespace) parts.push(`FledgeNamespace = ${quote(opts.namespace)}`);
  if (opts.target)
    parts.push(
      `FledgeTarget = ${quote(opts.target.includes('/') ? opts.target : `${opts.namespace ?? 'default'}/${opts.target}`)}`,
    );
  if (opts.phase) parts.push(`FledgePhase = ${quote(opts.phase)}`);
  if (opts.outcome) parts.push(`FledgeOutcome = ${quote(opts.outcome)}`);
  if (opts.running) parts.push(`ExecutionStatus = 'Running'`);
  return parts.join(' AND ');
}

export function registerListCommand(program: Command): void {
  program
    .command('list')
    .description(
      'running and recent releases (every run, retries included), newest first, by search attributes',
    )
    .option('-n, --namespace <ns>', 'Kubernetes namespace of the target')
    .option('-t, --target <ns/name>', 'target Deployment (namespace/name): the releases of one target')
    .option('--phase <phase>', 'Flagger phase, e.g. Progressing, WaitingPromotion')
    .option('--outcome <outcome>', 'Promoted, RolledBack, Aborted, Superseded or Failed')
    .option('--running', 'only releases still in progress')
    .option('--limit <n>', 'at most this many', '20')
    .addOption(outputOption())
    .action(
      async (opts: {
        namespace?: string;
        target?: string;
        phase?: string;
        outcome?: string;
        running?: boolean;
        limit: string;
        output: string;
      }) => {
        // Every option is checked before anything connects.
        const filters = parseListOptions(opts);
        const limit = filters.limit;
        const cfg = cliConfig();
        const client = await connectCli(cfg);
        try {
          const rows: Array<Record<string, string | number | null>> = [];
          for await (const wf of client.workflow.list({ query: listQuery(filters) })) {
            const sa = wf.typedSearchAttributes;
            const get = (name: string): string | number | null => {
              const pair = sa.getAll().find((p) => p.key.name === name);
              return pair ? (pair.value as string | number) : null;
            };
            rows.push({
              workflowId: wf.workflowId,
              runId: wf.runId,
              status: wf.status.name,
              target: get('FledgeTarget'),
              tag: get('FledgeImageTag'),
              phase: get('FledgePhase'),
              weight: get('FledgeWeight'),
              outcome: get('FledgeOutcome'),
              initiator: get('FledgeInitiator'),
              started: wf.startTime.toISOString(),
            });
            if (rows.length >= limit) break;
          }
          if (isJson(opts.output)) {
            printJson(rows);
            return;
          }
          if (rows.length === 0) {
            console.log('no releases match');
            return;
          }
          const p = out();
          console.log(
            table(
              [
                { header: 'TARGET' },
                { header: 'TAG' },
                { header: 'PHASE' },
                { header: 'WEIGHT', align: 'right' },
                { header: 'OUTCOME' },
                { header: 'INITIATOR' },
                { header: 'STARTED' },
              ],
              sanitizeDeep(rows, 120).map((r) => [
                String(r.target ?? '-'),
                String(r.tag ?? '-'),
                r.phase ? phaseColour(String(r.phase), p) : '-',
                String(r.weight ?? '-'),
                r.outcome
                  ? outcomeColour(String(r.outcome), p)
                  : r.status === 'RUNNING'
                    ? p.cyan('running')
                    : r.status
                      ? p.red(String(r.status).toLowerCase())
                      : '-',
                String(r.initiator ?? '-'),
                String(r.started),
              ]),
              p,
            ),
          );
        } finally {
          await client.connection.close();
        }
      },
    );
}
