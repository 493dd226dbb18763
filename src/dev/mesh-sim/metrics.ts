// A small Prometheus registry (counters and histograms with label sets), text exposition format 0.0.4,
// and a parser of that format (tests, tooling). Pure.

export type Labels = Record<string, string>;

/** Istio's default buckets for istio_request_duration_milliseconds. */
export const istioDurationBucketsMs: readonly number[] = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

const seriesKey = (labels: Labels): string =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function renderLabels(labels: Labels, extra?: [string, string]): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabelValue(labels[k] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface CounterSeries {
  labels: Labels;
  /** `name{labels}`, rendered once when the series is created (a scrape only appends the value). */
  line: string;
  sortKey?: string;
  value: number;
  touchedMs: number;
}

export class CounterFamily {
  private readonly series = new Map<string, CounterSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /**
   * `key` identifies the label set; by default it is derived from the labels (sorted), a caller that always builds
   * its labels the same way can pass a cheaper one of its own (the simulator does: thousands of requests a second).
   */
  inc(labels: Labels, by = 1, nowMs = 0, key: string = seriesKey(labels)): void {
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, line: `${this.name}${renderLabels(labels)} `, value: 0, touchedMs: nowMs };
      this.series.set(key, s);
    }
    s.value += by;
    s.touchedMs = nowMs;
  }

  get(labels: Labels): number {
    return this.series.get(seriesKey(labels))?.value ?? 0;
  }

  prune(olderThanMs: number): void {
    for (const [k, s] of this.series) if (s.touchedMs < olderThanMs) this.series.delete(k);
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const s of sortedByLabels(this.series)) out.push(`${s.line}${formatValue(s.value)}`);
  }
}

interface HistogramSeries {
  labels: Labels;
  /** Non-cumulative counts per finite bucket; observations above the last bound count only in `count`. */
  buckets: number[];
  sum: number;
  count: number;
  touchedMs: number;
  /** Rendered once when the series is created: each bucket's `name_bucket{labels,le="…"} `, then _sum and _count. */
  lines: { buckets: string[]; inf: string; sum: string; count: string };
  sortKey?: string;
}

/** The series in the order of their rendered labels (as before: stable output whatever the keys are). */
function sortedByLabels<S extends { labels: Labels; sortKey?: string }>(series: Map<string, S>): S[] {
  const all = [...series.values()];
  for (const s of all) s.sortKey ??= seriesKey(s.labels);
  return all.sort((a, b) =>
    (a.sortKey as string) < (b.sortKey as string) ? -1 : a.sortKey === b.sortKey ? 0 : 1,
  );
}

export class HistogramFamily {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  /** `key`: as CounterFamily.inc's. */
  observe(labels: Labels, value: number, nowMs = 0, key: string = seriesKey(labels)): void {
    let s = this.series.get(key);
    if (!s) {
      const b = `${this.name}_bucket`;
      s = {
        labels: { ...labels },
        buckets: this.bounds.map(() => 0),
        sum: 0,
        count: 0,
        touchedMs: nowMs,
        lines: {
          buckets: this.bounds.map((x) => `${b}${renderLabels(labels, ['le', formatValue(x)])} `),
          inf: `${b}${renderLabels(labels, ['le', '+Inf'])} `,
          sum: `${this.name}_sum${renderLabels(labels)} `,
          count: `${this.name}_count${renderLabels(labels)} `,
        },
      };
      this.series.set(key, s);
    }
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
    s.touchedMs = nowMs;
  }

  prune(olderThanMs: number): void {
    for (const [k, s] of this.series) if (s.touchedMs < olderThanMs) this.series.delete(k);
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of sortedByLabels(this.series)) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.buckets[i] ?? 0;
        out.push(`${s.lines.buckets[i] as string}${cumulative}`);
      }
      out.push(
        `${s.lines.inf}${s.count}`,
        `${s.lines.sum}${formatValue(s.sum)}`,
        `${s.lines.count}${s.count}`,
      );
    }
  }
}

export class MetricsRegistry {
  private readonly families: Array<CounterFamily | HistogramFamily> = [];

  counter(name: string, help: string): CounterFamily {
    const f = new CounterFamily(name, help);
    this.families.push(f);
    return f;
  }

  histogram(name: string, help: string, bounds: readonly number[]): HistogramFamily {
    const f = new HistogramFamily(name, help, bounds);
    this.families.push(f);
    return f;
  }

  /** Drops series not updated since `olderThanMs`. */
  prune(olderThanMs: number): void {
    for (const f of this.families) f.prune(olderThanMs);
  }

  render(): string {
    const out: string[] = [];
    for (const f of this.families) f.render(out);
    return `${out.join('\n')}\n`;
  }
}

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

function parseNumber(s: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const n = Number(s);
  if (Number.isNaN(n)) throw new Error(`not a number: ${s}`);
  return n;
}

/** Parses the Prometheus text format (comments skipped). Throws on malformed lines. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`bad metric line: ${line}`);
    const name = nameMatch[0];
    let i = name.length;
    const labels: Labels = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
        if (!lm) throw new Error(`bad labels: ${line}`);
        i += lm[0].length;
        let value = '';
        for (;;) {
          const c = line[i++];
          if (c === undefined) throw new Error(`unterminated label value: ${line}`);
          if (c === '"') break;
          if (c === '\\') {
            const e = line[i++];
            value += e === 'n' ? '\n' : (e ?? '');
          } else value += c;
        }
        labels[lm[1] as string] = value;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    samples.push({ name, labels, value: parseNumber(rest[0] ?? '') });
  }
  return samples;
}
