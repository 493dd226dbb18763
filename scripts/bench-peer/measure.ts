// Pure parts of the peer benchmark (scripts/bench-peer.ts): how an apiserver request is classified, how a
// process's CPU time and memory are read from /proc, and the statistics of the report. No I/O here except the
// small /proc readers at the end, so the parsers can be unit tested (test/unit/bench-peer.test.ts).
import { readFileSync } from 'node:fs';

// ── apiserver requests ─────────────────────────────────────────────────────────────────────────────────────
export type RequestClass = 'read' | 'write' | 'watch';

/**
 * A request's class as the apiserver sees it: a watch is a GET with `watch=true|1` (or the legacy `/watch/`
 * path prefix); any other GET/HEAD (get, list, discovery) is a read; every other verb (POST, PUT, PATCH, DELETE)
 * is a write.
 */
export function classifyRequest(method: string, url: string): RequestClass {
  const m = method.toUpperCase();
  if (m !== 'GET' && m !== 'HEAD') return 'write';
  const u = new URL(url, 'http://x');
  const w = u.searchParams.get('watch');
  if (w === 'true' || w === '1' || /^\/apis?\/(?:[^/]+\/)*watch\//.test(u.pathname)) return 'watch';
  return 'read';
}

/**
 * `GET deployments`, `PATCH virtualservices`, `PUT canaries/status`, `GET (discovery)`: method plus resource (and
 * subresource), without namespace or object name, for the per-kind breakdown.
 */
export function requestKind(method: string, url: string): string {
  const path = new URL(url, 'http://x').pathname.replace(/\/watch\//, '/');
  const parts = path.split('/').filter(Boolean);
  // /api/v1/... or /apis/<group>/<version>/...
  const rest = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : null;
  if (!rest || rest.length === 0) return `${method.toUpperCase()} (discovery)`;
  const r = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const [resource, , sub] = r;
  return `${method.toUpperCase()} ${resource}${sub ? `/${sub}` : ''}`;
}

export interface CountedRequest {
  at: number;
  method: string;
  path: string;
  cls: RequestClass;
}

export interface ClassCounts {
  total: number;
  read: number;
  write: number;
  watch: number;
}

export function countClasses(reqs: readonly CountedRequest[]): ClassCounts {
  const c: ClassCounts = { total: 0, read: 0, write: 0, watch: 0 };
  for (const r of reqs) {
    c.total++;
    c[r.cls]++;
  }
  return c;
}

export function between(reqs: readonly CountedRequest[], from: number, to: number): CountedRequest[] {
  return reqs.filter((r) => r.at >= from && r.at < to);
}

// ── /proc ─────────────────────────────────────────────────────────────────────────────────────────────────
/** utime + stime of /proc/<pid>/stat, in clock ticks (fields 14 and 15; the command name may hold spaces). */
export function parseProcStatTicks(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('no utime/stime in /proc stat');
  return utime + stime;
}

/** VmRSS (current) and VmHWM (peak) of /proc/<pid>/status, in KiB. */
export function parseProcStatusMemory(status: string): { rssKiB: number; peakKiB: number } {
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    if (!m?.[1]) throw new Error(`${key} missing from /proc status`);
    return Number(m[1]);
  };
  return { rssKiB: kib('VmRSS'), peakKiB: kib('VmHWM') };
}

/** Clock ticks per second of /proc times (USER_HZ): 100 on every Linux architecture Node supports. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSample {
  cpuSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
}

export function sampleProcess(pid: number): ProcSample {
  const ticks = parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const mem = parseProcStatusMemory(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return {
    cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND,
    rssMiB: mem.rssKiB / 1024,
    peakRssMiB: mem.peakKiB / 1024,
  };
}

// ── statistics ───────────────────────────────────────────────────────────────────────────────────────────
export const mean = (xs: readonly number[]): number =>
  xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;

/** `12.3`, `0.04–0.37` (min–max over runs), or `-` without samples; `digits` after the point. */
export function formatRange(xs: readonly number[], digits: number): string {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return '-';
  const lo = Math.min(...ok);
  const hi = Math.max(...ok);
  return lo.toFixed(digits) === hi.toFixed(digits)
    ? lo.toFixed(digits)
    : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
}

/** Fledge ÷ Flagger of the means, as `0.04×`; `-` when either side has no samples or Flagger's is zero. */
export function ratio(fledge: readonly number[], flagger: readonly number[]): string {
  const a = mean(fledge.filter((x) => Number.isFinite(x)));
  const b = mean(flagger.filter((x) => Number.isFinite(x)));
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '-';
  if (b === 0) return a === 0 ? '1×' : '∞';
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/**
 * `md` with the section that starts with `heading` (up to the next `## ` heading) replaced by `section`, or with
 * `section` appended when there is none; every other section of the file is kept as it is.
 */
export function replaceDocSection(md: string, heading: string, section: string): string {
  const start = md.indexOf(heading);
  const next = start >= 0 ? md.indexOf('\n## ', start + 1) : -1;
  const updated =
    start >= 0
      ? `${md.slice(0, start)}${section.trimEnd()}\n${next >= 0 ? md.slice(next) : ''}`
      : `${md.trimEnd()}\n\n${section.trimEnd()}\n`;
  return updated.replace(/\n{3,}/g, '\n\n');
}
