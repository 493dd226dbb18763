// The pure parts of the scale benchmark (scripts/bench-scale/stats.ts) and the rig's kwok node count.
import { describe, expect, it } from 'vitest';
import {
  flaggerTickLateness,
  fledgeTickLateness,
  parseFlaggerLog,
  percentile,
  requestRates,
  workShare,
  workflowTaskTimeouts,
  type HistoryEventLike,
} from '../../scripts/bench-scale/stats.js';
import { kwokNodesFor, kwokPodsPerNode } from '../../src/dev/stack/kube.js';

const at = (ms: number) => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });

describe('percentile', () => {
  it('takes the nearest rank and ignores non-finite samples', () => {
    const xs = [5, 1, 4, 2, 3, NaN];
    expect(percentile(xs, 50)).toBe(3);
    expect(percentile(xs, 95)).toBe(5);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(99);
  });
});

describe('fledgeTickLateness', () => {
  it('measures runAnalysis start against the due time of the timer before it', () => {
    const events: HistoryEventLike[] = [
      // first analysis: no timer before it, not counted
      {
        eventId: '5',
        eventTime: at(1000),
        activityTaskScheduledEventAttributes: { activityType: { name: 'runAnalysis' } },
      },
      { eventId: '6', eventTime: at(1100), activityTaskStartedEventAttributes: { scheduledEventId: '5' } },
      { eventId: '9', eventTime: at(2000), timerStartedEventAttributes: { startToFireTimeout: at(30_000) } },
      {
        eventId: '12',
        eventTime: at(32_500),
        activityTaskScheduledEventAttributes: { activityType: { name: 'runAnalysis' } },
      },
      {
        eventId: '13',
        eventTime: at(32_750),
        activityTaskStartedEventAttributes: { scheduledEventId: '12' },
      },
      // a timer followed by another activity type resets nothing for runAnalysis: the next timer counts
      {
        eventId: '20',
        eventTime: at(40_000),
        timerStartedEventAttributes: { startToFireTimeout: at(5_000) },
      },
      {
        eventId: '21',
        eventTime: at(45_000),
        timerStartedEventAttributes: { startToFireTimeout: at(10_000) },
      },
      {
        eventId: '22',
        eventTime: at(55_100),
        activityTaskScheduledEventAttributes: { activityType: { name: 'runAnalysis' } },
      },
      {
        eventId: '23',
        eventTime: at(55_100),
        activityTaskStartedEventAttributes: { scheduledEventId: '22' },
      },
      {
        eventId: '24',
        eventTime: at(56_000),
        activityTaskScheduledEventAttributes: { activityType: { name: 'runHooks' } },
      },
      {
        eventId: '25',
        eventTime: at(56_000),
        activityTaskStartedEventAttributes: { scheduledEventId: '24' },
      },
    ];
    expect(fledgeTickLateness(events)).toEqual([750, 100]);
  });
});

describe('workShare', () => {
  it('credits workflow tasks, activities and the local-activity markers of each task to its worker', () => {
    const events: HistoryEventLike[] = [
      { workflowTaskCompletedEventAttributes: { identity: 'w1' } },
      { markerRecordedEventAttributes: { markerName: 'core_local_activity' } },
      { markerRecordedEventAttributes: { markerName: 'core_patch' } },
      { activityTaskStartedEventAttributes: { identity: 'w2', scheduledEventId: '1' } },
      { workflowTaskCompletedEventAttributes: { identity: 'w2' } },
      { markerRecordedEventAttributes: { markerName: 'core_local_activity' } },
      { markerRecordedEventAttributes: { markerName: 'core_local_activity' } },
      { workflowTaskCompletedEventAttributes: { identity: 'w1' } },
    ];
    expect(Object.fromEntries(workShare(events))).toEqual({
      w1: { workflowTasks: 2, activities: 0, localActivities: 2 },
      w2: { workflowTasks: 1, activities: 1, localActivities: 1 },
    });
  });
});

describe('workflowTaskTimeouts', () => {
  it('counts timed-out workflow tasks and measures the longest stall to the next completed task', () => {
    const events: HistoryEventLike[] = [
      { eventTime: at(1_000), workflowTaskCompletedEventAttributes: {} },
      { eventTime: at(40_000), workflowTaskTimedOutEventAttributes: {} },
      { eventTime: at(50_000), workflowTaskCompletedEventAttributes: {} },
      { eventTime: at(60_000), workflowTaskTimedOutEventAttributes: {} },
      { eventTime: at(90_000), workflowTaskTimedOutEventAttributes: {} },
      { eventTime: at(200_000), workflowTaskCompletedEventAttributes: {} },
    ];
    expect(workflowTaskTimeouts(events)).toEqual({ timedOut: 3, longestStallMs: 140_000 });
    expect(workflowTaskTimeouts(events.slice(0, 1))).toEqual({ timedOut: 0, longestStallMs: 0 });
  });
});

describe('flaggerTickLateness', () => {
  const line = (ms: number, canary: string, msg = 'Advance') => ({
    ts: new Date(Date.UTC(2026, 0, 1) + ms).toISOString(),
    msg,
    canary,
  });
  it('takes one tick per second of lines and measures offsets from the most punctual tick', () => {
    const lines = [
      line(0, 'a.ns', 'Starting canary analysis for a.ns'),
      line(200, 'a.ns'), // same tick
      line(30_400, 'a.ns'),
      line(59_900, 'a.ns'), // the most punctual: 0.1 s early against the first
      line(92_000, 'a.ns'),
      line(5_000, 'b.ns'), // one tick only: nothing to compare
      line(10_000, 'c.other'),
      line(40_000, 'c.other'),
    ];
    const got = flaggerTickLateness(lines, 30_000, new Set(['a.ns', 'b.ns']));
    expect(got.map((x) => Math.round(x))).toEqual([100, 500, 0, 2100]);
  });
  it('parses zap JSON lines and skips the rest', () => {
    const text = [
      '{"level":"info","ts":"2026-11-30T05:20:16.500Z","msg":"Advance a.ns canary weight 20","canary":"a.ns"}',
      'panic: not json',
      '{"level":"info","ts":"2026-11-30T05:20:17.500Z","msg":"Synced ns/a"}',
      '{broken',
    ].join('\n');
    expect(parseFlaggerLog(text)).toEqual([
      { ts: '2026-11-30T05:20:16.500Z', msg: 'Advance a.ns canary weight 20', canary: 'a.ns' },
      { ts: '2026-11-30T05:20:17.500Z', msg: 'Synced ns/a' },
    ]);
  });
});

describe('requestRates', () => {
  it('gives the mean over the window and the busiest 10 s', () => {
    const times = [
      ...Array.from({ length: 50 }, (_, i) => 1000 + i * 100), // 50 requests in 5 s
      ...Array.from({ length: 10 }, (_, i) => 30_000 + i * 1000),
      99_999_999, // outside
    ];
    const r = requestRates(times, 0, 60_000);
    expect(r.mean).toBeCloseTo(60 / 60);
    expect(r.peak10s).toBeCloseTo(5);
  });
});

describe('kwokNodesFor', () => {
  it('adds a node per kwokPodsPerNode pods plus one of headroom', () => {
    expect(kwokNodesFor(0)).toBe(1);
    expect(kwokNodesFor(1)).toBe(2);
    expect(kwokNodesFor(kwokPodsPerNode)).toBe(2);
    expect(kwokNodesFor(kwokPodsPerNode * 4 + 1)).toBe(6);
  });
});
