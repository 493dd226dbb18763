// Delivery under a provider's severity (Flagger's routing: info gets everything, warn gets warn+error, error only
// errors), and the release message kept current: a notification the filter drops, and the final state once the
// release ended, refresh the existing message (Slack parent) instead of being lost.
import { describe, expect, it } from 'vitest';
import {
  deliver,
  finalStateKind,
  type Notifier,
  type ReleaseNotification,
  type Severity,
  type ThreadRef,
} from '../../../src/integrations/notify/notifier.js';

function recorder(withRefresh: boolean) {
  const calls: string[] = [];
  const notifier: Notifier = {
    name: 'rec',
    key: 'rec:1',
    notify: async (n) => {
      calls.push(`notify ${n.kind}`);
      return { delivered: true, thread: { channel: 'C', ts: '1' } };
    },
    ...(withRefresh
      ? {
          refresh: async (n: ReleaseNotification, thread: ThreadRef) => {
            calls.push(`refresh ${n.kind} ${thread.ts}`);
            return { delivered: true, thread };
          },
        }
      : {}),
  };
  return { notifier, calls };
}

const note = (severity: Severity, kind: string) => ({ severity, kind }) as unknown as ReleaseNotification;
const thread = { channel: 'C', ts: '1' };

describe('deliver', () => {
  it.each<[Severity, Severity, boolean]>([
    ['info', 'info', true],
    ['info', 'error', true],
    ['warn', 'info', false],
    ['warn', 'warn', true],
    ['warn', 'error', true],
    ['error', 'warn', false],
    ['error', 'error', true],
  ])(
    'a %s provider and a %s notification: sent = %s, else the existing message is refreshed',
    async (p, e, sent) => {
      const { notifier, calls } = recorder(true);
      const r = await deliver({ notifier, severity: p }, note(e, 'k'), thread);
      expect(calls).toEqual([sent ? 'notify k' : 'refresh k 1']);
      expect(r?.delivered).toBe(true);
    },
  );

  it('a filtered notification with no message yet does nothing (no parent is posted for it)', async () => {
    const { notifier, calls } = recorder(true);
    expect(
      await deliver({ notifier, severity: 'warn' }, note('info', 'promoted'), undefined),
    ).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('the final state only ever refreshes (even for an info provider); receivers without a message are skipped', async () => {
    const slackLike = recorder(true);
    await deliver({ notifier: slackLike.notifier, severity: 'info' }, note('info', finalStateKind), thread);
    expect(slackLike.calls).toEqual([`refresh ${finalStateKind} 1`]);
    const webhookLike = recorder(false);
    expect(
      await deliver(
        { notifier: webhookLike.notifier, severity: 'info' },
        note('info', finalStateKind),
        thread,
      ),
    ).toBeUndefined();
    expect(
      await deliver({ notifier: webhookLike.notifier, severity: 'warn' }, note('info', 'promoted'), thread),
    ).toBeUndefined();
    expect(webhookLike.calls).toEqual([]);
  });
});
