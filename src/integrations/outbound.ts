// The outbound guard: every HTTP request the worker makes to an address a spec can name — webhooks (Flagger hooks,
// `event` hooks), MetricTemplate/Prometheus addresses, AlertProvider addresses (MS Teams, JSON webhook) — and the
// Slack client go through `outboundFetch` (a WHATWG-fetch-compatible function), never the global `fetch`.
//
// - Allow-list FLEDGE_OUTBOUND_ALLOW: host globs (`*.acme.com`, `prometheus.monitoring.svc`), IP addresses and
//   CIDRs (`10.0.0.0/8`, `fd00::/8`), or `*` (everything). Default (unset): everything except the refused ranges.
// - Refused unless a listed IP/CIDR covers them (a host glob or `*` never does): link-local 169.254.0.0/16 and
//   fe80::/10, which include the cloud metadata services 169.254.169.254 and fd00:ec2::254 (also refused).
// - Checked on the addresses actually connected to: the socket's DNS lookup is ours (`lookup` of the request), it
//   resolves the name and refuses the connection if any answer is refused, so a name that resolves to an allowed
//   address when validated and to the metadata service when connecting (DNS rebinding) cannot get through. IP
//   literals are checked before connecting.
// - Redirects are never followed: a 3xx is returned as is (`redirect: 'error'` rejects, as fetch does); callers
//   report it as a failed call.
// - Response bodies are read up to a limit; `excerpt` makes the short, control-character-escaped text that may
//   reach history and notifications.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, isIPv4 } from 'node:net';

export const outboundAllowSetting = 'FLEDGE_OUTBOUND_ALLOW';

/** Refused by default (link-local and the cloud metadata services). */
export const refusedRanges: readonly string[] = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128'];

export interface OutboundAllowList {
  /** `*` (or the setting unset): any host except the refused ranges. */
  any: boolean;
  /** Host globs, lowercase; `*` is any run of characters. */
  hosts: string[];
  /** IP addresses (as /32 or /128) and CIDRs. */
  cidrs: string[];
}

export const allowAnyOutbound: OutboundAllowList = { any: true, hosts: [], cidrs: [] };

/** Thrown (as the request's error) when the guard refuses a destination. */
export class OutboundRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

function parseCidr(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [addr = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined) return undefined;
  const address = addr.replace(/^\[(.*)\]$/, '$1');
  const v = isIP(address);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText ?? '0').trim() === '')
    return undefined;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** FLEDGE_OUTBOUND_ALLOW → the allow-list (comma/space separated). Throws on an entry it cannot read. */
export function parseOutboundAllow(text: string | undefined): OutboundAllowList {
  if (text === undefined) return allowAnyOutbound;
  const entries = text
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (entries.length === 0)
    throw new Error(
      `${outboundAllowSetting} is empty: list hosts/CIDRs, or unset it (allow all but link-local)`,
    );
  const out: OutboundAllowList = { any: false, hosts: [], cidrs: [] };
  for (const e of entries) {
    if (e === '*') out.any = true;
    else if (/^[0-9a-f:.[\]]+(\/\d{1,3})?$/.test(e) && (e.includes(':') || /^[\d./]+$/.test(e))) {
      if (!parseCidr(e))
        throw new Error(`${outboundAllowSetting}: ${JSON.stringify(e)} is not an IP or CIDR`);
      out.cidrs.push(e);
    } else if (/^(\*\.)?([a-z0-9*]([-a-z0-9*]*[a-z0-9*])?)(\.[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?)*$/.test(e)) {
      out.hosts.push(e);
    } else {
      throw new Error(
        `${outboundAllowSetting}: ${JSON.stringify(e)} is not a host glob, IP or CIDR (e.g. *.acme.com, 10.0.0.0/8)`,
      );
    }
  }
  return out;
}

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (p) list.addSubnet(p.address, p.prefix, p.family);
  }
  return list;
}

const refused = blockList(refusedRanges);

/** `::ffff:169.254.169.254` → `169.254.169.254` (an IPv4-mapped IPv6 address is checked as the IPv4 one). */
export function normaliseAddress(address: string): string {
  const a = address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped?.[1]) return mapped[1];
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (hexMapped?.[1] && hexMapped[2]) {
    const hi = parseInt(hexMapped[1], 16);
    const lo = parseInt(hexMapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return a;
}

const hostGlob = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/**
 * Why connecting to `address` for `host` is refused, or undefined when it is allowed. PURE. `host` is the URL's
 * host name (or the IP literal itself).
 */
export function outboundRefusal(allow: OutboundAllowList, host: string, address: string): string | undefined {
  const a = normaliseAddress(address);
  const family = isIPv4(a) ? 'ipv4' : 'ipv6';
  if (isIP(a) === 0) return `${address} is not an IP address`;
  const listed = allow.cidrs.length > 0 && blockList(allow.cidrs).check(a, family);
  const name = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  const shown = name === a ? a : `${name} (${a})`;
  if (refused.check(a, family) && !listed)
    return `${shown} is a link-local or cloud metadata address, refused unless ${outboundAllowSetting} lists it as an IP/CIDR`;
  if (allow.any || listed) return undefined;
  if (isIP(name) === 0 && allow.hosts.some((h) => hostGlob(h).test(name))) return undefined;
  return `${shown} is not in ${outboundAllowSetting}=${JSON.stringify([...allow.hosts, ...allow.cidrs].join(','))}`;
}

/** Resolves a host name to all its addresses (tests inject their own; default: the system resolver). */
export type Resolver = (hostname: string, family: number | undefined) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname, family) =>
  new Promise((resolve, reject) =>
    dnsLookup(
      hostname,
      { all: true, ...(family === 4 || family === 6 ? { family } : {}) },
      (err, addresses) => (err ? reject(err) : resolve(addresses)),
    ),
  );

export interface OutboundOptions {
  allow: OutboundAllowList;
  resolve?: Resolver;
  /** Largest response body read (the rest is dropped). Default 8 MiB. */
  maxResponseBytes?: number;
  /** A request without a `signal` (e.g. the Slack client's) is abandoned after this long. Default 60 s. */
  defaultTimeoutMs?: number;
}

export type OutboundFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  new Headers(h).forEach((v, k) => (out[k] = v));
  return out;
}

function bodyBytes(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('outboundFetch: unsupported body type (string, URLSearchParams or bytes)');
}

const contentTypeOf = (body: RequestInit['body']): string | undefined =>
  typeof body === 'string'
    ? 'text/plain;charset=UTF-8'
    : body instanceof URLSearchParams
      ? 'application/x-www-form-urlencoded;charset=UTF-8'
      : undefined;

/**
 * A fetch-compatible function that connects only where `opts.allow` permits (see the header). Supports what the
 * worker's clients use: method, headers, string/form/bytes bodies, `signal` (rejects with its reason, like fetch),
 * `redirect` (never followed; `'error'` rejects on a 3xx).
 */
export function createOutboundFetch(opts: OutboundOptions): OutboundFetch {
  const resolve = opts.resolve ?? systemResolver;
  const maxBytes = opts.maxResponseBytes ?? 8 * 1024 * 1024;

  const lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    resolve(hostname, options.family === 4 || options.family === 6 ? options.family : undefined).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(new OutboundRefusedError(`${hostname} did not resolve to any address`), []);
          return;
        }
        // Every answer must pass: a name must not be able to offer a refused address among allowed ones.
        for (const a of addresses) {
          const why = outboundRefusal(opts.allow, hostname, a.address);
          if (why) {
            callback(new OutboundRefusedError(`outbound request refused: ${why}`), []);
            return;
          }
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]?.address ?? '', addresses[0]?.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };

  return (input, init = {}) =>
    new Promise<Response>((resolvePromise, reject) => {
      const signal = init.signal ?? AbortSignal.timeout(opts.defaultTimeoutMs ?? 60_000);
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let url: URL;
      let body: Buffer | undefined;
      try {
        url = new URL(String(input));
        body = bodyBytes(init.body);
      } catch (e) {
        reject(e);
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        reject(
          new OutboundRefusedError(`outbound request refused: only http and https URLs (${url.protocol})`),
        );
        return;
      }
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(host) !== 0) {
        const why = outboundRefusal(opts.allow, host, host);
        if (why) {
          reject(new OutboundRefusedError(`outbound request refused: ${why}`));
          return;
        }
      }
      const headers = headerRecord(init.headers);
      const ct = contentTypeOf(init.body);
      if (ct && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
        headers['content-type'] = ct;
      if (body) headers['content-length'] = String(body.length);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      // agent: false — one connection per request, made with our lookup (never a pooled socket of another policy).
      const req = send(url, { method: init.method ?? 'GET', headers, agent: false, lookup });
      const onAbort = (): void => {
        req.destroy();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      req.on('error', (e) => {
        done();
        reject(e);
      });
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = (): void => {
          done();
          if (status >= 300 && status < 400 && init.redirect === 'error') {
            reject(new TypeError(`redirect (HTTP ${status}) not followed: redirect mode is "error"`));
            return;
          }
          const resHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const one of Array.isArray(v) ? v : [v]) resHeaders.append(k, one);
          }
          const nullBody = [101, 103, 204, 205, 304].includes(status);
          try {
            resolvePromise(
              new Response(nullBody ? null : Buffer.concat(chunks), {
                status: status < 200 ? 502 : status,
                statusText: res.statusMessage ?? '',
                headers: resHeaders,
              }),
            );
          } catch (e) {
            reject(e);
          }
        };
        res.on('data', (c: Buffer) => {
          if (size >= maxBytes) return;
          chunks.push(c.subarray(0, maxBytes - size));
          size += c.length;
          if (size >= maxBytes) {
            finish();
            res.destroy();
          }
        });
        res.on('end', () => {
          if (size < maxBytes) finish();
        });
        res.on('error', (e) => {
          done();
          reject(signal?.aborted ? signal.reason : e);
        });
      });
      req.end(body);
    });
}

// ─── the worker's settings (process-wide) ─────────────────────────────────────────────────────────────────────

export interface OutboundSettings {
  allow: OutboundAllowList;
  /** FLEDGE_WEBHOOK_SIGNING_KEY: webhook requests carry X-Fledge-Signature when set. */
  webhookSigningKey?: string;
}

let current: { settings: OutboundSettings; fetch: OutboundFetch } | undefined;

/** Sets the worker's outbound settings (the composition root does, from src/config.ts). */
export function configureOutbound(settings: OutboundSettings): void {
  current = { settings, fetch: createOutboundFetch({ allow: settings.allow }) };
}

function ensure(): { settings: OutboundSettings; fetch: OutboundFetch } {
  if (!current) {
    // Not configured (a library use, a test): the environment's settings, as the worker would read them.
    const key = process.env.FLEDGE_WEBHOOK_SIGNING_KEY;
    configureOutbound({
      allow: parseOutboundAllow(process.env[outboundAllowSetting]),
      ...(key ? { webhookSigningKey: key } : {}),
    });
  }
  return current as { settings: OutboundSettings; fetch: OutboundFetch };
}

export function outboundSettings(): OutboundSettings {
  return ensure().settings;
}

/** The guarded fetch with the worker's settings: what every outbound HTTP client uses. */
export const outboundFetch: OutboundFetch = (input, init) => ensure().fetch(input, init);

// ─── what may be shown of a response ──────────────────────────────────────────────────────────────────────────

/** The most of a response body that may reach history and notifications. */
export const excerptMaxChars = 200;

/**
 * A short, safe excerpt of untrusted text (a response body): whitespace runs collapsed, control and bidi
 * characters escaped (`\n`, `\x1b`, `\u202e`), at most `max` characters including a trailing `…`.
 */
export function excerpt(text: string, max = excerptMaxChars): string {
  const escaped: string[] = [];
  for (const ch of text.replace(/[ \t]+/g, ' ').trim()) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\n') escaped.push('\\n');
    else if (ch === '\r') escaped.push('\\r');
    else if (ch === '\t') escaped.push('\\t');
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f))
      escaped.push(`\\x${code.toString(16).padStart(2, '0')}`);
    else if (
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069) ||
      code === 0x200e ||
      code === 0x200f
    )
      escaped.push(`\\u${code.toString(16)}`);
    else escaped.push(ch);
  }
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const piece = escaped[i] as string;
    const rest = i < escaped.length - 1;
    if (out.length + piece.length + (rest ? 1 : 0) > max) return `${out}…`;
    out += piece;
  }
  return out;
}

/** The message of a redirect that was not followed (`HTTP 302 redirect to https://… not followed`). */
export function redirectNotFollowed(res: Response): string {
  const to = res.headers.get('location');
  return `HTTP ${res.status} redirect${to ? ` to ${excerpt(to, 120)}` : ''} not followed (redirects are refused)`;
}
