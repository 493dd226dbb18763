// The codec server: Temporal's remote-codec HTTP protocol over the same keys as the worker, so authorised Web UI
// users (`--ui-codec-endpoint` / the UI's codec setting) and `temporal --codec-endpoint` read encrypted payloads.
// POST /encode and POST /decode (also under /<namespace>/…), body and answer `{"payloads": [Payload JSON]}` where a
// Payload JSON is `{"metadata": {<key>: <base64>}, "data": <base64>}`. CORS for the configured UI origins only.
// Callers authenticate with `Authorization: Bearer <FLEDGE_CODEC_SERVER_TOKEN>` when that is set (put the server
// behind your SSO proxy for Web UI users); refusals are logged with the caller's address.
import { readBody } from '../integrations/http-body.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { EncryptionCodec, type CodecKeys } from './encryption.js';

export interface CodecServerOptions {
  keys: CodecKeys;
  /** Origins allowed by CORS (the Web UI's), e.g. http://127.0.0.1:28233. */
  corsOrigins: string[];
  /** Required bearer token; undefined = no authentication (local use only, documented). */
  token?: string;
  /** Largest request body accepted. */
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

interface PayloadJson {
  metadata?: Record<string, string>;
  data?: string;
}

const toPayload = (p: PayloadJson): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
  ),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});
const fromPayload = (p: Payload): PayloadJson => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v ?? new Uint8Array()).toString('base64'),
    ]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

function isPayloadList(v: unknown): v is { payloads: PayloadJson[] } {
  if (typeof v !== 'object' || v === null) return false;
  const list = (v as { payloads?: unknown }).payloads;
  return (
    Array.isArray(list) &&
    list.every(
      (p) =>
        typeof p === 'object' &&
        p !== null &&
        (p as PayloadJson).data !== undefined &&
        typeof (p as PayloadJson).data === 'string',
    )
  );
}

function sameToken(given: string, want: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createCodecServer(opts: CodecServerOptions): Server {
  const codec = new EncryptionCodec(opts.keys);
  const max = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  const log = opts.log ?? (() => undefined);
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const cors = (req: IncomingMessage, res: ServerResponse): void => {
    const origin = req.headers.origin;
    if (origin && opts.corsOrigins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('access-control-allow-headers', 'content-type,x-namespace,authorization');
      res.setHeader('access-control-allow-methods', 'POST,OPTIONS');
      res.setHeader('vary', 'origin');
    }
  };
  return createServer((req, res) => {
    cors(req, res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const op = /(?:^|\/)(encode|decode)$/.exec(path)?.[1];
    if (req.method !== 'POST' || !op) {
      send(res, 404, { error: 'POST /encode or /decode' });
      return;
    }
    if (opts.token !== undefined) {
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!sameToken(given, opts.token)) {
        log(`codec server: refused ${op} from ${req.socket.remoteAddress ?? '?'} (bad or missing token)`);
        send(res, 401, { error: 'unauthorised' });
        return;
      }
    }
    void readBody(req, max).then(
      (text) => {
        if (text === null) {
          send(res, 413, { error: `body larger than ${max} bytes` });
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          send(res, 400, { error: 'body is not JSON' });
          return;
        }
        if (!isPayloadList(body)) {
          send(res, 400, { error: 'expected {"payloads": [{"metadata": {…}, "data": "<base64>"}]}' });
          return;
        }
        const payloads = body.payloads.map(toPayload);
        (op === 'encode' ? codec.encode(payloads) : codec.decode(payloads)).then(
          (out) => send(res, 200, { payloads: out.map(fromPayload) }),
          (e: unknown) => send(res, 400, { error: e instanceof Error ? e.message : String(e) }),
        );
      },
      () => res.destroy(),
    );
  });
}
