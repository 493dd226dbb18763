// `fledge start` (CI's entry: validate, submit to the target's lane, optionally wait with live progress and exit
// with a code per outcome) and `fledge validate`.
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import { formatSpecErrors, parseImageArgs } from '../domain/manifest/index.js';
import { checkReleasePolicy, defaultReleasePolicy, formatPolicyViolations } from '../policy.js';
import {
  checkRelease,
  InvalidReleaseInput,
  releaseInputFor,
  submitRelease,
  type CheckedRelease,
} from '../starter.js';
import { connectCli } from './connect.js';
import { CliError, exitCodes } from './errors.js';
import { defaultActor } from './actor.js';
import { cliConfig, parseActor, parseTimeout, readSpecFile, specLimits } from './options.js';
import { isJson, out, outputOption, painter, printJson, safe, sanitizeDeep, type Painter } from './output.js';
import { followRelease, outcomeColour, outcomeExitCode, progressLine } from './watch.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

const maxSpecBytesHelp =
  'refuse a spec larger than this (default 1048576 = 1 MiB, or $FLEDGE_MAX_SPEC_BYTES; at most 16 MiB)';

/**
 * Reads and validates a release input exactly as `validate` and `start` both do (`checkRelease`), before anything
 * connects; invalid input is a CliError (exit 5).
 */
function checkedInput(opts: {
  file: string;
  image: string[];
  maxSpecBytes?: string;
  requireImages: boolean;
  context: string;
}): { yaml: string; images: Record<string, string>; checked: CheckedRelease } {
  const limits = specLimits(opts.maxSpecBytes);
  if (opts.requireImages && opts.image.length === 0)
    throw new CliError('at least one --image <container>=<ref> is required', exitCodes.invalidInput);
  const images = opts.image.length > 0 ? parseImageArgs(opts.image) : { ok: true as const, value: {} };
  if (!images.ok)
    throw new CliError(`${opts.context}${formatSpecErrors(images.errors)}`, exitCodes.invalidInput);
  const yaml = readSpecFile(opts.file, limits.maxBytes);
  try {
    const checked = checkRelease({
      yaml,
      fileName: opts.file,
      images: images.value,
      limits,
      requireImages: opts.requireImages,
    });
    return { yaml, images: images.value, checked };
  } catch (e) {
    if (e instanceof InvalidReleaseInput)
      throw new CliError(`${opts.context}${e.message}`, exitCodes.invalidInput);
    throw e;
  }
}

export { outcomeExitCode } from './watch.js';

/** The typed result in a few lines. Colourless unless a painter is given (the demo prints it too). */
export function describeResult(result: ReleaseResult, p: Painter = painter(false)): string {
  // Reasons, actors and check messages may echo input: escaped and bounded.
  const r = sanitizeDeep(result);
  const lines = [`${outcomeColour(r.outcome, p)}: ${r.reason.message}`];
  if (r.failingCheck) {
    const fc = r.failingCheck;
    const range = fc.thresholdRange
      ? ` (threshold ${fc.thresholdRange.min !== undefined ? `min ${fc.thresholdRange.min}` : ''}${fc.thresholdRange.min !== undefined && fc.thresholdRange.max !== undefined ? ', ' : ''}${fc.thresholdRange.max !== undefined ? `max ${fc.thresholdRange.max}` : ''})`
      : '';
    lines.push(
      `  failing check  ${fc.kind} ${fc.name}${fc.value !== undefined && fc.value !== null ? ` = ${fc.value}` : ''}${range}: ${fc.message}`,
    );
  }
  lines.push(`  failed checks  ${r.failedChecks}/${r.threshold}`);
  lines.push(
    `  duration       ${(r.durationMs / 1000).toFixed(1)} s (${Object.entries(r.phaseDurationsMs)
      .map(([p, ms]) => `${p} ${((ms ?? 0) / 1000).toFixed(1)} s`)
      .join(', ')})`,
  );
  for (const a of r.approvals)
    lines.push(`  approval       ${a.gate} by ${a.by} (${a.via})${a.reason ? `: ${a.reason}` : ''}`);
  for (const a of r.operatorActions ?? [])
    lines.push(
      `  operator       ${a.action}${a.gate ? ` ${a.gate}` : ''} by ${a.actor}${a.reason ? `: "${a.reason}"` : ''} — ${a.accepted ? 'accepted' : `rejected: ${a.rejectionReason ?? 'no reason recorded'}`}`,
    );
  return lines.join('\n');
}

export function registerStartCommands(program: Command): void {
  program
    .command('start')
    .description('validate a Canary spec and start (or attach to) the release of a new image')
    .requiredOption('-f, --file <canary.yaml>', 'Flagger Canary (+ MetricTemplate/AlertProvider documents)')
    .option('--image <container=ref>', 'new image per container (repeatable)', collect, [])
    .option('--wait', 'wait for the outcome, printing progress; exit code tells the outcome')
    .option(
      '--timeout <seconds>',
      'with --wait: give up waiting after this long (exit 7; at most 604800)',
      '3600',
    )
    .option('--retry', 'start a new run even if this release already ran (see also `fledge retry`)')
    .option(
      '--initiator <who>',
      'who starts the release (default $FLEDGE_ACTOR, git user.email, or <user>@<host>)',
    )
    .option('--max-spec-bytes <bytes>', maxSpecBytesHelp)
    .addOption(outputOption())
    .action(
      async (opts: {
        file: string;
        image: string[];
        wait?: boolean;
        timeout: string;
        retry?: boolean;
        initiator?: string;
        maxSpecBytes?: string;
        output: string;
      }) => {
        // Every input is checked before anything connects or is submitted: options, images, the spec.
        const timeoutMs = parseTimeout(opts.timeout);
        const initiator =
          opts.initiator !== undefined
            ? parseActor(opts.initiator, '--initiator')
            : parseActor(
                defaultActor(),
                'the default initiator ($FLEDGE_ACTOR, git user.email or <user>@<host>)',
              );
        const input = checkedInput({
          ...opts,
          requireImages: true,
          context: 'invalid input, nothing was started:\n',
        });
        const cfg = cliConfig();
        // The release policy (allow-lists, src/policy.ts) judges input too: refused before connecting (submitRelease
        // checks again).
        const violations = checkReleasePolicy(cfg.policy ?? defaultReleasePolicy, {
          namespace: input.checked.compiled.plan.target.namespace,
          images: input.images,
        });
        if (violations.length > 0)
          throw new CliError(
            `invalid input, nothing was started:\n${formatPolicyViolations(violations)}`,
            exitCodes.invalidInput,
          );
        const client = await connectCli(cfg);
        try {
          let sub;
          try {
            sub = await submitRelease(client, cfg, {
              yaml: input.yaml,
              fileName: opts.file,
              images: input.images,
              initiator,
              checked: input.checked,
              ...(opts.retry ? { retry: true } : {}),
            });
          } catch (e) {
            if (e instanceof InvalidReleaseInput)
              throw new CliError(`invalid input, nothing was started:\n${e.message}`, exitCodes.invalidInput);
            throw e;
          }
          const json = isJson(opts.output);
          if (!json) {
            console.log(
              `release ${sub.workflowId} (${sub.disposition}${sub.supersedes ? `, superseding ${sub.supersedes}` : ''})`,
            );
            console.log(`web ui  ${sub.link}`);
          }
          if (!opts.wait) {
            if (json) printJson(sub);
            return;
          }
          const result = await waitForOutcome(client, sub.workflowId, { timeoutMs, json });
          if (json) printJson({ ...sub, result });
        } finally {
          await client.connection.close();
        }
      },
    );

  program
    .command('validate')
    .description('validate a Canary spec (all problems at once, with line numbers) and show the release plan')
    .requiredOption('-f, --file <canary.yaml>', 'Flagger Canary (+ MetricTemplate/AlertProvider documents)')
    .option('--image <container=ref>', 'new image per container (repeatable)', collect, [])
    .option('--max-spec-bytes <bytes>', maxSpecBytesHelp)
    .option(
      '--workflow-input',
      'print the release workflow input (the compiled release, JSON) for `temporal workflow start` or the Web UI; needs --image',
    )
    .option('--initiator <who>', 'with --workflow-input: who starts the release (default as for start)')
    .addOption(outputOption())
    .action(
      (opts: {
        file: string;
        image: string[];
        maxSpecBytes?: string;
        output: string;
        workflowInput?: boolean;
        initiator?: string;
      }) => {
        if (opts.workflowInput) {
          // The input `fledge start` would submit (releaseInputFor): what the workflow runs, validated and compiled.
          const initiator =
            opts.initiator !== undefined
              ? parseActor(opts.initiator, '--initiator')
              : parseActor(
                  defaultActor(),
                  'the default initiator ($FLEDGE_ACTOR, git user.email or <user>@<host>)',
                );
          const input = checkedInput({ ...opts, requireImages: true, context: '' });
          printJson(releaseInputFor(input.checked, input.images, initiator));
          return;
        }
        // Images are optional here: the spec alone can be validated. Same checks as `start` (checkRelease).
        const { compiled } = checkedInput({ ...opts, requireImages: false, context: '' }).checked;
        if (isJson(opts.output)) {
          printJson(compiled);
          return;
        }
        const p = out();
        const plan = compiled.plan;
        const steps =
          plan.strategy.kind === 'canary'
            ? `weights ${plan.strategy.weights.join(', ')}`
            : `${plan.strategy.iterations} iterations`;
        console.log(`${safe(opts.file)}: ${p.green('valid')}`);
        console.log(`  target     ${plan.target.namespace}/${plan.target.name} via ${plan.provider}`);
        console.log(
          `  strategy   ${plan.strategy.kind}: ${steps}; interval ${plan.interval}; threshold ${plan.threshold}`,
        );
        console.log(`  metrics    ${plan.metrics.map((m) => safe(m.name, 100)).join(', ') || 'none'}`);
        console.log(
          `  webhooks   ${plan.hooks.map((h) => `${safe(h.name, 100)} (${h.type})`).join(', ') || 'none'}`,
        );
      },
    );
}

/**
 * `--wait`: progress lines until the release ends (none with -o json), then the result in words; the exit code
 * tells the outcome. Returns the result (for -o json output).
 */
export async function waitForOutcome(
  client: Client,
  workflowId: string,
  opts: { timeoutMs: number; json: boolean; afterRunId?: string },
): Promise<ReleaseResult> {
  const p = out();
  let last = '';
  const print = (st: ReleaseStatus): void => {
    const line = progressLine(sanitizeDeep(st), p);
    if (line !== last) console.log(line);
    last = line;
  };
  const result = await followRelease(client, workflowId, {
    timeoutMs: opts.timeoutMs,
    waitForStart: true,
    ...(opts.afterRunId ? { afterRunId: opts.afterRunId } : {}),
    ...(opts.json ? {} : { onStatus: print }),
  });
  if (!opts.json) console.log(describeResult(result, p));
  process.exitCode = outcomeExitCode(result.outcome);
  return result;
}
