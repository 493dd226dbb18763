// Spec errors: one per problem, with the YAML/JSON path of the offending field and, from the YAML front end,
// the 1-based line and column of its node (or of its nearest existing parent when the field is missing). PURE.
import { groupDigits, quote, sanitize } from '../sanitize.js';

export interface SpecError {
  /** e.g. `spec.analysis.stepWeight`, `spec.analysis.metrics[0].interval`; prefixed `doc[2].` when the bundle has more than one document. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export type SpecResult<T> = { ok: true; value: T } | { ok: false; errors: SpecError[] };

export type PathSegment = string | number;

/** A problem found by validation, before it is rendered: document index and path segments. */
export interface SpecIssue {
  /** Index of the document; -1 for a problem of the bundle as a whole (e.g. no Canary). */
  doc: number;
  path: PathSegment[];
  message: string;
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['spec', 'analysis', 'metrics', 0, 'name']` → `spec.analysis.metrics[0].name`; odd keys are quoted: `labels["app.kubernetes.io/name"]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (identifier.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${quote(segment)}]`;
  }
  return out;
}

/** The rendered path of an issue: with a `doc[i]` prefix when the bundle has several documents. */
export function issuePath(issue: SpecIssue, documentCount: number): string {
  const inner = formatPath(issue.path);
  if (documentCount <= 1 || issue.doc < 0) return inner;
  return inner === '' ? `doc[${issue.doc}]` : `doc[${issue.doc}].${inner}`;
}

/** Errors shown by `formatSpecErrors`; the rest are counted. */
export const maxShownErrors = 100;

/**
 * `canary.yaml:12:5 spec.analysis.stepWeight: expected number, got string`, one line per error, at most
 * `maxErrors` of them. Everything that echoes input (file name, path, message) is sanitised: control characters
 * escaped, long values cut, one line per error.
 */
export function formatSpecErrors(
  errors: readonly SpecError[],
  fileName?: string,
  maxErrors: number = maxShownErrors,
): string {
  const file = fileName !== undefined ? sanitize(fileName, { max: 200 }) : undefined;
  const lines = errors.slice(0, maxErrors).map((e) => {
    const location =
      file !== undefined
        ? e.line !== undefined
          ? `${file}:${e.line}:${e.column ?? 1} `
          : `${file}: `
        : e.line !== undefined
          ? `${e.line}:${e.column ?? 1} `
          : '';
    const path = e.path === '' ? '' : `${sanitize(e.path, { max: 300 })}: `;
    return `${location}${path}${sanitize(e.message, { max: 600 })}`;
  });
  if (errors.length > maxErrors)
    lines.push(
      `… and ${groupDigits(errors.length - maxErrors)} more problems (${groupDigits(errors.length)} in all)`,
    );
  return lines.join('\n');
}
