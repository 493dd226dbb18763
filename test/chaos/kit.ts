// Building blocks of the fault-matrix scenarios: the release spec (every URL through a proxy), reading the
// workflow history (route writes, progress after a fault), reading live objects, waiting.
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import type { ChaosEnv, ScenarioSpace } from './harness.js';
import { eventually, type KubeClients } from '../support/stack.js';

export type HistoryEvent = NonNullable<History['events']>[number];

export const oldImage = 'ghcr.io/stefanprodan/podinfo:6.5.0';
export const newImage = 'ghcr.io/stefanprodan/podinfo:6.5.1';

export interface SpecOptions {
  /** Analysis interval, seconds (default 3). */
  intervalS?: number;
  /** Failed checks before rollback (default 3: the first tick may see no traffic yet). */
  threshold?: number;
  stepWeight?: number;
  maxWeight?: number;
  /** Default 60. */
  progressDeadlineS?: number;
  onInfrastructureError?: 'count-as-failed-check' | 'hold' | 'rollback';
  /** Timeout of the webhooks (default 2 s). */
  hookTimeoutS?: number;
  /** A confirm-promotion gate webhook (the webhook service's loadtester gate, closed until opened). */
  promotionGate?: boolean;
  /** Omit the metric check (webhook-only analysis). */
  noMetrics?: boolean;
}

export const defaultSpec = {
  intervalS: 3,
  threshold: 3,
  stepWeight: 25,
  maxWeight: 50,
  progressDeadlineS: 60,
  hookTimeoutS: 2,
} as const;

/** The weights the spec steps through (Flagger's: add stepWeight while below maxWeight). */
export function stepWeights(o: SpecOptions): number[] {
  const step = o.stepWeight ?? defaultSpec.stepWeight;
  const max = o.maxWeight ?? defaultSpec.maxWeight;
  const out: number[] = [];
  for (let w = step; out.length === 0 || (out.at(-1) ?? 0) < max; w += step) out.push(w);
  return out;
}

/** Flagger's Canary + AlertProvider, every dependency URL through the chaos proxies. */
export function canaryYaml(env: ChaosEnv, space: ScenarioSpace, o: SpecOptions = {}): string {
  const hook = `http://${env.proxies.webhook.listen}`;
  const timeout = `${o.hookTimeoutS ?? defaultSpec.hookTimeoutS}s`;
  const metrics = o.noMetrics
    ? ''
    : `    metrics:
      - name: request-success-rate
        thresholdRange:
          min: 99
        interval: 10s
`;
  const gate = o.promotionGate
    ? `      - name: promotion-gate
        type: confirm-promotion
        url: ${hook}/gate/check
        timeout: ${timeout}
`
    : '';
  const fledge = o.onInfrastructureError
    ? `  fledge:
    onInfrastructureError: ${o.onInfrastructureError}
`
    : '';
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: ${space.namespace}
spec:
  provider: istio
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  progressDeadlineSeconds: ${o.progressDeadlineS ?? defaultSpec.progressDeadlineS}
  service:
    port: 9898
  analysis:
    interval: ${o.intervalS ?? defaultSpec.intervalS}s
    threshold: ${o.threshold ?? defaultSpec.threshold}
    stepWeight: ${o.stepWeight ?? defaultSpec.stepWeight}
    maxWeight: ${o.maxWeight ?? defaultSpec.maxWeight}
${metrics}    webhooks:
      - name: acceptance-test
        type: pre-rollout
        url: ${hook}/chaos/${space.namespace}/acceptance
        timeout: ${timeout}
      - name: load-test
        url: ${hook}/chaos/${space.namespace}/load-test
        timeout: ${timeout}
${gate}    alerts:
      - name: releases
        severity: info
        providerRef:
          name: slack
${fledge}---
apiVersion: flagger.app/v1beta1
kind: AlertProvider
metadata:
  name: slack
  namespace: ${space.namespace}
spec:
  type: slack
  channel: ${space.channel}
`;
}

// ── history ─────────────────────────────────────────────────────────────────────────────────────────────────

export function eventMs(e: HistoryEvent): number {
  const t = e.eventTime;
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

export async function historyOf(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

function decode<T>(data: Uint8Array | null | undefined): T | undefined {
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString()) as T;
  } catch {
    return undefined;
  }
}

/** Local-activity markers of one activity type, with their results, in history order. */
export function localActivities<R>(
  events: HistoryEvent[],
  type: string,
): Array<{ at: number; result: R | undefined }> {
  const out: Array<{ at: number; result: R | undefined }> = [];
  for (const ev of events) {
    const details = ev.markerRecordedEventAttributes?.details;
    const meta = decode<{ activity_type?: string }>(details?.data?.payloads?.[0]?.data);
    if (meta?.activity_type !== type) continue;
    out.push({ at: eventMs(ev), result: decode<R>(details?.result?.payloads?.[0]?.data) });
  }
  return out;
}

/**
 * The canary weight of every completed route write recorded in history (one marker per setRoutes that
 * succeeded; a local activity that failed after its retries leaves a marker without a result, not counted).
 */
export function routeWrites(events: HistoryEvent[]): number[] {
  return localActivities<{ canaryWeight: number }>(events, 'setRoutes')
    .map((m) => m.result?.canaryWeight)
    .filter((w): w is number => w !== undefined);
}

/** setRoutes local activities that failed after their retries (markers without a result). */
export function failedRouteWrites(events: HistoryEvent[]): number {
  return localActivities<{ canaryWeight: number }>(events, 'setRoutes').filter((m) => m.result === undefined)
    .length;
}

const progressTypes = new Set([
  'markerRecordedEventAttributes',
  'activityTaskCompletedEventAttributes',
  'workflowExecutionCompletedEventAttributes',
]);

/**
 * Time from `sinceMs` to the first event after it that shows a worker moving the release again (a local
 * activity's result, an activity's completion, the end). Timers fire on the server alone, so they do not count.
 */
export function firstProgressAfter(events: HistoryEvent[], sinceMs: number): number | undefined {
  for (const ev of events) {
    const at = eventMs(ev);
    if (at < sinceMs) continue;
    for (const k of progressTypes) if ((ev as Record<string, unknown>)[k]) return at - sinceMs;
  }
  return undefined;
}

/** WorkflowTaskTimedOut/Failed events: the visible cost of a worker dying mid-task. */
export function workflowTaskProblems(events: HistoryEvent[]): number {
  return events.filter((e) => e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes)
    .length;
}

// ── live objects ────────────────────────────────────────────────────────────────────────────────────────────

export interface VsRoute {
  match?: unknown;
  mirror?: unknown;
  route: Array<{ destination: { host: string }; weight?: number }>;
}

export async function virtualService(
  k: KubeClients,
  namespace: string,
): Promise<{ http: VsRoute[] } | undefined> {
  try {
    const vs = (await k.custom.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'virtualservices',
      namespace,
      name: 'podinfo',
    })) as { spec: { http: VsRoute[] } };
    return vs.spec;
  } catch {
    return undefined;
  }
}

export async function canaryWeight(k: KubeClients, namespace: string): Promise<number | undefined> {
  const spec = await virtualService(k, namespace);
  const main = spec?.http.find((r) => !r.match) ?? spec?.http[0];
  return main?.route.find((r) => r.destination.host === 'podinfo-canary')?.weight;
}

/** The canary weight carried by a VirtualService apply body (what the worker is about to write). */
export function canaryWeightInBody(body: unknown): number | undefined {
  const spec = (body as { spec?: { http?: VsRoute[] } } | null)?.spec;
  const main = spec?.http?.find((r) => !r.match) ?? spec?.http?.[0];
  return main?.route.find((r) => r.destination.host === 'podinfo-canary')?.weight;
}

// ── waiting ─────────────────────────────────────────────────────────────────────────────────────────────────

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `eventually` of the test support with the matrix's defaults (60 s, polls every 200 ms). */
export function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  return eventually(what, fn, { timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: opts.intervalMs ?? 200 });
}

/** A promise and its resolver (for holding a request until the scenario says so). */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export interface AnalysisRecord {
  at: number;
  /** Metric results: value or error kind. */
  metrics: Array<{ name: string; value: number | null; error?: string }>;
  hooks: Array<{ name: string; ok: boolean; message: string }>;
}

/** Results of every completed runAnalysis activity, in order. */
export function analyses(events: HistoryEvent[]): AnalysisRecord[] {
  const analysisIds = new Set<string>();
  const out: AnalysisRecord[] = [];
  for (const ev of events) {
    if (ev.activityTaskScheduledEventAttributes?.activityType?.name === 'runAnalysis')
      analysisIds.add(String(ev.eventId));
    const done = ev.activityTaskCompletedEventAttributes;
    if (done && analysisIds.has(String(done.scheduledEventId))) {
      const r = decode<Omit<AnalysisRecord, 'at'>>(done.result?.payloads?.[0]?.data);
      out.push({ at: eventMs(ev), metrics: r?.metrics ?? [], hooks: r?.hooks ?? [] });
    }
  }
  return out;
}

export function summariseAnalyses(list: AnalysisRecord[]): string {
  const infra = list.filter((a) => a.metrics.some((m) => m.error === 'infrastructure')).length;
  const noValues = list.filter((a) => a.metrics.some((m) => m.error === 'no-values')).length;
  const hookFailed = list.filter((a) => a.hooks.some((h) => !h.ok)).length;
  return `${list.length} analyses: ${infra} without Prometheus, ${noValues} no values, ${hookFailed} with a failed webhook`;
}
