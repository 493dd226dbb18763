// Slack notifier over @slack/web-api (chat.postMessage, threads). Rich Block Kit layouts come with the
// operators work; this sends a compact message with fields and the Web UI link.
import { WebClient, type KnownBlock } from '@slack/web-api';
import type { Notifier, NotifyResult, ReleaseNotification } from './notifier.js';

export interface SlackOptions {
  token: string;
  channel: string;
  /** Base URL of the Slack API (tests: the fake Slack). Default https://slack.com/api/. */
  apiUrl?: string;
  /** Retries of one call (rate limits, 5xx). Keep small: notifications must not hold a release up. */
  retries?: number;
}

const icon: Record<ReleaseNotification['severity'], string> = {
  info: ':large_blue_circle:',
  warn: ':warning:',
  error: ':red_circle:',
};

export function slackBlocks(n: ReleaseNotification): KnownBlock[] {
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `${icon[n.severity]} *${n.target.name}.${n.target.namespace}* — ${n.message}`,
      },
    },
  ];
  if (n.fields && n.fields.length > 0) {
    blocks.push({
      type: 'section',
      fields: n.fields.slice(0, 10).map((f) => ({ type: 'mrkdwn', text: `*${f.title}*\n${f.value}` })),
    });
  }
  if (n.link)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${n.link}|Open in Temporal Web UI>` }],
    });
  return blocks;
}

export function createSlackNotifier(opts: SlackOptions): Notifier {
  const client = new WebClient(opts.token, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    retryConfig: { retries: opts.retries ?? 2, factor: 2, minTimeout: 200, maxTimeout: 5000 },
    rejectRateLimitedCalls: false,
  });
  return {
    name: 'slack',
    async notify(n, o = {}): Promise<NotifyResult> {
      try {
        const res = await client.chat.postMessage({
          channel: opts.channel,
          text: `${n.target.name}.${n.target.namespace}: ${n.message}`,
          blocks: slackBlocks(n),
          ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
        });
        return {
          delivered: true,
          ...(res.channel && res.ts ? { ref: { channel: res.channel, ts: res.ts } } : {}),
        };
      } catch (e) {
        return { delivered: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
  };
}
