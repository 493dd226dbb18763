// How a release reads in the Temporal Web UI: the "current details" Markdown table and the static summary.
import type { ReleaseStatus } from '../domain/status.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function statusMarkdown(st: ReleaseStatus): string {
  const rows: Array<[string, string]> = [
    ['Phase', st.phase + (st.paused ? ` (paused by ${st.paused.by})` : '')],
    ['Progress', st.progressText],
    [
      'Traffic',
      `primary ${st.weights.primary}% · canary ${st.weights.canary}%${st.weights.mirror !== null ? ` · mirror ${st.weights.mirror}%` : ''}${st.weights.abMatch ? ' · A/B match → canary' : ''}`,
    ],
    ['Failed checks', `${st.failedChecks}/${st.threshold}`],
    ['Waiting for', st.waitingFor],
  ];
  if (st.pendingGate) rows.push(['Pending gate', `${st.pendingGate.gate} — ${st.pendingGate.howToApprove}`]);
  for (const m of st.lastAnalysis?.metrics ?? []) rows.push([`Metric ${m.name}`, m.text]);
  if (st.outcome) rows.push(['Outcome', `${st.outcome}${st.reason ? ` — ${st.reason.message}` : ''}`]);
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`)].join('\n');
}

export function staticSummary(
  target: { namespace: string; name: string },
  images: Record<string, string>,
  strategy: string,
): string {
  return `Release ${target.namespace}/${target.name} → ${Object.values(images).join(', ')} (${strategy})`;
}
