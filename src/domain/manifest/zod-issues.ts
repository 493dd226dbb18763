// zod issues → Fledge spec issues: one per problem, in plain words ("expected number, got string",
// "unknown field `stepweight` (did you mean `stepWeight`?)"), with the path of the offending field. PURE.
import { z } from 'zod';
import { hasControlCharacters, quote } from '../sanitize.js';
import type { PathSegment, SpecIssue } from './errors.js';

type ZodIssue = z.core.$ZodIssue;

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let node = root;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else if (typeof node === 'object' && node !== null && !Array.isArray(node) && typeof segment === 'string')
      node = (node as Record<string, unknown>)[segment];
    else return undefined;
  }
  return node;
}

/** "string", "number", "integer", "boolean", "null", "array", "object". */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `string ${quote(value, 60)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeName(value);
}

const expectedNames: Record<string, string> = {
  int: 'integer',
  object: 'object',
  array: 'array',
  record: 'object',
};

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (let i = 0; i < 20; i++) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault
    )
      current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else break;
  }
  return current;
}

/** The keys an object schema accepts at `path` (for "did you mean"), or []. */
export function knownKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let current: z.ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (current instanceof z.ZodObject && typeof segment === 'string') {
      const next: z.ZodType | undefined = (current.shape as Record<string, z.ZodType | undefined>)[segment];
      current = next ? unwrap(next) : undefined;
    } else if (current instanceof z.ZodArray && typeof segment === 'number')
      current = unwrap(current.element as z.ZodType);
    else if (current instanceof z.ZodRecord && typeof segment === 'string')
      current = unwrap(current.valueType as z.ZodType);
    else return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape as Record<string, unknown>) : [];
}

function editDistance(a: string, b: string): number {
  const prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j] ?? 0;
      const left = prev[j - 1] ?? 0;
      prev[j] = Math.min(above + 1, left + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = above;
    }
  }
  return prev[b.length] ?? 0;
}

/** The closest known key, if it is close enough to be a likely typo. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  // No field name is this long; the edit distance would cost length × known keys.
  if (unknown.length > 64) return undefined;
  const lower = unknown.toLowerCase();
  const sameCase = known.find((k) => k.toLowerCase() === lower);
  if (sameCase) return sameCase;
  const allowed = Math.min(2, Math.floor(unknown.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    // The distance is at least the difference in length: no need to compute it for far-off candidates.
    if (Math.abs(candidate.length - lower.length) > allowed) continue;
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= allowed ? best : undefined;
}

function boundMessage(
  issue: { origin: string; inclusive?: boolean },
  bound: number | bigint,
  kind: 'min' | 'max',
  actual: unknown,
): string {
  const n = Number(bound);
  if (issue.origin === 'string')
    return kind === 'min'
      ? n <= 1
        ? 'must not be empty'
        : `must be at least ${n} characters long`
      : `must be at most ${n} characters long`;
  if (issue.origin === 'array' || issue.origin === 'set')
    return kind === 'min'
      ? `must have at least ${n} item${n === 1 ? '' : 's'}`
      : `must have at most ${n} items`;
  const op =
    kind === 'min' ? (issue.inclusive === false ? '>' : '>=') : issue.inclusive === false ? '<' : '<=';
  return `must be ${op} ${n}, got ${describeValue(actual)}`;
}

/** Converts zod issues for one document into spec issues (one per problem). */
export function fromZodIssues(
  issues: readonly ZodIssue[],
  doc: number,
  input: unknown,
  schema: z.ZodType,
  base: readonly PathSegment[] = [],
): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of issues) {
    const path: PathSegment[] = [...base, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    const actual = valueAt(input, path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const suggestion = suggestKey(key, knownKeysAt(schema, path));
          out.push({
            doc,
            path: [...path, key],
            message: `unknown field ${key.length > 80 || key.includes('`') || hasControlCharacters(key) ? quote(key) : `\`${key}\``}${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}`,
          });
        }
        break;
      case 'invalid_type': {
        // A schema's own wording (zod's default starts with "Invalid input") replaces the generic one.
        const expected = issue.message.startsWith('Invalid input')
          ? `expected ${expectedNames[issue.expected] ?? issue.expected}`
          : issue.message;
        out.push({
          doc,
          path,
          message:
            actual === undefined
              ? `missing required field (${expected})`
              : issue.expected === 'int' && typeof actual === 'number'
                ? `expected integer, got ${actual}`
                : `${expected}, got ${typeName(actual)}`,
        });
        break;
      }
      case 'invalid_value': {
        const values = issue.values.filter((v) => v !== '').map((v) => JSON.stringify(v));
        out.push({
          doc,
          path,
          message: `${values.length === 1 ? `expected ${values[0]}` : `expected one of ${values.join(', ')}`}, got ${actual === undefined ? 'nothing' : describeValue(actual)}`,
        });
        break;
      }
      case 'too_small':
        out.push({ doc, path, message: boundMessage(issue, issue.minimum, 'min', actual) });
        break;
      case 'too_big':
        out.push({ doc, path, message: boundMessage(issue, issue.maximum, 'max', actual) });
        break;
      case 'invalid_union': {
        // A branch whose type matched (its issues are not a root type mismatch) explains the problem best.
        const matched = issue.errors.find(
          (branch) =>
            branch.length > 0 && !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
        );
        if (matched) out.push(...fromZodIssues(matched, doc, input, schema, path));
        else
          out.push({
            doc,
            path,
            message: `${issue.message}, got ${actual === undefined ? 'nothing' : typeName(actual)}`,
          });
        break;
      }
      default:
        out.push({ doc, path, message: issue.message });
    }
  }
  return out;
}
