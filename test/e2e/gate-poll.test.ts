// Gate webhooks react as fast as `fledge approve` (issue 12 part 5): with `spec.fledge.gatePollInterval`, a closed
// confirm-* gate (Flagger's loadtester gate on the stack's webhook service) is polled every poll period while the
// release waits, inside ONE pollGate activity per wait — so opening it is acted on within about a poll period, not
// at the next analysis interval. Real worker, real Temporal, real webhook service and cluster; ends with the
// end-state oracle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { submitRelease } from '../../src/starter.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { eventually, stack } from '../support/stack.js';
import { canaryYaml, deploymentState, endState, startE2E, targetNamespace, type E2E } from './support.js';

let e: E2E;
beforeAll(async () => {
  e = await startE2E('gate-poll');
});
afterAll(async () => {
  await e?.stop();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('confirm-promotion loadtester gate, interval 20 s, gatePollInterval 1s', () => {
  it('opened mid-wait: the primary carries the new image within seconds, not at the next interval', async () => {
    const ns = await targetNamespace(e, 'e2e-gate-poll', v1);
    try {
      const gateUrl = `${stack().urls.webhook}/gate/check`;
      const yaml = canaryYaml(ns.name, {
        analysis: '    interval: 20s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
        webhooks: `      - name: promotion-gate\n        type: confirm-promotion\n        url: ${gateUrl}\n`,
        fledge: '  fledge:\n    gatePollInterval: 1s\n',
      });
      const oracle = await endState(e, yaml);
      const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'e2e' });
      const h = e.client.workflow.getHandle(sub.workflowId);
      const waiting = await eventually(
        'waiting for promotion',
        async () => {
          const st = (await h.query(statusQuery)) as ReleaseStatus;
          return st.phase === 'WaitingPromotion' ? st : undefined;
        },
        { timeoutMs: 90_000 },
      );
      expect(waiting.pendingGate).toMatchObject({ gate: 'confirm-promotion' });
      // Well inside the 20 s wait that follows the closed gate.
      await sleep(3_500);
      const callsBefore = (await e.hooks.calls('/gate/check')).filter(
        (c) => c.payload?.namespace === ns.name,
      ).length;
      const t0 = Date.now();
      await e.hooks.openGate('podinfo', ns.name);
      await eventually(
        'primary promoted',
        async () =>
          (await deploymentState(e.kube, ns.name, 'podinfo-primary')).image === v2 ? true : undefined,
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      const elapsed = Date.now() - t0;
      console.log(`gate opened → primary template updated in ${elapsed} ms (interval 20 s, poll 1 s)`);
      // Without the watch this waits for the next tick: up to the 20 s interval.
      expect(elapsed).toBeLessThan(8_000);
      // The gate was polled while waiting (about once a second), not only once per interval.
      expect(callsBefore).toBeGreaterThanOrEqual(3);
      const result = (await h.result()) as ReleaseResult;
      expect(result.outcome).toBe('Promoted');
      expect(result.approvals).toContainEqual(
        expect.objectContaining({ gate: 'confirm-promotion', via: 'webhook', by: 'promotion-gate' }),
      );
      // Bounded history: one pollGate activity per wait, however many polls it made.
      const history = await h.fetchHistory();
      const scheduled = (history.events ?? []).filter(
        (ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name === 'pollGate',
      );
      expect(scheduled.length).toBeGreaterThanOrEqual(1);
      expect(scheduled.length).toBeLessThanOrEqual(2);
      expect(await deploymentState(e.kube, ns.name, 'podinfo-primary')).toMatchObject({ image: v2 });
      await oracle.verify(result, { app: v2 });
    } finally {
      await ns.cleanup();
    }
  }, 180_000);
});
