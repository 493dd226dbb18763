// The pure parts of the Datadog metrics provider: rendering a MetricTemplate query in Datadog's query language,
// the time window a check asks for, and the value a response yields. PURE: no I/O.
//
// Flagger's Datadog provider (pkg/metrics/providers/datadog.go), whose semantics these follow:
//   - window: `from = now - 10 × interval` and `to = now`, in whole Unix seconds (the metric's `interval`, a Go
//     duration, times 10, truncated to seconds);
//   - value: the FIRST point (the oldest, at the start of the window) of the FIRST series — Flagger skips the
//     newest point on purpose, since the last bucket of a window is almost always incomplete;
//   - no series, or a first series without points → "no values found".
// Fledge differs in one place: a first point whose value is `null` (Datadog's "no data in this bucket"; Go decodes
// it as 0) is "no values" too, as NaN is for the Prometheus provider — a missing bucket is never read as 0.
//
// Rendering: the same placeholders as for PromQL — `{{ namespace }}`, `{{ target }}`, `{{ service }}`,
// `{{ interval }}`, `{{ variables.<key> }}` — substituted as Flagger does (raw text), but a value must be a plain
// Datadog tag token: ASCII letters, digits and `_ - . : /` (Datadog's tag alphabet, without `*`). Anything else —
// `,`, braces, parentheses, spaces, `!`, `*`, quotes — could add filters, widen a scope (`*`) or change the
// expression, so it is an error naming the placeholder. (The PromQL renderer cannot be reused: Datadog tag values
// sit outside any string literal, where PromQL rules would refuse `istio-system`.) Whitespace runs become one space,
// so the query that reaches Datadog and workflow history is one line.
import { parseGoDuration } from '../../../domain/manifest/duration.js';
import type { RenderResult, TemplateContext } from '../../../domain/promql.js';

/** Flagger's `datadogFromDeltaMultiplierOnMetricInterval`: the window is this many metric intervals long. */
export const windowIntervals = 10;

const supported =
  'Fledge supports {{ namespace }}, {{ target }}, {{ service }}, {{ interval }} and {{ variables.<key> }}';
const slotName = /^\s*([A-Za-z_]\w*(?:\.[A-Za-z_][\w-]*)?)\s*$/;
/** Datadog's tag alphabet (letters, digits, `_ - . : /`), ASCII only, no wildcard. */
const tagToken = /^[A-Za-z0-9_.:/-]+$/;

function show(v: string): string {
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…"` : s;
}

function lookup(name: string, ctx: TemplateContext): { known: boolean; value?: string | undefined } {
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

/** Renders a Datadog query template (see the header); errors name the placeholder and the reason. */
export function renderDatadogQuery(template: string, ctx: TemplateContext): RenderResult {
  const errors: string[] = [];
  let out = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, open);
    const close = template.indexOf('}}', open + 2);
    if (close < 0) {
      errors.push(`unterminated template expression "{{" at character ${open + 1}`);
      break;
    }
    const inner = template.slice(open + 2, close);
    i = close + 2;
    const m = slotName.exec(inner);
    if (!m?.[1]) {
      errors.push(`unsupported template expression {{${inner}}} (${supported})`);
      continue;
    }
    const name = m[1];
    const found = lookup(name, ctx);
    if (!found.known) {
      errors.push(`unknown template variable {{ ${name} }} (${supported})`);
      continue;
    }
    if (found.value === undefined) {
      errors.push(`template variable {{ ${name} }} has no value`);
      continue;
    }
    if (!tagToken.test(found.value)) {
      errors.push(
        `template variable {{ ${name} }} must be a plain Datadog tag value (ASCII letters, digits, _ - . : /) so it cannot change the query; got ${show(found.value)}`,
      );
      continue;
    }
    out += found.value;
  }
  if (errors.length > 0) return { ok: false, error: errors.join('; ') };
  const query = out.replace(/\s+/g, ' ').trim();
  if (query === '') return { ok: false, error: 'the query is empty' };
  return { ok: true, query };
}

export type DatadogWindow = { ok: true; from: number; to: number } | { ok: false; error: string };

/** The `from`/`to` (Unix seconds) a check with metric interval `interval` asks for at `nowMs` (Flagger's window). */
export function queryWindow(interval: string, nowMs: number): DatadogWindow {
  const parsed = parseGoDuration(interval);
  if (!parsed.ok) return { ok: false, error: `metric interval: ${parsed.error}` };
  if (parsed.ms <= 0) return { ok: false, error: `metric interval ${show(interval)} must be positive` };
  const to = Math.floor(nowMs / 1000);
  // Go: int64(10 * md.Seconds()) — truncated toward zero.
  const delta = Math.trunc((windowIntervals * parsed.ms) / 1000);
  return { ok: true, from: to - delta, to };
}

/** A v1 query response's series, as far as the provider reads them. */
export interface DatadogSeriesLike {
  pointlist?: ReadonlyArray<ReadonlyArray<number | null>> | null;
}

/**
 * The value of a v1 query response (Flagger's pick: the first point of the first series), or null for "no values":
 * no series, no points, a point without a value, a null or non-finite value.
 */
export function firstPointValue(series: ReadonlyArray<DatadogSeriesLike> | null | undefined): number | null {
  const point = series?.[0]?.pointlist?.[0];
  const value = point?.[1];
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return value;
}
