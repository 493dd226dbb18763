// Release activities: thin adapters from the decision core's effects/nexts to the integrations. Each write is an
// idempotent "ensure" (activities are at-least-once). Infrastructure errors are mapped to ApplicationFailures
// with stable types; best-effort ones (notify, recordEvent) never throw.
import * as k8s from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { Context, log } from '@temporalio/activity';
import type { ReleaseContext } from '../domain/context.js';
import type { EventReason, NotifyKind } from '../domain/effects.js';
import type { HookResult, MetricResult } from '../domain/events.js';
import type { HookPlan, MetricPlan } from '../domain/plan.js';
import type { Workload } from '../domain/state.js';
import type { RequestBudget } from '../integrations/kubernetes/budget.js';
import {
  servicePortsOf,
  WorkloadError,
  type WorkloadController,
} from '../integrations/kubernetes/workloads.js';
import { callWebhook } from '../integrations/hooks/webhook.js';
import type { MetricsProvider } from '../integrations/metrics/provider.js';
import {
  deliver,
  finalStateKind,
  type Notifier,
  type ReleaseNotification,
  type ThreadRef,
} from '../integrations/notify/notifier.js';
import { resolveMetricQuery } from '../integrations/metrics/provider.js';
import type { ReleaseStatus } from '../domain/status.js';
import type { Outcome } from '../domain/result.js';
import type { Phase } from '../domain/state.js';
import type { ReleaseMetrics } from '../observability/release-metrics.js';
import type { RouteWeights, RouterTarget, TrafficRouter } from '../integrations/traffic/router.js';
import type { ReleasePolicy } from '../policy.js';
import { enforceReleasePolicy } from './release-policy.js';

export interface ReleaseDeps {
  kc: k8s.KubeConfig;
  budget: RequestBudget;
  workloads: WorkloadController;
  routers: Record<ReleaseContext['provider'], TrafficRouter>;
  metrics: MetricsProvider;
  /** Notifiers for a release's alerts (Slack, …); empty when none are configured. */
  notifiers: (ctx: ReleaseContext) => Array<{ notifier: Notifier; severity: 'info' | 'warn' | 'error' }>;
  webUiLink: (workflowId: string) => string;
  /** Release metrics for the worker's /metrics endpoint (Flagger names); optional. */
  observer?: ReleaseMetrics;
  /** Link to the target's dashboard (FLEDGE_GRAFANA_URL), if configured. */
  dashboardLink?: (target: { namespace: string; name: string }) => string;
  /** Checked by every activity before it acts (src/activities/release-policy.ts): PolicyViolation otherwise. */
  policy?: ReleasePolicy;
}

/** What the workflow sends with a `notify` effect: the notification plus what a receiver needs to render it. */
export interface NotifyRequest {
  severity: 'info' | 'warn' | 'error';
  /** `final-state` (finalStateKind): the release ended; refresh each release message, post nothing new. */
  kind: NotifyKind | typeof finalStateKind;
  message: string;
  at: number;
  status: ReleaseStatus;
  previousImages: Record<string, string>;
  initiator?: string;
  /** Per notifier key: the thread this release lives in (from earlier notifications). */
  threads: Record<string, ThreadRef>;
  failingMetric?: { name: string; value: number | null; threshold: string; plan: MetricPlan };
}

/** What the metrics endpoint needs of the release's status (passed with every Kubernetes Event). */
export interface ObservedStatus {
  phase: Phase;
  canaryWeight: number;
  primaryWeight: number;
  /** An A/B match route is active (the metrics report canary 100); absent in histories from before. */
  abMatch?: boolean;
}

/** A Kubernetes Event the release records on its target (a `recordEvent` effect). */
export interface ReleaseEventRecord {
  eventType: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

/**
 * The Kubernetes Events that directly follow a write in its effect batch (e.g. TrafficWeightUpdated after the route
 * write), carried by the write's local activity and recorded once the write succeeded: one local activity per tick
 * instead of two (histories from before the `events-with-writes` patch ran one recordEvent each).
 */
export interface EventsAfter {
  events: ReleaseEventRecord[];
  observed: ObservedStatus;
}

export interface NotifyOutcome {
  delivered: string[];
  threads: Record<string, ThreadRef>;
}

export const failureTypes = {
  targetNotFound: 'TargetNotFound',
  invalidTarget: 'InvalidTarget',
  routeReadBack: 'RouteReadBackMismatch',
  kubernetes: 'KubernetesError',
} as const;

/** The router's view of a release: where its routes live and what they match (also used by tests). */
export function routerTarget(ctx: ReleaseContext): RouterTarget {
  return {
    namespace: ctx.target.namespace,
    service: ctx.service.name,
    port: ctx.service.port,
    hosts: ctx.service.hosts,
    gateways: ctx.service.gateways,
    match: ctx.service.match as RouterTarget['match'],
    options: ctx.service.options,
  };
}

/** Maps integration errors to typed failures: configuration problems are non-retryable. */
function asFailure(e: unknown): never {
  if (e instanceof ApplicationFailure) throw e;
  if (e instanceof WorkloadError) {
    const type = e.kind === 'not-found' ? failureTypes.targetNotFound : failureTypes.invalidTarget;
    throw ApplicationFailure.create({ message: e.message, type, nonRetryable: true });
  }
  if (e instanceof k8s.ApiException) {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
    const nonRetryable = e.code === 422 || e.code === 403 || e.code === 400;
    throw ApplicationFailure.create({
      message: `Kubernetes API ${e.code}: ${body.slice(0, 500)}`,
      type: failureTypes.kubernetes,
      nonRetryable,
    });
  }
  throw e;
}

const guarded =
  <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
  async (...a: A): Promise<R> => {
    try {
      return await fn(...a);
    } catch (e) {
      return asFailure(e);
    }
  };

/**
 * Events carried by a write are awaited for at most this long after the write (a write's local activity has 15 s,
 * and a slow apiserver or a long request-budget queue must never time it out: then it would be re-run); the rest
 * are still recorded, in the background. They are best effort, as a recordEvent activity is.
 */
const eventsAfterWriteWaitMs = 3_000;

/** How often long activities heartbeat (the worker sends at most one heartbeat a second, see worker.ts). */
const heartbeatEveryMs = 1_000;
/** initializeRelease waits this long for the primary within one attempt, then lets Temporal retry it. */
const primaryReadyWaitMs = 10_000;
const primaryReadyPollMs = 2_000;
/**
 * pollGate heartbeats this often (its heartbeatTimeout is 10 s): ~900 heartbeats per gate-hour instead of 3,600 at
 * the long activities' 1 s. Only liveness needs it — the workflow never waits for a cancelled watch (TRY_CANCEL).
 */
const gateHeartbeatEveryMs = 4_000;
/** pollGate never polls more often than this, whatever it is asked. */
const gatePollFloorMs = 1_000;

/** What watching a gate found: `opened` as soon as every webhook passed; `results` of the last poll (null: none). */
export interface GatePoll {
  opened: boolean;
  results: HookResult[] | null;
  polls: number;
}

/**
 * Runs `work` while heartbeating every second: Temporal delivers an activity's cancellation (an operator acting
 * now: abort, promote, pause, supersede) in the response to a heartbeat, so the activity learns of it within about
 * a second and `work`'s signal (Context.cancellationSignal) aborts its requests; a cancelled activity then rejects
 * with the CancelledFailure, never with a result. `detail` is what the heartbeat shows (Web UI: pending activity).
 */
async function heartbeating<T>(detail: () => string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(detail());
  const timer = setInterval(() => ctx.heartbeat(detail()), heartbeatEveryMs);
  try {
    return await work(ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

/** Calls the webhooks in order with Flagger's payload; a cancellation abandons the call in flight (no result). */
async function callHooks(
  ctx: ReleaseContext,
  hooks: HookPlan[],
  phase: string,
  signal: AbortSignal,
  onHook: (name: string) => void = () => undefined,
): Promise<HookResult[]> {
  const out: HookResult[] = [];
  for (const h of hooks) {
    onHook(h.name);
    const r = await callWebhook(
      {
        url: h.url,
        timeoutMs: h.timeoutMs,
        retries: h.retries,
        payload: {
          name: ctx.target.name,
          namespace: ctx.target.namespace,
          phase,
          checksum: ctx.checksum,
          metadata: h.metadata,
        },
      },
      { signal },
    );
    out.push({
      name: h.name,
      ok: r.ok,
      ...(r.status !== undefined ? { status: r.status } : {}),
      message: r.message,
    });
  }
  return out;
}

export function createReleaseActivities(deps: ReleaseDeps) {
  const events = deps.kc.makeApiClient(k8s.CoreV1Api);
  const router = (ctx: ReleaseContext): TrafficRouter => deps.routers[ctx.provider];

  /** Creates one Event on the target Deployment; false if it could not be recorded (never throws). */
  const createEvent = async (ctx: ReleaseContext, e: ReleaseEventRecord): Promise<boolean> => {
    try {
      const now = new Date();
      await deps.budget.call(() =>
        events.createNamespacedEvent({
          namespace: ctx.target.namespace,
          body: {
            metadata: { generateName: `${ctx.target.name}.`, namespace: ctx.target.namespace },
            involvedObject: {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: ctx.target.name,
              namespace: ctx.target.namespace,
            },
            type: e.eventType,
            reason: e.reason,
            message: e.message,
            source: { component: 'fledge' },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
            reportingComponent: 'fledge',
          },
        }),
      );
      return true;
    } catch {
      return false;
    }
  };

  /** Records events in order; returns how many were recorded. Never throws. */
  const createEvents = async (ctx: ReleaseContext, list: ReleaseEventRecord[]): Promise<number> => {
    let recorded = 0;
    for (const e of list) if (await createEvent(ctx, e)) recorded += 1;
    return recorded;
  };

  /**
   * The events a write carries (EventsAfter), after the write succeeded: awaited up to eventsAfterWriteWaitMs, then
   * left to finish in the background. Never throws.
   */
  const recordAfterWrite = async (ctx: ReleaseContext, after: EventsAfter | undefined): Promise<void> => {
    if (!after || after.events.length === 0) return;
    deps.observer?.observeStatus({ ...ctx.target, ...after.observed });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, eventsAfterWriteWaitMs);
    });
    await Promise.race([createEvents(ctx, after.events), waited]);
    clearTimeout(timer);
  };

  return enforceReleasePolicy(deps.policy, {
    /** Primary Deployment (+HPA), Services and routes at 100% primary; succeeds once the primary is ready. */
    initializeRelease: guarded(
      async (
        ctx: ReleaseContext,
        primaryReadyThreshold: number,
      ): Promise<{ primaryCreated: boolean; primaryImages: Record<string, string> }> => {
        const t = ctx.target;
        // Heartbeats through the whole activity (not only the readiness wait): on a slow apiserver (2 s a request
        // in the fault matrix) creating the primary, HPA and Services alone outlasts the heartbeat timeout.
        // Cancellation (an operator acting now) still reaches it within a second.
        let status = 'creating the primary';
        return heartbeating(
          () => status,
          async () => {
            const { created, primaryImages } = await deps.workloads.ensurePrimary(t);
            status = 'primary autoscaler and services';
            if (ctx.autoscalerRef)
              await deps.workloads.ensurePrimaryHpa(
                t,
                ctx.autoscalerRef.name,
                ctx.autoscalerRef.primaryScalerReplicas,
              );
            await deps.workloads.ensureServices(t, servicePortsOf(ctx));
            // Wait a little for the primary within this attempt, then let Temporal retry the activity up to the
            // progress deadline.
            status = 'waiting for the primary';
            const deadline = Date.now() + primaryReadyWaitMs;
            for (;;) {
              const r = await deps.workloads.readiness(t, 'primary', primaryReadyThreshold);
              if (r.ready) break;
              status = `primary not ready: ${r.message}`;
              if (Date.now() >= deadline) throw ApplicationFailure.retryable(status, 'PrimaryNotReady');
              await Context.current().sleep(primaryReadyPollMs); // rejects with CancelledFailure when cancelled
            }
            status = 'routes at 100 % primary';
            await router(ctx).reconcile(routerTarget(ctx));
            return { primaryCreated: created, primaryImages };
          },
        );
      },
    ),

    setRoutes: guarded(
      async (ctx: ReleaseContext, w: RouteWeights, after?: EventsAfter): Promise<RouteWeights> => {
        const got = await router(ctx).setRoutes(routerTarget(ctx), w);
        if (
          got.primaryWeight !== w.primaryWeight ||
          got.canaryWeight !== w.canaryWeight ||
          got.mirrorPercent !== w.mirrorPercent ||
          got.abMatch !== w.abMatch
        ) {
          throw ApplicationFailure.create({
            message: `routes read back ${JSON.stringify(got)} after writing ${JSON.stringify(w)}`,
            type: failureTypes.routeReadBack,
          });
        }
        await recordAfterWrite(ctx, after);
        return got;
      },
    ),

    scaleCanary: guarded(
      async (ctx: ReleaseContext, to: 'up' | 'zero', after?: EventsAfter): Promise<number> => {
        if (to === 'up') await deps.workloads.setCanaryImages(ctx.target, ctx.newImages);
        const replicas = await deps.workloads.scaleCanary(ctx.target, to);
        await recordAfterWrite(ctx, after);
        return replicas;
      },
    ),

    checkReadiness: guarded(
      async (
        ctx: ReleaseContext,
        workload: Workload,
        thresholdPct: number,
      ): Promise<{ ready: boolean; message: string }> => {
        const r = await deps.workloads.readiness(ctx.target, workload, thresholdPct);
        // Kubernetes' own ProgressDeadlineExceeded is reported as not ready; the core applies the spec's deadline.
        return { ready: r.ready, message: r.message };
      },
    ),

    promotePrimary: guarded(async (ctx: ReleaseContext): Promise<Record<string, string>> =>
      deps.workloads.promote(ctx.target, { autoscaled: ctx.autoscalerRef !== undefined }),
    ),

    runHooks: async (ctx: ReleaseContext, hooks: HookPlan[], phase: string): Promise<HookResult[]> => {
      let current = '';
      return heartbeating(
        () => current,
        (signal) => callHooks(ctx, hooks, phase, signal, (name) => (current = name)),
      );
    },

    /**
     * Watches a closed gate while the release waits (`wait` with `watch`): polls the gate's webhooks every `everyMs`
     * for `windowMs`, as ONE activity — history grows per wait, not per poll. Returns as soon as every webhook
     * passes (`opened`), else at the window's end with the last poll's results (`results: null`: no poll happened).
     * Heartbeats every 4 s with the time already waited, so a retried attempt only waits out the rest; a
     * cancellation (an operator message: the workflow does not wait for it) ends it at the next heartbeat.
     */
    pollGate: async (
      ctx: ReleaseContext,
      hooks: HookPlan[],
      phase: string,
      window: { everyMs: number; windowMs: number },
    ): Promise<GatePoll> => {
      const actx = Context.current();
      const everyMs = Math.max(gatePollFloorMs, window.everyMs);
      const prior = actx.info.heartbeatDetails as { waitedMs?: unknown } | undefined;
      const waitedBefore = typeof prior?.waitedMs === 'number' ? prior.waitedMs : 0;
      const startedAt = Date.now() - waitedBefore;
      const waited = (): number => Date.now() - startedAt;
      let polls = 0;
      let results: HookResult[] | null = null;
      // On a timer, not per poll: a webhook that takes its whole timeout still heartbeats.
      const beat = (): void => actx.heartbeat({ waitedMs: waited(), polls });
      beat();
      const timer = setInterval(beat, gateHeartbeatEveryMs);
      try {
        for (let at = waitedBefore + everyMs; at <= window.windowMs; at = Math.max(at + everyMs, waited())) {
          if (at > waited()) await actx.sleep(at - waited()); // rejects with CancelledFailure when cancelled
          results = await callHooks(ctx, hooks, phase, actx.cancellationSignal);
          polls += 1;
          if (results.every((r) => r.ok)) return { opened: true, results, polls };
        }
        if (window.windowMs > waited()) await actx.sleep(window.windowMs - waited());
        return { opened: false, results, polls };
      } finally {
        clearInterval(timer);
      }
    },

    /** Rollout webhooks, then every metric (all evaluated so status shows each value against its threshold). */
    runAnalysis: async (
      ctx: ReleaseContext,
      hooks: HookPlan[],
      metrics: MetricPlan[],
      phase: string,
    ): Promise<{ hooks: HookResult[]; metrics: MetricResult[]; primaryMissing?: string }> => {
      const startedAt = performance.now();
      let current = 'primary';
      const { hookResults, metricResults, primaryMissing } = await heartbeating(
        () => current,
        async (signal) => {
          // Flagger checks the primary every tick too: a primary deleted mid-release must not stay behind the
          // routes (or receive them back at a rollback). Only a 404 counts; any other error is not a verdict.
          const primaryMissing = await deps.workloads.images(ctx.target, 'primary').then(
            () => undefined,
            (e: unknown) => (e instanceof WorkloadError && e.kind === 'not-found' ? e.message : undefined),
          );
          current = 'rollout webhooks';
          const hookResults = await callHooks(ctx, hooks, phase, signal, (name) => (current = name));
          current = 'metrics';
          const metricResults = await Promise.all(
            metrics.map(async (m): Promise<MetricResult> => {
              const r = await deps.metrics.evaluate(
                m,
                {
                  namespace: ctx.target.namespace,
                  target: ctx.target.name,
                  service: ctx.service.name,
                  router: ctx.provider,
                },
                ctx.templates,
                { signal },
              );
              return {
                name: r.name,
                value: r.value,
                ...(r.error ? { error: r.error } : {}),
                ...(r.message ? { message: r.message } : {}),
              };
            }),
          );
          return { hookResults, metricResults, primaryMissing };
        },
      );
      for (const m of metricResults)
        deps.observer?.observeMetric({ ...ctx.target, metric: m.name, value: m.value });
      deps.observer?.observeAnalysisDuration?.({
        ...ctx.target,
        seconds: (performance.now() - startedAt) / 1000,
      });
      return { hooks: hookResults, metrics: metricResults, ...(primaryMissing ? { primaryMissing } : {}) };
    },

    /**
     * Best-effort: a Slack or webhook-receiver outage never fails a release. Each notifier gets the release's
     * status snapshot and its thread (if it has one); returns what was delivered and the threads to keep.
     */
    notify: async (ctx: ReleaseContext, n: NotifyRequest): Promise<NotifyOutcome> => {
      deps.observer?.observeStatus({
        ...ctx.target,
        phase: n.status.phase,
        canaryWeight: n.status.weights.canary,
        primaryWeight: n.status.weights.primary,
      });
      const delivered: string[] = [];
      const threads: Record<string, ThreadRef> = {};
      const failing = n.failingMetric;
      let failingMetric: ReleaseNotification['failingMetric'];
      if (failing) {
        const q = resolveMetricQuery(
          failing.plan,
          {
            namespace: ctx.target.namespace,
            target: ctx.target.name,
            service: ctx.service.name,
            router: ctx.provider,
          },
          ctx.templates,
        );
        failingMetric = {
          name: failing.name,
          value: failing.value,
          threshold: failing.threshold,
          ...(q.ok ? { query: q.query } : {}),
        };
      }
      const notification: ReleaseNotification = {
        severity: n.severity,
        kind: n.kind,
        message: n.message,
        at: n.at,
        release: {
          workflowId: ctx.workflowId,
          target: ctx.target,
          previousImages: n.previousImages,
          newImages: ctx.newImages,
          ...(n.initiator ? { initiator: n.initiator } : {}),
          startedAt: n.status.startedAt,
          link: deps.webUiLink(ctx.workflowId),
          ...(deps.dashboardLink ? { dashboardLink: deps.dashboardLink(ctx.target) } : {}),
        },
        status: n.status,
        ...(failingMetric ? { failingMetric } : {}),
      };
      for (const { notifier, severity } of deps.notifiers(ctx)) {
        // Under the provider's severity: sent, or (filtered out, or the final state) the release's message refreshed.
        const r = await deliver({ notifier, severity }, notification, n.threads[notifier.key]);
        if (!r) continue;
        if (r.thread) threads[notifier.key] = r.thread;
        if (r.delivered) delivered.push(notifier.name);
        else log.warn('notification not delivered', { notifier: notifier.name, error: r.error });
      }
      if (n.kind === finalStateKind) return { delivered, threads };
      // Flagger's `event` hooks: the payload's metadata gains eventMessage, eventType and timestamp (unix ms).
      for (const h of ctx.eventHooks) {
        const r = await callWebhook({
          url: h.url,
          timeoutMs: h.timeoutMs,
          retries: h.retries,
          payload: {
            name: ctx.target.name,
            namespace: ctx.target.namespace,
            phase: n.kind,
            checksum: ctx.checksum,
            metadata: {
              ...h.metadata,
              eventMessage: n.message,
              eventType: n.severity === 'info' ? 'Normal' : 'Warning',
              timestamp: String(Date.now()),
            },
          },
        });
        if (r.ok) delivered.push(`event:${h.name}`);
      }
      return { delivered, threads };
    },

    /** The release ended: counters and the release-duration histogram of the metrics endpoint. Never throws. */
    recordOutcome: async (
      ctx: ReleaseContext,
      r: {
        outcome: Outcome;
        strategy: string;
        durationMs: number;
        analysisSkipped: boolean;
        status: ObservedStatus;
      },
    ): Promise<void> => {
      deps.observer?.observeStatus({ ...ctx.target, ...r.status });
      deps.observer?.observeOutcome({
        ...ctx.target,
        outcome: r.outcome,
        strategy: r.strategy,
        durationSeconds: r.durationMs / 1000,
        analysisSkipped: r.analysisSkipped,
      });
      return Promise.resolve();
    },

    /**
     * Best-effort Kubernetes Event on the target Deployment; `more`: the events that directly follow it in the
     * effect batch, recorded in the same local activity (`events-with-writes` patch). True if all were recorded.
     */
    recordEvent: async (
      ctx: ReleaseContext,
      e: ReleaseEventRecord,
      observed?: ObservedStatus,
      more?: ReleaseEventRecord[],
    ): Promise<boolean> => {
      if (observed) deps.observer?.observeStatus({ ...ctx.target, ...observed });
      const list = [e, ...(more ?? [])];
      return (await createEvents(ctx, list)) === list.length;
    },
  });
}

export type ReleaseActivities = ReturnType<typeof createReleaseActivities>;
