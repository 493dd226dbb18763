// Typed fakes of the release activities (src/activities/release.ts) for workflow tests on the time-skipping test
// server: every call is recorded (with the release it belongs to) so a test can assert the sequence of effects the
// workflow asked for — route weights written, canary scaled, primary promoted — without a cluster. Analysis
// results are scripted per call; by default every metric sits on its threshold's bound (Flagger's bounds are
// inclusive, so that passes).
import type { ReleaseActivities } from '../../src/activities/release.js';
import type { ReleaseContext } from '../../src/domain/context.js';
import type { EventReason, NotifyKind } from '../../src/domain/effects.js';
import type { HookResult, MetricResult } from '../../src/domain/events.js';
import type { HookPlan, MetricPlan } from '../../src/domain/plan.js';
import type { Outcome } from '../../src/domain/result.js';
import type { Workload } from '../../src/domain/state.js';

export type FakeCall = { workflowId: string } & (
  | { activity: 'initializeRelease' }
  | { activity: 'setRoutes'; primary: number; canary: number; mirror: number | null; abMatch: boolean }
  | { activity: 'scaleCanary'; to: 'up' | 'zero' }
  | { activity: 'checkReadiness'; workload: Workload }
  | { activity: 'promotePrimary' }
  | { activity: 'runHooks'; hooks: string[]; phase: string }
  | { activity: 'runAnalysis'; phase: string }
  | {
      activity: 'notify';
      kind: NotifyKind | 'final-state';
      severity: 'info' | 'warn' | 'error';
      /** The primary's images before the release, as the workflow remembers them. */
      previousImages: Record<string, string>;
      /** The Slack thread the workflow passed (the fake opens one on the first notification). */
      thread: string | undefined;
    }
  | { activity: 'recordEvent'; reason: EventReason }
  | { activity: 'recordOutcome'; outcome: Outcome }
);

export type ActivityName = FakeCall['activity'];

export interface AnalysisCall {
  ctx: ReleaseContext;
  /** 1-based count of this release's analyses, this one included. */
  n: number;
  hooks: HookPlan[];
  metrics: MetricPlan[];
}

export interface FakeOptions {
  /** Analysis result per call (default: every hook ok, every metric on its bound). May act before answering. */
  analysis?: (call: AnalysisCall) => Promise<{ hooks: HookResult[]; metrics: MetricResult[] }>;
}

/** A metric value that passes the plan's threshold range (bounds are inclusive). */
export function passingValue(m: MetricPlan): number {
  return m.thresholdRange.min ?? m.thresholdRange.max ?? 0;
}

export function passingAnalysis(call: AnalysisCall): { hooks: HookResult[]; metrics: MetricResult[] } {
  return {
    hooks: call.hooks.map((h) => ({ name: h.name, ok: true, status: 200, message: 'ok' })),
    metrics: call.metrics.map((m) => ({ name: m.name, value: passingValue(m) })),
  };
}

export class FakeReleaseActivities {
  readonly calls: FakeCall[] = [];
  readonly activities: ReleaseActivities;

  constructor(opts: FakeOptions = {}) {
    const record = (call: FakeCall): void => {
      this.calls.push(call);
    };
    // Events that ride with a write or with a first event (events-with-writes) are recorded as the calls they were.
    const recordEvents = (workflowId: string, events: Array<{ reason: EventReason }> | undefined): void => {
      for (const e of events ?? []) record({ workflowId, activity: 'recordEvent', reason: e.reason });
    };
    const analysisCount = new Map<string, number>();
    let threads = 0;
    this.activities = {
      initializeRelease: async (ctx) => {
        record({ workflowId: ctx.workflowId, activity: 'initializeRelease' });
        return { primaryCreated: false, primaryImages: { podinfo: 'ghcr.io/stefanprodan/podinfo:6.5.0' } };
      },
      setRoutes: async (ctx, w, after) => {
        record({
          workflowId: ctx.workflowId,
          activity: 'setRoutes',
          primary: w.primaryWeight,
          canary: w.canaryWeight,
          mirror: w.mirrorPercent,
          abMatch: w.abMatch,
        });
        recordEvents(ctx.workflowId, after?.events);
        return w;
      },
      scaleCanary: async (ctx, to, after) => {
        record({ workflowId: ctx.workflowId, activity: 'scaleCanary', to });
        recordEvents(ctx.workflowId, after?.events);
        return to === 'up' ? 1 : 0;
      },
      checkReadiness: async (ctx, workload) => {
        record({ workflowId: ctx.workflowId, activity: 'checkReadiness', workload });
        return { ready: true, message: `${workload} ready` };
      },
      promotePrimary: async (ctx) => {
        record({ workflowId: ctx.workflowId, activity: 'promotePrimary' });
        return { ...ctx.newImages };
      },
      runHooks: async (ctx, hooks, phase) => {
        record({ workflowId: ctx.workflowId, activity: 'runHooks', hooks: hooks.map((h) => h.name), phase });
        return hooks.map((h) => ({ name: h.name, ok: true, status: 200, message: 'ok' }));
      },
      // Never reached while runHooks always passes (a gate watch follows only a closed gate).
      pollGate: async (ctx, hooks, phase) => {
        record({ workflowId: ctx.workflowId, activity: 'runHooks', hooks: hooks.map((h) => h.name), phase });
        const results = hooks.map((h) => ({ name: h.name, ok: true, status: 200, message: 'ok' }));
        return { opened: true, results, polls: 1 };
      },
      runAnalysis: async (ctx, hooks, metrics, phase) => {
        record({ workflowId: ctx.workflowId, activity: 'runAnalysis', phase });
        const n = (analysisCount.get(ctx.workflowId) ?? 0) + 1;
        analysisCount.set(ctx.workflowId, n);
        const call: AnalysisCall = { ctx, n, hooks, metrics };
        return opts.analysis ? opts.analysis(call) : passingAnalysis(call);
      },
      notify: async (ctx, n) => {
        const given = n.threads['slack'];
        record({
          workflowId: ctx.workflowId,
          activity: 'notify',
          kind: n.kind,
          severity: n.severity,
          previousImages: { ...n.previousImages },
          thread: given?.ts,
        });
        const thread = given ?? { channel: 'C-releases', ts: `thread-${++threads}` };
        return { delivered: ['slack'], threads: { slack: thread } };
      },
      recordOutcome: async (ctx, r) => {
        record({ workflowId: ctx.workflowId, activity: 'recordOutcome', outcome: r.outcome });
      },
      recordEvent: async (ctx, e, _observed, more) => {
        recordEvents(ctx.workflowId, [e, ...(more ?? [])]);
        return true;
      },
    };
  }

  /** This release's calls of one activity, in order. */
  of<A extends ActivityName>(workflowId: string, activity: A): Array<Extract<FakeCall, { activity: A }>> {
    return this.calls.filter(
      (c): c is Extract<FakeCall, { activity: A }> => c.workflowId === workflowId && c.activity === activity,
    );
  }

  /**
   * The release's effects on the cluster, in order, one word each: `scale up`, `routes 75/25` (primary/canary,
   * `+mirror N` / `+match` when set), `promote`, `scale zero`.
   */
  effects(workflowId: string): string[] {
    const out: string[] = [];
    for (const c of this.calls) {
      if (c.workflowId !== workflowId) continue;
      if (c.activity === 'setRoutes')
        out.push(
          `routes ${c.primary}/${c.canary}${c.mirror !== null ? ` +mirror ${c.mirror}` : ''}${c.abMatch ? ' +match' : ''}`,
        );
      else if (c.activity === 'scaleCanary') out.push(`scale ${c.to}`);
      else if (c.activity === 'promotePrimary') out.push('promote');
    }
    return out;
  }

  /** Index in the global call sequence of the first/last call matching `pred` (-1 if none). */
  indexOf(pred: (c: FakeCall) => boolean, which: 'first' | 'last' = 'first'): number {
    if (which === 'first') return this.calls.findIndex(pred);
    for (let i = this.calls.length - 1; i >= 0; i--) {
      const c = this.calls[i];
      if (c && pred(c)) return i;
    }
    return -1;
  }
}
