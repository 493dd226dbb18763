// A compact, JSON status for the workflow's `status` query, the CLI (`fledge status`) and update answers. PURE.
import type { ReleasePlan, ThresholdRange } from './plan.js';
import type { Outcome, ReasonCode } from './result.js';
import { formatNumber, formatRange } from './result.js';
import type {
  GateName,
  HookSummary,
  MetricVerdictKind,
  OperatorLogEntry,
  PauseInfo,
  Phase,
  ReleaseState,
} from './state.js';
import { normaliseWeights } from './weights.js';

export interface StatusMetric {
  name: string;
  value: number | null;
  thresholdRange: ThresholdRange;
  ok: boolean;
  kind: MetricVerdictKind;
  /** "request-success-rate 98.5 (min 99) ✗" */
  text: string;
}

export interface ReleaseStatus {
  target: string;
  phase: Phase;
  strategy: ReleasePlan['strategy']['kind'];
  /** Canary: weight steps taken; A/B and blue/green: iterations. */
  progress: { unit: 'step' | 'iteration'; current: number; total: number };
  /** "step 2/5" | "iteration 3/10" */
  progressText: string;
  /**
   * Traffic as Flagger reports it (`reportedWeights`): the route weights, except while an A/B match route is active,
   * where the canary gets all matched requests and the weights are primary 0 / canary 100.
   */
  weights: { primary: number; canary: number; mirror: number | null; abMatch: boolean };
  failedChecks: number;
  threshold: number;
  pendingGate: {
    gate: GateName;
    since: number;
    manualRequired: boolean;
    failingWebhooks: string[];
    approvedBy?: string;
    howToApprove: string;
  } | null;
  paused: PauseInfo | null;
  /** What the release is waiting for right now, in words. */
  waitingFor: string;
  lastAnalysis: {
    at: number;
    tick: number;
    ok: boolean;
    verdict: string;
    metrics: StatusMetric[];
    hooks: HookSummary[];
  } | null;
  outcome: Outcome | null;
  reason: { code: ReasonCode; message: string } | null;
  /** When the release started (workflow time, unix ms). */
  startedAt: number;
  /** Who did what: operator actions, accepted and rejected (most recent last). */
  operatorLog: OperatorLogEntry[];
  /** One line for logs, search-attribute summaries and `fledge list`. */
  summary: string;
}

function metricText(m: {
  name: string;
  value: number | null;
  thresholdRange: ThresholdRange;
  ok: boolean;
  kind: MetricVerdictKind;
}): string {
  const value =
    m.value === null
      ? m.kind === 'infrastructure'
        ? 'error'
        : m.kind === 'not-evaluated'
          ? 'not evaluated'
          : 'no values'
      : formatNumber(m.value);
  return `${m.name} ${value} (${formatRange(m.thresholdRange)}) ${m.ok ? '✓' : '✗'}`;
}

/**
 * The weights to report for the route weights and A/B match flag: during A/B iterations the default route stays
 * 100/0 while every matched request goes to the canary, which Flagger reports (canary status, `flagger_canary_weight`)
 * as primary 0 / canary 100 — the weights of the route that is being tested. PURE.
 */
export function reportedWeights(
  primary: number,
  canary: number,
  abMatch: boolean,
): { primary: number; canary: number } {
  return abMatch ? { primary: 0, canary: 100 } : { primary, canary };
}

export function describeStatus(plan: ReleasePlan, state: ReleaseState): ReleaseStatus {
  const st = plan.strategy;
  const target = `${plan.target.namespace}/${plan.target.name}`;
  const threshold = Math.max(1, Math.floor(plan.threshold));
  const progress =
    st.kind === 'canary'
      ? { unit: 'step' as const, current: state.stepIndex, total: normaliseWeights(st.weights).length }
      : {
          unit: 'iteration' as const,
          current: Math.min(state.iterations, st.iterations),
          total: st.iterations,
        };
  const progressText = `${progress.unit} ${progress.current}/${progress.total}`;
  const pending = state.pendingGate;
  const pendingGate =
    pending === null
      ? null
      : {
          gate: pending.gate,
          since: pending.since,
          manualRequired: pending.manualRequired,
          failingWebhooks: [...pending.failingWebhooks],
          ...(pending.approvedBy !== undefined ? { approvedBy: pending.approvedBy } : {}),
          howToApprove:
            `fledge approve ${target} --gate ${pending.gate} --reason "<why>"` +
            (pending.manualRequired
              ? ' (manual gate: only an operator approval opens it)'
              : pending.failingWebhooks.length > 0
                ? ` (or make webhook(s) ${pending.failingWebhooks.join(', ')} answer 2xx)`
                : ''),
        };
  const last = state.lastAnalysis;
  const lastAnalysis =
    last === null
      ? null
      : {
          at: last.at,
          tick: last.tick,
          ok: last.ok,
          verdict: last.verdict,
          metrics: last.metrics.map((m) => ({
            name: m.name,
            value: m.value,
            thresholdRange: m.thresholdRange,
            ok: m.ok,
            kind: m.kind,
            text: metricText(m),
          })),
          hooks: last.hooks.map((h) => ({ ...h })),
        };
  const result = state.result;
  const waitingFor = describeWaiting(plan, state);
  const weights = {
    ...reportedWeights(state.primaryWeight, state.canaryWeight, state.abMatchActive),
    mirror: state.mirror,
    abMatch: state.abMatchActive,
  };
  const traffic =
    `${weights.primary}/${weights.canary}` +
    (weights.mirror !== null ? ` mirror ${weights.mirror}%` : '') +
    (weights.abMatch ? ' +match' : '');
  const summary =
    result !== null
      ? `${target} ${result.outcome}: ${result.reason.message}`
      : `${target} ${state.phase}${state.paused !== null ? ' (paused)' : ''} ${progressText}, traffic ${traffic}, failed checks ${state.failedChecks}/${threshold}; ${waitingFor}`;
  return {
    target,
    phase: state.phase,
    strategy: st.kind,
    progress,
    progressText,
    weights,
    failedChecks: state.failedChecks,
    threshold,
    pendingGate,
    paused: state.paused === null ? null : { ...state.paused },
    waitingFor,
    lastAnalysis,
    outcome: result?.outcome ?? null,
    reason: result !== null ? { ...result.reason } : null,
    startedAt: state.startedAt,
    operatorLog: state.operatorLog.map((e) => ({ ...e })),
    summary,
  };
}

function describeWaiting(plan: ReleasePlan, state: ReleaseState): string {
  if (state.result !== null) return 'nothing (finished)';
  if (state.paused !== null) return `resume (paused by ${state.paused.by}: ${state.paused.reason})`;
  if (state.infra !== null && state.infra.retryAt !== null) {
    return `retry of ${state.infra.step} (attempt ${state.infra.attempts}) after: ${state.infra.message}`;
  }
  const gate = state.pendingGate;
  const gateText =
    gate === null
      ? ''
      : ` (gate ${gate.gate} pending${gate.approvedBy !== undefined ? `, approved by ${gate.approvedBy}` : ''})`;
  const cur = state.cursor;
  switch (cur.kind) {
    case 'start':
      return 'start';
    case 'initialize':
      return 'initialisation (primary, services, routes)';
    case 'readiness': {
      const obs = state.lastReadiness;
      const detail = obs !== null && obs.workload === cur.workload && !obs.ready ? `: ${obs.message}` : '';
      return `${cur.workload} readiness${detail}`;
    }
    case 'hooks':
      return `${cur.hookType} webhooks${gateText}`;
    case 'analysis':
      return `analysis results${gateText}`;
    case 'promote':
      return `promotion of ${plan.target.name}-primary`;
    case 'timer': {
      const at = new Date(cur.until).toISOString();
      switch (cur.then) {
        case 'tick':
          return `next analysis at ${at}${gateText}`;
        case 'canary-readiness':
        case 'primary-readiness': {
          const obs = state.lastReadiness;
          return `${cur.then === 'canary-readiness' ? 'canary' : 'primary'} readiness (next poll ${at})${obs !== null && !obs.ready ? `: ${obs.message}` : ''}`;
        }
        case 'confirm-rollout':
          return `confirm-rollout approval (webhooks re-polled at ${at})`;
        case 'route-back':
          return `next promotion traffic step at ${at}`;
      }
      return `timer until ${at}`;
    }
    case 'manual-gate':
      return `operator approval of ${gate?.gate ?? 'the pending gate'}`;
    case 'finish':
      return 'final traffic/scale operations';
    case 'done':
      return 'nothing (finished)';
  }
}
