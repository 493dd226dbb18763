// The pollGate activity (src/activities/release.ts) against the stack's real webhook service and its loadtester
// gate: polls every period for the window, returns as soon as the gate passes, else the last results at the end;
// a retried attempt waits out only the rest of the window (heartbeat details).
import { describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createReleaseActivities, type GatePoll, type ReleaseDeps } from '../../src/activities/release.js';
import type { ReleaseContext } from '../../src/domain/context.js';
import type { HookPlan } from '../../src/domain/plan.js';
import { WebhookServiceClient } from '../../src/dev/webhook-service/client.js';
import { kube, stack } from '../support/stack.js';

const hooks = new WebhookServiceClient(stack().urls.webhook);
const acts = createReleaseActivities({ kc: kube().kc } as unknown as ReleaseDeps);

function setup(tag: string) {
  const name = `gatepoll-${tag}-${Date.now().toString(36)}`;
  const namespace = 'gate-poll-it';
  const ctx = { target: { name, namespace }, checksum: 'c1' } as unknown as ReleaseContext;
  const gate: HookPlan = {
    name: 'gate',
    type: 'confirm-promotion',
    url: `${stack().urls.webhook}/gate/check`,
    timeoutMs: 5_000,
    retries: 0,
    muteAlert: false,
    metadata: {},
  };
  const checks = async () =>
    (await hooks.calls('/gate/check')).filter((c) => c.payload?.name === name).length;
  return { name, namespace, ctx, gate, checks };
}

describe('pollGate', () => {
  it('a gate closed for the whole window: one check per period, the last results at the end', async () => {
    const { ctx, gate, checks } = setup('closed');
    const t0 = Date.now();
    const r: GatePoll = await new MockActivityEnvironment().run(acts.pollGate, ctx, [gate], 'Progressing', {
      everyMs: 1_000,
      windowMs: 3_500,
    });
    const elapsed = Date.now() - t0;
    expect(r).toMatchObject({ opened: false, polls: 3 });
    expect(r.results).toEqual([expect.objectContaining({ name: 'gate', ok: false, status: 403 })]);
    expect(elapsed).toBeGreaterThanOrEqual(3_500);
    expect(elapsed).toBeLessThan(5_000);
    expect(await checks()).toBe(3);
  });

  it('opened mid-window: returns at the next poll', async () => {
    const { name, namespace, ctx, gate } = setup('open');
    const t0 = Date.now();
    setTimeout(() => void hooks.openGate(name, namespace), 1_500);
    const r: GatePoll = await new MockActivityEnvironment().run(acts.pollGate, ctx, [gate], 'Progressing', {
      everyMs: 1_000,
      windowMs: 20_000,
    });
    const elapsed = Date.now() - t0;
    expect(r).toMatchObject({ opened: true, polls: 2 });
    expect(r.results).toEqual([expect.objectContaining({ ok: true, status: 200 })]);
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('a retried attempt waits out only the rest of the window', async () => {
    const { ctx, gate, checks } = setup('retry');
    const t0 = Date.now();
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { waitedMs: 2_500, polls: 2 } });
    const r: GatePoll = await env.run(acts.pollGate, ctx, [gate], 'Progressing', {
      everyMs: 1_000,
      windowMs: 4_000,
    });
    const elapsed = Date.now() - t0;
    expect(r).toMatchObject({ opened: false, polls: 1 });
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(2_500);
    expect(await checks()).toBe(1);
  });
});
