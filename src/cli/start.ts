// `fledge start` (CI's entry: validate, submit to the target's lane, optionally wait with live progress and exit
// with a code per outcome) and `fledge validate`.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import { compileRelease, formatSpecErrors, parseCanaryYaml, parseImageArgs } from '../domain/spec/index.js';
import { loadFledgeConfig } from '../config.js';
import { connectClient, InvalidReleaseInput, submitRelease } from '../starter.js';
import { CliError, exitCodes } from './errors.js';
import { defaultActor } from './operate.js';
import { isJson, out, outputOption, painter, type Painter } from './output.js';
import { followRelease, outcomeColour, outcomeExitCode, progressLine } from './watch.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function readSpec(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`,
      exitCodes.invalidInput,
    );
  }
}

export { outcomeExitCode } from './watch.js';

/** The typed result in a few lines. Colourless unless a painter is given (the demo prints it too). */
export function describeResult(r: ReleaseResult, p: Painter = painter(false)): string {
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
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long (exit 7)', '3600')
    .option('--retry', 'start a new run even if this release already ran (see also `fledge retry`)')
    .option(
      '--initiator <who>',
      'who starts the release (default $FLEDGE_ACTOR, git user.email, or <user>@<host>)',
    )
    .addOption(outputOption())
    .action(
      async (opts: {
        file: string;
        image: string[];
        wait?: boolean;
        timeout: string;
        retry?: boolean;
        initiator?: string;
        output: string;
      }) => {
        const yaml = readSpec(opts.file);
        if (opts.image.length === 0)
          throw new CliError('at least one --image <container>=<ref> is required', exitCodes.invalidInput);
        const images = parseImageArgs(opts.image);
        if (!images.ok) throw new CliError(formatSpecErrors(images.errors), exitCodes.invalidInput);
        const cfg = loadFledgeConfig();
        const client = await connectClient(cfg);
        try {
          let sub;
          try {
            sub = await submitRelease(client, cfg, {
              yaml,
              fileName: opts.file,
              images: images.value,
              initiator: opts.initiator ?? defaultActor(),
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
            if (json) console.log(JSON.stringify(sub, null, 2));
            return;
          }
          const result = await waitForOutcome(client, sub.workflowId, {
            timeout: opts.timeout,
            json,
          });
          if (json) console.log(JSON.stringify({ ...sub, result }, null, 2));
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
    .addOption(outputOption())
    .action((opts: { file: string; image: string[]; output: string }) => {
      const parsed = parseCanaryYaml(readSpec(opts.file), opts.file);
      if (!parsed.ok) throw new CliError(formatSpecErrors(parsed.errors, opts.file), exitCodes.invalidInput);
      // Images are optional here: the spec alone can be validated.
      const images = opts.image.length > 0 ? parseImageArgs(opts.image) : { ok: true as const, value: {} };
      if (!images.ok) throw new CliError(formatSpecErrors(images.errors), exitCodes.invalidInput);
      const compiled = compileRelease(parsed.value, images.value);
      if (isJson(opts.output)) {
        console.log(JSON.stringify(compiled, null, 2));
        return;
      }
      const p = out();
      const plan = compiled.plan;
      const steps =
        plan.strategy.kind === 'canary'
          ? `weights ${plan.strategy.weights.join(', ')}`
          : `${plan.strategy.iterations} iterations`;
      console.log(`${opts.file}: ${p.green('valid')}`);
      console.log(`  target     ${plan.target.namespace}/${plan.target.name} via ${plan.provider}`);
      console.log(
        `  strategy   ${plan.strategy.kind}: ${steps}; interval ${plan.interval}; threshold ${plan.threshold}`,
      );
      console.log(`  metrics    ${plan.metrics.map((m) => m.name).join(', ') || 'none'}`);
      console.log(`  webhooks   ${plan.hooks.map((h) => `${h.name} (${h.type})`).join(', ') || 'none'}`);
    });
}

/**
 * `--wait`: progress lines until the release ends (none with -o json), then the result in words; the exit code
 * tells the outcome. Returns the result (for -o json output).
 */
export async function waitForOutcome(
  client: Client,
  workflowId: string,
  opts: { timeout: string; json: boolean; afterRunId?: string },
): Promise<ReleaseResult> {
  const p = out();
  let last = '';
  const print = (st: ReleaseStatus): void => {
    const line = progressLine(st, p);
    if (line !== last) console.log(line);
    last = line;
  };
  const result = await followRelease(client, workflowId, {
    timeoutMs: Number(opts.timeout) * 1000,
    waitForStart: true,
    ...(opts.afterRunId ? { afterRunId: opts.afterRunId } : {}),
    ...(opts.json ? {} : { onStatus: print }),
  });
  if (!opts.json) console.log(describeResult(result, p));
  process.exitCode = outcomeExitCode(result.outcome);
  return result;
}
