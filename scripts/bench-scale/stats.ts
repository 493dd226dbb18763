// Pure parts of the scale benchmark (scripts/bench-scale.ts): percentiles, Fledge's tick lateness from a release's
// history, Flagger's tick lateness from its log lines, requests per second. No I/O, so each can be unit tested
// (test/unit/bench-scale.test.ts).

/** The p-th percentile (0–100) by nearest rank; NaN without samples. */
export function percentile(xs: readonly number[], p: number): number {
  const ok = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (ok.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * ok.length);
  return ok[Math.min(ok.length - 1, Math.max(0, rank - 1))] as number;
}

/** The parts of a Temporal history event the lateness reader needs (as `fetchHistory()` returns them). */
export interface HistoryEventLike {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  timerStartedEventAttributes?: {
    startToFireTimeout?: { seconds?: unknown; nanos?: number | null } | null;
  } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown; identity?: string | null } | null;
  workflowTaskCompletedEventAttributes?: { identity?: string | null } | null;
  markerRecordedEventAttributes?: { markerName?: string | null } | null;
  workflowTaskTimedOutEventAttributes?: object | null;
}

const durMs = (d: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  Number(d?.seconds ?? 0) * 1000 + Math.floor((d?.nanos ?? 0) / 1e6);
export const eventMs = (e: HistoryEventLike): number => durMs(e.eventTime);

/**
 * Tick lateness of one Fledge release, in ms: for every analysis that follows a timer (the workflow's wait for the
 * next analysis interval), the time its `runAnalysis` activity STARTED on a worker minus the time the timer was
 * due (TimerStarted + startToFireTimeout). It adds up the timer's firing delay, the workflow task that schedules
 * the analysis, and the activity's time in the task queue. Analyses not preceded by a timer (the first one, right
 * after the canary became ready) have no schedule and are not counted.
 */
export function fledgeTickLateness(events: readonly HistoryEventLike[]): number[] {
  let timerDue: number | undefined;
  const due = new Map<string, number>();
  const out: number[] = [];
  for (const e of events) {
    const t = e.timerStartedEventAttributes;
    if (t) {
      timerDue = eventMs(e) + durMs(t.startToFireTimeout);
      continue;
    }
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAnalysis') {
      if (timerDue !== undefined) due.set(String(e.eventId), timerDue);
      timerDue = undefined;
      continue;
    }
    const s = e.activityTaskStartedEventAttributes;
    if (s) {
      const d = due.get(String(s.scheduledEventId));
      if (d !== undefined) out.push(eventMs(e) - d);
    }
  }
  return out;
}

/**
 * Workflow tasks of one history that timed out (the worker did not answer within the task's timeout), and the
 * longest stall they caused: from a timeout to the next completed workflow task, in ms. The history keeps only
 * the first timed-out attempt of a run of them (later attempts are transient), so a stall spans the attempts in
 * between and the server's backoff before each.
 */
export function workflowTaskTimeouts(events: readonly HistoryEventLike[]): {
  timedOut: number;
  longestStallMs: number;
} {
  let timedOut = 0;
  let longestStallMs = 0;
  let since: number | undefined;
  for (const e of events) {
    if (e.workflowTaskTimedOutEventAttributes) {
      timedOut++;
      since ??= eventMs(e);
    } else if (e.workflowTaskCompletedEventAttributes && since !== undefined) {
      longestStallMs = Math.max(longestStallMs, eventMs(e) - since);
      since = undefined;
    }
  }
  return { timedOut, longestStallMs };
}

/**
 * Who did the work of a history: workflow tasks completed and activities started, per worker identity (local
 * activities run inside the workflow task's worker and are counted with its workflow tasks: `localActivities`
 * is the count of their markers, credited to the identity of the workflow task that recorded them).
 */
export function workShare(
  events: readonly HistoryEventLike[],
): Map<string, { workflowTasks: number; activities: number; localActivities: number }> {
  const m = new Map<string, { workflowTasks: number; activities: number; localActivities: number }>();
  const get = (id: string) => {
    let v = m.get(id);
    if (!v) m.set(id, (v = { workflowTasks: 0, activities: 0, localActivities: 0 }));
    return v;
  };
  let markers = 0;
  for (const e of events) {
    if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') markers++;
    const wt = e.workflowTaskCompletedEventAttributes;
    if (wt) {
      const v = get(wt.identity || '?');
      v.workflowTasks++;
      // Markers follow the WorkflowTaskCompleted that recorded them; credit the ones seen since the last task.
      v.localActivities += markers;
      markers = 0;
    }
    const at = e.activityTaskStartedEventAttributes;
    if (at) get(at.identity || '?').activities++;
  }
  return m;
}

export interface FlaggerLogLine {
  ts: string;
  msg: string;
  canary?: string;
}

/**
 * Flagger's tick lateness from its log, in ms. Flagger runs one Go ticker per Canary (the analysis interval); each
 * tick that does something logs an event line carrying `"canary": "<name>.<namespace>"` (Starting canary analysis,
 * Advance, Halt, Copying … template, Routing all traffic to primary, Promotion completed, Rolling back). Lines of
 * one tick come within a second of each other and count once (the first). A ticker does not drift, so each tick is
 * due at phase + k·interval; the phase is unknown, so it is taken from the canary's most punctual tick (smallest
 * offset from the first tick modulo the interval) and each tick's lateness is its offset from that phase. It
 * therefore measures lateness relative to the canary's best tick (a lower bound), folded into half an interval.
 */
export function flaggerTickLateness(
  lines: readonly FlaggerLogLine[],
  intervalMs: number,
  canaries?: ReadonlySet<string>,
): number[] {
  const per = new Map<string, number[]>();
  for (const l of lines) {
    if (!l.canary || (canaries && !canaries.has(l.canary))) continue;
    const t = Date.parse(l.ts);
    if (!Number.isFinite(t)) continue;
    const ts = per.get(l.canary) ?? [];
    if (ts.length === 0 || t - (ts.at(-1) as number) > 1000) ts.push(t);
    per.set(l.canary, ts);
  }
  const out: number[] = [];
  for (const ts of per.values()) {
    if (ts.length < 2) continue;
    const t0 = ts[0] as number;
    const offsets = ts.map((t) => {
      let o = (t - t0) % intervalMs;
      if (o > intervalMs / 2) o -= intervalMs;
      return o;
    });
    const phase = Math.min(...offsets);
    for (const o of offsets) out.push(o - phase);
  }
  return out;
}

/** Parses Flagger's JSON log lines (zap); other lines are skipped. */
export function parseFlaggerLog(text: string): FlaggerLogLine[] {
  const out: FlaggerLogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      const j = JSON.parse(raw) as { ts?: unknown; msg?: unknown; canary?: unknown };
      if (typeof j.ts === 'string' && typeof j.msg === 'string')
        out.push({ ts: j.ts, msg: j.msg, ...(typeof j.canary === 'string' ? { canary: j.canary } : {}) });
    } catch {
      // not a log record
    }
  }
  return out;
}

/** Mean requests per second over [from, to) and the busiest 10 s window's rate. */
export function requestRates(
  times: readonly number[],
  from: number,
  to: number,
): { mean: number; peak10s: number } {
  const inside = times.filter((t) => t >= from && t < to).sort((a, b) => a - b);
  const span = Math.max(1, to - from) / 1000;
  let peak = 0;
  let j = 0;
  for (let i = 0; i < inside.length; i++) {
    while ((inside[i] as number) - (inside[j] as number) >= 10_000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return { mean: inside.length / span, peak10s: Math.min(peak, inside.length) / Math.min(10, span) };
}
