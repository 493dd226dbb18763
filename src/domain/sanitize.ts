// The one sanitising helper for text that echoes input (spec values, option values, actor names, reasons, webhook
// answers): terminal control characters are escaped, so input cannot move the cursor, clear the screen, set the
// window title or reorder text (bidi overrides), and long values are truncated. PURE: used by the spec layer (its
// messages also reach the workflow's failure) and by every CLI message.

/**
 * What a terminal may interpret: C0 controls, DEL, C1 controls, the Unicode line/paragraph separators, bidi
 * embeddings/overrides/isolates and marks, and lone surrogates.
 */
/* eslint-disable no-control-regex -- control characters are what these find */
const unsafe =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// The same set without the line feed (kept in multi-line text).
const unsafeButNewline =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/* eslint-enable no-control-regex */

const named: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeOne(ch: string): string {
  const short = named[ch];
  if (short !== undefined) return short;
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** True when `text` holds a character `escapeControl` would escape. */
export function hasControlCharacters(text: string): boolean {
  unsafe.lastIndex = 0;
  const found = unsafe.test(text);
  unsafe.lastIndex = 0;
  return found;
}

/** Escapes terminal control characters as `\x1b`, `\u202e`, `\n`, …; `keepNewlines` leaves line feeds alone. */
export function escapeControl(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? unsafeButNewline : unsafe, escapeOne);
}

/** Cuts at a UTF-16 index without splitting a surrogate pair. */
function cut(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? text.slice(0, end - 1) : text.slice(0, end);
}

function cutTail(text: string, length: number): string {
  const start = text.length - length;
  const code = text.charCodeAt(start);
  return code >= 0xdc00 && code <= 0xdfff ? text.slice(start + 1) : text.slice(start);
}

/** `1048576` → `1,048,576` (no Intl: the same in every runtime, the workflow sandbox included). */
export function groupDigits(n: number): string {
  if (!Number.isFinite(n) || Math.abs(n) >= 1e21) return String(n);
  const [whole = '', fraction] = String(Math.abs(n)).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${n < 0 ? '-' : ''}${grouped}${fraction !== undefined ? `.${fraction}` : ''}`;
}

const count = groupDigits;

/** At most `max` characters of `text` (UTF-16 units), the rest replaced by `…(+N characters)`. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${cut(text, max)}…(+${count(text.length - max)} characters)`;
}

/**
 * One line of output, at most about `max` characters: the head and the tail are kept (a message usually starts with
 * the offending value and ends with the explanation), the middle is elided.
 */
export function elide(text: string, max: number): string {
  if (text.length <= max) return text;
  const tail = Math.floor(max / 2);
  const head = max - tail;
  return `${cut(text, head)} …(${count(text.length - head - tail)} characters elided)… ${cutTail(text, tail)}`;
}

export interface SanitizeOptions {
  /** Characters kept per line (head and tail, the middle elided). Default 1000. */
  max?: number;
  /** Keep line feeds (each line is bounded on its own). Default false: a line feed is shown as `\n`. */
  multiline?: boolean;
  /** At most this many lines (multiline only); the rest is summarised. Default 200. */
  maxLines?: number;
}

/** Escaped and bounded text, safe to print on a terminal. */
export function sanitize(text: string, opts: SanitizeOptions = {}): string {
  const max = opts.max ?? 1000;
  if (!opts.multiline) return escapeControl(elide(text, max));
  const maxLines = opts.maxLines ?? 200;
  const lines = text.split('\n');
  const shown = lines.slice(0, maxLines).map((line) => escapeControl(elide(line, max)));
  if (lines.length > maxLines) shown.push(`…(${count(lines.length - maxLines)} more lines)`);
  return shown.join('\n');
}

/**
 * A value quoted for a message: `"podinfo"` — JSON string syntax, control characters escaped, cut after `max`
 * characters (`"aaaa…" (1,048,576 characters)`).
 */
export function quote(value: string, max = 80): string {
  const shown = escapeControl(JSON.stringify(value.length > max ? cut(value, max) : value));
  return value.length > max ? `${shown.slice(0, -1)}…" (${count(value.length)} characters)` : shown;
}

/**
 * A copy of a JSON-like value with every string sanitised (single line, at most `max` characters): what text output
 * renders when it shows data that came from input (status, results, history).
 */
export function sanitizeDeep<T>(value: T, max = 500): T {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return sanitize(v, { max });
    if (depth > 64 || typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
    return out;
  };
  return walk(value, 0) as T;
}

/**
 * JSON text for output: `JSON.stringify` escapes C0 controls and lone surrogates; this also writes DEL, C1
 * controls, line separators and bidi controls as `\u` escapes. The text parses back to the same value.
 */
export function safeJson(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(
    // The characters JSON.stringify leaves raw.
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
