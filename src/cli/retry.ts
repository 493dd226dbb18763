// `fledge retry`: re-run a release that ended without promoting (rolled back, aborted, failed) with the same spec
// and images, read from the ended run's workflow input, as a new run submitted through the target's lane exactly
// as `fledge start --retry` does.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ReleaseResult } from '../domain/result.js';
import { InvalidReleaseInput, submitRelease, type Submitted } from '../starter.js';
import { laneStatusQuery, laneWorkflowId } from '../workflows/lane.js';
import type { ReleaseInput } from '../workflows/prepare.js';
import { connectCli } from './connect.js';
import { CliError, exitCodes } from './errors.js';
import { boundedQuery, defaultActor, resolveRelease } from './operate.js';
import { cliConfig, parseActor, parseReason, parseReleaseRef, parseTimeout, specLimits } from './options.js';
import { isJson, out, outputOption, printJson, safe } from './output.js';
import { waitForOutcome } from './start.js';

/** Outcomes a retry is for; Promoted and Superseded need --force (see README). */
const retryable: ReadonlySet<string> = new Set(['RolledBack', 'Aborted', 'Failed']);

export interface EndedRun {
  workflowId: string;
  runId: string;
  /** The outcome, or the workflow status when the run ended without a result (failed, terminated, ...). */
  ended: string;
  input: ReleaseInput;
  target: { namespace: string; name: string };
}

/** The latest run of a release, which must have ended; its input without continue-as-new state. */
export async function endedRun(client: Client, workflowId: string): Promise<EndedRun> {
  const handle = client.workflow.getHandle(workflowId);
  let desc;
  try {
    desc = await handle.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError)
      throw new CliError(`release ${workflowId} not found`, exitCodes.notFound);
    throw e;
  }
  if (desc.status.name === 'RUNNING')
    throw new CliError(
      `retry rejected: release ${workflowId} is still running; wait for its outcome (fledge status --watch) or abort it first`,
      exitCodes.rejected,
    );
  const history = await client.workflow.getHandle(workflowId, desc.runId).fetchHistory();
  const events = history.events ?? [];
  const startedPayload = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] ?? null;
  const raw = startedPayload ? defaultPayloadConverter.fromPayload<ReleaseInput>(startedPayload) : undefined;
  if (!raw || !Array.isArray(raw.documents) || typeof raw.images !== 'object')
    throw new CliError(
      `retry rejected: release ${workflowId} has no Fledge release input to re-run`,
      exitCodes.rejected,
    );
  let ended = desc.status.name.toLowerCase();
  if (desc.status.name === 'COMPLETED') {
    const last = events[events.length - 1]?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    const r = last ? defaultPayloadConverter.fromPayload<ReleaseResult>(last) : undefined;
    if (r?.outcome) ended = r.outcome;
  }
  const canary = raw.documents.find(
    (d): d is { metadata: { name: string; namespace?: string } } =>
      typeof d === 'object' && d !== null && (d as { kind?: unknown }).kind === 'Canary',
  );
  const [, ns, name] = workflowId.split('/');
  return {
    workflowId,
    runId: desc.runId,
    ended,
    input: { documents: raw.documents, images: raw.images, initiator: raw.initiator },
    target: {
      namespace: canary?.metadata.namespace ?? ns ?? 'default',
      name: canary?.metadata.name ?? name ?? '',
    },
  };
}

export function registerRetryCommand(program: Command): void {
  program
    .command('retry')
    .description(
      're-run a release that was rolled back, aborted or failed: same spec and images, a new run through the lane',
    )
    .argument('<release>', 'release ID (fledge/...) or target <namespace>/<name> (its latest release)')
    .option('--wait', 'wait for the outcome, printing progress; exit code tells the outcome')
    .option(
      '--timeout <seconds>',
      'with --wait: give up waiting after this long (exit 7; at most 604800)',
      '3600',
    )
    .option(
      '--actor <name>',
      "who retries: the new run's initiator (default $FLEDGE_ACTOR, git user.email, or <user>@<host>)",
    )
    .option('-r, --reason <text>', "why (shown in the new run's Web UI summary and details)")
    .option(
      '--force',
      'also re-run a release that was promoted or superseded, or while another release of the target runs',
    )
    .addOption(outputOption())
    .action(
      async (
        ref: string,
        opts: {
          wait?: boolean;
          timeout: string;
          actor?: string;
          reason?: string;
          force?: boolean;
          output: string;
        },
      ) => {
        // Every argument and option is checked before anything connects.
        parseReleaseRef(ref);
        const timeoutMs = parseTimeout(opts.timeout);
        const actor =
          opts.actor !== undefined
            ? parseActor(opts.actor)
            : parseActor(
                defaultActor(),
                'the default actor ($FLEDGE_ACTOR, git user.email or <user>@<host>)',
              );
        const reason = parseReason(opts.reason);
        const limits = specLimits(undefined);
        const cfg = cliConfig();
        const client = await connectCli(cfg);
        try {
          const id = await resolveRelease(client, ref);
          const prev = await endedRun(client, id);
          if (!retryable.has(prev.ended) && !opts.force) {
            const why =
              prev.ended === 'Promoted'
                ? 'it was promoted: the primary already runs this version'
                : prev.ended === 'Superseded'
                  ? 'it was superseded by a newer release; re-running it would take the target back'
                  : `it ended ${prev.ended}`;
            throw new CliError(
              `retry rejected: release ${id} is not retried because ${why} (--force re-runs it anyway)`,
              exitCodes.rejected,
            );
          }
          if (!opts.force) {
            const lane = await boundedQuery(
              client,
              () =>
                client.workflow
                  .getHandle(laneWorkflowId(prev.target.namespace, prev.target.name))
                  .query(laneStatusQuery),
              5000,
            ).catch(() => null);
            const busy = lane?.current ?? lane?.queue[0];
            if (busy && busy !== id)
              throw new CliError(
                `retry rejected: ${busy} is in progress on ${prev.target.namespace}/${prev.target.name}; a retry would supersede or queue behind it (--force to do so anyway)`,
                exitCodes.rejected,
              );
          }
          let sub: Submitted;
          try {
            sub = await submitRelease(client, cfg, {
              // JSON documents back to YAML: the same validation path as `fledge start`.
              yaml: prev.input.documents.map((d) => stringify(d)).join('---\n'),
              fileName: `${id} (run ${prev.runId})`,
              images: prev.input.images,
              initiator: actor,
              retry: true,
              retryOf: { runId: prev.runId, ended: prev.ended, actor, reason },
              limits,
            });
          } catch (e) {
            if (e instanceof InvalidReleaseInput)
              throw new CliError(
                `retry rejected: the release's spec no longer validates, nothing was started:\n${e.message}`,
                exitCodes.invalidInput,
              );
            throw e;
          }
          const newRun = await client.workflow
            .getHandle(id)
            .describe()
            .then((d) => (d.runId !== prev.runId ? d.runId : null))
            .catch(() => null);
          const json = isJson(opts.output);
          const retryOf = { workflowId: id, runId: prev.runId, ended: prev.ended };
          if (!json) {
            const p = out();
            console.log(
              `retry of ${id}: run ${prev.runId} ended ${p.red(safe(prev.ended))}; re-running the same spec and images (${Object.entries(
                prev.input.images,
              )
                .map(([c, r]) => safe(`${c}=${r}`))
                .join(', ')}) as ${safe(actor)}${reason ? `: "${safe(reason)}"` : ''}`,
            );
            console.log(
              `release ${sub.workflowId} (${sub.disposition}${sub.supersedes ? `, superseding ${sub.supersedes}` : ''})${newRun ? `, new run ${newRun}` : ''}`,
            );
            console.log(`web ui  ${sub.link}`);
          }
          if (!opts.wait) {
            if (json) printJson({ ...sub, runId: newRun, retryOf });
            return;
          }
          const result = await waitForOutcome(client, id, {
            timeoutMs,
            json,
            afterRunId: prev.runId,
          });
          if (json) printJson({ ...sub, runId: newRun, retryOf, result });
        } finally {
          await client.connection.close();
        }
      },
    );
}
