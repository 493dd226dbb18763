// The release and lane workflows on Temporal's time-skipping test server, with typed fake activities: operator
// messages arriving while a release waits, update validators, continue-as-new, workflow cancellation and a lane
// superseding a running release. Analysis intervals are a realistic minute (hours of workflow time per test):
// time skipping, not short intervals, keeps these fast. The fakes record every effect the workflow asked for,
// so the tests assert the sequence (routes written, canary scaled, primary promoted) and the typed result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  WorkflowUpdateFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { FledgeConfig } from '../../../src/config.js';
import type { ReleaseResult } from '../../../src/domain/result.js';
import type { ReleaseStatus } from '../../../src/domain/status.js';
import { releaseResult, submitRelease } from '../../../src/starter.js';
import { laneStatusQuery, laneWorkflowId, type LaneState } from '../../../src/workflows/lane.js';
import {
  abortSignal,
  approveUpdate,
  pauseUpdate,
  resumeSignal,
  resumeUpdate,
  statusQuery,
} from '../../../src/workflows/messages.js';
import { releaseWorkflow, type ReleaseInput } from '../../../src/workflows/release.js';
import { FakeReleaseActivities, passingAnalysis } from '../../support/fake-release-activities.js';
import { bundleFledgeWorkflows, startTimeSkippingEnv } from '../../support/time-skipping.js';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [env, bundle] = await Promise.all([startTimeSkippingEnv(), bundleFledgeWorkflows()]);
}, 120_000);
afterAll(async () => {
  await env?.teardown();
});

const minute = 60_000;
const hour = 60 * minute;
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const v3 = 'ghcr.io/stefanprodan/podinfo:6.5.2';

/** A Flagger Canary for podinfo: 1m interval, weights 25 → 50, one success-rate check. */
function canaryDocs(namespace: string, fledge?: Record<string, unknown>): unknown[] {
  return [
    {
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      metadata: { name: 'podinfo', namespace },
      spec: {
        provider: 'istio',
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
        progressDeadlineSeconds: 600,
        service: { port: 9898 },
        analysis: {
          interval: '1m',
          threshold: 2,
          stepWeight: 25,
          maxWeight: 50,
          metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' }],
        },
        ...(fledge ? { fledge } : {}),
      },
    },
  ];
}

let queues = 0;
/** Workflows a test started; terminated after it (a failed test must not leave timers that stall the clock). */
const started = new Set<string>();

/** Runs `fn` with a worker on a fresh task queue that serves the fakes' activities (on the file's server). */
async function withWorker<T>(
  fake: FakeReleaseActivities,
  fn: (taskQueue: string) => Promise<T>,
  on: TestWorkflowEnvironment = env,
): Promise<T> {
  const taskQueue = `ts-release-${++queues}`;
  const worker = await Worker.create({
    connection: on.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: fake.activities,
  });
  try {
    return await worker.runUntil(() => fn(taskQueue));
  } finally {
    for (const id of started)
      await on.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    started.clear();
  }
}

async function startRelease(
  taskQueue: string,
  namespace: string,
  fledge?: Record<string, unknown>,
  on: TestWorkflowEnvironment = env,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof releaseWorkflow>> {
  const workflowId = `fledge/${namespace}/podinfo/6.5.1`;
  started.add(workflowId);
  const input: ReleaseInput = {
    documents: canaryDocs(namespace, fledge),
    images: { podinfo: v2 },
    initiator: 'ci',
  };
  return on.client.workflow.start(releaseWorkflow, {
    taskQueue,
    workflowId,
    args: [input],
  });
}

async function status(handle: WorkflowHandle): Promise<ReleaseStatus> {
  return (await handle.query(statusQuery)) as ReleaseStatus;
}

/** The kinds of a workflow's history events, in order (`workflowTaskScheduled`, `timerFired`, …). */
async function historyEventKinds(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.map(
    (e) =>
      Object.entries(e)
        .find(([k, v]) => k.endsWith('EventAttributes') && v !== null && v !== undefined)?.[0]
        .replace(/EventAttributes$/, '') ?? 'unknown',
  );
}

/** Polls (real time) until `fn` returns a value; for state a workflow reaches in a task of its own. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('release workflow on the time-skipping server', () => {
  it('waits at a manual promotion gate through half an hour of analysis, then promotes on approve', async () => {
    const fake = new FakeReleaseActivities();
    await withWorker(fake, async (taskQueue) => {
      const h = await startRelease(taskQueue, 'ts-gate', { manualGates: ['confirm-promotion'] });
      const id = h.workflowId;
      await env.sleep('30m');
      const st = await status(h);
      expect(st.phase).toBe('WaitingPromotion');
      expect(st.pendingGate).toMatchObject({ gate: 'confirm-promotion', manualRequired: true });
      expect(st.weights).toMatchObject({ primary: 50, canary: 50 });
      // The analysis kept running every minute while the gate was closed; nothing was promoted.
      expect(fake.of(id, 'runAnalysis').length).toBeGreaterThanOrEqual(28);
      expect(fake.of(id, 'promotePrimary')).toHaveLength(0);
      expect(fake.effects(id)).toEqual(['scale up', 'routes 75/25', 'routes 50/50']);

      const after = (await h.executeUpdate(approveUpdate, {
        args: [{ actor: 'alice', reason: 'dashboards green', gate: 'confirm-promotion' }],
      })) as ReleaseStatus;
      expect(after.phase).toBe('Promoting');
      expect(after.operatorLog.at(-1)).toMatchObject({ action: 'approve', actor: 'alice', accepted: true });

      const result: ReleaseResult = await h.result();
      expect(result).toMatchObject({
        outcome: 'Promoted',
        reason: { code: 'analysis-passed' },
        phase: 'Succeeded',
        finalWeights: { primary: 100, canary: 0, mirror: null },
        stepsCompleted: 2,
        failedChecks: 0,
        primaryPromoted: true,
      });
      expect(result.approvals).toEqual([
        expect.objectContaining({ gate: 'confirm-promotion', via: 'operator', by: 'alice', override: false }),
      ]);
      // Workflow time, not wall time: half an hour waiting for the approval.
      expect(result.phaseDurationsMs.WaitingPromotion).toBeGreaterThanOrEqual(27 * minute);
      expect(fake.effects(id)).toEqual([
        'scale up',
        'routes 75/25',
        'routes 50/50',
        'promote',
        'routes 100/0',
        'scale zero',
      ]);
      expect(fake.of(id, 'recordOutcome')).toEqual([expect.objectContaining({ outcome: 'Promoted' })]);
    });
  }, 30_000);

  it('pause holds the release through hours of skipped time; resume carries on to promotion', async () => {
    const fake = new FakeReleaseActivities();
    await withWorker(fake, async (taskQueue) => {
      const h = await startRelease(taskQueue, 'ts-pause');
      const id = h.workflowId;
      await env.sleep('90s');
      expect((await status(h)).weights.canary).toBe(50);
      expect(fake.of(id, 'runAnalysis')).toHaveLength(1);
      const paused = (await h.executeUpdate(pauseUpdate, {
        args: [{ actor: 'carol', reason: 'checking a dashboard' }],
      })) as ReleaseStatus;
      expect(paused.paused).toMatchObject({ by: 'carol', reason: 'checking a dashboard' });
      const callsBefore = fake.calls.length;

      await env.sleep('6h');
      const st = await status(h);
      expect(st.paused).toMatchObject({ by: 'carol' });
      expect(st.weights).toMatchObject({ primary: 50, canary: 50 });
      expect(st.phase).toBe('Progressing');
      // Nothing ran while paused (the 1m ticks would have promoted long ago): no analysis, no route change,
      // not even an event.
      expect(fake.calls.length).toBe(callsBefore);

      await h.executeUpdate(resumeUpdate, { args: [{ actor: 'carol', reason: 'dashboard fine' }] });
      const result: ReleaseResult = await h.result();
      expect(result.outcome).toBe('Promoted');
      expect(result.pausedMs).toBeGreaterThanOrEqual(6 * hour);
      // Promoted within minutes of the resume: the paused hours are the only long stretch.
      expect(result.durationMs).toBeGreaterThanOrEqual(6 * hour);
      expect(result.durationMs).toBeLessThan(6 * hour + 5 * minute);
      expect(result.operatorActions.map((a) => [a.action, a.actor, a.accepted])).toEqual([
        ['pause', 'carol', true],
        ['resume', 'carol', true],
      ]);
      expect(fake.effects(id)).toEqual([
        'scale up',
        'routes 75/25',
        'routes 50/50',
        'promote',
        'routes 100/0',
        'scale zero',
      ]);
    });
  }, 30_000);

  it('abort arriving during an analysis ends Aborted with traffic back on the primary', async () => {
    // A server of its own: the release may abandon the in-flight analysis (cancelled, TRY_CANCEL) and complete
    // before the analysis answers, and the time-skipping test server never releases the clock lock of an activity
    // that answers after its workflow completed ("Completed workflow"): later tests' time would stand still.
    const own = await startTimeSkippingEnv();
    try {
      let abortSent = false;
      const fake = new FakeReleaseActivities({
        analysis: async (call) => {
          if (call.n === 1) {
            // The operator aborts (the Web UI's signal) while this analysis is in flight: the signal is in the
            // history before the analysis answers.
            await own.client.workflow
              .getHandle(call.ctx.workflowId)
              .signal(abortSignal, { actor: 'dave', reason: 'bad canary logs' });
            abortSent = true;
          }
          return passingAnalysis(call);
        },
      });
      await withWorker(
        fake,
        async (taskQueue) => {
          const h = await startRelease(taskQueue, 'ts-abort', undefined, own);
          const id = h.workflowId;
          const result: ReleaseResult = await h.result();
          expect(abortSent).toBe(true);
          expect(result).toMatchObject({
            outcome: 'Aborted',
            reason: { code: 'operator-abort', message: 'Aborted by dave: bad canary logs' },
            phase: 'Failed',
            finalWeights: { primary: 100, canary: 0, mirror: null },
            primaryPromoted: false,
          });
          expect(result.operatorActions).toEqual([
            expect.objectContaining({ action: 'abort', actor: 'dave', accepted: true }),
          ]);
          // Whether the in-flight analysis was cancelled or its step taken first, the release ends at 100%
          // primary with the canary scaled down, and never promotes. (If the abandoned analysis answers while the
          // final workflow task runs, the server fails that task and its local activities run again: the
          // rollback's effects may appear twice, at least once.)
          const effects = fake.effects(id);
          expect(effects.slice(0, 2)).toEqual(['scale up', 'routes 75/25']);
          expect(effects.slice(-2)).toEqual(['routes 100/0', 'scale zero']);
          expect(effects).not.toContain('promote');
          expect(fake.of(id, 'runAnalysis')).toHaveLength(1);
          expect(fake.of(id, 'notify').map((n) => n.kind)).toContain('aborted');
          const outcomes = fake.of(id, 'recordOutcome').map((r) => r.outcome);
          expect(outcomes.length).toBeGreaterThan(0);
          expect(new Set(outcomes)).toEqual(new Set(['Aborted']));
        },
        own,
      );
    } finally {
      await own.teardown();
    }
  }, 30_000);

  it('rejects invalid updates in their validators without writing history; accepts the valid one', async () => {
    const fake = new FakeReleaseActivities();
    await withWorker(fake, async (taskQueue) => {
      const h = await startRelease(taskQueue, 'ts-validate', { manualGates: ['confirm-rollout'] });
      const id = h.workflowId;
      await env.sleep('10m');
      const st = await status(h);
      expect(st.phase).toBe('Waiting');
      expect(st.pendingGate).toMatchObject({ gate: 'confirm-rollout' });
      const before = await historyEventKinds(h);

      const rejected = [
        [approveUpdate, { actor: '', reason: 'x' }, /actor is required/],
        [resumeUpdate, { actor: 'erin', reason: 'go' }, /not paused/],
        [
          approveUpdate,
          { actor: 'erin', reason: 'go', gate: 'confirm-promotion' },
          /pending gate is confirm-rollout/,
        ],
        [approveUpdate, { actor: 'erin', reason: 'go', gate: 'no-such-gate' }, /unknown gate/],
      ] as const;
      for (const [update, req, message] of rejected) {
        const err: unknown = await h.executeUpdate(update, { args: [req] }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((err as WorkflowUpdateFailedError).cause?.message).toMatch(message);
      }
      // Nothing was recorded: no update, no operator log entry, the gate still pending. (The test server runs each
      // validator in a workflow task it writes to history; a real server's speculative task leaves no trace
      // there, see test/integration/temporal.test.ts. Workflow-task events are all it may add.)
      const after = await historyEventKinds(h);
      expect(after.slice(0, before.length)).toEqual(before);
      const workflowTask = ['workflowTaskScheduled', 'workflowTaskStarted', 'workflowTaskCompleted'];
      expect(after.slice(before.length).filter((t) => !workflowTask.includes(t))).toEqual([]);
      expect(after.filter((t) => /update/i.test(t))).toEqual([]);
      const still = await status(h);
      expect(still.operatorLog).toEqual([]);
      expect(still.pendingGate).toMatchObject({ gate: 'confirm-rollout' });
      expect(still.pendingGate?.approvedBy).toBeUndefined();
      expect(fake.effects(id)).toEqual(['scale up']);
      // A signal has no validator: the same invalid request is recorded as rejected, and nothing else happens.
      await h.signal(resumeSignal, { actor: 'frank', reason: 'from the Web UI' });

      await h.executeUpdate(approveUpdate, { args: [{ actor: 'erin', reason: 'change window open' }] });
      const result: ReleaseResult = await h.result();
      expect(result.outcome).toBe('Promoted');
      expect(result.approvals).toEqual([
        expect.objectContaining({ gate: 'confirm-rollout', via: 'operator', by: 'erin' }),
      ]);
      expect(result.operatorActions).toEqual([
        expect.objectContaining({ action: 'resume', actor: 'frank', accepted: false }),
        expect.objectContaining({ action: 'approve', actor: 'erin', accepted: true }),
      ]);
      expect(result.operatorActions[0]?.rejectionReason).toMatch(/not paused/);
      expect(result.phaseDurationsMs.Waiting).toBeGreaterThanOrEqual(9 * minute);
    });
  }, 30_000);

  it('continues as new when the server suggests it, carrying the release: state, operator log, images, thread', async () => {
    const fake = new FakeReleaseActivities();
    await withWorker(fake, async (taskQueue) => {
      const h = await startRelease(taskQueue, 'ts-can', { manualGates: ['confirm-promotion'] });
      const id = h.workflowId;
      const firstRunId = h.firstExecutionRunId;
      await env.sleep('30s');
      await h.executeUpdate(pauseUpdate, { args: [{ actor: 'carol', reason: 'checking a dashboard' }] });
      await h.executeUpdate(resumeUpdate, { args: [{ actor: 'carol', reason: 'dashboard fine' }] });
      const startedAt = (await status(h)).startedAt;

      // Held at the promotion gate with an analysis every minute, the history grows ~11 events a tick; the test
      // server suggests continue-as-new at 4096 events (a real server's limit.historyCount.suggestContinueAsNew):
      // some six hours in.
      const latest = env.client.workflow.getHandle(id);
      let runId = firstRunId;
      for (let hours = 0; runId === firstRunId && hours < 12; hours++) {
        await env.sleep('1h');
        runId = (await latest.describe()).runId;
      }
      expect(runId).not.toBe(firstRunId);
      const firstRun = env.client.workflow.getHandle(id, firstRunId);
      expect((await firstRun.describe()).status.name).toBe('CONTINUED_AS_NEW');
      expect((await historyEventKinds(firstRun)).at(-1)).toBe('workflowExecutionContinuedAsNew');

      // The new run took over where the first one was: no second initialisation, same weights, same log.
      const st = await status(latest);
      expect(st).toMatchObject({
        phase: 'WaitingPromotion',
        weights: { primary: 50, canary: 50 },
        startedAt,
        pendingGate: { gate: 'confirm-promotion' },
      });
      expect(st.operatorLog.map((a) => [a.action, a.actor])).toEqual([
        ['pause', 'carol'],
        ['resume', 'carol'],
      ]);
      expect(fake.of(id, 'initializeRelease')).toHaveLength(1);
      expect(fake.effects(id)).toEqual(['scale up', 'routes 75/25', 'routes 50/50']);

      await latest.executeUpdate(approveUpdate, { args: [{ actor: 'alice', reason: 'after the weekend' }] });
      const result = (await latest.result()) as ReleaseResult;
      expect(result).toMatchObject({
        outcome: 'Promoted',
        stepsCompleted: 2,
        startedAt,
        primaryPromoted: true,
      });
      expect(result.durationMs).toBeGreaterThanOrEqual(5 * hour);
      expect(result.phaseDurationsMs.WaitingPromotion).toBeGreaterThanOrEqual(5 * hour);
      expect(result.operatorActions.map((a) => [a.action, a.actor])).toEqual([
        ['pause', 'carol'],
        ['resume', 'carol'],
        ['approve', 'alice'],
      ]);
      expect(fake.effects(id)).toEqual([
        'scale up',
        'routes 75/25',
        'routes 50/50',
        'promote',
        'routes 100/0',
        'scale zero',
      ]);
      // Notifications of the last run still know the old image (from the first run's initialisation) and post
      // into the thread the first notification opened.
      const notes = fake.of(id, 'notify');
      expect(notes.at(-2)).toMatchObject({
        kind: 'promoted',
        previousImages: { podinfo: 'ghcr.io/stefanprodan/podinfo:6.5.0' },
        thread: 'thread-1',
      });
      // Once the release ended, its thread's parent is refreshed with the final state (no new message).
      expect(notes.at(-1)).toMatchObject({ kind: 'final-state', severity: 'info', thread: 'thread-1' });
      expect(notes[0]?.thread).toBeUndefined();
      expect(new Set(notes.slice(1).map((n) => n.thread))).toEqual(new Set(['thread-1']));
    });
  }, 60_000);

  it('a steady tick runs one local activity: the route write carries its event; every event is still recorded, in order', async () => {
    const fake = new FakeReleaseActivities();
    await withWorker(fake, async (taskQueue) => {
      const h = await startRelease(taskQueue, 'ts-events');
      const id = h.workflowId;
      const result: ReleaseResult = await h.result();
      expect(result.outcome).toBe('Promoted');
      const events = (await h.fetchHistory()).events ?? [];
      // Local activities are markers; their summaries say what each ran (the Web UI shows them).
      const summaryOf = (e: (typeof events)[number]): string => {
        const data = e.userMetadata?.summary?.data;
        return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : '';
      };
      const timeline = events.flatMap((e) =>
        e.timerFiredEventAttributes
          ? ['timer']
          : e.markerRecordedEventAttributes && summaryOf(e)
            ? [summaryOf(e)]
            : [],
      );
      const routeWrites = timeline.filter((x) => x.startsWith('route '));
      expect(routeWrites).toEqual([
        'route 75/25 + event TrafficWeightUpdated',
        'route 50/50 + event TrafficWeightUpdated',
        'route 100/0 + event TrafficWeightUpdated',
      ]);
      // No event ran as a local activity of its own right after a write or another event of the same batch.
      expect(timeline).not.toContain('event TrafficWeightUpdated');
      expect(timeline).toContain('event Progressing, PreRolloutPassed');
      expect(timeline).toContain('canary: scale to zero + event PromotionCompleted');
      // The tick that moved traffic to 50/50: the timer, the analysis (a regular activity: no marker), ONE write.
      const tick = timeline.indexOf('route 50/50 + event TrafficWeightUpdated');
      expect(timeline[tick - 1]).toBe('timer');
      // Every event the release decided on was recorded, in the order decided (the fake records riders as calls).
      const reasons = fake.of(id, 'recordEvent').map((c) => c.reason);
      expect(reasons.filter((r) => r === 'TrafficWeightUpdated')).toHaveLength(3);
      expect(reasons[0]).toBe('ReleaseStarted');
      expect(reasons.at(-1)).toBe('PromotionCompleted');
      const ridden = timeline.filter((x) => x.includes('+ event ')).length;
      expect(ridden).toBeGreaterThanOrEqual(4); // the three route writes and the canary's scale-up
    });
  }, 30_000);

  it('cancelling the workflow runs the cleanup: traffic to the primary, canary scaled down', async () => {
    const fake = new FakeReleaseActivities();
    await withWorker(fake, async (taskQueue) => {
      const h = await startRelease(taskQueue, 'ts-cancel');
      const id = h.workflowId;
      await env.sleep('90s');
      expect((await status(h)).weights.canary).toBe(50);
      await h.cancel();
      const result: ReleaseResult = await h.result();
      expect(result).toMatchObject({
        outcome: 'Aborted',
        reason: { code: 'cancelled' },
        phase: 'Terminated',
        finalWeights: { primary: 100, canary: 0, mirror: null },
        primaryPromoted: false,
      });
      expect(fake.effects(id)).toEqual([
        'scale up',
        'routes 75/25',
        'routes 50/50',
        'routes 100/0',
        'scale zero',
      ]);
      expect(fake.of(id, 'notify').map((n) => n.kind)).toContain('cancelled');
      expect(fake.of(id, 'recordOutcome')).toEqual([expect.objectContaining({ outcome: 'Aborted' })]);
      // The cleanup's result is the workflow's result: the execution completed, it did not end as cancelled.
      expect((await h.describe()).status.name).toBe('COMPLETED');
    });
  }, 30_000);
});

describe('lane workflow on the time-skipping server', () => {
  it('a newer release supersedes the running one: Superseded after its traffic went back to the primary', async () => {
    const fake = new FakeReleaseActivities();
    await withWorker(fake, async (taskQueue) => {
      const cfg: FledgeConfig = {
        temporal: { address: env.address, namespace: env.namespace ?? 'default' },
        taskQueue,
        prometheusUrl: 'http://prometheus.invalid',
        webUiUrl: 'http://temporal-ui.invalid',
      };
      const yaml = stringify(canaryDocs('ts-lane')[0]);
      started.add(laneWorkflowId('ts-lane', 'podinfo'));
      const first = await submitRelease(env.client, cfg, {
        yaml,
        images: { podinfo: v2 },
        initiator: 'ci-1',
      });
      expect(first.disposition).toBe('started');
      started.add(first.workflowId);
      await env.sleep('90s');
      const a = env.client.workflow.getHandle(first.workflowId);
      expect((await status(a)).weights.canary).toBe(50);

      const second = await submitRelease(env.client, cfg, {
        yaml,
        images: { podinfo: v3 },
        initiator: 'ci-2',
      });
      expect(second).toMatchObject({ disposition: 'superseding', supersedes: first.workflowId });
      started.add(second.workflowId);

      const ra = (await a.result()) as ReleaseResult;
      expect(ra).toMatchObject({
        outcome: 'Superseded',
        reason: { code: 'superseded' },
        phase: 'Terminated',
        finalWeights: { primary: 100, canary: 0, mirror: null },
        primaryPromoted: false,
      });
      expect(ra.reason.message).toContain(second.workflowId);
      // Traffic back to the primary; the canary slot is left to the newer release (it sets its own images).
      expect(fake.effects(first.workflowId)).toEqual([
        'scale up',
        'routes 75/25',
        'routes 50/50',
        'routes 100/0',
      ]);

      const rb = await releaseResult(env.client, second.workflowId, { timeoutMs: 20_000, pollMs: 50 });
      expect(rb.outcome).toBe('Promoted');
      expect(fake.effects(second.workflowId)).toEqual([
        'scale up',
        'routes 75/25',
        'routes 50/50',
        'promote',
        'routes 100/0',
        'scale zero',
      ]);
      // Serialised: the first release had restored the primary before the second one touched anything.
      const restored = fake.indexOf(
        (c) => c.workflowId === first.workflowId && c.activity === 'setRoutes',
        'last',
      );
      const secondStarted = fake.indexOf(
        (c) => c.workflowId === second.workflowId && c.activity === 'initializeRelease',
      );
      expect(restored).toBeGreaterThanOrEqual(0);
      expect(secondStarted).toBeGreaterThan(restored);

      const lane = env.client.workflow.getHandle(laneWorkflowId('ts-lane', 'podinfo'));
      const state = await eventually('the lane to record both outcomes', async () => {
        const s: LaneState = await lane.query(laneStatusQuery);
        return s.completed === 2 ? s : undefined;
      });
      expect(state).toEqual({
        current: null,
        queue: [],
        recent: [
          { releaseId: first.workflowId, outcome: 'Superseded' },
          { releaseId: second.workflowId, outcome: 'Promoted' },
        ],
        completed: 2,
      });
      // Nothing left to run: the lane ended (patch lane-ends-when-idle; it left the workflow cache). The next submit
      // starts a new run under the same ID, which runs it.
      const ended = await eventually('the lane to end', async () => {
        const d = await lane.describe();
        return d.status.name === 'COMPLETED' ? d : undefined;
      });
      const third = await submitRelease(env.client, cfg, {
        yaml,
        images: { podinfo: 'ghcr.io/stefanprodan/podinfo:6.5.4' },
        initiator: 'ci-3',
      });
      expect(third.disposition).toBe('started');
      started.add(third.workflowId);
      const rc = await releaseResult(env.client, third.workflowId, { timeoutMs: 20_000, pollMs: 50 });
      expect(rc.outcome).toBe('Promoted');
      const next = await lane.describe();
      expect(next.runId).not.toBe(ended.runId);
    });
  }, 30_000);
});
