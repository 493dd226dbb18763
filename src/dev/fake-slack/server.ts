// Fake Slack Web API for dev and tests: chat.postMessage, chat.update and auth.test exactly as
// @slack/web-api calls them (POST <slackApiUrl><method>, form-urlencoded with blocks/attachments as JSON
// strings, `Authorization: Bearer`), JSON bodies too. Messages live in memory; failures can be injected.
//
// HTTP API
//   POST /api/chat.postMessage  channel + one of text/blocks/attachments [+ thread_ts] → {ok, channel, ts, message}
//   POST /api/chat.update       channel + ts (+ text/blocks/attachments)               → {ok, channel, ts, text, message}
//   POST /api/auth.test         → {ok, url, team, user, team_id, user_id, bot_id}
//   POST /api/conversations.history  channel [+ limit, include_all_metadata] → {ok, messages (newest first)}
//   Slack errors answer HTTP 200 {ok:false, error}: not_authed (no token), invalid_auth (token not allowed),
//   channel_not_found (no channel), no_text, invalid_blocks_format / invalid_blocks, invalid_attachments,
//   thread_not_found (unknown thread_ts; stricter than Slack), message_not_found, unknown_method,
//   invalid_json, invalid_form_data (multipart is not supported).
//   GET /_messages[?channel=]   top-level messages with update history and thread replies
//   DELETE /_messages           forget messages and attempts
//   GET /_attempts[?method=]    every API call (failed ones too)   DELETE /_attempts
//   PUT /_fail {method?, status: 429|5xx, retryAfterSeconds?, times, afterCommit?}  the next N matching calls
//                               fail with that status (429 with Retry-After, default 1 s) and create nothing;
//                               with afterCommit (5xx) the call takes effect first (an ambiguous failure)
//   GET /_fail   DELETE /_fail   POST /_reset (messages, attempts, failures)   GET /healthz
//   POST /_interact {url, payload, secret?, unsigned?, timestamp?}  sends a signed Slack interaction request
//                               (form `payload=<json>`, X-Slack-Request-Timestamp, X-Slack-Signature v0=…) to
//                               url, signed with the fake's signingSecret (or `secret`); answers {status,
//                               responseBody, sent}
// Channels are echoed as given (real Slack answers with the channel ID even for "#name").
import { readBody } from '../../integrations/http-body.js';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listen } from '../http.js';
import { z } from 'zod';
import {
  failSpecSchema,
  interactSpecSchema,
  type InteractResult,
  type ActiveFailure,
  type FakeSlackAttempt,
  type FakeSlackMessage,
  type SlackAttachment,
  type SlackBlock,
  type SlackMessageContent,
} from './protocol.js';

export interface FakeSlackOptions {
  /** 0 = an ephemeral port. */
  port: number;
  host?: string;
  /** When set, only these tokens are accepted (others: invalid_auth). Default: any non-empty token. */
  tokens?: string[];
  /** One line per API call; default: silent. */
  log?: (line: string) => void;
  maxBodyBytes?: number;
  /** The Slack app's signing secret: what `POST /_interact` signs interaction requests with. */
  signingSecret?: string;
}

export interface RunningFakeSlack {
  url: string;
  /** `${url}/api/`: what to pass as `slackApiUrl`. */
  apiUrl: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

const identity = {
  team: 'Fledge Dev',
  team_id: 'T0FLEDGE0',
  user: 'fledge-bot',
  user_id: 'U0FLEDGE0',
  bot_id: 'B0FLEDGE0',
  app_id: 'A0FLEDGE0',
  url: 'https://fledge-dev.slack.com/',
};

type Params = Record<string, unknown>;

interface ApiReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** ts created or updated. */
  ts?: string;
}

class SlackError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

const blocksSchema = z.array(z.looseObject({ type: z.string().min(1) }));
const attachmentsSchema = z.array(z.record(z.string(), z.unknown()));

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const isText = typeof body === 'string';
  res.writeHead(status, {
    'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(isText ? body : JSON.stringify(body));
}

/** Request arguments: query string, then the form or JSON body (Slack accepts both). */
function parseParams(req: IncomingMessage, url: URL, raw: string): Params {
  const params: Params = Object.fromEntries(url.searchParams);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (raw.trim() === '') return params;
  if (type.startsWith('application/json')) {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new SlackError('invalid_json');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new SlackError('invalid_json');
    return { ...params, ...(value as Params) };
  }
  if (type.startsWith('multipart/')) throw new SlackError('invalid_form_data');
  return { ...params, ...Object.fromEntries(new URLSearchParams(raw)) };
}

function tokenOf(req: IncomingMessage, params: Params): string | undefined {
  const auth = req.headers.authorization;
  const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (m?.[1]) return m[1];
  return typeof params.token === 'string' && params.token !== '' ? params.token : undefined;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

/** A JSON-string (form) or already-structured (JSON body) array argument. */
function structured<T>(
  v: unknown,
  schema: z.ZodType<T>,
  formatError: string,
  shapeError: string,
): T | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let value = v;
  if (typeof v === 'string') {
    try {
      value = JSON.parse(v);
    } catch {
      throw new SlackError(formatError);
    }
  }
  if (!Array.isArray(value)) throw new SlackError(formatError);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SlackError(shapeError);
  return parsed.data;
}

const parseBlocks = (v: unknown): SlackBlock[] | undefined =>
  structured(v, blocksSchema, 'invalid_blocks_format', 'invalid_blocks');
const parseAttachments = (v: unknown): SlackAttachment[] | undefined =>
  structured(v, attachmentsSchema, 'invalid_attachments', 'invalid_attachments');

const hasContent = (c: SlackMessageContent): boolean =>
  (c.text !== undefined && c.text !== '') || (c.blocks?.length ?? 0) > 0 || (c.attachments?.length ?? 0) > 0;

function content(m: SlackMessageContent): SlackMessageContent {
  return {
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.blocks !== undefined ? { blocks: m.blocks } : {}),
    ...(m.attachments !== undefined ? { attachments: m.attachments } : {}),
  };
}

/** The message object Slack returns in responses. */
function slackMessage(m: FakeSlackMessage): Record<string, unknown> {
  return {
    type: 'message',
    text: m.text ?? '',
    user: identity.user_id,
    bot_id: identity.bot_id,
    app_id: identity.app_id,
    team: identity.team_id,
    ts: m.ts,
    ...(m.threadTs ? { thread_ts: m.threadTs, parent_user_id: identity.user_id } : {}),
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.attachments ? { attachments: m.attachments } : {}),
    ...(m.updatedAt ? { edited: { user: identity.user_id, ts: m.updatedAt } } : {}),
  };
}

function parseJsonOr(v: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** chat.postMessage's `metadata` ({event_type, event_payload}) as stored, if it was given. */
function messageMetadata(m: FakeSlackMessage): unknown {
  const meta = m.extra.metadata;
  return typeof meta === 'object' && meta !== null ? meta : undefined;
}

function history(state: FakeSlackState, p: Params): ApiReply {
  const channel = str(p.channel);
  if (!channel) throw new SlackError('channel_not_found');
  const limit = Math.min(1000, Math.max(1, Number(str(p.limit) ?? 100) || 100));
  const withMetadata = p.include_all_metadata === true || str(p.include_all_metadata) === 'true';
  const messages = state
    .messages(channel)
    .reverse()
    .slice(0, limit)
    .map((m) => {
      const meta = withMetadata ? messageMetadata(m) : undefined;
      return {
        ...slackMessage(m),
        ...(m.replies.length > 0 ? { reply_count: m.replies.length } : {}),
        ...(meta !== undefined ? { metadata: meta } : {}),
      };
    });
  return { status: 200, body: { ok: true, messages, has_more: false } };
}

const redact = (p: Params): Params => {
  const { token: _token, ...rest } = p;
  return rest;
};

const contentKeys = new Set(['token', 'channel', 'text', 'blocks', 'attachments', 'thread_ts', 'ts']);

/** The fake's memory: messages, attempts and injected failures. */
export class FakeSlackState {
  private lastMicros = 0;
  private seq = 0;
  private channels = new Map<string, FakeSlackMessage[]>();
  /** `${channel}\n${ts}` → the message (top-level or reply). */
  private index = new Map<string, FakeSlackMessage>();
  attempts: FakeSlackAttempt[] = [];
  failures: ActiveFailure[] = [];

  /** Unique, strictly increasing Slack timestamps: "<unix seconds>.<6 digits>". */
  nextTs(): string {
    const micros = Math.max(Date.now() * 1000, this.lastMicros + 1);
    this.lastMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }

  recordAttempt(a: Omit<FakeSlackAttempt, 'seq'>): void {
    this.attempts.push({ seq: ++this.seq, ...a });
  }

  /** Consumes one matching failure rule, if any. */
  takeFailure(method: string): ActiveFailure | undefined {
    const i = this.failures.findIndex(
      (f) => f.remaining > 0 && (f.method === undefined || f.method === method),
    );
    if (i < 0) return undefined;
    const f = this.failures[i];
    if (!f) return undefined;
    f.remaining--;
    const taken = { ...f };
    if (f.remaining <= 0) this.failures.splice(i, 1);
    return taken;
  }

  find(channel: string, ts: string): FakeSlackMessage | undefined {
    return this.index.get(`${channel}\n${ts}`);
  }

  add(m: FakeSlackMessage): void {
    if (m.threadTs) {
      const parent = this.find(m.channel, m.threadTs);
      if (!parent) throw new SlackError('thread_not_found');
      parent.replies.push(m);
    } else {
      const list = this.channels.get(m.channel) ?? [];
      list.push(m);
      this.channels.set(m.channel, list);
    }
    this.index.set(`${m.channel}\n${m.ts}`, m);
  }

  messages(channel?: string): FakeSlackMessage[] {
    if (channel !== undefined) return [...(this.channels.get(channel) ?? [])];
    return [...this.channels.values()].flat().sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  }

  clearMessages(): void {
    this.channels = new Map();
    this.index = new Map();
  }
}

function postMessage(state: FakeSlackState, p: Params): ApiReply {
  const channel = str(p.channel);
  if (!channel) throw new SlackError('channel_not_found');
  const blocks = parseBlocks(p.blocks);
  const attachments = parseAttachments(p.attachments);
  const text = typeof p.text === 'string' ? p.text : undefined;
  const c = content({ text, blocks, attachments });
  if (!hasContent(c)) throw new SlackError('no_text');
  let threadTs = str(p.thread_ts);
  if (threadTs) {
    const parent = state.find(channel, threadTs);
    if (!parent) throw new SlackError('thread_not_found');
    // A reply's ts as thread_ts lands in the same thread (Slack: "use its parent instead").
    threadTs = parent.threadTs ?? parent.ts;
  }
  const extra: Params = {};
  for (const [k, v] of Object.entries(p)) {
    if (contentKeys.has(k)) continue;
    // Form-encoded calls send `metadata` as a JSON string; keep it structured, as Slack does.
    extra[k] = k === 'metadata' && typeof v === 'string' ? parseJsonOr(v) : v;
  }
  const m: FakeSlackMessage = {
    channel,
    ts: state.nextTs(),
    ...(threadTs ? { threadTs } : {}),
    ...c,
    postedAt: new Date().toISOString(),
    extra,
    original: c,
    updates: [],
    replies: [],
  };
  state.add(m);
  return { status: 200, body: { ok: true, channel, ts: m.ts, message: slackMessage(m) }, ts: m.ts };
}

function update(state: FakeSlackState, p: Params): ApiReply {
  const channel = str(p.channel);
  if (!channel) throw new SlackError('channel_not_found');
  const ts = str(p.ts);
  const m = ts ? state.find(channel, ts) : undefined;
  if (!m) throw new SlackError('message_not_found');
  const blocks = parseBlocks(p.blocks);
  const attachments = parseAttachments(p.attachments);
  const text = typeof p.text === 'string' ? p.text : undefined;
  if (text === undefined && blocks === undefined && attachments === undefined)
    throw new SlackError('no_text');
  // As chat.update: omitted fields keep their value; an empty blocks/attachments array removes them.
  const next = content({
    text: text ?? m.text,
    blocks: p.blocks === undefined ? m.blocks : blocks && blocks.length > 0 ? blocks : undefined,
    attachments:
      p.attachments === undefined
        ? m.attachments
        : attachments && attachments.length > 0
          ? attachments
          : undefined,
  });
  if (!hasContent(next)) throw new SlackError('no_text');
  const at = new Date().toISOString();
  m.text = next.text;
  m.blocks = next.blocks;
  m.attachments = next.attachments;
  if (next.text === undefined) delete m.text;
  if (next.blocks === undefined) delete m.blocks;
  if (next.attachments === undefined) delete m.attachments;
  m.updatedAt = at;
  m.updates.push({ at, ...next });
  return {
    status: 200,
    body: { ok: true, channel, ts: m.ts, text: m.text ?? '', message: slackMessage(m) },
    ts: m.ts,
  };
}

export async function startFakeSlack(opts: FakeSlackOptions): Promise<RunningFakeSlack> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((): void => undefined);
  const maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  const allowed = opts.tokens ? new Set(opts.tokens) : undefined;
  const state = new FakeSlackState();

  const api = (
    method: string,
    req: IncomingMessage,
    url: URL,
    raw: string,
  ): ApiReply & { params: Params; injected: boolean } => {
    let params: Params = {};
    try {
      params = parseParams(req, url, raw);
      const failure = state.takeFailure(method);
      if (failure?.afterCommit && failure.status !== 429) {
        // The call takes effect, then the answer is lost: the caller cannot tell it succeeded.
        const token = tokenOf(req, params);
        if (token && (!allowed || allowed.has(token))) {
          try {
            if (method === 'chat.postMessage') postMessage(state, params);
            else if (method === 'chat.update') update(state, params);
          } catch (e) {
            if (!(e instanceof SlackError)) throw e;
          }
        }
        return {
          status: failure.status,
          body: `fake-slack: injected HTTP ${failure.status} after the call took effect`,
          params,
          injected: true,
        };
      }
      if (failure) {
        if (failure.status === 429) {
          return {
            status: 429,
            body: { ok: false, error: 'ratelimited' },
            headers: { 'Retry-After': String(failure.retryAfterSeconds ?? 1) },
            params,
            injected: true,
          };
        }
        return {
          status: failure.status,
          body: `fake-slack: injected HTTP ${failure.status}`,
          params,
          injected: true,
        };
      }
      const token = tokenOf(req, params);
      if (!token) throw new SlackError('not_authed');
      if (allowed && !allowed.has(token)) throw new SlackError('invalid_auth');
      switch (method) {
        case 'chat.postMessage':
          return { ...postMessage(state, params), params, injected: false };
        case 'chat.update':
          return { ...update(state, params), params, injected: false };
        case 'conversations.history':
          return { ...history(state, params), params, injected: false };
        case 'auth.test':
          return {
            status: 200,
            body: {
              ok: true,
              url: identity.url,
              team: identity.team,
              user: identity.user,
              team_id: identity.team_id,
              user_id: identity.user_id,
              bot_id: identity.bot_id,
              is_enterprise_install: false,
            },
            params,
            injected: false,
          };
        default:
          throw new SlackError('unknown_method');
      }
    } catch (e) {
      if (!(e instanceof SlackError)) throw e;
      return {
        status: 200,
        body: { ok: false, error: e.code, ...(e.code === 'unknown_method' ? { req_method: method } : {}) },
        params,
        injected: false,
      };
    }
  };

  const attemptParams = (p: Params): Params => {
    const out = redact(p);
    // Parsed blocks/attachments when they are valid JSON, the raw string otherwise.
    for (const k of ['blocks', 'attachments', 'metadata'] as const) {
      const v = out[k];
      if (typeof v === 'string') {
        try {
          out[k] = JSON.parse(v) as unknown;
        } catch {
          // keep the raw string
        }
      }
    }
    return out;
  };

  /** Sends one interaction request as Slack would (signed unless told otherwise). */
  const interact = async (value: unknown): Promise<{ status: number; body: unknown }> => {
    const spec = interactSpecSchema.safeParse(value);
    if (!spec.success)
      return {
        status: 400,
        body: {
          error: `invalid interaction: ${spec.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
        },
      };
    const secret = spec.data.secret ?? opts.signingSecret;
    if (!spec.data.unsigned && !secret)
      return { status: 400, body: { error: 'no signing secret: start the fake with one, or pass secret' } };
    const body = new URLSearchParams({ payload: JSON.stringify(spec.data.payload) }).toString();
    const timestamp = String(spec.data.timestamp ?? Math.floor(Date.now() / 1000));
    const signature =
      spec.data.unsigned || !secret
        ? undefined
        : `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    const res = await fetch(spec.data.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        ...(signature ? { 'X-Slack-Request-Timestamp': timestamp, 'X-Slack-Signature': signature } : {}),
      },
      body,
      redirect: 'manual',
    });
    const result: InteractResult = {
      status: res.status,
      responseBody: (await res.text()).slice(0, 2000),
      sent: { body, ...(signature ? { timestamp, signature } : {}) },
    };
    log(`interaction → ${spec.data.url}: HTTP ${res.status}`);
    return { status: 200, body: result };
  };

  const control = (req: IncomingMessage, res: ServerResponse, url: URL, raw: string): void => {
    const m = req.method ?? 'GET';
    const path = url.pathname;
    const methodNotAllowed = (allow: string): void =>
      send(res, 405, { error: `method ${m} not allowed on ${path}; use ${allow}` }, { Allow: allow });
    switch (path) {
      case '/healthz':
        return m === 'GET' || m === 'HEAD'
          ? send(res, 200, { ok: true, service: 'fake-slack' })
          : methodNotAllowed('GET');
      case '/_messages':
        if (m === 'GET')
          return send(res, 200, { messages: state.messages(url.searchParams.get('channel') ?? undefined) });
        if (m === 'DELETE') {
          state.clearMessages();
          state.attempts = [];
          return send(res, 200, { ok: true });
        }
        return methodNotAllowed('GET, DELETE');
      case '/_attempts': {
        if (m === 'GET') {
          const only = url.searchParams.get('method');
          return send(res, 200, {
            attempts: only ? state.attempts.filter((a) => a.method === only) : state.attempts,
          });
        }
        if (m === 'DELETE') {
          state.attempts = [];
          return send(res, 200, { ok: true });
        }
        return methodNotAllowed('GET, DELETE');
      }
      case '/_fail': {
        if (m === 'GET') return send(res, 200, { failures: state.failures });
        if (m === 'DELETE') {
          state.failures = [];
          return send(res, 200, { ok: true });
        }
        if (m !== 'PUT' && m !== 'POST') return methodNotAllowed('GET, PUT, DELETE');
        let value: unknown;
        try {
          value = JSON.parse(raw);
        } catch (e) {
          return send(res, 400, { error: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` });
        }
        const spec = failSpecSchema.safeParse(value);
        if (!spec.success) {
          return send(res, 400, {
            error: `invalid failure: ${spec.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
          });
        }
        const failure: ActiveFailure = { ...spec.data, remaining: spec.data.times };
        state.failures.push(failure);
        log(`next ${failure.times} ${failure.method ?? 'API'} call(s) fail with HTTP ${failure.status}`);
        return send(res, 200, { ok: true, failure });
      }
      case '/_interact': {
        if (m !== 'POST') return methodNotAllowed('POST');
        let value: unknown;
        try {
          value = JSON.parse(raw);
        } catch (e) {
          return send(res, 400, { error: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` });
        }
        interact(value)
          .then((r) => send(res, r.status, r.body))
          .catch((e: unknown) =>
            send(res, 502, {
              error: `interaction not delivered: ${e instanceof Error ? e.message : String(e)}`,
            }),
          );
        return;
      }
      case '/_reset':
        if (m !== 'POST') return methodNotAllowed('POST');
        state.clearMessages();
        state.attempts = [];
        state.failures = [];
        return send(res, 200, { ok: true });
      default:
        return send(res, 404, {
          error: `not found: ${path}; try /api/<method>, /_messages, /_attempts, /_fail, /_interact, /_reset, /healthz`,
        });
    }
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-slack.local');
    readBody(req, maxBody)
      .then((raw) => {
        if (raw === null) return send(res, 413, { ok: false, error: 'request_too_large' });
        const apiMatch = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
        if (!apiMatch?.[1]) return control(req, res, url, raw);
        const method = apiMatch[1];
        if (req.method !== 'POST' && req.method !== 'GET')
          return send(res, 405, { ok: false, error: 'method_not_supported' }, { Allow: 'POST, GET' });
        const r = api(method, req, url, raw);
        const body = r.body as { ok?: boolean; error?: string } | string;
        const ok = typeof body === 'object' && body.ok === true;
        const error = typeof body === 'object' ? body.error : `http_${r.status}`;
        state.recordAttempt({
          method,
          httpStatus: r.status,
          ok,
          ...(error !== undefined ? { error } : {}),
          injected: r.injected,
          ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
          params: attemptParams(r.params),
          receivedAt: new Date().toISOString(),
          ...(r.ts ? { ts: r.ts } : {}),
        });
        log(
          `${method} ${str(r.params.channel) ?? ''} → ${r.status} ${ok ? `ok ts=${r.ts ?? ''}` : (error ?? '')}${r.injected ? ' (injected)' : ''}`,
        );
        return send(res, r.status, r.body, { 'X-Slack-Req-Id': randomUUID(), ...r.headers });
      })
      .catch((e: unknown) =>
        send(res, 500, {
          ok: false,
          error: 'fatal_error',
          detail: e instanceof Error ? e.message : String(e),
        }),
      );
  });

  const port = await listen(server, opts.port, host);
  const url = `http://${host}:${port}`;
  return {
    url,
    apiUrl: `${url}/api/`,
    host,
    port,
    close: () => closeServer(server),
  };
}
