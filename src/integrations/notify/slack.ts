// Slack notifier over @slack/web-api: ONE thread per release. The parent message is the release's live summary
// (Block Kit, rewritten with chat.update on every notification, and by `refresh` for the notifications the
// provider's severity filters out and once the release has ended); each notification is a reply in the thread.
//
// No duplicate parents: the parent carries Slack message metadata {event_type: fledge_release, workflow_id}.
// Before posting a parent, and again after an ambiguous failure (5xx, timeout: Slack may have posted it), the
// notifier looks for that metadata in the channel's recent history and adopts the message it finds. 429s are
// retried after Retry-After (nothing was posted). Scopes: chat:write, channels:history (groups:history for
// private channels; without it the lookup is skipped and a crash between post and record may duplicate).
import { WebClient, ErrorCode, type FetchFunction, type KnownBlock } from '@slack/web-api';
import {
  failingMetricText,
  headline,
  pendingGateText,
  releaseFacts,
  severityEmoji,
  type Fact,
} from './format.js';
import type { Notifier, NotifyResult, ReleaseNotification, ThreadRef } from './notifier.js';
import { retryAfterMs, withRetries, type RetryPolicy } from '../retry.js';

export interface SlackOptions {
  token: string;
  channel: string;
  /** Base URL of the Slack API (tests: the fake Slack). Default https://slack.com/api/. */
  apiUrl?: string;
  /** Retries of one call after a rate limit or an ambiguous failure. Small: a notification never holds a release up. */
  retries?: number;
  /** Wait before retrying a failed call (ms, doubled per attempt). Default 500. */
  backoffMs?: number;
  /** How many recent channel messages are searched for an existing parent. Default 100. */
  lookback?: number;
  /** The HTTP transport: the worker passes its outbound guard (src/integrations/outbound.ts). Default: fetch. */
  fetch?: FetchFunction;
  /**
   * Interactive buttons (Approve / Pause or Resume / Abort) on the parent while the release runs; the worker sets
   * it when its Slack interactions endpoint is on (FLEDGE_SLACK_SIGNING_SECRET). Default off.
   */
  interactive?: boolean;
}

/** The buttons' action IDs; each button's value is the release's workflow ID (src/interactions/slack.ts). */
export const slackActionIds = {
  approve: 'fledge:approve',
  pause: 'fledge:pause',
  resume: 'fledge:resume',
  abort: 'fledge:abort',
} as const;
export type SlackButtonAction = keyof typeof slackActionIds;
/** block_id of the actions block: `fledge:actions`, or `fledge:actions:<gate>` while a gate is pending. */
export const slackActionsBlockId = (gate: string | undefined): string =>
  gate ? `fledge:actions:${gate}` : 'fledge:actions';

/** The actions block of a running release: Approve (a gate is pending), Pause or Resume, Abort (confirmed). */
export function slackActionsBlock(n: ReleaseNotification): KnownBlock | undefined {
  const s = n.status;
  if (s.outcome !== null) return undefined;
  const value = n.release.workflowId;
  const button = (action: SlackButtonAction, text: string, style?: 'primary' | 'danger') => ({
    type: 'button' as const,
    action_id: slackActionIds[action],
    text: { type: 'plain_text' as const, text, emoji: true },
    value,
    ...(style ? { style } : {}),
  });
  const gate = s.pendingGate && s.pendingGate.approvedBy === undefined ? s.pendingGate.gate : undefined;
  return {
    type: 'actions',
    block_id: slackActionsBlockId(gate),
    elements: [
      ...(gate ? [button('approve', `Approve ${gate}`, 'primary')] : []),
      s.paused ? button('resume', 'Resume') : button('pause', 'Pause'),
      {
        ...button('abort', 'Abort', 'danger'),
        confirm: {
          title: { type: 'plain_text', text: 'Abort the release?' },
          text: mrkdwn(
            'Traffic goes back to the primary and the canary is scaled to zero (outcome Aborted).',
          ),
          confirm: { type: 'plain_text', text: 'Abort' },
          deny: { type: 'plain_text', text: 'Cancel' },
          style: 'danger',
        },
      },
    ],
  };
}

const eventType = 'fledge_release';

const mrkdwn = (text: string): { type: 'mrkdwn'; text: string } => ({ type: 'mrkdwn', text });
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The parent message: the release's current state. */
export function slackParentBlocks(n: ReleaseNotification, interactive = false): KnownBlock[] {
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: headline(n).slice(0, 150), emoji: true } },
    {
      type: 'section',
      fields: releaseFacts(n)
        .slice(0, 10)
        .map((f: Fact) => mrkdwn(`*${f.title}*\n${escape(f.value)}`)),
    },
  ];
  const s = n.status;
  if (s.outcome !== null && s.reason) {
    blocks.push({ type: 'section', text: mrkdwn(`*${s.outcome}*: ${escape(s.reason.message)}`) });
  } else {
    const gate = pendingGateText(n);
    blocks.push({
      type: 'section',
      text: mrkdwn(gate ? `*Waiting:* ${escape(gate)}` : `*Waiting for:* ${escape(s.waitingFor)}`),
    });
  }
  const failing = failingMetricText(n);
  if (failing) {
    blocks.push({
      type: 'section',
      text: mrkdwn(
        `*Failing check:* ${escape(failing.line)}` +
          (failing.query ? `\n\`\`\`${failing.query.slice(0, 2500)}\`\`\`` : ''),
      ),
    });
  } else if (s.lastAnalysis && s.lastAnalysis.metrics.length > 0) {
    blocks.push({
      type: 'context',
      elements: [mrkdwn(escape(s.lastAnalysis.metrics.map((m) => m.text).join('  ·  ')).slice(0, 2900))],
    });
  }
  blocks.push({ type: 'context', elements: [mrkdwn(links(n))] });
  const actions = interactive ? slackActionsBlock(n) : undefined;
  if (actions) blocks.push(actions);
  return blocks;
}

/** A thread reply: this notification. */
export function slackReplyBlocks(n: ReleaseNotification): KnownBlock[] {
  const blocks: KnownBlock[] = [
    { type: 'section', text: mrkdwn(`${severityEmoji[n.severity]} ${escape(n.message)}`) },
  ];
  const failing = failingMetricText(n);
  const showsFailure = ['threshold-reached', 'manual-rollback', 'progress-deadline', 'infrastructure-error'];
  if (failing && showsFailure.includes(n.kind)) {
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(`${escape(failing.line)}${failing.query ? ` — \`${failing.query.slice(0, 1500)}\`` : ''}`),
      ],
    });
  }
  return blocks;
}

function links(n: ReleaseNotification): string {
  const l = [`<${n.release.link}|Temporal Web UI>`];
  if (n.release.dashboardLink) l.push(`<${n.release.dashboardLink}|Grafana>`);
  return `${l.join('  ·  ')}  ·  \`${n.release.workflowId}\``;
}

const fallbackText = (n: ReleaseNotification): string => `${headline(n)} — ${n.message}`.slice(0, 3000);

type CallError = { code?: string; retryAfter?: number; statusCode?: number };

/** 429 (nothing happened) → retry after Retry-After; 5xx / network (maybe happened) → 'ambiguous'. */
function classify(e: unknown): 'rate-limited' | 'ambiguous' | 'final' {
  const err = e as CallError;
  if (err.code === ErrorCode.RateLimitedError) return 'rate-limited';
  if (err.code === ErrorCode.RequestError) return 'ambiguous';
  if (err.code === ErrorCode.HTTPError) return (err.statusCode ?? 500) >= 500 ? 'ambiguous' : 'final';
  return 'final';
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function createSlackNotifier(opts: SlackOptions): Notifier {
  // Retries are ours (below): the client must not blindly repeat a post that may have succeeded.
  const client = new WebClient(opts.token, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  const policy: RetryPolicy = {
    retries: opts.retries ?? 3,
    backoff: { kind: 'exponential', baseMs: opts.backoffMs ?? 500 },
  };

  /** Runs `call`; retries rate limits; after an ambiguous failure asks `recover` whether it took effect. */
  function withSlackRetries<T>(call: () => Promise<T>, recover?: () => Promise<T | undefined>): Promise<T> {
    return withRetries(call, policy, {
      onError: (e) => {
        const kind = classify(e);
        if (kind === 'final') return { retry: false };
        if (kind === 'rate-limited')
          return { retry: true, afterMs: retryAfterMs((e as CallError).retryAfter) ?? 1000 };
        return { retry: true };
      },
      // Only an ambiguous failure (no answer, 5xx) may have posted: look before posting again.
      ...(recover
        ? { recover: (e: unknown) => (classify(e) === 'ambiguous' ? recover() : Promise.resolve(undefined)) }
        : {}),
    });
  }

  /** The parent of this release's thread, if it was posted before (found by its metadata). */
  async function findParent(workflowId: string): Promise<ThreadRef | undefined> {
    const res = await client.conversations.history({
      channel: opts.channel,
      limit: opts.lookback ?? 100,
      include_all_metadata: true,
    });
    const hit = (res.messages ?? []).find(
      (m) =>
        m.metadata?.event_type === eventType &&
        (m.metadata.event_payload as Record<string, unknown> | undefined)?.workflow_id === workflowId,
    );
    return hit?.ts ? { channel: opts.channel, ts: hit.ts } : undefined;
  }

  async function postParent(n: ReleaseNotification): Promise<ThreadRef> {
    const existing = await findParent(n.release.workflowId).catch(() => undefined);
    if (existing) return existing;
    return withSlackRetries(
      async () => {
        const res = await client.chat.postMessage({
          channel: opts.channel,
          text: fallbackText(n),
          blocks: slackParentBlocks(n, opts.interactive === true),
          metadata: { event_type: eventType, event_payload: { workflow_id: n.release.workflowId } },
          unfurl_links: false,
        });
        if (!res.channel || !res.ts) throw new Error('chat.postMessage answered without channel/ts');
        return { channel: res.channel, ts: res.ts };
      },
      () => findParent(n.release.workflowId),
    );
  }

  /** Rewrites the parent from the notification's status. chat.update is idempotent: an ambiguous failure is retried. */
  const updateParent = (n: ReleaseNotification, ref: ThreadRef) =>
    withSlackRetries(() =>
      client.chat.update({
        channel: ref.channel,
        ts: ref.ts,
        text: fallbackText(n),
        blocks: slackParentBlocks(n, opts.interactive === true),
      }),
    );

  return {
    name: 'slack',
    key: `slack:${opts.channel}`,
    async refresh(n, thread): Promise<NotifyResult> {
      try {
        await updateParent(n, thread);
        return { delivered: true, thread };
      } catch (e) {
        return { delivered: false, thread, error: message(e) };
      }
    },
    async notify(n, thread): Promise<NotifyResult> {
      let parent = thread;
      try {
        if (!parent) {
          parent = await postParent(n);
        } else {
          await updateParent(n, parent);
        }
        const ref = parent;
        await withSlackRetries(() =>
          client.chat.postMessage({
            channel: ref.channel,
            thread_ts: ref.ts,
            text: n.message.slice(0, 3000),
            blocks: slackReplyBlocks(n),
            unfurl_links: false,
          }),
        );
        return { delivered: true, thread: parent };
      } catch (e) {
        // Keep the thread even when a later call failed: the next notification continues it.
        return { delivered: false, ...(parent ? { thread: parent } : {}), error: message(e) };
      }
    },
  };
}
