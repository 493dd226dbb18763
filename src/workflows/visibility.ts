// How a release reads in the Temporal Web UI: the "current details" Markdown table and the static summary.
import type { ReleasePlan } from '../domain/plan.js';
import { formatRange } from '../domain/result.js';
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

/** The release's plan in a few lines (the Web UI's static "Details"): what will happen, checked against what. */
export function staticDetails(plan: ReleasePlan, initiator: string): string {
  const st = plan.strategy;
  const every = `every ${plan.interval}`;
  const strategy =
    st.kind === 'canary'
      ? `canary: ${st.mirror ? 'mirror, then ' : ''}weights ${st.weights.join(' → ')} % (${every})${st.stepWeightPromotion > 0 ? `, promotion steps of ${st.stepWeightPromotion} %` : ''}`
      : st.kind === 'ab-testing'
        ? `A/B testing: ${st.iterations} iterations (${every}) for matched requests`
        : `blue/green: ${st.iterations} iterations (${every})${st.mirror ? ' with mirroring' : ''}`;
  const rows: Array<[string, string]> = [
    [
      'Images',
      Object.entries(plan.images)
        .map(([c, i]) => `${c}=${i}`)
        .join(', '),
    ],
    ['Strategy', strategy],
    ['Rollback after', `${Math.max(1, Math.floor(plan.threshold))} failed check(s)`],
    ['Metrics', plan.metrics.map((m) => `${m.name} (${formatRange(m.thresholdRange)})`).join(', ') || 'none'],
    ['Webhooks', plan.hooks.map((h) => `${h.name} (${h.type})`).join(', ') || 'none'],
    ['Manual gates', plan.manualGates.join(', ') || 'none'],
    ['Progress deadline', `${Math.round(plan.progressDeadlineMs / 1000)} s`],
    ['Started by', initiator],
  ];
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`)].join('\n');
}
