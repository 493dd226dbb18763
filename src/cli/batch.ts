// `fledge start --batch <file>`: many releases in one call. Every entry is read and validated exactly as `fledge
// start` does it (checkRelease, the release policy) before anything connects; then all are submitted concurrently
// over one Temporal connection, one line per release; `--wait` follows all of them and exits with one code.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import type { FledgeConfig } from '../config.js';
import type { YamlLimits } from '../domain/manifest/index.js';
import { yamlDocuments } from '../domain/manifest/yaml.js';
import { checkReleasePolicy, defaultReleasePolicy, formatPolicyViolations } from '../policy.js';
import {
  checkReleaseResolving,
  InvalidReleaseInput,
  submitRelease,
  type CheckedRelease,
  type ClusterLookup,
  type Submitted,
} from '../starter.js';
import { CliError, exitCodeFor, exitCodes, type ExitCode } from './errors.js';
import { readSpecFile } from './options.js';
import { out, printJson, safe, sanitizeDeep } from './output.js';
import { describeResult, printNotices } from './start.js';
import { followRelease, outcomeExitCode, progressLine } from './watch.js';

/** The most releases one batch may hold. */
export const maxBatchEntries = 1000;
/** Submissions in flight at once (each is a describe and an update-with-start on the one connection). */
const submitConcurrency = 32;

/** One entry of a batch file: a spec file (relative to the batch file) and its new images. */
export interface BatchEntry {
  file: string;
  images: Record<string, string>;
}

/**
 * Several outcomes → one exit code: the first of these that any release has, in this order, else 0 (every release
 * submitted; with --wait, every one promoted). A decision that needs a person (rolled back, aborted) comes before
 * "ask again" answers (infrastructure, timed out), superseded last. Documented in the README.
 */
export const batchExitPrecedence: readonly ExitCode[] = [
  exitCodes.failure,
  exitCodes.rolledBack,
  exitCodes.aborted,
  exitCodes.invalidInput,
  exitCodes.infrastructure,
  exitCodes.timeout,
  exitCodes.notFound,
  exitCodes.superseded,
];

/** The exit code of a batch whose releases ended with `codes`. */
export function batchExitCode(codes: readonly ExitCode[]): ExitCode {
  return batchExitPrecedence.find((c) => codes.includes(c)) ?? exitCodes.promoted;
}

/** Parses a batch file's text (YAML or JSON): a list of `{file, images}`. Every problem at once, with its path. */
export function parseBatch(
  text: string,
  limits: Partial<YamlLimits>,
): { ok: true; entries: BatchEntry[] } | { ok: false; errors: string[] } {
  const docs = yamlDocuments(text, limits);
  if (!docs.ok)
    return {
      ok: false,
      errors: docs.errors.map(
        (e) =>
          `${e.line !== undefined ? `${e.line}:${e.column ?? 1} ` : ''}${e.path ? `${e.path}: ` : ''}${e.message}`,
      ),
    };
  const list = docs.documents.length === 1 ? docs.documents[0] : undefined;
  if (!Array.isArray(list) || list.length === 0)
    return { ok: false, errors: ['expected one list of {file, images} entries (YAML or JSON), not empty'] };
  if (list.length > maxBatchEntries)
    return { ok: false, errors: [`${list.length} entries; at most ${maxBatchEntries} in one batch`] };
  const errors: string[] = [];
  const entries: BatchEntry[] = [];
  list.forEach((raw, i) => {
    const at = `[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      errors.push(`${at}: expected {file, images}`);
      return;
    }
    const { file, images, ...rest } = raw as Record<string, unknown>;
    for (const k of Object.keys(rest))
      errors.push(`${at}.${safe(k, 60)}: unknown field (expected file, images)`);
    if (typeof file !== 'string' || file === '') errors.push(`${at}.file: expected the path of a spec file`);
    const imageMap: Record<string, string> = {};
    if (typeof images !== 'object' || images === null || Array.isArray(images))
      errors.push(`${at}.images: expected a map of <container>: <image reference>`);
    else
      for (const [c, ref] of Object.entries(images as Record<string, unknown>)) {
        if (typeof ref === 'string') imageMap[c] = ref;
        else errors.push(`${at}.images.${safe(c, 60)}: expected an image reference (a string)`);
      }
    if (typeof file === 'string' && file !== '') entries.push({ file, images: imageMap });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, entries };
}

interface Checked {
  file: string;
  yaml: string;
  images: Record<string, string>;
  checked: CheckedRelease;
  target: string;
}

/**
 * Reads the batch file and every spec it names, and validates all of it (as `start` does each one:
 * `checkReleaseResolving`, the release policy) before anything connects to Temporal. Invalid input anywhere → one
 * CliError (exit 5) with every problem: nothing is started.
 */
export async function checkBatch(
  batchFile: string,
  limits: YamlLimits,
  cfg: FledgeConfig,
  check: { defaultProvider?: string; defaultProviderSource?: string; lookup?: ClusterLookup } = {},
): Promise<Checked[]> {
  const fail = (lines: string[]): never => {
    throw new CliError(`invalid input, nothing was started:\n${lines.join('\n')}`, exitCodes.invalidInput);
  };
  const parsed = parseBatch(readSpecFile(batchFile, limits.maxBytes), limits);
  if (!parsed.ok) return fail(parsed.errors.map((e) => `${safe(batchFile, 200)}: ${e}`));
  const base = dirname(batchFile);
  const problems: string[] = [];
  const checked: Checked[] = [];
  const seen = new Map<string, number>();
  for (const [i, entry] of parsed.entries.entries()) {
    const file = isAbsolute(entry.file) ? entry.file : resolve(base, entry.file);
    try {
      const yaml = readSpecFile(file, limits.maxBytes);
      const c = await checkReleaseResolving({
        yaml,
        fileName: file,
        images: entry.images,
        limits,
        requireImages: true,
        ...check,
      });
      printNotices(c, file);
      const t = c.compiled.plan.target;
      const target = `${t.namespace}/${t.name}`;
      const violations = checkReleasePolicy(cfg.policy ?? defaultReleasePolicy, {
        namespace: t.namespace,
        images: entry.images,
      });
      if (violations.length > 0) problems.push(formatPolicyViolations(violations));
      // Two releases of one target in one call would race for its lane (one supersedes or queues behind the other).
      const before = seen.get(target);
      if (before !== undefined)
        problems.push(
          `${safe(batchFile, 200)}: [${i}]: target ${target} is already released by entry [${before}]`,
        );
      else seen.set(target, i);
      checked.push({ file, yaml, images: entry.images, checked: c, target });
    } catch (e) {
      if (e instanceof InvalidReleaseInput || e instanceof CliError) problems.push(e.message);
      else throw e;
    }
  }
  if (problems.length > 0) fail(problems);
  return checked;
}

/** Runs `fn` over `items`, at most `limit` at a time; results in the items' order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

type Outcome =
  | { ok: true; sub: Submitted; result?: ReleaseResult; exitCode: ExitCode; error?: string }
  | { ok: false; file: string; exitCode: ExitCode; error: string };

/**
 * Submits every checked entry over `client`, prints one line per release (in the batch's order), and with `wait`
 * follows all of them; returns the batch's exit code.
 */
export async function runBatch(
  client: Client,
  cfg: FledgeConfig,
  entries: Checked[],
  opts: { initiator: string; retry: boolean; wait: boolean; timeoutMs: number; json: boolean },
): Promise<ExitCode> {
  const p = out();
  const submitted: Outcome[] = await pool(entries, submitConcurrency, async (e): Promise<Outcome> => {
    try {
      const sub = await submitRelease(client, cfg, {
        yaml: e.yaml,
        fileName: e.file,
        images: e.images,
        initiator: opts.initiator,
        checked: e.checked,
        ...(opts.retry ? { retry: true } : {}),
      });
      return { ok: true, sub, exitCode: exitCodes.promoted };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return {
        ok: false,
        file: e.file,
        exitCode: err instanceof InvalidReleaseInput ? exitCodes.invalidInput : exitCodeFor(err),
        error: message,
      };
    }
  });
  if (!opts.json)
    for (const s of submitted) {
      if (s.ok)
        console.log(
          `release ${s.sub.workflowId} (${s.sub.disposition}${s.sub.supersedes ? `, superseding ${s.sub.supersedes}` : ''})  ${s.sub.link}`,
        );
      else console.error(`${p.red('fledge:')} ${safe(s.file, 200)}: not started: ${safe(s.error, 1000)}`);
    }
  if (opts.wait) {
    // One status query per release per interval: a larger batch polls each release less often.
    const pollMs = Math.min(10_000, Math.max(1000, 50 * entries.length));
    const deadline = Date.now() + opts.timeoutMs;
    await Promise.all(
      submitted.map(async (s) => {
        if (!s.ok) return;
        const id = s.sub.workflowId;
        const target = `${s.sub.target.namespace}/${s.sub.target.name}`;
        let last = '';
        const onStatus = (st: ReleaseStatus): void => {
          const line = `${target}  ${progressLine(sanitizeDeep(st), p)}`;
          if (line !== last) console.log(line);
          last = line;
        };
        try {
          const result = await followRelease(client, id, {
            timeoutMs: Math.max(1, deadline - Date.now()),
            waitForStart: true,
            pollMs,
            ...(opts.json ? {} : { onStatus }),
          });
          s.result = result;
          s.exitCode = outcomeExitCode(result.outcome);
          if (!opts.json) {
            const [head, ...rest] = describeResult(result, p).split('\n');
            console.log([`release ${id}: ${head ?? ''}`, ...rest].join('\n'));
          }
        } catch (err) {
          s.exitCode = exitCodeFor(err);
          s.error = err instanceof Error ? err.message : String(err);
          if (!opts.json) console.error(`${p.red('fledge:')} release ${id}: ${safe(s.error, 1000)}`);
        }
      }),
    );
  }
  const code = batchExitCode(submitted.map((s) => s.exitCode));
  if (opts.json) {
    printJson(
      submitted.map((s) =>
        s.ok
          ? {
              ...s.sub,
              ...(s.result ? { result: s.result } : {}),
              exitCode: s.exitCode,
              ...(s.error ? { error: s.error } : {}),
            }
          : { file: s.file, exitCode: s.exitCode, error: s.error },
      ),
    );
  } else {
    const counts = new Map<string, number>();
    for (const s of submitted) {
      const key = !s.ok
        ? 'not started'
        : s.result
          ? s.result.outcome
          : s.error
            ? 'no outcome'
            : s.sub.disposition;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    console.log(
      `${submitted.length} release${submitted.length === 1 ? '' : 's'}: ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}; exit ${code}`,
    );
  }
  return code;
}
