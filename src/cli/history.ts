// `fledge history`: a release's audit trail, read from its Temporal workflow history (every run of a
// continue-as-new chain): phase changes, traffic weights, workload steps, webhook and analysis results with
// values against thresholds, operator actions with who and why (accepted or rejected), and the outcome.
import type { Command } from 'commander';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { evaluateMetric, summariseHooks } from '../domain/evaluate.js';
import type { HookResult, MetricResult } from '../domain/events.js';
import type { HookPlan, MetricPlan } from '../domain/plan.js';
import { formatNumber, formatRange, type ReleaseResult } from '../domain/result.js';
import type { OperatorLogEntry } from '../domain/state.js';
import type { ReleaseStatus } from '../domain/status.js';
import { webUiWorkflowUrl } from '../starter.js';
import { connectCli } from './connect.js';
import { cliConfig, parseReleaseRef, parseRunId } from './options.js';
import { operatorActionNames, statusQuery, type OperatorRequest } from '../workflows/messages.js';
import type { ReleaseInput } from '../workflows/prepare.js';
import { CliError, exitCodes } from './errors.js';
import { clock, isJson, out, outputOption, printJson, sanitizeDeep, table, type Painter } from './output.js';
import { boundedQuery, resolveRelease } from './operate.js';
import { outcomeColour, phaseColour } from './watch.js';

type HistoryEvent = NonNullable<History['events']>[number];

export type HistoryKind =
  | 'started'
  | 'phase'
  | 'traffic'
  | 'workload'
  | 'hooks'
  | 'analysis'
  | 'operator'
  | 'superseded'
  | 'error'
  | 'outcome'
  // --verbose only:
  | 'readiness'
  | 'timer'
  | 'k8s-event'
  | 'notify'
  | 'continued';

const verboseKinds: ReadonlySet<HistoryKind> = new Set([
  'readiness',
  'timer',
  'k8s-event',
  'notify',
  'continued',
]);

export interface OperatorFacts {
  action: string;
  actor: string;
  reason: string;
  gate?: string;
  /** `update` (the CLI's path: validated before it is recorded) or `signal` (Web UI, `temporal workflow signal`). */
  via: 'update' | 'signal' | 'cancel';
  /** The Temporal client identity that sent it (process@host). */
  identity?: string;
  /** From the release's operator log; absent when the log no longer has it (bounded) or is unavailable. */
  accepted?: boolean;
  rejectionReason?: string;
  note?: string;
}

export interface HistoryEntry {
  /** ISO 8601 (UTC). */
  at: string;
  runId: string;
  eventId: number;
  kind: HistoryKind;
  /** Human-readable description (no colours). */
  text: string;
  /** Analysis and hooks: whether everything passed; errors: false. */
  ok?: boolean;
  operator?: OperatorFacts;
  /** The decoded facts behind `text` (weights, metric values with thresholds, hook results, the result). */
  data?: unknown;
}

export interface RunHistory {
  runId: string;
  history: History;
}

export interface ReleaseHistory {
  workflowId: string;
  /** Runs of this execution chain, oldest first (more than one after continue-as-new). */
  runIds: string[];
  input: Pick<ReleaseInput, 'images' | 'initiator'> | null;
  /** How the last run ended: RUNNING, COMPLETED, FAILED, TERMINATED, CANCELED, TIMED_OUT. */
  status: string;
  result: ReleaseResult | null;
  entries: HistoryEntry[];
}

function decode<T>(payload: Payload | null | undefined): T | undefined {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(payload);
  } catch {
    return undefined;
  }
}

function first<T>(payloads: { payloads?: Payload[] | null } | null | undefined): T | undefined {
  return decode<T>(payloads?.payloads?.[0]);
}

function args(payloads: { payloads?: Payload[] | null } | null | undefined): unknown[] {
  return (payloads?.payloads ?? []).map((p) => decode<unknown>(p));
}

/** Protobuf timestamp → epoch ms (seconds come as a Long from the server, as a number from JSON fixtures). */
function timestampMs(ts: HistoryEvent['eventTime']): number {
  const s = ts?.seconds;
  const seconds = typeof s === 'number' ? s : s ? Number(s.toString()) : 0;
  return seconds * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6);
}

function eventTime(e: HistoryEvent): string {
  return new Date(timestampMs(e.eventTime)).toISOString();
}

function failureText(f: { message?: string | null; cause?: unknown } | null | undefined): string {
  if (!f) return 'unknown failure';
  const cause = f.cause as { message?: string | null } | null | undefined;
  return cause?.message ? `${f.message ?? ''}: ${cause.message}` : (f.message ?? 'unknown failure');
}

function asRequest(v: unknown): OperatorRequest {
  const r = (v ?? {}) as Partial<OperatorRequest>;
  return {
    actor: typeof r.actor === 'string' && r.actor !== '' ? r.actor : 'unknown',
    reason: typeof r.reason === 'string' ? r.reason : '',
    ...(typeof r.gate === 'string' ? { gate: r.gate } : {}),
  };
}

function operatorText(o: OperatorFacts): string {
  const gate = o.gate ? ` (gate ${o.gate})` : '';
  const reason = o.reason ? `: "${o.reason}"` : '';
  const verdict =
    o.accepted === false
      ? ` — rejected: ${o.rejectionReason ?? 'no reason recorded'}`
      : o.accepted === true
        ? ` — accepted${o.note ? ` (${o.note})` : ''}`
        : '';
  return `${o.action} by ${o.actor}${gate}${reason} [${o.via}]${verdict}`;
}

function weightsText(w: {
  primaryWeight?: number;
  canaryWeight?: number;
  mirrorPercent?: number | null;
  abMatch?: boolean;
}): string {
  return (
    `primary ${w.primaryWeight ?? '?'}%  canary ${w.canaryWeight ?? '?'}%` +
    (w.mirrorPercent !== null && w.mirrorPercent !== undefined ? `  mirror ${w.mirrorPercent}%` : '') +
    (w.abMatch ? '  +A/B match → canary' : '')
  );
}

function hooksText(
  hooks: readonly HookPlan[],
  results: readonly HookResult[],
): { text: string; ok: boolean } {
  const summaries = hooks.length > 0 ? summariseHooks(hooks, results) : results;
  const ok = summaries.every((h) => h.ok);
  const text = summaries.map((h) => `${h.name} ${h.ok ? '✓' : '✗'}${h.ok ? '' : ` ${h.message}`}`).join(', ');
  return { text: text || 'no hooks', ok };
}

/**
 * The audit trail of one release from its workflow history (oldest run first). Pure: `operatorLog` (from the
 * result or the status query) tells which operator messages were accepted or rejected.
 */
export function summarizeHistory(
  workflowId: string,
  runs: readonly RunHistory[],
  operatorLog: readonly OperatorLogEntry[] = [],
): ReleaseHistory {
  const entries: HistoryEntry[] = [];
  let input: ReleaseHistory['input'] = null;
  let status = 'RUNNING';
  let result: ReleaseResult | null = null;
  let phase = '';
  const unusedLog = [...operatorLog];

  const matchLog = (o: OperatorFacts): void => {
    const i = unusedLog.findIndex(
      (l) => l.action === o.action && l.actor === o.actor && l.reason === o.reason,
    );
    if (i < 0) return;
    const [l] = unusedLog.splice(i, 1);
    if (!l) return;
    o.accepted = l.accepted;
    if (l.rejectionReason) o.rejectionReason = l.rejectionReason;
    if (l.note) o.note = l.note;
  };

  runs.forEach(({ runId, history }, runIndex) => {
    // Activities scheduled in this run: their type, summary and input, for their completion events.
    const scheduled = new Map<string, { type: string; summary: string; input: unknown[] }>();
    const updates = new Map<string, HistoryEntry>();
    const add = (e: HistoryEvent, entry: Omit<HistoryEntry, 'at' | 'runId' | 'eventId'>): HistoryEntry => {
      const full: HistoryEntry = { at: eventTime(e), runId, eventId: Number(e.eventId ?? 0), ...entry };
      entries.push(full);
      return full;
    };
    for (const e of history.events ?? []) {
      const summary = decode<string>(e.userMetadata?.summary) ?? '';
      if (e.workflowExecutionStartedEventAttributes) {
        const a = e.workflowExecutionStartedEventAttributes;
        const inp = first<ReleaseInput>(a.input);
        if (runIndex === 0) {
          input = inp ? { images: inp.images, initiator: inp.initiator } : null;
          const images = inp ? Object.entries(inp.images ?? {}).map(([c, ref]) => `${c}=${ref}`) : [];
          add(e, {
            kind: 'started',
            text: `${summary || `release ${workflowId}`}${inp?.initiator ? `, initiated by ${inp.initiator}` : ''}${summary ? '' : ` (${images.join(', ')})`}`,
            data: { images: inp?.images ?? {}, initiator: inp?.initiator ?? null, runId },
          });
        } else {
          add(e, { kind: 'continued', text: `continued as new run ${runId}` });
        }
      } else if (e.upsertWorkflowSearchAttributesEventAttributes) {
        const fields = e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
        const p = decode<string>(fields.FledgePhase);
        if (typeof p === 'string' && p !== phase) {
          phase = p;
          add(e, { kind: 'phase', text: p, data: { phase: p } });
        }
      } else if (e.markerRecordedEventAttributes) {
        const m = e.markerRecordedEventAttributes;
        const meta = first<{ activity_type?: string }>(m.details?.data);
        // Markers that are not local activities (core_patch: a versioning gate of the workflow code) are Temporal's
        // bookkeeping, not something the release did: not shown.
        if (!meta?.activity_type) continue;
        const type = meta.activity_type;
        const res = first<unknown>(m.details?.result);
        if (m.failure) {
          add(e, { kind: 'error', ok: false, text: `${summary || type} failed: ${failureText(m.failure)}` });
          continue;
        }
        switch (type) {
          case 'setRoutes': {
            const w = (res ?? {}) as Parameters<typeof weightsText>[0];
            add(e, { kind: 'traffic', text: weightsText(w), data: res });
            break;
          }
          case 'scaleCanary':
          case 'promotePrimary':
            add(e, { kind: 'workload', text: summary || type, data: res });
            break;
          case 'checkReadiness': {
            const r = (res ?? {}) as { ready?: boolean; message?: string };
            add(e, {
              kind: 'readiness',
              ok: r.ready === true,
              text: `${summary || type}: ${r.ready ? 'ready' : 'not ready'}${r.message ? ` (${r.message})` : ''}`,
            });
            break;
          }
          case 'recordEvent':
            add(e, { kind: 'k8s-event', text: summary.replace(/^event /, 'Kubernetes Event ') || type });
            break;
          case 'notify':
            add(e, { kind: 'notify', text: summary || type });
            break;
          case 'recordOutcome':
            // The worker's metrics bookkeeping at the end; the outcome entry already says how the release ended.
            break;
          case 'verifyIdentity':
            // The check of an operator message's identity token: its verdict is the operator entry's identity.
            break;
          default:
            // Any other step of the release is shown as what it is, never as a notification.
            add(e, { kind: 'workload', text: summary || type });
        }
      } else if (e.activityTaskScheduledEventAttributes) {
        const a = e.activityTaskScheduledEventAttributes;
        scheduled.set(String(e.eventId), {
          type: a.activityType?.name ?? 'activity',
          summary,
          input: args(a.input),
        });
      } else if (e.activityTaskCompletedEventAttributes) {
        const a = e.activityTaskCompletedEventAttributes;
        const s = scheduled.get(String(a.scheduledEventId));
        const res = first<unknown>(a.result);
        switch (s?.type) {
          case 'runHooks': {
            const plans = (s.input[1] ?? []) as HookPlan[];
            const h = hooksText(plans, (res ?? []) as HookResult[]);
            add(e, {
              kind: 'hooks',
              ok: h.ok,
              text: `${plans[0]?.type ?? ''} webhooks ${h.ok ? 'passed' : 'failed'}: ${h.text}`,
              data: res,
            });
            break;
          }
          case 'runAnalysis': {
            const r = (res ?? {}) as { hooks?: HookResult[]; metrics?: MetricResult[] };
            const hookPlans = (s.input[1] ?? []) as HookPlan[];
            const metricPlans = (s.input[2] ?? []) as MetricPlan[];
            const metrics = metricPlans.map((mp) => {
              const v = evaluateMetric(
                mp,
                r.metrics?.find((m) => m.name === mp.name),
              );
              return {
                ...v,
                text: `${mp.name} ${v.value === null ? v.kind : formatNumber(v.value)} (${formatRange(mp.thresholdRange)}) ${v.ok ? '✓' : '✗'}`,
              };
            });
            const hooks = hooksText(hookPlans, r.hooks ?? []);
            const ok = hooks.ok && metrics.every((m) => m.ok);
            const parts = [...metrics.map((m) => m.text), ...(hookPlans.length > 0 ? [hooks.text] : [])];
            add(e, {
              kind: 'analysis',
              ok,
              text: `${ok ? 'passed' : 'failed'}: ${parts.join(', ') || 'no checks'}`,
              data: { metrics, hooks: r.hooks ?? [] },
            });
            break;
          }
          case 'initializeRelease': {
            const created = (res as { primaryCreated?: boolean } | undefined)?.primaryCreated;
            add(e, {
              kind: 'workload',
              text: `${s.summary || 'initialised'}${created ? ' (primary created)' : ''}`,
              data: res,
            });
            break;
          }
          default:
            add(e, { kind: 'workload', text: `${s?.summary || s?.type || 'activity'} completed`, data: res });
        }
      } else if (e.activityTaskCancelRequestedEventAttributes) {
        // An operator action (abort, promote, pause…), a supersede or a cancel interrupted a long activity.
        const s = scheduled.get(String(e.activityTaskCancelRequestedEventAttributes.scheduledEventId));
        add(e, {
          kind: 'workload',
          text: `${s?.summary || s?.type || 'activity'} interrupted: cancelled, its result is not used`,
        });
      } else if (e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) {
        const a = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
        const s = scheduled.get(String(a?.scheduledEventId));
        add(e, {
          kind: 'error',
          ok: false,
          text: `${s?.summary || s?.type || 'activity'} failed: ${failureText(a?.failure)}`,
        });
      } else if (e.timerStartedEventAttributes) {
        add(e, {
          kind: 'timer',
          text: `wait ${summary || e.timerStartedEventAttributes.startToFireTimeout}`,
        });
      } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
        const a = e.workflowExecutionUpdateAcceptedEventAttributes;
        const name = a.acceptedRequest?.input?.name ?? 'update';
        const req = asRequest(first<unknown>(a.acceptedRequest?.input?.args));
        const o: OperatorFacts = {
          action: name,
          actor: req.actor,
          reason: req.reason,
          ...(req.gate ? { gate: req.gate } : {}),
          via: 'update',
          ...(a.acceptedRequest?.meta?.identity ? { identity: a.acceptedRequest.meta.identity } : {}),
        };
        matchLog(o);
        const entry = add(e, { kind: 'operator', text: operatorText(o), operator: o });
        const updateId = a.acceptedRequest?.meta?.updateId ?? a.protocolInstanceId;
        if (updateId) updates.set(updateId, entry);
      } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
        const a = e.workflowExecutionUpdateCompletedEventAttributes;
        const entry = updates.get(a.meta?.updateId ?? '');
        if (entry?.operator && a.outcome?.failure) {
          entry.operator.accepted = false;
          entry.operator.rejectionReason = failureText(a.outcome.failure);
          entry.text = operatorText(entry.operator);
        }
      } else if (e.workflowExecutionSignaledEventAttributes) {
        const a = e.workflowExecutionSignaledEventAttributes;
        const name = a.signalName ?? 'signal';
        if (name === 'supersede') {
          const by = (first<{ by?: string }>(a.input) ?? {}).by ?? 'a newer release';
          add(e, { kind: 'superseded', text: `superseded by ${by}`, data: { by } });
        } else if ((operatorActionNames as readonly string[]).includes(name)) {
          const req = asRequest(first<unknown>(a.input));
          const o: OperatorFacts = {
            action: name,
            actor: req.actor,
            reason: req.reason,
            ...(req.gate ? { gate: req.gate } : {}),
            via: 'signal',
            ...(a.identity ? { identity: a.identity } : {}),
          };
          matchLog(o);
          add(e, { kind: 'operator', text: operatorText(o), operator: o });
        } else {
          add(e, { kind: 'notify', text: `signal ${name}` });
        }
      } else if (e.workflowExecutionCancelRequestedEventAttributes) {
        const a = e.workflowExecutionCancelRequestedEventAttributes;
        const o: OperatorFacts = {
          action: 'cancel',
          actor: a.identity ?? 'unknown',
          reason: a.cause ?? '',
          via: 'cancel',
        };
        add(e, { kind: 'operator', text: operatorText(o), operator: o });
      } else if (e.workflowExecutionCompletedEventAttributes) {
        status = 'COMPLETED';
        const r = first<ReleaseResult>(e.workflowExecutionCompletedEventAttributes.result) ?? null;
        result = r;
        const fc = r?.failingCheck;
        add(e, {
          kind: 'outcome',
          ok: r?.outcome === 'Promoted',
          text: r
            ? `${r.outcome}: ${r.reason.message}${fc && fc.kind !== 'metric' ? ` (${fc.kind} ${fc.name}: ${fc.message})` : ''}`
            : 'completed',
          data: r,
        });
      } else if (e.workflowExecutionFailedEventAttributes) {
        status = 'FAILED';
        add(e, {
          kind: 'outcome',
          ok: false,
          text: `workflow failed: ${failureText(e.workflowExecutionFailedEventAttributes.failure)}`,
        });
      } else if (e.workflowExecutionTerminatedEventAttributes) {
        status = 'TERMINATED';
        const a = e.workflowExecutionTerminatedEventAttributes;
        add(e, {
          kind: 'outcome',
          ok: false,
          text: `terminated${a.identity ? ` by ${a.identity}` : ''}${a.reason ? `: ${a.reason}` : ''}`,
        });
      } else if (e.workflowExecutionCanceledEventAttributes) {
        status = 'CANCELED';
        add(e, { kind: 'outcome', ok: false, text: 'workflow cancelled' });
      } else if (e.workflowExecutionTimedOutEventAttributes) {
        status = 'TIMED_OUT';
        add(e, { kind: 'outcome', ok: false, text: 'workflow timed out' });
      } else if (e.workflowExecutionContinuedAsNewEventAttributes) {
        status = 'CONTINUED_AS_NEW';
      }
    }
  });
  return { workflowId, runIds: runs.map((r) => r.runId), input, status, result, entries };
}

export function isVerboseKind(kind: HistoryKind): boolean {
  return verboseKinds.has(kind);
}

function kindColour(entry: HistoryEntry, p: Painter): string {
  if (entry.ok === false || entry.kind === 'error') return p.red(entry.kind);
  if (entry.kind === 'operator') return p.magenta(entry.kind);
  if (entry.kind === 'outcome' || entry.ok === true) return p.green(entry.kind);
  if (isVerboseKind(entry.kind)) return p.dim(entry.kind);
  return p.cyan(entry.kind);
}

export interface PreviousRun {
  runId: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  outcome: string | null;
}

/** The readable table: one line per entry (verbose kinds only when asked). */
export function formatHistory(
  h: ReleaseHistory,
  opts: { verbose?: boolean; link?: string; previousRuns?: PreviousRun[] } = {},
  p: Painter = out(),
): string {
  const shown = h.entries.filter((e) => opts.verbose || !isVerboseKind(e.kind));
  const start = h.entries[0] ? Date.parse(h.entries[0].at) : 0;
  const lines = [`${p.bold('release')}  ${h.workflowId}`];
  const last = h.runIds[h.runIds.length - 1] ?? '';
  lines.push(
    `${p.bold('run')}      ${last}${h.runIds.length > 1 ? ` (continued from ${h.runIds.length - 1} earlier run(s))` : ''}`,
  );
  const prev = opts.previousRuns ?? [];
  if (prev.length > 0) {
    const latest = prev[prev.length - 1];
    lines.push(
      `${p.bold('retry')}    of ${prev.length} earlier run(s); the last, ${latest?.runId}, ended ${latest?.outcome ?? latest?.status.toLowerCase()}`,
    );
  }
  if (h.input) {
    lines.push(
      `${p.bold('images')}   ${Object.entries(h.input.images ?? {})
        .map(([c, r]) => `${c}=${r}`)
        .join(', ')}  (initiated by ${h.input.initiator})`,
    );
  }
  const outcome = h.result
    ? `${outcomeColour(h.result.outcome, p)} — ${h.result.reason.message}`
    : h.status === 'RUNNING'
      ? p.cyan('running')
      : p.red(h.status.toLowerCase());
  lines.push(`${p.bold('status')}   ${outcome}`);
  if (opts.link) lines.push(`${p.bold('web ui')}   ${opts.link}`);
  lines.push('');
  const rows = shown.map((e) => {
    const t = Date.parse(e.at);
    const text =
      e.kind === 'phase'
        ? phaseColour(e.text, p)
        : e.kind === 'outcome' && h.result
          ? e.text.replace(h.result.outcome, outcomeColour(h.result.outcome, p))
          : e.text;
    return [clock(t), `+${((t - start) / 1000).toFixed(1)}s`, kindColour(e, p), text];
  });
  lines.push(
    table(
      [{ header: 'TIME' }, { header: 'ELAPSED', align: 'right' }, { header: 'EVENT' }, { header: 'WHAT' }],
      rows,
      p,
    ),
  );
  return lines.join('\n');
}

/** The histories of `runId` (default: the latest run) and of every run it continued from, oldest first. */
export async function fetchRuns(client: Client, workflowId: string, runId?: string): Promise<RunHistory[]> {
  const id = runId ?? (await client.workflow.getHandle(workflowId).describe()).runId;
  const runs: RunHistory[] = [];
  let next: string | null | undefined = id;
  while (next && runs.length < 1000) {
    const history = await client.workflow.getHandle(workflowId, next).fetchHistory();
    runs.unshift({ runId: next, history });
    next = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
  }
  return runs;
}

/** Runs of the same release ID that ended before this chain started (a `fledge retry` starts a new one). */
export async function previousRuns(
  client: Client,
  workflowId: string,
  chain: readonly RunHistory[],
): Promise<PreviousRun[]> {
  const firstEvent = chain[0]?.history.events?.[0];
  const chainStart = firstEvent ? timestampMs(firstEvent.eventTime) : Number.POSITIVE_INFINITY;
  const ids = new Set(chain.map((r) => r.runId));
  const runs: PreviousRun[] = [];
  const escaped = workflowId.replace(/'/g, "\\'");
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${escaped}'` })) {
    if (ids.has(wf.runId) || wf.startTime.getTime() >= chainStart) continue;
    const outcome = wf.typedSearchAttributes.getAll().find((p) => p.key.name === 'FledgeOutcome');
    runs.push({
      runId: wf.runId,
      status: wf.status.name,
      startTime: wf.startTime.toISOString(),
      closeTime: wf.closeTime ? wf.closeTime.toISOString() : null,
      outcome: outcome ? String(outcome.value) : null,
    });
  }
  return runs.sort((a, b) => a.startTime.localeCompare(b.startTime));
}

/** The operator log (accepted/rejected) of the release: from its result, else from a status query. */
async function operatorLogOf(
  client: Client,
  workflowId: string,
  runId: string,
  partial: ReleaseHistory,
): Promise<OperatorLogEntry[]> {
  if (partial.result) return partial.result.operatorActions ?? [];
  if (partial.status !== 'RUNNING') return [];
  // No worker to answer: the trail is shown without accepted/rejected marks.
  const st = (await boundedQuery(
    client,
    () => client.workflow.getHandle(workflowId, runId).query(statusQuery),
    5000,
  ).catch(() => null)) as ReleaseStatus | null;
  return st?.operatorLog ?? [];
}

export async function releaseHistory(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<{ history: ReleaseHistory; previousRuns: PreviousRun[] }> {
  let runs: RunHistory[];
  try {
    runs = await fetchRuns(client, workflowId, runId);
  } catch (e) {
    if (e instanceof Error && /INVALID_ARGUMENT: Invalid RunId/i.test(e.message))
      throw new CliError(`--run ${runId}: not a run ID`, exitCodes.invalidInput);
    if (e instanceof WorkflowNotFoundError || (e instanceof Error && /not found/i.test(e.message)))
      throw new CliError(
        `release ${workflowId}${runId ? ` run ${runId}` : ''} not found`,
        exitCodes.notFound,
      );
    throw e;
  }
  const draft = summarizeHistory(workflowId, runs);
  const log = await operatorLogOf(client, workflowId, runs[runs.length - 1]?.runId ?? '', draft);
  const history = log.length > 0 ? summarizeHistory(workflowId, runs, log) : draft;
  const prev = await previousRuns(client, workflowId, runs).catch(() => []);
  return { history, previousRuns: prev };
}

export function registerHistoryCommand(program: Command): void {
  program
    .command('history')
    .description(
      "a release's audit trail from its workflow history: phases, traffic, analyses, operator actions, outcome",
    )
    .argument('<release>', 'release ID (fledge/...) or target <namespace>/<name> (its latest release)')
    .option('--run <runId>', 'a specific run of the release (e.g. the one before a retry)')
    .option('-v, --verbose', 'also readiness polls, timers, Kubernetes Events and notifications')
    .addOption(outputOption())
    .action(async (ref: string, opts: { run?: string; verbose?: boolean; output: string }) => {
      // Every argument and option is checked before anything connects.
      parseReleaseRef(ref);
      const run = parseRunId(opts.run);
      const cfg = cliConfig();
      const client = await connectCli(cfg);
      try {
        const id = await resolveRelease(client, ref);
        const { history, previousRuns: prev } = await releaseHistory(client, id, run);
        if (isJson(opts.output)) {
          const entries = history.entries.filter((e) => opts.verbose || !isVerboseKind(e.kind));
          printJson({ ...history, entries, previousRuns: prev });
          return;
        }
        console.log(
          // Actors, reasons and webhook answers may echo input: escaped and bounded.
          formatHistory(sanitizeDeep(history), {
            verbose: opts.verbose === true,
            link: webUiWorkflowUrl(cfg, id, history.runIds[history.runIds.length - 1]),
            previousRuns: prev,
          }),
        );
      } finally {
        await client.connection.close();
      }
    });
}
