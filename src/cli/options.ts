// Option values and arguments, checked (zod) before anything connects or is submitted: a bad value exits 5 naming
// the option, at once. Also the bounded read of a spec file and the configuration from the environment.
import { maxActorLength, maxReasonLength } from '../domain/approvers.js';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { z } from 'zod';
import { loadFledgeConfig, type FledgeConfig } from '../config.js';
import { hasControlCharacters, quote } from '../domain/sanitize.js';
import { defaultYamlLimits, describeBytes, type YamlLimits } from '../domain/manifest/index.js';
import { gateNames, phases } from '../domain/state.js';
import { CliError, exitCodes } from './errors.js';

const invalid = (message: string): CliError => new CliError(message, exitCodes.invalidInput);

/** Parses `value` with `schema`; the first problem becomes `<what>: <problem>` (exit 5). */
function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const shown = typeof value === 'string' ? `${quote(value)}: ` : '';
  throw invalid(`${what} ${shown}${r.error.issues[0]?.message ?? 'invalid value'}`);
}

/** The longest `--timeout`: Node timers cannot wait longer than 2^31-1 ms (~24.8 days). */
export const maxTimeoutSeconds = 7 * 24 * 3600;

const seconds = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?$/, 'expected a number of seconds, e.g. 3600')
  .transform(Number)
  .refine((n) => n > 0 && n <= maxTimeoutSeconds, `must be > 0 and at most ${maxTimeoutSeconds} (7 days)`);

/** `--timeout <seconds>` → milliseconds. */
export function parseTimeout(value: string, option = '--timeout'): number {
  return Math.round(parseWith(seconds, value, option) * 1000);
}

/** Free text recorded in history (actor, initiator, reason): printable, bounded. */
function text(max: number, allowEmpty: boolean) {
  return z
    .string()
    .refine((s) => allowEmpty || s.trim() !== '', 'must not be empty')
    .refine((s) => s.length <= max, `must be at most ${max} characters`)
    .refine((s) => !hasControlCharacters(s), 'must not contain control characters (line breaks, escapes)');
}

/** `--actor`/`--initiator` (or their default: $FLEDGE_ACTOR, git user.email, <user>@<host>). */
export function parseActor(value: string, what = '--actor'): string {
  return parseWith(text(maxActorLength, false), value, what);
}

/** `--reason`. */
export function parseReason(value: string | undefined, what = '--reason'): string {
  return value === undefined ? '' : parseWith(text(maxReasonLength, true), value, what);
}

/** `--gate`. */
export function parseGate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return parseWith(z.enum(gateNames), value, '--gate');
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const releaseIdRe = /^fledge\/([^/]+)\/([^/]+)\/([A-Za-z0-9._+-]{1,300})$/;

/**
 * `<release>`: a release ID `fledge/<namespace>/<name>/<tag>` or a target `<namespace>/<name>`. Checked before
 * connecting (exit 5 when it is neither).
 */
export function parseReleaseRef(ref: string): string {
  const m = releaseIdRe.exec(ref);
  const target = /^([^/]+)\/([^/]+)$/.exec(ref);
  const ns = m?.[1] ?? target?.[1];
  const name = m?.[2] ?? target?.[2];
  if (
    ns !== undefined &&
    name !== undefined &&
    dnsLabel.test(ns) &&
    name.length <= 253 &&
    dnsSubdomain.test(name)
  )
    return ref;
  throw invalid(
    `${quote(ref)} is neither a release ID (fledge/<namespace>/<name>/<tag>) nor a target <namespace>/<name>`,
  );
}

/** `--run <runId>`: a Temporal run ID (UUID). */
export function parseRunId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return parseWith(
    z
      .string()
      .regex(
        /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
        'expected a run ID (a UUID)',
      ),
    value,
    '--run',
  );
}

const outcomes = ['Promoted', 'RolledBack', 'Aborted', 'Superseded', 'Failed'] as const;

export interface ListFilters {
  namespace?: string;
  target?: string;
  phase?: string;
  outcome?: string;
  running?: boolean;
  limit: number;
}

/** `fledge list` options. */
export function parseListOptions(opts: {
  namespace?: string;
  target?: string;
  phase?: string;
  outcome?: string;
  running?: boolean;
  limit: string;
}): ListFilters {
  const namespace =
    opts.namespace === undefined
      ? undefined
      : parseWith(
          z.string().regex(dnsLabel, 'expected a Kubernetes namespace name'),
          opts.namespace,
          '--namespace',
        );
  const target =
    opts.target === undefined
      ? undefined
      : parseWith(
          z
            .string()
            .regex(
              /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
              'expected <namespace>/<name> or <name>',
            )
            .max(317, 'too long'),
          opts.target,
          '--target',
        );
  const phase = opts.phase === undefined ? undefined : parseWith(z.enum(phases), opts.phase, '--phase');
  const outcome =
    opts.outcome === undefined ? undefined : parseWith(z.enum(outcomes), opts.outcome, '--outcome');
  const limit = parseWith(
    z
      .string()
      .regex(/^[0-9]+$/, 'expected a whole number')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 1000, 'must be between 1 and 1000'),
    opts.limit,
    '--limit',
  );
  return {
    ...(namespace !== undefined ? { namespace } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(phase !== undefined ? { phase } : {}),
    ...(outcome !== undefined ? { outcome } : {}),
    ...(opts.running ? { running: true } : {}),
    limit,
  };
}

/** The environment variable that sets the spec size limit (`--max-spec-bytes` wins). */
export const maxSpecBytesEnv = 'FLEDGE_MAX_SPEC_BYTES';
/** The largest size limit that may be configured. */
export const maxSpecBytesCeiling = 16 * 1024 * 1024;

const byteCount = z
  .string()
  .regex(/^[0-9]+$/, 'expected a whole number of bytes, e.g. 1048576')
  .transform(Number)
  .refine((n) => n >= 1 && n <= maxSpecBytesCeiling, `must be between 1 and ${maxSpecBytesCeiling} (16 MiB)`);

/**
 * The YAML front end's limits for this run: the size limit from `--max-spec-bytes`, else $FLEDGE_MAX_SPEC_BYTES,
 * else 1 MiB; depth and node limits are fixed (see README).
 */
export function specLimits(
  option: string | undefined,
  env: Record<string, string | undefined> = process.env,
): YamlLimits {
  const fromEnv = env[maxSpecBytesEnv];
  const maxBytes =
    option !== undefined
      ? parseWith(byteCount, option, '--max-spec-bytes')
      : fromEnv !== undefined && fromEnv !== ''
        ? parseWith(byteCount, fromEnv, maxSpecBytesEnv)
        : defaultYamlLimits.maxBytes;
  return { ...defaultYamlLimits, maxBytes };
}

/**
 * Reads a spec file, at most `maxBytes` (a larger file is refused before it is read whole), as UTF-8 (invalid
 * UTF-8 is refused with its line and column).
 */
export function readSpecFile(file: string, maxBytes: number): string {
  const limitHint = `the limit is ${describeBytes(maxBytes)}; raise it with --max-spec-bytes or ${maxSpecBytesEnv}`;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw invalid(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let bytes: Buffer;
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw invalid(`cannot read ${file}: it is a directory`);
    if (stat.isFile() && stat.size > maxBytes)
      throw invalid(`${file}: the spec is ${describeBytes(stat.size)}; ${limitHint}`);
    // Not a regular file (a pipe, /dev/stdin): read at most one byte past the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes)
        throw invalid(`${file}: the spec is larger than ${describeBytes(maxBytes)}; ${limitHint}`);
    }
    bytes = Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw invalid(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    closeSync(fd);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const at = lossy.indexOf('\ufffd');
    const before = lossy.slice(0, Math.max(0, at));
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw invalid(`${file}:${line}:${column} the spec is not valid UTF-8 text`);
  }
}

/** The runtime configuration; an invalid environment is invalid input (exit 5), found before connecting. */
export function cliConfig(): FledgeConfig {
  try {
    return loadFledgeConfig();
  } catch (e) {
    throw invalid(`invalid configuration: ${e instanceof Error ? e.message : String(e)}`);
  }
}
