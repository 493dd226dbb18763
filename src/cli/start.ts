// `fledge start` (CI's entry: validate, submit to the target's lane, optionally wait with live progress and exit
// with a code per outcome) and `fledge validate`.
import { Option, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import { formatSpecErrors, parseImageArgs } from '../domain/manifest/index.js';
import { checkReleasePolicy, defaultReleasePolicy, formatPolicyViolations } from '../policy.js';
import {
  checkReleaseResolving,
  InvalidReleaseInput,
  releaseInputFor,
  submitRelease,
  type CheckedRelease,
  type ClusterLookup,
} from '../starter.js';
import { hasKubeAccess, loadFledgeConfig } from '../config.js';
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
 * How the CLI reads referenced MetricTemplates/AlertProviders the file lacks: through the Kubernetes access kubectl
 * would use ($KUBECONFIG, the dev stack's, the pod's service account, ~/.kube/config); none with `--no-cluster`.
 */
export function cliClusterLookup(useCluster: boolean): ClusterLookup {
  return () => {
    if (!useCluster) return { unavailable: '--no-cluster' };
    let kubeconfig = process.env.KUBECONFIG;
    try {
      kubeconfig = loadFledgeConfig().kubeconfig ?? kubeconfig;
    } catch {
      // An incomplete client configuration does not matter here: only Kubernetes access does.
    }
    if (!kubeconfig && !hasKubeAccess(process.env))
      return { unavailable: 'no Kubernetes access: no $KUBECONFIG, service account or ~/.kube/config' };
    // The Kubernetes client (a large module) loads only when a spec refers to objects it lacks: every other
    // `start`/`validate` stays light. A configuration that does not load makes each read fail with the reason.
    return async (refs) => {
      const [{ loadKubeConfig }, { createFlaggerRefLookup }] = await Promise.all([
        import('../integrations/kubernetes/client.js'),
        import('../integrations/kubernetes/flagger-refs.js'),
      ]);
      let kc: ReturnType<typeof loadKubeConfig>;
      try {
        kc = loadKubeConfig(kubeconfig);
      } catch (e) {
        const reason = `the Kubernetes configuration does not load: ${e instanceof Error ? e.message : String(e)}`;
        return refs.map((ref) => ({ ...ref, outcome: 'error' as const, reason }));
      }
      return createFlaggerRefLookup(kc)(refs);
    };
  };
}

/** `--provider` wins over FLEDGE_DEFAULT_PROVIDER (checkRelease reads the environment when it is not given). */
export function providerOptions(provider: string | undefined): {
  defaultProvider?: string;
  defaultProviderSource?: string;
} {
  return provider !== undefined ? { defaultProvider: provider, defaultProviderSource: '--provider' } : {};
}

/**
 * The notices of a checked input for `-o json` (validate, start): each with the file, its path, line and column
 * when known, and the message — what the text output prints as `note:` lines.
 */
export function jsonNotices(
  checked: Pick<CheckedRelease, 'notices'>,
  file: string,
): Array<{ file: string; path: string; line?: number; column?: number; message: string }> {
  return (checked.notices ?? []).map((n) => ({
    file,
    path: n.path,
    ...(n.line !== undefined ? { line: n.line, column: n.column ?? 1 } : {}),
    message: n.message,
  }));
}

/** `start -o json`: the submission, the input's notices and, with `--wait`, the result. */
export function startJson<S extends object>(
  sub: S,
  checked: Pick<CheckedRelease, 'notices'>,
  file: string,
  result?: ReleaseResult,
): S & { notices: ReturnType<typeof jsonNotices>; result?: ReleaseResult } {
  return { ...sub, notices: jsonNotices(checked, file), ...(result ? { result } : {}) };
}

/** The front step's notices on stderr (`note: file:line:col path: message`). */
export function printNotices(checked: Pick<CheckedRelease, 'notices'>, file: string): void {
  if (!checked.notices?.length) return;
  for (const line of formatSpecErrors(checked.notices, file).split('\n')) console.error(`note: ${line}`);
}

/**
 * Reads and validates a release input exactly as `validate` and `start` both do (`checkReleaseResolving`), before
 * anything connects to Temporal; invalid input is a CliError (exit 5).
 */
async function checkedInput(opts: {
  file: string;
  image: string[];
  maxSpecBytes?: string;
  requireImages: boolean;
  context: string;
  provider?: string;
  cluster?: boolean;
}): Promise<{ yaml: string; images: Record<string, string>; checked: CheckedRelease }> {
  const limits = specLimits(opts.maxSpecBytes);
  if (opts.requireImages && opts.image.length === 0)
    throw new CliError('at least one --image <container>=<ref> is required', exitCodes.invalidInput);
  const images = opts.image.length > 0 ? parseImageArgs(opts.image) : { ok: true as const, value: {} };
  if (!images.ok)
    throw new CliError(`${opts.context}${formatSpecErrors(images.errors)}`, exitCodes.invalidInput);
  const yaml = readSpecFile(opts.file, limits.maxBytes);
  try {
    const checked = await checkReleaseResolving({
      yaml,
      fileName: opts.file,
      images: images.value,
      limits,
      requireImages: opts.requireImages,
      ...providerOptions(opts.provider),
      lookup: cliClusterLookup(opts.cluster !== false),
    });
    printNotices(checked, opts.file);
    return { yaml, images: images.value, checked };
  } catch (e) {
    if (e instanceof InvalidReleaseInput) {
      // The notes first (e.g. the provider the front step inferred), then the errors.
      printNotices(e, opts.file);
      throw new CliError(`${opts.context}${e.message}`, exitCodes.invalidInput);
    }
    throw e;
  }
}

const providerHelp =
  "router of a Canary without spec.provider, like Flagger's -mesh-provider (default $FLEDGE_DEFAULT_PROVIDER; without either: gatewayapi:v1 when it has gatewayRefs, else istio)";
const noClusterHelp =
  'do not read referenced MetricTemplates/AlertProviders missing from the file from the cluster';

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
    // Required unless --batch (checked in the action, with commander's own message).
    .option('-f, --file <canary.yaml>', 'Flagger Canary (+ MetricTemplate/AlertProvider documents)')
    .option('--image <container=ref>', 'new image per container (repeatable)', collect, [])
    .addOption(
      new Option(
        '--batch <file>',
        'start many releases in one call: a YAML/JSON list of {file: <canary.yaml>, images: {<container>: <ref>}} (files relative to it); all validated first, submitted concurrently over one connection, one line per release',
      ).conflicts(['file', 'image']),
    )
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
    .option('--provider <name>', providerHelp)
    .option('--no-cluster', noClusterHelp)
    .addOption(outputOption())
    .action(
      async (
        opts: {
          file?: string;
          image: string[];
          batch?: string;
          wait?: boolean;
          timeout: string;
          retry?: boolean;
          initiator?: string;
          maxSpecBytes?: string;
          output: string;
          provider?: string;
          cluster?: boolean;
        },
        cmd: Command,
      ) => {
        if (opts.file === undefined && opts.batch === undefined)
          cmd.error("error: required option '-f, --file <canary.yaml>' not specified");
        // Every input is checked before anything connects or is submitted: options, images, the spec.
        const timeoutMs = parseTimeout(opts.timeout);
        const initiator =
          opts.initiator !== undefined
            ? parseActor(opts.initiator, '--initiator')
            : parseActor(
                defaultActor(),
                'the default initiator ($FLEDGE_ACTOR, git user.email or <user>@<host>)',
              );
        if (opts.batch !== undefined) {
          // Many releases, one connection (src/cli/batch.ts); every entry checked before connecting.
          const { checkBatch, runBatch } = await import('./batch.js');
          const cfg = cliConfig();
          const entries = await checkBatch(opts.batch, specLimits(opts.maxSpecBytes), cfg, {
            ...providerOptions(opts.provider),
            lookup: cliClusterLookup(opts.cluster !== false),
          });
          const client = await connectCli(cfg);
          try {
            process.exitCode = await runBatch(client, cfg, entries, {
              initiator,
              retry: opts.retry === true,
              wait: opts.wait === true,
              timeoutMs,
              json: isJson(opts.output),
            });
          } finally {
            await client.connection.close();
          }
          return;
        }
        const file = opts.file ?? '';
        const input = await checkedInput({
          ...opts,
          file,
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
              fileName: file,
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
            if (json) printJson(startJson(sub, input.checked, file));
            return;
          }
          const result = await waitForOutcome(client, sub.workflowId, { timeoutMs, json });
          if (json) printJson(startJson(sub, input.checked, file, result));
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
    .option('--provider <name>', providerHelp)
    .option('--no-cluster', noClusterHelp)
    .addOption(outputOption())
    .action(
      async (opts: {
        file: string;
        image: string[];
        maxSpecBytes?: string;
        output: string;
        workflowInput?: boolean;
        initiator?: string;
        provider?: string;
        cluster?: boolean;
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
          const input = await checkedInput({ ...opts, requireImages: true, context: '' });
          printJson(releaseInputFor(input.checked, input.images, initiator));
          return;
        }
        // Images are optional here: the spec alone can be validated. Same checks as `start` (checkRelease).
        const { checked } = await checkedInput({ ...opts, requireImages: false, context: '' });
        const { compiled } = checked;
        if (isJson(opts.output)) {
          // The compiled release plus what the front step and the checks noted (also on stderr as `note:` lines).
          printJson({ ...compiled, notices: jsonNotices(checked, opts.file) });
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
