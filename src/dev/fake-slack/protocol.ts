// Wire types of the fake Slack's test endpoints, shared by the server and its typed client.
import { z } from 'zod';

export const slackApiMethods = ['chat.postMessage', 'chat.update', 'auth.test'] as const;
export type SlackApiMethod = (typeof slackApiMethods)[number];

/** A Block Kit block or a legacy attachment, as parsed from the request (only `type` is checked for blocks). */
export type SlackBlock = { type: string } & Record<string, unknown>;
export type SlackAttachment = Record<string, unknown>;

export interface SlackMessageContent {
  text?: string;
  blocks?: SlackBlock[];
  attachments?: SlackAttachment[];
}

export interface FakeSlackUpdate extends SlackMessageContent {
  /** The message's content right after this chat.update. */
  at: string;
}

export interface FakeSlackMessage extends SlackMessageContent {
  channel: string;
  ts: string;
  /** Set on thread replies: the parent's ts. */
  threadTs?: string;
  postedAt: string;
  updatedAt?: string;
  /** The other arguments of chat.postMessage (username, icon_emoji, metadata, reply_broadcast…), token excluded. */
  extra: Record<string, unknown>;
  /** The content as first posted (the top-level fields are the current content). */
  original: SlackMessageContent;
  /** Every chat.update, oldest first. */
  updates: FakeSlackUpdate[];
  /** Thread replies, oldest first (always empty on a reply). */
  replies: FakeSlackMessage[];
}

export interface FakeSlackAttempt {
  seq: number;
  /** The API method from the URL, e.g. chat.postMessage. */
  method: string;
  httpStatus: number;
  ok: boolean;
  /** Slack's error code (`ok:false`) or `http_<status>` for an injected failure. */
  error?: string;
  /** True when a `PUT /_fail` rule answered this call. */
  injected: boolean;
  contentType?: string;
  /** The arguments as parsed (form fields or JSON), token removed, blocks/attachments parsed when valid. */
  params: Record<string, unknown>;
  receivedAt: string;
  /** The ts created or updated, when the call succeeded. */
  ts?: string;
}

export const failSpecSchema = z.strictObject({
  /** Only calls of this API method; omitted: any method. */
  method: z.string().min(1).optional(),
  /** 429 (rate limited, with a Retry-After header) or a 5xx. */
  status: z
    .number()
    .int()
    .refine((s) => s === 429 || (s >= 500 && s <= 599), 'status must be 429 or 5xx'),
  /** Retry-After for 429 (default 1). */
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
  /** How many matching calls fail. */
  times: z.number().int().positive(),
  /** 5xx only: perform the call first, then answer with the error (an ambiguous failure, as after a timeout). */
  afterCommit: z.boolean().optional(),
});
export type FailSpec = z.infer<typeof failSpecSchema>;

export interface ActiveFailure extends FailSpec {
  remaining: number;
}

/**
 * `POST /_interact`: the fake sends a Slack interaction request (form-encoded `payload=<json>`, signed as Slack
 * signs: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>`) to `url` — e.g. the worker's
 * interactions endpoint — and answers with what it sent and the status it got.
 */
export const interactSpecSchema = z.strictObject({
  url: z.url(),
  /** The interaction payload, e.g. a `block_actions` one. */
  payload: z.record(z.string(), z.unknown()),
  /** Sign with this secret instead of the fake's own (a wrong one makes a forged request). */
  secret: z.string().min(1).optional(),
  /** Send no signature headers at all. */
  unsigned: z.boolean().optional(),
  /** X-Slack-Request-Timestamp in unix seconds (e.g. 10 minutes ago: a stale request). Default: now. */
  timestamp: z.int().min(0).optional(),
});
export type InteractSpec = z.infer<typeof interactSpecSchema>;

export interface InteractResult {
  /** HTTP status the receiver answered. */
  status: number;
  responseBody: string;
  /** Exactly what was sent (to replay it). */
  sent: { body: string; timestamp?: string; signature?: string };
}
