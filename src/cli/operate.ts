// Operator commands: status, approve, pause, resume, promote, abort, list, history.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { ReleaseStatus } from '../domain/status.js';
import { loadFledgeConfig } from '../config.js';
import { connectClient, webUiWorkflowUrl } from '../starter.js';
import { laneStatusQuery, laneWorkflowId } from '../workflows/lane.js';
import {
  operatorActionNames,
  statusQuery,
  type OperatorActionName,
  type OperatorRequest,
} from '../workflows/messages.js';
import { exitCodes, CliError } from './errors.js';

/** `<namespace>/<name>` (a target: its lane's current release) or a workflow ID (`fledge/...`). */
export async function resolveRelease(client: Client, ref: string): Promise<string> {
  if (ref.startsWith('fledge/')) return ref;
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(ref);
  if (!m?.[1] || !m[2])
    throw new CliError(
      `"${ref}" is neither a release ID (fledge/...) nor a target <namespace>/<name>`,
      exitCodes.invalidInput,
    );
  try {
    const lane = await client.workflow.getHandle(laneWorkflowId(m[1], m[2])).query(laneStatusQuery);
    const id = lane.current ?? lane.recent[lane.recent.length - 1]?.releaseId;
    if (!id) throw new CliError(`target ${ref} has no releases yet`, exitCodes.notFound);
    return id;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError)
      throw new CliError(`unknown target ${ref}: no release was ever started for it`, exitCodes.notFound);
    throw e;
  }
}

export function defaultActor(): string {
  return process.env.FLEDGE_ACTOR ?? `${userInfo().username}@cli`;
}

export function formatStatus(id: string, st: ReleaseStatus, link: string): string {
  const lines = [
    `${st.target}  ${st.phase}${st.paused ? ` (paused by ${st.paused.by}: ${st.paused.reason})` : ''}  ${st.progressText}`,
    `  release     ${id}`,
    `  traffic     primary ${st.weights.primary}%  canary ${st.weights.canary}%${st.weights.mirror !== null ? `  mirror ${st.weights.mirror}%` : ''}${st.weights.abMatch ? '  A/B match → canary' : ''}`,
    `  checks      ${st.failedChecks}/${st.threshold} failed`,
    `  waiting for ${st.waitingFor}`,
  ];
  for (const m of st.lastAnalysis?.metrics ?? []) lines.push(`  metric      ${m.text}`);
  if (st.pendingGate)
    lines.push(`  gate        ${st.pendingGate.gate} pending — ${st.pendingGate.howToApprove}`);
  if (st.outcome) lines.push(`  outcome     ${st.outcome}${st.reason ? ` — ${st.reason.message}` : ''}`);
  lines.push(`  web ui      ${link}`);
  return lines.join('\n');
}

async function sendAction(
  action: OperatorActionName,
  ref: string,
  opts: { reason?: string; actor?: string; gate?: string; output?: string },
): Promise<void> {
  const cfg = loadFledgeConfig();
  const client = await connectClient(cfg);
  try {
    const id = await resolveRelease(client, ref);
    const req: OperatorRequest = {
      actor: opts.actor ?? defaultActor(),
      reason: opts.reason ?? '',
      ...(opts.gate ? { gate: opts.gate } : {}),
    };
    let st: ReleaseStatus;
    try {
      const desc = await client.workflow.getHandle(id).describe();
      if (desc.status.name !== 'RUNNING') {
        throw new CliError(
          `${action} rejected: release ${id} has already ended (${desc.status.name.toLowerCase()})`,
          exitCodes.rejected,
        );
      }
      st = (await client.workflow.getHandle(id).executeUpdate(action, { args: [req] })) as ReleaseStatus;
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError) {
        throw new CliError(
          `${action} rejected: ${e.cause instanceof Error ? e.cause.message : e.message}`,
          exitCodes.rejected,
        );
      }
      if (e instanceof WorkflowNotFoundError)
        throw new CliError(`release ${id} not found`, exitCodes.notFound);
      throw e;
    }
    if (opts.output === 'json') console.log(JSON.stringify({ workflowId: id, status: st }, null, 2));
    else
      console.log(`${action} accepted (${req.actor}).\n${formatStatus(id, st, webUiWorkflowUrl(cfg, id))}`);
  } finally {
    await client.connection.close();
  }
}

export function registerOperatorCommands(program: Command): void {
  program
    .command('status')
    .description('show a release: phase, step, weights, failed checks, metrics vs thresholds, pending gate')
    .argument('<release>', 'release ID (fledge/...) or target <namespace>/<name>')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (ref: string, opts: { output: string }) => {
      const cfg = loadFledgeConfig();
      const client = await connectClient(cfg);
      try {
        const id = await resolveRelease(client, ref);
        const st = (await client.workflow.getHandle(id).query(statusQuery)) as ReleaseStatus;
        if (opts.output === 'json') console.log(JSON.stringify({ workflowId: id, status: st }, null, 2));
        else console.log(formatStatus(id, st, webUiWorkflowUrl(cfg, id)));
      } catch (e) {
        if (e instanceof WorkflowNotFoundError)
          throw new CliError(`release ${ref} not found`, exitCodes.notFound);
        throw e;
      } finally {
        await client.connection.close();
      }
    });

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
      .argument('<release>', 'release ID (fledge/...) or target <namespace>/<name>')
      .requiredOption('-r, --reason <text>', 'why (recorded in the audit log)')
      .option('--actor <name>', 'who is acting (default $FLEDGE_ACTOR or <user>@cli)')
      .option('-o, --output <format>', 'text or json', 'text');
    if (action === 'approve') cmd.option('--gate <gate>', 'which gate (default: the pending one)');
    cmd.action(async (ref: string, opts: { reason: string; actor?: string; gate?: string; output: string }) =>
      sendAction(action, ref, opts),
    );
  }
}

const quote = (v: string): string => `'${v.replace(/'/g, "\\'")}'`;

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
    .description('running and recent releases, newest first, filtered by search attributes')
    .option('-n, --namespace <ns>', 'Kubernetes namespace of the target')
    .option('-t, --target <ns/name>', 'target Deployment (namespace/name)')
    .option('--phase <phase>', 'Flagger phase, e.g. Progressing, WaitingPromotion')
    .option('--outcome <outcome>', 'Promoted, RolledBack, Aborted, Superseded or Failed')
    .option('--running', 'only releases still in progress')
    .option('--limit <n>', 'at most this many', '20')
    .option('-o, --output <format>', 'text or json', 'text')
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
        const cfg = loadFledgeConfig();
        const client = await connectClient(cfg);
        try {
          const rows: Array<Record<string, string | number | null>> = [];
          const limit = Math.max(1, Number(opts.limit) || 20);
          for await (const wf of client.workflow.list({ query: listQuery(opts) })) {
            const sa = wf.typedSearchAttributes;
            const get = (name: string): string | number | null => {
              const pair = sa.getAll().find((p) => p.key.name === name);
              return pair ? (pair.value as string | number) : null;
            };
            rows.push({
              workflowId: wf.workflowId,
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
          if (opts.output === 'json') {
            console.log(JSON.stringify(rows, null, 2));
            return;
          }
          if (rows.length === 0) {
            console.log('no releases match');
            return;
          }
          console.log(
            `${'TARGET'.padEnd(30)} ${'TAG'.padEnd(18)} ${'PHASE'.padEnd(17)} ${'WEIGHT'.padStart(6)}  ${'OUTCOME'.padEnd(11)} STARTED`,
          );
          for (const r of rows) {
            console.log(
              `${String(r.target ?? '-').padEnd(30)} ${String(r.tag ?? '-').padEnd(18)} ${String(r.phase ?? '-').padEnd(17)} ${String(r.weight ?? '-').padStart(6)}  ${String(r.outcome ?? (r.status === 'RUNNING' ? 'running' : '-')).padEnd(11)} ${r.started}`,
            );
          }
        } finally {
          await client.connection.close();
        }
      },
    );
}
