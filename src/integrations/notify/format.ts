// What every notifier says about a release, as plain data: Slack, MS Teams and the JSON webhook render these
// facts in their own markup. PURE (no I/O, no clock: times come from the notification).
import type { ReleaseNotification, Severity } from './notifier.js';

export interface Fact {
  title: string;
  value: string;
}

/** "42 s", "4 min 12 s", "1 h 03 min". */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** One line per container: "podinfo: ghcr.io/stefanprodan/podinfo:6.0.0 → …:6.0.1" (unknown old: "new only"). */
export function imageChanges(n: ReleaseNotification): string[] {
  return Object.entries(n.release.newImages).map(([container, image]) => {
    const before = n.release.previousImages[container];
    if (before === undefined || before === image) return `${container}: ${image}`;
    return `${container}: ${before} → ${shortenSameRepo(before, image)}`;
  });
}

/** "repo:1.0 → repo:1.1" shows the new reference as ":1.1" when only the tag/digest changed. */
function shortenSameRepo(before: string, after: string): string {
  const repo = (ref: string): string => ref.replace(/(@sha256:[0-9a-f]+|:[\w][\w.-]*)$/, '');
  const r = repo(after);
  return r === repo(before) && r.length < after.length ? `…${after.slice(r.length)}` : after;
}

export type ReleaseMood = 'running' | 'waiting' | 'paused' | 'succeeded' | 'failed' | 'neutral';

export function mood(n: ReleaseNotification): ReleaseMood {
  const s = n.status;
  if (s.outcome === 'Promoted') return 'succeeded';
  if (s.outcome === 'RolledBack' || s.outcome === 'Failed') return 'failed';
  if (s.outcome !== null) return 'neutral';
  if (s.paused !== null) return 'paused';
  if (s.pendingGate !== null) return 'waiting';
  return 'running';
}

export const moodEmoji: Record<ReleaseMood, string> = {
  running: '🚀',
  waiting: '⏳',
  paused: '⏸️',
  succeeded: '✅',
  failed: '❌',
  neutral: '⚪',
};

export const severityEmoji: Record<Severity, string> = { info: 'ℹ️', warn: '⚠️', error: '🛑' };

/** "podinfo.test: promoted" — the headline of the release's message, from its current status. */
export function headline(n: ReleaseNotification): string {
  const s = n.status;
  const name = `${n.release.target.name}.${n.release.target.namespace}`;
  const state =
    s.outcome !== null
      ? s.outcome === 'Promoted'
        ? 'promoted'
        : s.outcome === 'RolledBack'
          ? 'rolled back'
          : s.outcome.toLowerCase()
      : s.paused !== null
        ? 'paused'
        : s.pendingGate !== null
          ? `waiting for ${s.pendingGate.gate}`
          : s.phase.toLowerCase();
  return `${moodEmoji[mood(n)]} ${name}: ${s.strategy} release ${state}`;
}

/** The facts shown for a release, most important first (Slack shows up to 10 fields). */
export function releaseFacts(n: ReleaseNotification): Fact[] {
  const s = n.status;
  const traffic =
    s.weights.mirror !== null
      ? `primary ${s.weights.primary}% / canary ${s.weights.canary}%, mirror ${s.weights.mirror}%`
      : `primary ${s.weights.primary}% / canary ${s.weights.canary}%${s.weights.abMatch ? ' (+ matched requests)' : ''}`;
  const facts: Fact[] = [
    { title: 'Target', value: `${n.release.target.namespace}/${n.release.target.name}` },
    { title: 'Image', value: imageChanges(n).join('\n') || '—' },
    { title: 'Strategy', value: s.strategy },
    { title: 'Phase', value: s.paused !== null ? `${s.phase} (paused)` : s.phase },
    { title: 'Progress', value: s.progressText },
    { title: 'Traffic', value: traffic },
    { title: 'Failed checks', value: `${s.failedChecks}/${s.threshold}` },
    {
      title: s.outcome !== null ? 'Duration' : 'Running for',
      value: durationText(n.at - n.release.startedAt),
    },
  ];
  if (n.release.initiator) facts.push({ title: 'Started by', value: n.release.initiator });
  const op = lastOperatorAction(n);
  if (op) facts.push({ title: 'Operator', value: op });
  return facts;
}

/** "approve by alice: looks good" — the latest accepted operator action, if any. */
export function lastOperatorAction(n: ReleaseNotification): string | undefined {
  const e = [...n.status.operatorLog].reverse().find((x) => x.accepted);
  if (!e) return undefined;
  return `${e.action}${e.gate ? ` ${e.gate}` : ''} by ${e.actor}${e.reason ? `: ${e.reason}` : ''}`;
}

/** "request-success-rate 91.2 (min 99)" and its query, when a metric failed. */
export function failingMetricText(n: ReleaseNotification): { line: string; query?: string } | undefined {
  const f = n.failingMetric;
  if (!f) return undefined;
  const value = f.value === null ? 'no value' : String(Math.round(f.value * 1000) / 1000);
  return { line: `${f.name} ${value} (${f.threshold})`, ...(f.query ? { query: f.query } : {}) };
}

/** The pending gate and the command that opens it. */
export function pendingGateText(n: ReleaseNotification): string | undefined {
  const g = n.status.pendingGate;
  return g ? `${g.gate} pending — ${g.howToApprove}` : undefined;
}
