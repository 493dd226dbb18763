// PromQL templating for metric checks: Flagger's built-in Istio queries and MetricTemplate rendering with
// `{{ namespace }}`, `{{ target }}`, `{{ interval }}`, `{{ service }}` and `{{ variables.<key> }}` (Flagger's Go
// template spellings; `{{ .Namespace }}`, pipelines, `{{- x -}}` and any other `{{ … }}` are rejected).
//
// No template value can change the structure of the query. A PromQL lexer reads the template (everything outside the
// placeholders) and decides, for each placeholder, where it sits:
//   - inside a "…" or '…' string: the value is escaped for that quoting with Go's escape rules (backslash, the quote,
//     control characters as \n \t \xNN, other invisible/whitespace characters as \uNNNN; a space is kept as is only
//     between two non-space characters, otherwise written \x20 so the whitespace collapse below leaves it alone);
//   - inside a `…` raw string (no escapes exist there): a value with a backquote, a control character, or whitespace
//     the collapse would change (tabs, line breaks, leading/trailing/repeated spaces) is rejected;
//   - outside strings: only a plain token is accepted — a duration (`5m`, `1h30m`: digits + ms|s|m|h|d|w|y, repeated),
//     a number (`100`, `0.99`: no sign, no exponent) or a name `[a-zA-Z_][a-zA-Z0-9_:]*` that is not a PromQL
//     keyword (and, or, unless, by, on, offset, bool, …). Those characters can only form or extend a name, number or
//     duration, never an operator, bracket, string or comment; `0-up`, `1m]) or vector(1` and an empty value are errors.
// A value in a string that is a regex — the right-hand side of `=~`/`!~`, or label_replace's regex argument — is
// RE2-escaped first (`\.+*?()|[]{}^$`), then string-escaped: template values are always matched literally (a target
// named `a.b` must not match `aXb`, a variable must not widen `=~"{{ target }}"` to `.*`). Flagger inserts them raw;
// a template that needs a pattern writes it in the template text around the placeholder (`=~"{{ target }}-.*"`),
// which is not escaped. Likewise `$` in label_replace's replacement argument is written `$$` (no group expansion).
// A placeholder right after a backslash or inside an unfinished \x/\u/octal escape (the escape would take the value's
// first characters: `"\{{ x }}"` turns the value's escaped quote into `\\"`, a closing quote) is an error, as are an
// invalid escape or an unterminated string in the template, and values with unpaired UTF-16 surrogates.
//
// `#` comments (outside strings, to the end of the line) are stripped before whitespace is collapsed — the rendered
// query is one line, as Flagger's trimQuery makes it, so a comment left in would comment out the rest of the query.
// Stripping rather than rejecting: Flagger users' MetricTemplates have comments, and Prometheus ignores them anyway.
// Placeholders inside a comment are dropped with it. Whitespace runs in the template text (strings included, as
// Flagger does) become one space; the result is stable under that collapse again (Prometheus client's trimQuery).
// Finally the rendered query is lexed again and must have the template's string literals and no comment.
// Pure: no I/O.

export const builtinQueries = {
  istio: {
    'request-success-rate': `
      sum(
        rate(
          istio_requests_total{
            reporter="destination",
            destination_workload_namespace="{{ namespace }}",
            destination_workload=~"{{ target }}",
            response_code!~"5.*"
          }[{{ interval }}]
        )
      )
      /
      sum(
        rate(
          istio_requests_total{
            reporter="destination",
            destination_workload_namespace="{{ namespace }}",
            destination_workload=~"{{ target }}"
          }[{{ interval }}]
        )
      )
      * 100`,
    'request-duration': `
      histogram_quantile(
        0.99,
        sum(
          rate(
            istio_request_duration_milliseconds_bucket{
              reporter="destination",
              destination_workload_namespace="{{ namespace }}",
              destination_workload=~"{{ target }}"
            }[{{ interval }}]
          )
        ) by (le)
      )`,
  },
} as const;

export type BuiltinMetric = keyof (typeof builtinQueries)['istio'];

export interface TemplateContext {
  namespace: string;
  target: string;
  interval: string;
  service?: string;
  variables: Record<string, string>;
}

export type RenderResult = { ok: true; query: string } | { ok: false; error: string };

type Quote = '"' | "'" | '`';

/** Where a placeholder sits, as the lexer sees the template around it. */
interface SlotContext {
  /** The string literal it is in, or null outside strings. */
  quote: Quote | null;
  /** The string is an RE2 pattern: right-hand side of `=~`/`!~`, or label_replace's 5th argument. */
  regex: boolean;
  /** The string is label_replace's replacement (3rd argument), where `$` expands capture groups. */
  replacement: boolean;
}

type Piece = { kind: 'text'; text: string } | { kind: 'slot'; name: string; ctx: SlotContext };

interface Lexed {
  pieces: Piece[];
  strings: number;
  comments: number;
  errors: string[];
}

const supported =
  'Fledge supports {{ namespace }}, {{ target }}, {{ service }}, {{ interval }} and {{ variables.<key> }}';
const slotName = /^\s*([A-Za-z_]\w*(?:\.[A-Za-z_][\w-]*)?)\s*$/;
const wordChar = /[A-Za-z0-9_:.]/;
const space = /\s/;
const octal = /[0-7]/;
const hex = /[0-9a-fA-F]/;

/**
 * Lexes PromQL — with `{{ … }}` placeholders when `placeholders` is set — far enough to know string literals (Go
 * escape rules for "…" and '…', none for `…`), `#` comments (dropped from the pieces) and, for each placeholder,
 * its SlotContext.
 */
function lexPromql(src: string, placeholders: boolean): Lexed {
  const pieces: Piece[] = [];
  const errors: string[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') pieces.push({ kind: 'text', text });
    text = '';
  };
  const lineAt = (i: number): number => src.slice(0, i).split('\n').length;

  let quote: Quote | null = null;
  let strCtx = { regex: false, replacement: false };
  let strStart = 0;
  let strings = 0;
  let comments = 0;
  // Outside strings: the last two significant characters (for `=~`/`!~`), the word being read, the word just
  // before (a function name when `(` follows), and the open brackets with the argument index of calls.
  let sig = '';
  let word = '';
  let lastWord: string | null = null;
  const frames: Array<{ fn: string | null; arg: number }> = [];

  let i = 0;
  while (i < src.length) {
    if (placeholders && src.startsWith('{{', i)) {
      const end = src.indexOf('}}', i + 2);
      if (end < 0) {
        errors.push(`unterminated template expression "{{" on line ${lineAt(i)}`);
        break;
      }
      const inner = src.slice(i + 2, end);
      const m = slotName.exec(inner);
      if (!m?.[1]) {
        errors.push(`unsupported template expression {{${inner}}} on line ${lineAt(i)} (${supported})`);
      } else {
        flush();
        pieces.push({
          kind: 'slot',
          name: m[1],
          ctx: quote ? { quote, ...strCtx } : { quote: null, regex: false, replacement: false },
        });
      }
      if (quote === null) {
        word = '';
        lastWord = null;
        sig = '';
      }
      i = end + 2;
      continue;
    }
    const ch = src.charAt(i);

    if (quote === '`') {
      if (ch === '`') {
        quote = null;
        sig = ch;
      }
      text += ch;
      i++;
      continue;
    }

    if (quote !== null) {
      if (ch === '\\') {
        const n = escapeLength(src, i, quote);
        if (typeof n === 'string') {
          // The escape stops short of a placeholder: it would take the value's first characters (`"\{{ x }}"`
          // turns an escaped quote in the value into a backslash and a closing quote).
          const slotAt = i + n.length;
          const slotEnd = src.indexOf('}}', slotAt);
          const slot = placeholders && src.startsWith('{{', slotAt) && slotEnd > 0;
          errors.push(
            slot
              ? `template variable {{${src.slice(slotAt + 2, slotEnd)}}} on line ${lineAt(i)} follows an unfinished escape sequence ${n} in a string literal, which would take the value's first characters`
              : `invalid escape sequence ${n} in a string literal on line ${lineAt(i)} (write \\\\ for a backslash)`,
          );
          // Resynchronise after the backslash and the character it escapes (never across a placeholder).
          const skip = src.startsWith('{{', i + 1) ? 1 : 2;
          text += src.slice(i, i + skip);
          i += skip;
          continue;
        }
        text += src.slice(i, i + n);
        i += n;
        continue;
      }
      if (ch === quote) {
        quote = null;
        sig = ch;
      }
      text += ch;
      i++;
      continue;
    }

    // Outside strings.
    if (wordChar.test(ch)) {
      word += ch;
      sig = (sig + ch).slice(-2);
      text += ch;
      i++;
      continue;
    }
    if (word !== '') {
      lastWord = word;
      word = '';
    }
    if (ch === '#') {
      // To the end of the line; the line break stays and separates the tokens around the comment.
      const eol = src.slice(i).search(/[\r\n]/);
      i = eol < 0 ? src.length : i + eol;
      comments++;
      continue;
    }
    if (space.test(ch)) {
      text += ch;
      i++;
      continue;
    }
    if (ch === '(') frames.push({ fn: lastWord, arg: 0 });
    else if (ch === '{' || ch === '[') frames.push({ fn: null, arg: 0 });
    else if (ch === ')' || ch === '}' || ch === ']') frames.pop();
    else if (ch === ',') {
      const top = frames.at(-1);
      if (top) top.arg++;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      const top = frames.at(-1);
      const labelReplace = top?.fn === 'label_replace';
      strCtx = {
        regex: sig === '=~' || sig === '!~' || (labelReplace && top.arg === 4),
        replacement: labelReplace && top.arg === 2,
      };
      quote = ch;
      strStart = i;
      strings++;
    }
    lastWord = null;
    sig = (sig + ch).slice(-2);
    text += ch;
    i++;
  }
  if (quote !== null)
    errors.push(`unterminated ${quote}-quoted string literal opened on line ${lineAt(strStart)}`);
  flush();
  return { pieces, strings, comments, errors };
}

/** Length of the escape sequence at src[i] (a backslash) in a q-quoted string, or the offending text. */
function escapeLength(src: string, i: number, q: '"' | "'"): number | string {
  const c = src.charAt(i + 1);
  if ('abfnrtv\\'.includes(c) && c !== '') return 2;
  if (c === q) return 2;
  let digits: number;
  let digit: RegExp;
  let first: number;
  if (octal.test(c)) [digits, digit, first] = [3, octal, i + 1];
  else if (c === 'x') [digits, digit, first] = [2, hex, i + 2];
  else if (c === 'u') [digits, digit, first] = [4, hex, i + 2];
  else if (c === 'U') [digits, digit, first] = [8, hex, i + 2];
  else return src.startsWith('{{', i + 1) ? '\\' : `\\${c}`;
  for (let k = first; k < first + digits; k++)
    if (!digit.test(src.charAt(k))) return src.slice(i, Math.max(k, i + 2));
  return first + digits - i;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const invisible = /[\p{Cc}\p{Cf}\p{Z}]/u;
const shortEscapes: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

function codePointEscape(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  if (cp < 0x80) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** Whether the space at index k of cps survives whitespace collapse untouched (a single space inside the value). */
function interiorSpace(cps: string[], k: number): boolean {
  return k > 0 && k < cps.length - 1 && cps[k - 1] !== ' ' && cps[k + 1] !== ' ';
}

/**
 * The body of a PromQL `q`-quoted string literal holding exactly `v` (Go escape rules), which contains no whitespace
 * except single spaces between non-space characters. `v` must be well-formed UTF-16.
 */
export function escapePromqlString(v: string, q: '"' | "'" = '"'): string {
  const cps = Array.from(v);
  let out = '';
  cps.forEach((c, k) => {
    if (c === '\\' || c === q) out += `\\${c}`;
    else if (c === ' ') out += interiorSpace(cps, k) ? ' ' : '\\x20';
    else if (shortEscapes[c] !== undefined) out += shortEscapes[c];
    else if (invisible.test(c)) out += codePointEscape(c);
    else out += c;
  });
  return out;
}

/** `v` as an RE2 pattern matching exactly `v` (Go's regexp.QuoteMeta). */
export function escapeRegex(v: string): string {
  return v.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

const keywords = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
]);
const duration = /^(?:[0-9]+(?:ms|[smhdwy]))+$/;
const number = /^[0-9]+(?:\.[0-9]+)?$/;
const identifier = /^[A-Za-z_][A-Za-z0-9_:]*$/;

function isPlainToken(v: string): boolean {
  return duration.test(v) || number.test(v) || (identifier.test(v) && !keywords.has(v.toLowerCase()));
}

function show(v: string): string {
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…"` : s;
}

/** The text standing for `value` at a placeholder in context `ctx`, or why it cannot stand there. */
function encodeValue(
  value: string,
  ctx: SlotContext,
): { ok: true; text: string } | { ok: false; reason: string } {
  if (loneSurrogate.test(value))
    return { ok: false, reason: 'has a value with an unpaired UTF-16 surrogate (not encodable as UTF-8)' };
  if (ctx.quote === null) {
    if (isPlainToken(value)) return { ok: true, text: value };
    return {
      ok: false,
      reason: `is outside a string literal, where only a duration (5m, 1h30m), a number (0.99) or a name ([a-zA-Z_][a-zA-Z0-9_:]*, not a keyword) is allowed; got ${show(value)}`,
    };
  }
  let v = value;
  if (ctx.regex) v = escapeRegex(v);
  if (ctx.replacement) v = v.replace(/\$/g, '$$$$');
  if (ctx.quote !== '`') return { ok: true, text: escapePromqlString(v, ctx.quote) };
  if (v.includes('`'))
    return {
      ok: false,
      reason: `is in a backquoted string, which has no escapes, and its value contains a backquote; got ${show(value)}`,
    };
  const cps = Array.from(v);
  if (cps.some((c, k) => /\p{Cc}/u.test(c) || (space.test(c) && !(c === ' ' && interiorSpace(cps, k)))))
    return {
      ok: false,
      reason: `is in a backquoted string, which has no escapes, and its value has control characters, line breaks, tabs or leading, trailing or repeated spaces (use a "…" string); got ${show(value)}`,
    };
  return { ok: true, text: v };
}

function lookup(
  name: string,
  ctx: TemplateContext,
): { known: false } | { known: true; value: string | undefined } {
  if (name.startsWith('variables.')) {
    const key = name.slice('variables.'.length);
    const v = Object.hasOwn(ctx.variables, key) ? ctx.variables[key] : undefined;
    return { known: true, value: typeof v === 'string' ? v : undefined };
  }
  if (name === 'namespace') return { known: true, value: ctx.namespace };
  if (name === 'target') return { known: true, value: ctx.target };
  if (name === 'interval') return { known: true, value: ctx.interval };
  if (name === 'service') return { known: true, value: ctx.service };
  return { known: false };
}

/** Renders a metric query template into one line of PromQL; errors name the placeholder (or line) and the reason. */
export function renderQuery(template: string, ctx: TemplateContext): RenderResult {
  const lexed = lexPromql(template, true);
  const errors = [...lexed.errors];
  let out = '';
  for (const piece of lexed.pieces) {
    if (piece.kind === 'text') {
      out += piece.text;
      continue;
    }
    const found = lookup(piece.name, ctx);
    if (!found.known) {
      errors.push(`unknown template variable {{ ${piece.name} }} (${supported})`);
      continue;
    }
    if (found.value === undefined) {
      errors.push(`template variable {{ ${piece.name} }} has no value`);
      continue;
    }
    const encoded = encodeValue(found.value, piece.ctx);
    if (encoded.ok) out += encoded.text;
    else errors.push(`template variable {{ ${piece.name} }} ${encoded.reason}`);
  }
  if (errors.length > 0) return { ok: false, error: errors.join('; ') };
  // Values hold no whitespace but single spaces between other characters, so this only touches template text.
  const query = out.replace(/\s+/g, ' ').trim();
  const check = lexPromql(query, false);
  if (check.errors.length > 0 || check.comments > 0 || check.strings !== lexed.strings)
    return { ok: false, error: 'internal error: the rendered query does not keep the template structure' };
  return { ok: true, query };
}
