// Go durations (`time.ParseDuration`) as Flagger manifests write them: "1m", "30s", "1m30s", "500ms", "1.5h".
// PURE: runs in the workflow sandbox.
import { quote } from '../sanitize.js';

export type DurationResult = { ok: true; ms: number } | { ok: false; error: string };

/** Unit → milliseconds, as Go's `time.ParseDuration` knows them (µ as U+00B5 or U+03BC). */
const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const validUnits = 'ns, us, ms, s, m, h';

/**
 * Parses a Go duration string into milliseconds, with Go's grammar: an optional sign, then one or more
 * `<decimal><unit>` terms (`1h30m`, `.5s`, `1.s`); `0` alone needs no unit. The result may be fractional (ns, us).
 */
export function parseGoDuration(text: string): DurationResult {
  const original = text;
  const fail = (why: string): DurationResult => ({
    ok: false,
    error: `invalid duration ${quote(original)}: ${why}`,
  });
  let s = text;
  if (s === '') return fail('empty string (write e.g. "30s", "1m" or "1m30s")');
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, ms: 0 };
  if (s === '') return fail('missing number');
  let total = 0;
  while (s !== '') {
    const term = /^([0-9]*)(?:\.([0-9]*))?/.exec(s);
    const whole = term?.[1] ?? '';
    const frac = term?.[2];
    if (whole === '' && (frac === undefined || frac === '')) {
      return fail(`expected a number at ${quote(s)}`);
    }
    s = s.slice(term?.[0].length ?? 0);
    const unitMatch = /^[^0-9.]+/.exec(s);
    if (!unitMatch)
      return fail(
        `missing unit after ${quote(whole + (frac !== undefined ? `.${frac}` : ''))} (valid units: ${validUnits})`,
      );
    const unit = unitMatch[0];
    const factor = unitMs[unit];
    if (factor === undefined) return fail(`unknown unit ${quote(unit)} (valid units: ${validUnits})`);
    s = s.slice(unit.length);
    const value = Number(`${whole === '' ? '0' : whole}.${frac ?? ''}0`);
    total += value * factor;
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) return fail('out of range');
  return { ok: true, ms: sign * total };
}

/**
 * Formats milliseconds as a PromQL/Go duration with integer components: 90000 → "1m30s", 500 → "500ms",
 * 3600000 → "1h". Sub-millisecond remainders are dropped; 0 → "0s".
 */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.floor(ms));
  if (rest === 0) return '0s';
  const parts: string[] = [];
  const units: Array<[string, number]> = [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join('');
}
