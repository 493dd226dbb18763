// `fledge start` (CI's entry: validate, submit to the target's lane, optionally wait with live progress and exit
// with a code per outcome) and `fledge validate`.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import { compileRelease, formatSpecErrors, parseCanaryYaml, parseImageArgs } from '../domain/spec/index.js';
import { loadFledgeConfig } from '../config.js';
import { connectClient, InvalidReleaseInput, releaseResult, submitRelease } from '../starter.js';
import { statusQuery } from '../workflows/messages.js';
import { CliError, exitCodes, type ExitCode } from './errors.js';
import { defaultActor } from './operate.js';

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

export function describeResult(r: ReleaseResult): string {
  const lines = [`${r.outcome}: ${r.reason.message}`];
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
    .option('--retry', 'start a new run even if this release already ran')
    .option('--initiator <who>', 'who starts the release (default $FLEDGE_ACTOR or <user>@cli)')
    .option('-o, --output <format>', 'text or json', 'text')
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
          const json = opts.output === 'json';
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
          const handle = client.workflow.getHandle(sub.workflowId);
          const deadline = Date.now() + Number(opts.timeout) * 1000;
          let lastLine = '';
          const poll = setInterval(() => {
            handle
              .query(statusQuery)
              .then((raw) => {
                const st = raw as ReleaseStatus;
                const line = `${st.phase.padEnd(16)} ${st.progressText.padEnd(22)} canary ${String(st.weights.canary).padStart(3)}%  checks ${st.failedChecks}/${st.threshold}  ${st.waitingFor}`;
                if (line !== lastLine && !json) console.log(line);
                lastLine = line;
              })
              .catch(() => undefined);
          }, 1000);
          try {
            const result = (await Promise.race([
              releaseResult(client, sub.workflowId),
              new Promise((_, reject) =>
                setTimeout(
                  () =>
                    reject(
                      new CliError(
                        `timed out after ${opts.timeout} s waiting for ${sub.workflowId}`,
                        exitCodes.timeout,
                      ),
                    ),
                  Math.max(0, deadline - Date.now()),
                ).unref(),
              ),
            ])) as ReleaseResult;
            if (json) console.log(JSON.stringify({ ...sub, result }, null, 2));
            else console.log(describeResult(result));
            process.exitCode = outcomeExitCode(result.outcome);
          } catch (e) {
            if (e instanceof WorkflowFailedError) {
              const cause = e.cause instanceof Error ? e.cause.message : e.message;
              const invalid = (e.cause as { type?: string } | undefined)?.type === 'InvalidSpec';
              throw new CliError(
                `release ${sub.workflowId} failed: ${cause}`,
                invalid ? exitCodes.invalidInput : exitCodes.infrastructure,
              );
            }
            throw e;
          } finally {
            clearInterval(poll);
          }
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
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: { file: string; image: string[]; output: string }) => {
      const parsed = parseCanaryYaml(readSpec(opts.file), opts.file);
      if (!parsed.ok) throw new CliError(formatSpecErrors(parsed.errors, opts.file), exitCodes.invalidInput);
      // Images are optional here: the spec alone can be validated.
      const images = opts.image.length > 0 ? parseImageArgs(opts.image) : { ok: true as const, value: {} };
      if (!images.ok) throw new CliError(formatSpecErrors(images.errors), exitCodes.invalidInput);
      const compiled = compileRelease(parsed.value, images.value);
      if (opts.output === 'json') {
        console.log(JSON.stringify(compiled, null, 2));
        return;
      }
      const p = compiled.plan;
      const steps =
        p.strategy.kind === 'canary'
          ? `weights ${p.strategy.weights.join(', ')}`
          : `${p.strategy.iterations} iterations`;
      console.log(`${opts.file}: valid`);
      console.log(`  target     ${p.target.namespace}/${p.target.name} via ${p.provider}`);
      console.log(
        `  strategy   ${p.strategy.kind}: ${steps}; interval ${p.interval}; threshold ${p.threshold}`,
      );
      console.log(`  metrics    ${p.metrics.map((m) => m.name).join(', ') || 'none'}`);
      console.log(`  webhooks   ${p.hooks.map((h) => `${h.name} (${h.type})`).join(', ') || 'none'}`);
    });
}
