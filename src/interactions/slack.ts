// Slack interactive buttons (Approve / Pause / Resume / Abort on a release's thread parent): the worker's HTTP
// endpoint for Slack's interaction requests. Started by the worker when FLEDGE_SLACK_SIGNING_SECRET is set
// (FLEDGE_INTERACTIONS_PORT, default 3030; Slack's "Request URL" is https://<host>/slack/interactions).
//
// Every request is authenticated before anything else: Slack signs `v0:<X-Slack-Request-Timestamp>:<raw body>`
// with the app's signing secret (HMAC-SHA256, `X-Slack-Signature: v0=<hex>`); a missing or wrong signature is
// forged, a timestamp more than 5 minutes away is stale, a signature seen before is a replay — all answered 401,
// logged and counted (fledge_slack_interactions_total{result}), and nothing is sent to the release (an
// unauthenticated party must not be able to write into a release's audit log). A genuine press is acknowledged
// at once (Slack wants a 200 within 3 s), then sent to the release as a workflow update with the actor
// `slack:<user id>` (or its FLEDGE_SLACK_USER_MAP email) and a short-lived token binding this press to this
// release, action and gate, which the workflow has the worker verify (src/integrations/identity/verify.ts).
import { readBody } from '../integrations/http-body.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import type { GateName } from '../domain/state.js';
import { gateNames } from '../domain/state.js';
import { mintSlackBridgeToken, slackBridgeKey } from '../integrations/identity/verify.js';
import { slackActionIds, type SlackButtonAction } from '../integrations/notify/slack.js';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  resumeUpdate,
  type OperatorRequest,
} from '../workflows/messages.js';

/** Slack's replay window: a request timestamp further than this from now is refused. */
export const slackToleranceSeconds = 300;

/** `v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<raw body>")>`: what Slack sends in X-Slack-Signature. */
export function signSlackRequest(signingSecret: string, timestamp: string | number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export type SignatureCheck =
  { ok: true; timestamp: number } | { ok: false; result: 'forged' | 'stale'; reason: string };

/** Checks one request's Slack signature (constant-time compare) and its timestamp window. */
export function verifySlackSignature(input: {
  signingSecret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: string;
  nowMs: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  const { timestamp, signature } = input;
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp))
    return { ok: false, result: 'forged', reason: 'missing or malformed X-Slack-Request-Timestamp' };
  if (signature === undefined || !/^v0=[0-9a-f]{64}$/.test(signature))
    return { ok: false, result: 'forged', reason: 'missing or malformed X-Slack-Signature' };
  const expected = Buffer.from(signSlackRequest(input.signingSecret, timestamp, input.rawBody));
  const got = Buffer.from(signature);
  if (got.length !== expected.length || !timingSafeEqual(got, expected))
    return { ok: false, result: 'forged', reason: 'signature does not match' };
  const ts = Number(timestamp);
  const skew = Math.abs(input.nowMs / 1000 - ts);
  if (skew > (input.toleranceSeconds ?? slackToleranceSeconds))
    return { ok: false, result: 'stale', reason: `timestamp is ${Math.round(skew)} s away from now` };
  return { ok: true, timestamp: ts };
}

/** Signatures seen within the window: a captured request sent again is refused (each press acts once). */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs: number = 2 * slackToleranceSeconds * 1000) {}

  /** True the first time `signature` is seen (and remembers it); false for a replay. */
  firstSeen(signature: string, nowMs: number): boolean {
    for (const [sig, until] of this.seen) if (until < nowMs) this.seen.delete(sig);
    if (this.seen.has(signature)) return false;
    this.seen.set(signature, nowMs + this.windowMs);
    return true;
  }
}

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,30}$/);
const releaseId = z.string().regex(/^fledge\/[^/\s]+\/[^/\s]+\/[A-Za-z0-9._+-]{1,300}$/);

/** The part of a `block_actions` payload Fledge reads (Slack sends much more; the rest is ignored). */
export const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: slackUserId, username: z.string().optional(), name: z.string().optional() }),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        block_id: z.string().max(255).optional(),
        value: z.string().max(2000).optional(),
      }),
    )
    .min(1),
  response_url: z.url().optional(),
});

/** What a verified button press asks for. */
export interface SlackCommand {
  workflowId: string;
  action: SlackButtonAction;
  gate?: GateName;
  slackUserId: string;
  /** `slack:<user id>`, or the FLEDGE_SLACK_USER_MAP entry of the user. */
  actor: string;
  reason: string;
  responseUrl?: string;
}

export type DispatchResult = { ok: true } | { ok: false; reason: string };

/** Reads a verified payload: the command, or why it is not one (400). */
export function commandOf(
  payload: unknown,
  userMap: Readonly<Record<string, string>>,
): { ok: true; command: SlackCommand } | { ok: false; reason: string } {
  const parsed = blockActionsSchema.safeParse(payload);
  if (!parsed.success) return { ok: false, reason: 'not a block_actions payload Fledge understands' };
  const p = parsed.data;
  const a = p.actions[0];
  const action = (Object.keys(slackActionIds) as SlackButtonAction[]).find(
    (k) => slackActionIds[k] === a?.action_id,
  );
  if (!a || !action) return { ok: false, reason: `unknown action ${JSON.stringify(a?.action_id ?? '')}` };
  const id = releaseId.safeParse(a.value);
  if (!id.success) return { ok: false, reason: 'the button value is not a release ID' };
  const gateText = a.block_id?.startsWith('fledge:actions:')
    ? a.block_id.slice('fledge:actions:'.length)
    : undefined;
  const gate = gateNames.find((g) => g === gateText);
  if (gateText !== undefined && gate === undefined) return { ok: false, reason: 'unknown gate in block_id' };
  const actor = userMap[p.user.id] ?? `slack:${p.user.id}`;
  const reasons: Record<SlackButtonAction, string> = {
    approve: 'approved with the Slack button',
    pause: 'paused with the Slack button',
    resume: 'resumed with the Slack button',
    abort: 'aborted with the Slack button',
  };
  return {
    ok: true,
    command: {
      workflowId: id.data,
      action,
      ...(action === 'approve' && gate ? { gate } : {}),
      slackUserId: p.user.id,
      actor,
      reason: reasons[action],
      ...(p.response_url ? { responseUrl: p.response_url } : {}),
    },
  };
}

const updates = { approve: approveUpdate, pause: pauseUpdate, resume: resumeUpdate, abort: abortUpdate };

/** Sends a verified press to its release as an update carrying a token bound to it. */
export function createTemporalDispatcher(
  client: Client,
  signingSecret: string,
): (cmd: SlackCommand) => Promise<DispatchResult> {
  const key = slackBridgeKey(signingSecret);
  return async (cmd) => {
    const idToken = await mintSlackBridgeToken(key, {
      slackUserId: cmd.slackUserId,
      actor: cmd.actor,
      workflowId: cmd.workflowId,
      action: cmd.action,
      ...(cmd.gate ? { gate: cmd.gate } : {}),
    });
    const req: OperatorRequest = {
      actor: cmd.actor,
      reason: cmd.reason,
      ...(cmd.gate ? { gate: cmd.gate } : {}),
      idToken,
    };
    try {
      await client.workflow.getHandle(cmd.workflowId).executeUpdate(updates[cmd.action], { args: [req] });
      return { ok: true };
    } catch (e) {
      if (e instanceof WorkflowUpdateFailedError)
        return { ok: false, reason: e.cause instanceof Error ? e.cause.message : e.message };
      if (e instanceof WorkflowNotFoundError)
        return { ok: false, reason: `unknown release ${cmd.workflowId}` };
      throw e;
    }
  };
}

export type InteractionResult =
  'accepted' | 'rejected' | 'forged' | 'stale' | 'replayed' | 'invalid' | 'failed';

export interface SlackInteractionsOptions {
  host: string;
  /** 0: an ephemeral port. */
  port: number;
  signingSecret: string;
  userMap?: Readonly<Record<string, string>>;
  dispatch: (cmd: SlackCommand) => Promise<DispatchResult>;
  /** Tells the presser the outcome (Slack's response_url), best effort. */
  respond?: (responseUrl: string, text: string) => Promise<void>;
  log?: (line: string) => void;
  /** Registers fledge_slack_interactions_total here (the worker's /metrics registry). */
  registry?: Registry;
  now?: () => number;
  maxBodyBytes?: number;
}

export interface RunningSlackInteractions {
  url: string;
  port: number;
  /** Requests by result so far (what the counter counts). */
  counts(): Record<InteractionResult, number>;
  /** Resolves once every acknowledged press has been dispatched (tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export const slackInteractionsPath = '/slack/interactions';

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export async function startSlackInteractions(
  opts: SlackInteractionsOptions,
): Promise<RunningSlackInteractions> {
  const log = opts.log ?? ((): void => undefined);
  const now = opts.now ?? Date.now;
  const replays = new ReplayGuard();
  const counts: Record<InteractionResult, number> = {
    accepted: 0,
    rejected: 0,
    forged: 0,
    stale: 0,
    replayed: 0,
    invalid: 0,
    failed: 0,
  };
  const counter = new Counter({
    name: 'fledge_slack_interactions_total',
    help: 'Slack interaction requests by result (accepted, rejected by the release, forged, stale, replayed, invalid, failed).',
    labelNames: ['result'] as const,
    registers: opts.registry ? [opts.registry] : [],
  });
  const count = (r: InteractionResult): void => {
    counts[r]++;
    counter.inc({ result: r });
  };
  const inFlight = new Set<Promise<void>>();

  const reply = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://interactions.local').pathname;
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return reply(res, 200, 'ok');
    if (path !== slackInteractionsPath) return reply(res, 404, 'not found');
    if (req.method !== 'POST') return reply(res, 405, 'POST only');
    const raw = await readBody(req, opts.maxBodyBytes ?? 1024 * 1024);
    if (raw === null) {
      count('invalid');
      return reply(res, 413, 'too large');
    }
    const remote = req.socket.remoteAddress ?? '?';
    const check = verifySlackSignature({
      signingSecret: opts.signingSecret,
      timestamp: header(req, 'x-slack-request-timestamp'),
      signature: header(req, 'x-slack-signature'),
      rawBody: raw,
      nowMs: now(),
    });
    if (!check.ok) {
      count(check.result);
      log(`slack interaction from ${remote} rejected (${check.result}): ${check.reason}`);
      return reply(res, 401, 'invalid signature');
    }
    if (!replays.firstSeen(header(req, 'x-slack-signature') ?? '', now())) {
      count('replayed');
      log(`slack interaction from ${remote} rejected (replayed): this signature was already used`);
      return reply(res, 401, 'replayed request');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(new URLSearchParams(raw).get('payload') ?? '');
    } catch {
      payload = undefined;
    }
    const cmd = commandOf(payload, opts.userMap ?? {});
    if (!cmd.ok) {
      count('invalid');
      log(`slack interaction rejected (invalid): ${cmd.reason}`);
      return reply(res, 400, cmd.reason);
    }
    // Acknowledge first: Slack wants a 200 within 3 s; the release may take longer to answer.
    reply(res, 200, '');
    const c = cmd.command;
    const work = opts
      .dispatch(c)
      .then(async (r) => {
        count(r.ok ? 'accepted' : 'rejected');
        log(
          `slack interaction: ${c.action}${c.gate ? ` ${c.gate}` : ''} on ${c.workflowId} by ${c.actor} ${r.ok ? 'accepted' : `rejected: ${r.reason}`}`,
        );
        if (c.responseUrl && opts.respond)
          await opts.respond(c.responseUrl, r.ok ? `${c.action}: done` : `${c.action} rejected: ${r.reason}`);
      })
      .catch((e: unknown) => {
        count('failed');
        log(
          `slack interaction: ${c.action} on ${c.workflowId} failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      })
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) reply(res, 500, 'internal error');
      log(`slack interaction: ${e instanceof Error ? e.message : String(e)}`);
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : opts.port);
    });
  });
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${shownHost}:${port}${slackInteractionsPath}`,
    port,
    counts: () => ({ ...counts }),
    idle: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
