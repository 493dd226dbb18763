// A small HTTP(S) fault layer: a reverse proxy in front of one dependency that, by rule, answers a request with
// an injected status (apiserver 500 / 429 + Retry-After / 409, Slack 5xx / 429), forwards it and then answers
// with an error anyway (an ambiguous failure: the call took effect, the caller cannot know), or holds it until
// the scenario decides (forward it late, or drop the connection) — e.g. "the worker is SIGKILLed while its
// VirtualService write is on the wire". Toxiproxy makes the TCP-level faults; this makes the HTTP-level ones.
// Every request is recorded (bounded), so a scenario can show what the worker actually did.
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  /** The request body (JSON-parsed when possible). */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export type FaultAction =
  /** Answer without forwarding. */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: unknown }
  /** Forward, let the upstream act, then answer with this status instead of the real answer. */
  | { kind: 'respond-after-commit'; status: number; headers?: Record<string, string>; body?: unknown }
  /** Hold the request until `release` settles: forward it then, or drop the connection (no answer). */
  | { kind: 'hold'; release: (req: SeenRequest) => Promise<'forward' | 'drop'> }
  /** Wait, then forward. */
  | { kind: 'delay'; ms: number };

export interface FaultRule {
  name: string;
  method?: string;
  /** Matched against the path including the query string. */
  path?: RegExp;
  /** Further matching on the parsed body. */
  when?: (req: SeenRequest) => boolean;
  /** How many matching requests the rule applies to; omitted: until removed. */
  times?: number;
  action: FaultAction | ((req: SeenRequest) => FaultAction);
}

export interface RecordedExchange {
  seq: number;
  at: number;
  method: string;
  path: string;
  /** The answer the caller got (0: connection dropped). */
  status: number;
  /** The upstream's real answer when forwarded (absent: never forwarded). */
  upstreamStatus?: number;
  rule?: string;
  durationMs: number;
  /** The client's source port: distinct values = distinct connections (does the client reuse them?). */
  conn: number;
}

export interface FaultLayerOptions {
  name: string;
  /** http(s)://host:port of the dependency. */
  upstream: string;
  /** CA to trust for an https upstream. */
  upstreamCa?: Buffer;
  /** Serve TLS with this certificate (e.g. the apiserver's own, so the kubeconfig's CA still verifies). */
  tls?: { cert: Buffer; key: Buffer };
}

interface ActiveRule extends FaultRule {
  id: number;
  hits: number;
}

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
]);

export class FaultLayer {
  private server: Server | undefined;
  private rules: ActiveRule[] = [];
  private nextId = 1;
  private seq = 0;
  readonly log: RecordedExchange[] = [];
  port = 0;

  constructor(readonly opts: FaultLayerOptions) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
    };
    this.server = this.opts.tls
      ? createHttpsServer({ cert: this.opts.tls.cert, key: this.opts.tls.key }, handler)
      : createHttpServer(handler);
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }

  /** Adds a rule (checked in order of addition); returns a function that removes it. */
  add(rule: FaultRule): () => void {
    const active: ActiveRule = { ...rule, id: this.nextId++, hits: 0 };
    this.rules.push(active);
    return () => this.remove(active.id);
  }

  private remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clearRules(): void {
    this.rules = [];
  }

  /** Recorded exchanges matching a method and path. */
  seen(method: string | undefined, path: RegExp): RecordedExchange[] {
    return this.log.filter((e) => (!method || e.method === method) && path.test(e.path));
  }

  private match(req: SeenRequest): ActiveRule | undefined {
    for (const r of this.rules) {
      if (r.method && r.method !== req.method) continue;
      if (r.path && !r.path.test(req.path)) continue;
      if (r.when && !r.when(req)) continue;
      r.hits++;
      if (r.times !== undefined && r.hits >= r.times) this.remove(r.id);
      return r;
    }
    return undefined;
  }

  private record(e: Omit<RecordedExchange, 'seq'>): void {
    this.log.push({ seq: ++this.seq, ...e });
    if (this.log.length > 5000) this.log.splice(0, this.log.length - 5000);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let body: unknown = raw.length > 0 ? raw.toString('utf8') : null;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        /* not JSON: keep the text */
      }
    }
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      body,
      headers: req.headers,
    };
    const rule = this.match(seen);
    const action = rule ? (typeof rule.action === 'function' ? rule.action(seen) : rule.action) : undefined;
    const base = {
      at: t0,
      method: seen.method,
      path: seen.path,
      conn: req.socket.remotePort ?? 0,
      ...(rule ? { rule: rule.name } : {}),
    };

    if (action?.kind === 'respond') {
      this.answer(res, action.status, action.headers, action.body);
      this.record({ ...base, status: action.status, durationMs: Date.now() - t0 });
      return;
    }
    if (action?.kind === 'delay') await new Promise((r) => setTimeout(r, action.ms));
    if (action?.kind === 'hold') {
      const decision = await action.release(seen);
      if (decision === 'drop') {
        req.socket.destroy();
        this.record({ ...base, status: 0, durationMs: Date.now() - t0 });
        return;
      }
    }
    const upstream = await this.forward(req, raw);
    if (upstream === undefined) {
      res.destroy();
      this.record({ ...base, status: 0, durationMs: Date.now() - t0 });
      return;
    }
    if (action?.kind === 'respond-after-commit') {
      this.answer(res, action.status, action.headers, action.body);
      this.record({
        ...base,
        status: action.status,
        upstreamStatus: upstream.status,
        durationMs: Date.now() - t0,
      });
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(upstream.headers))
      if (v !== undefined && !hopByHop.has(k)) headers[k] = v;
    headers['content-length'] = String(upstream.body.length);
    res.writeHead(upstream.status, headers);
    res.end(upstream.body);
    this.record({
      ...base,
      status: upstream.status,
      upstreamStatus: upstream.status,
      durationMs: Date.now() - t0,
    });
  }

  private answer(
    res: ServerResponse,
    status: number,
    headers: Record<string, string> = {},
    body?: unknown,
  ): void {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer } | undefined> {
    const target = new URL(req.url ?? '/', this.opts.upstream);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !hopByHop.has(k)) headers[k] = v;
    headers.host = target.host;
    headers['content-length'] = String(body.length);
    const https = target.protocol === 'https:';
    return new Promise((resolve) => {
      const up = (https ? httpsRequest : httpRequest)(
        target,
        {
          method: req.method,
          headers,
          ...(https
            ? { ca: this.opts.upstreamCa, rejectUnauthorized: this.opts.upstreamCa !== undefined }
            : {}),
          timeout: 120_000,
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () =>
            resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(chunks) }),
          );
          r.on('error', () => resolve(undefined));
        },
      );
      up.on('error', () => resolve(undefined));
      up.on('timeout', () => up.destroy());
      up.end(body);
    });
  }
}

/** A Kubernetes `Status` body, so the client parses an injected error as the apiserver's own. */
export function kubeStatus(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}
