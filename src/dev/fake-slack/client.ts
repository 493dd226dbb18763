// Typed client of the fake Slack's test endpoints (/_messages, /_attempts, /_fail), for tests and dev tooling.
import { jsonRequest } from '../http.js';
import type {
  ActiveFailure,
  FailSpec,
  FakeSlackAttempt,
  FakeSlackMessage,
  InteractResult,
  InteractSpec,
} from './protocol.js';

export class FakeSlackClient {
  /** Base URL of the fake (without /api/). */
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '').replace(/\/api$/, '');
  }

  /** What to pass to `new WebClient(token, { slackApiUrl })`. */
  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return jsonRequest<T>('fake-slack', this.baseUrl, method, path, body);
  }

  /** Top-level messages (oldest first) with their update history and thread replies. */
  async messages(channel?: string): Promise<FakeSlackMessage[]> {
    const q = channel === undefined ? '' : `?channel=${encodeURIComponent(channel)}`;
    return (await this.request<{ messages: FakeSlackMessage[] }>('GET', `/_messages${q}`)).messages;
  }

  /** One message (top-level or reply) by ts. */
  async message(channel: string, ts: string): Promise<FakeSlackMessage | undefined> {
    for (const m of await this.messages(channel)) {
      if (m.ts === ts) return m;
      const reply = m.replies.find((r) => r.ts === ts);
      if (reply) return reply;
    }
    return undefined;
  }

  /** Every API call, failed ones included (oldest first); only one API method's when given. */
  async attempts(method?: string): Promise<FakeSlackAttempt[]> {
    const q = method === undefined ? '' : `?method=${encodeURIComponent(method)}`;
    return (await this.request<{ attempts: FakeSlackAttempt[] }>('GET', `/_attempts${q}`)).attempts;
  }

  /** Polls until at least `count` top-level messages are in `channel`. */
  async waitForMessages(
    channel: string,
    count: number,
    opts: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<FakeSlackMessage[]> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const messages = await this.messages(channel);
      if (messages.length >= count) return messages;
      if (Date.now() > deadline)
        throw new Error(`fake-slack: ${messages.length} message(s) in ${channel}, wanted ${count}`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
  }

  /** Forgets messages and attempts. */
  async clear(): Promise<void> {
    await this.request('DELETE', '/_messages');
  }

  /** The next `times` calls (of `method`, or any) fail with `status`, 429 carrying Retry-After. */
  async fail(spec: FailSpec): Promise<ActiveFailure> {
    return (await this.request<{ failure: ActiveFailure }>('PUT', '/_fail', spec)).failure;
  }

  async failures(): Promise<ActiveFailure[]> {
    return (await this.request<{ failures: ActiveFailure[] }>('GET', '/_fail')).failures;
  }

  async clearFailures(): Promise<void> {
    await this.request('DELETE', '/_fail');
  }

  /** Messages, attempts and pending failures. */
  async reset(): Promise<void> {
    await this.request('POST', '/_reset');
  }

  /** Has the fake send a (signed) Slack interaction request to `spec.url`. */
  async interact(spec: InteractSpec): Promise<InteractResult> {
    return this.request<InteractResult>('POST', '/_interact', spec);
  }

  /**
   * A user pressing a button of a message (a `block_actions` interaction as Slack sends it), sent to `url`.
   * `options` may forge it (another secret, unsigned) or date it (timestamp).
   */
  async pressButton(
    url: string,
    press: {
      userId: string;
      actionId: string;
      value: string;
      blockId?: string;
      channel?: string;
      messageTs?: string;
    },
    options: Pick<InteractSpec, 'secret' | 'unsigned' | 'timestamp'> = {},
  ): Promise<InteractResult> {
    const payload = {
      type: 'block_actions',
      team: { id: 'T0FLEDGE0', domain: 'fledge-dev' },
      user: { id: press.userId, username: press.userId.toLowerCase(), team_id: 'T0FLEDGE0' },
      api_app_id: 'A0FLEDGE0',
      trigger_id: `${Date.now()}.${Math.floor(Math.random() * 1e9)}`,
      container: { type: 'message', message_ts: press.messageTs ?? '', channel_id: press.channel ?? '' },
      channel: { id: press.channel ?? '' },
      actions: [
        {
          type: 'button',
          action_id: press.actionId,
          ...(press.blockId ? { block_id: press.blockId } : {}),
          value: press.value,
          action_ts: String(Date.now() / 1000),
        },
      ],
    };
    return this.interact({ url, payload, ...options });
  }

  async healthy(): Promise<boolean> {
    try {
      return (await fetch(`${this.baseUrl}/healthz`)).ok;
    } catch {
      return false;
    }
  }
}
