// Webhook test service: a dev/test stand-in for whatever Fledge's hooks call, including Flagger's
// loadtester gates. It records every hook call, can be programmed to answer a path with any status,
// delay or body, and keeps the loadtester's manual gates in memory.
//
// HTTP API
//   hooks (any method, any path not below):     recorded; answered by a program for that path, else by
//                                               the built-in routes, else 200 {"ok":true}
//   POST /gate/check    200 "Approved" if the gate of {name, namespace} is open, else 403 "Forbidden"
//   POST /gate/open     opens it, 202        POST /gate/close    closes it, 202
//   POST /gate/approve  always 200 "OK"      POST /gate/halt     always 403 "Forbidden"
//   POST /rollback/check  200 "Approved" if the rollback flag of {name, namespace} is open, else 403
//   POST /rollback/open   202                POST /rollback/close  202
//   POST /  with metadata.cmd: recorded and answered 200, the command is NEVER run (see handleRoot)
//   GET /_calls?path=<prefix>   recorded calls, oldest first     DELETE /_calls   forget them
//   PUT /_program {path,status,delayMs?,body?,headers?,times?}   GET /_program    DELETE /_program[?path=]
//   GET /_gates   gate states                 DELETE /_gates   close every gate (forget them)
//   POST /_reset  calls, programs and gates    GET /healthz
// Gates follow Flagger's loadtester (pkg/loadtester/server.go, gate.go): keyed by name.namespace, closed
// until opened, the rollback flag kept apart from the gate; open/close answer 202. Unlike the loadtester,
// a body without a non-empty name and namespace is refused with 400 and says why.
// With `signingKey` (main.ts: --signing-key or FLEDGE_WEBHOOK_SIGNING_KEY) every hook call must carry a valid
// X-Fledge-Signature for its raw body (src/integrations/hooks/signature.ts): otherwise it is recorded with the
// reason and answered 401, as a receiver that verifies Fledge's signatures would.
import { verifyWebhookSignature } from '../../integrations/hooks/signature.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listen } from '../http.js';
import type { z } from 'zod';
import {
  flaggerPayloadSchema,
  gateRequestSchema,
  programSpecSchema,
  type ActiveProgram,
  type GateKind,
  type GateState,
  type ProgramSpec,
  type RecordedCall,
} from './protocol.js';

export interface WebhookServiceOptions {
  /** 0 = an ephemeral port. */
  port: number;
  host?: string;
  /** One line per hook call and control action; default: silent. */
  log?: (line: string) => void;
  /** Largest accepted request body (413 above). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Oldest calls are dropped above this many. Default 10 000. */
  maxCalls?: number;
  /** Verify X-Fledge-Signature on hook calls with this key (401 when missing or wrong). Default: no check. */
  signingKey?: string;
}

export interface RunningWebhookService {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const recordedHeaders = new Set(['content-type', 'user-agent', 'authorization', 'idempotency-key']);

function pickHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || !(recordedHeaders.has(k) || k.startsWith('x-'))) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () =>
      tooLarge
        ? reject(new HttpError(413, `body larger than ${limit} bytes`))
        : resolve(Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: false, error: 'empty body' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const isText = typeof body === 'string';
  const text = isText ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  programmed: boolean;
}

/** The service's memory: recorded calls, programs and gates. Pure state, no I/O. */
export class WebhookServiceState {
  private seq = 0;
  private calls: RecordedCall[] = [];
  private readonly programs = new Map<string, ActiveProgram>();
  private readonly gates = new Map<string, GateState>();

  constructor(private readonly maxCalls: number) {}

  record(call: Omit<RecordedCall, 'seq'>): RecordedCall {
    const recorded: RecordedCall = { seq: ++this.seq, ...call };
    this.calls.push(recorded);
    if (this.calls.length > this.maxCalls) this.calls.splice(0, this.calls.length - this.maxCalls);
    return recorded;
  }

  listCalls(pathPrefix?: string): RecordedCall[] {
    return pathPrefix ? this.calls.filter((c) => c.path.startsWith(pathPrefix)) : [...this.calls];
  }

  clearCalls(): void {
    this.calls = [];
  }

  setProgram(spec: ProgramSpec): ActiveProgram {
    const program: ActiveProgram = { ...spec, remaining: spec.times ?? null, hits: 0 };
    this.programs.set(spec.path, program);
    return program;
  }

  listPrograms(): ActiveProgram[] {
    return [...this.programs.values()];
  }

  resetPrograms(path?: string): void {
    if (path === undefined) this.programs.clear();
    else this.programs.delete(path);
  }

  /** The program for this path, counting the call against `times`; reverts once used up. */
  takeProgram(path: string): ActiveProgram | undefined {
    const p = this.programs.get(path);
    if (!p) return undefined;
    p.hits++;
    if (p.remaining !== null) {
      p.remaining--;
      if (p.remaining <= 0) this.programs.delete(path);
    }
    return { ...p };
  }

  private static key(kind: GateKind, name: string, namespace: string): string {
    // Flagger's keys: "name.namespace" and "rollback.name.namespace".
    return kind === 'gate' ? `${name}.${namespace}` : `rollback.${name}.${namespace}`;
  }

  setGate(kind: GateKind, name: string, namespace: string, open: boolean): void {
    this.gates.set(WebhookServiceState.key(kind, name, namespace), { kind, name, namespace, open });
  }

  isOpen(kind: GateKind, name: string, namespace: string): boolean {
    return this.gates.get(WebhookServiceState.key(kind, name, namespace))?.open ?? false;
  }

  listGates(): GateState[] {
    return [...this.gates.values()].map((g) => ({ ...g }));
  }

  resetGates(): void {
    this.gates.clear();
  }
}

type GateRoute = { kind: GateKind; action: 'check' | 'open' | 'close' };

const gateRoutes: Record<string, GateRoute> = {
  '/gate/check': { kind: 'gate', action: 'check' },
  '/gate/open': { kind: 'gate', action: 'open' },
  '/gate/close': { kind: 'gate', action: 'close' },
  '/rollback/check': { kind: 'rollback', action: 'check' },
  '/rollback/open': { kind: 'rollback', action: 'open' },
  '/rollback/close': { kind: 'rollback', action: 'close' },
};

function handleGate(state: WebhookServiceState, route: GateRoute, raw: string): Reply {
  const json = parseJson(raw);
  const parsed = json.ok ? gateRequestSchema.safeParse(json.value) : undefined;
  if (!parsed?.success) {
    const why = !json.ok
      ? `invalid JSON (${json.error})`
      : parsed
        ? describeIssues(parsed.error)
        : 'invalid body';
    return {
      status: 400,
      body: `bad request: ${route.kind === 'gate' ? '/gate' : '/rollback'}/${route.action} needs a JSON body with non-empty string fields "name" and "namespace" (Flagger's webhook payload): ${why}`,
      programmed: false,
    };
  }
  const { name, namespace } = parsed.data;
  if (route.action === 'check') {
    return state.isOpen(route.kind, name, namespace)
      ? { status: 200, body: 'Approved', programmed: false }
      : { status: 403, body: 'Forbidden', programmed: false };
  }
  const open = route.action === 'open';
  state.setGate(route.kind, name, namespace, open);
  return {
    status: 202,
    body: `${route.kind} ${name}.${namespace} ${open ? 'opened' : 'closed'}`,
    programmed: false,
  };
}

/**
 * `/`: Flagger's loadtester runs `metadata.cmd` (hey, bash, helm, kubectl…) for a request here. This
 * service NEVER executes anything from a request: it only records the call (the command is visible in
 * `GET /_calls`) and answers 200, so load-test hooks pointed at it pass without side effects.
 */
function handleRoot(raw: string): Reply {
  const json = parseJson(raw);
  const parsed = json.ok ? flaggerPayloadSchema.safeParse(json.value) : undefined;
  const cmd = parsed?.success ? parsed.data.metadata?.cmd : undefined;
  if (cmd !== undefined) {
    return {
      status: 200,
      body: { ok: true, executed: false, message: 'command recorded, not executed (webhook test service)' },
      programmed: false,
    };
  }
  return { status: 200, body: { ok: true }, programmed: false };
}

function hookReply(state: WebhookServiceState, path: string, raw: string): Reply {
  const program = state.takeProgram(path);
  if (program) {
    return {
      status: program.status,
      body: program.body === undefined ? { ok: program.status < 400, programmed: true } : program.body,
      ...(program.headers ? { headers: program.headers } : {}),
      ...(program.delayMs ? { delayMs: program.delayMs } : {}),
      programmed: true,
    };
  }
  if (path === '/gate/approve') return { status: 200, body: 'OK', programmed: false };
  if (path === '/gate/halt') return { status: 403, body: 'Forbidden', programmed: false };
  const gate = gateRoutes[path];
  if (gate) return handleGate(state, gate, raw);
  if (path === '/') return handleRoot(raw);
  return { status: 200, body: { ok: true }, programmed: false };
}

export async function startWebhookService(opts: WebhookServiceOptions): Promise<RunningWebhookService> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((): void => undefined);
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const state = new WebhookServiceState(opts.maxCalls ?? 10_000);
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const control = (req: IncomingMessage, res: ServerResponse, url: URL, raw: string): void => {
    const m = req.method ?? 'GET';
    const path = url.pathname;
    const methodNotAllowed = (allowed: string): void =>
      send(res, 405, { error: `method ${m} not allowed on ${path}; use ${allowed}` }, { Allow: allowed });
    switch (path) {
      case '/healthz':
        if (m !== 'GET' && m !== 'HEAD') return methodNotAllowed('GET');
        return send(res, 200, { ok: true, service: 'webhook-service' });
      case '/_calls':
        if (m === 'GET')
          return send(res, 200, { calls: state.listCalls(url.searchParams.get('path') ?? undefined) });
        if (m === 'DELETE') {
          state.clearCalls();
          return send(res, 200, { ok: true });
        }
        return methodNotAllowed('GET, DELETE');
      case '/_program': {
        if (m === 'GET') return send(res, 200, { programs: state.listPrograms() });
        if (m === 'DELETE') {
          state.resetPrograms(url.searchParams.get('path') ?? undefined);
          return send(res, 200, { ok: true });
        }
        if (m !== 'PUT' && m !== 'POST') return methodNotAllowed('GET, PUT, DELETE');
        const json = parseJson(raw);
        if (!json.ok) return send(res, 400, { error: `invalid JSON: ${json.error}` });
        const spec = programSpecSchema.safeParse(json.value);
        if (!spec.success) return send(res, 400, { error: `invalid program: ${describeIssues(spec.error)}` });
        const program = state.setProgram(spec.data);
        log(
          `program ${program.path} → ${program.status}${program.delayMs ? ` after ${program.delayMs} ms` : ''}${program.times ? ` for ${program.times} call(s)` : ''}`,
        );
        return send(res, 200, { ok: true, program });
      }
      case '/_gates':
        if (m === 'GET') return send(res, 200, { gates: state.listGates() });
        if (m === 'DELETE') {
          state.resetGates();
          return send(res, 200, { ok: true });
        }
        return methodNotAllowed('GET, DELETE');
      case '/_reset':
        if (m !== 'POST') return methodNotAllowed('POST');
        state.clearCalls();
        state.resetPrograms();
        state.resetGates();
        return send(res, 200, { ok: true });
      default:
        return send(res, 404, {
          error: `unknown control endpoint ${path}; see /_calls, /_program, /_gates, /_reset, /healthz`,
        });
    }
  };

  const hook = (req: IncomingMessage, res: ServerResponse, url: URL, raw: string): void => {
    const json = parseJson(raw);
    const payload = json.ok ? flaggerPayloadSchema.safeParse(json.value) : undefined;
    const header = req.headers['x-fledge-signature'];
    const check = opts.signingKey
      ? verifyWebhookSignature(opts.signingKey, Array.isArray(header) ? header[0] : header, raw)
      : undefined;
    const call = state.record({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: pickHeaders(req),
      body: json.ok ? json.value : null,
      ...(json.ok || raw === '' ? {} : { rawBody: raw }),
      payload: payload?.success ? payload.data : null,
      receivedAt: new Date().toISOString(),
      ...(check ? { signature: check.ok ? { valid: true } : { valid: false, reason: check.reason } } : {}),
    });
    const reply: Reply =
      check && !check.ok
        ? { status: 401, body: `signature rejected: ${check.reason}`, programmed: false }
        : hookReply(state, url.pathname, raw);
    const answer = (): void => {
      call.response = {
        status: reply.status,
        programmed: reply.programmed,
        respondedAt: new Date().toISOString(),
      };
      const who = payload?.success
        ? ` ${payload.data.name}.${payload.data.namespace} ${payload.data.phase}`
        : '';
      log(`${call.method} ${call.path}${who} → ${reply.status}${reply.programmed ? ' (programmed)' : ''}`);
      send(res, reply.status, reply.body, reply.headers);
    };
    if (reply.delayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        answer();
      }, reply.delayMs);
      timers.add(t);
    } else {
      answer();
    }
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://webhook-service.local');
    readBody(req, maxBody)
      .then((raw) => {
        if (url.pathname === '/healthz' || url.pathname.startsWith('/_')) control(req, res, url, raw);
        else hook(req, res, url, raw);
      })
      .catch((e: unknown) => {
        send(res, e instanceof HttpError ? e.status : 500, {
          error: e instanceof Error ? e.message : String(e),
        });
      });
  });

  const port = await listen(server, opts.port, host);
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    close: () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return closeServer(server);
    },
  };
}
