// Payload encryption for everything Fledge puts into Temporal: workflow inputs (the release spec), activity inputs
// and results, query/update payloads, failures' details. AES-256-GCM with a 96-bit random IV per payload; the key id
// rides in the payload's metadata (`encryption-key-id`), so keys rotate by id: new payloads use the active key,
// old ones decrypt with whichever key they name. Temporal's documented pattern; search attributes and memos are
// NOT payload-encoded — Fledge keeps secrets out of those.
//
// Keys: FLEDGE_CODEC_KEYS = "id1=<base64 32 bytes>,id2=<…>" (first = active) or FLEDGE_CODEC_KEYS_FILE (same
// format, e.g. a mounted Secret). Unset: no encryption (the local stack's default); documented in docs/security.md.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';
// @temporalio/proto is CommonJS: under Node's ESM loader only its default export exists.
import proto from '@temporalio/proto';

const { temporal } = proto;

export const ENCODING = 'binary/encrypted';
export const KEY_ID_KEY = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined): string => (b ? new TextDecoder().decode(b) : '');

export interface CodecKeys {
  /** Encrypts new payloads. */
  activeId: string;
  /** Every key that may decrypt (the active one included). */
  keys: ReadonlyMap<string, Buffer>;
}

export class CodecKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecKeyError';
  }
}

/** Parses "id=<base64>,id2=<base64>" (whitespace/newlines allowed); ids are [A-Za-z0-9._-]{1,64}. */
export function parseCodecKeys(spec: string): CodecKeys {
  const keys = new Map<string, Buffer>();
  let activeId: string | undefined;
  for (const raw of spec.split(/[,\n]/)) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq) : '';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new CodecKeyError(
        'codec keys: each entry is <id>=<base64 key>, id of [A-Za-z0-9._-], ≤ 64 characters',
      );
    const key = Buffer.from(entry.slice(eq + 1), 'base64');
    if (key.length !== 32)
      throw new CodecKeyError(
        `codec key ${id}: expected 32 bytes (base64 of a 256-bit key), got ${key.length}`,
      );
    if (keys.has(id)) throw new CodecKeyError(`codec key ${id}: listed twice`);
    keys.set(id, key);
    activeId ??= id;
  }
  if (!activeId) throw new CodecKeyError('codec keys: none given');
  return { activeId, keys };
}

/** The keys from the environment, or undefined when encryption is not configured. */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKeys | undefined {
  const file = env.FLEDGE_CODEC_KEYS_FILE;
  const inline = env.FLEDGE_CODEC_KEYS;
  if (file && inline) throw new CodecKeyError('set FLEDGE_CODEC_KEYS or FLEDGE_CODEC_KEYS_FILE, not both');
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new CodecKeyError(
        `FLEDGE_CODEC_KEYS_FILE ${file}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return parseCodecKeys(text);
  }
  if (inline) return parseCodecKeys(inline);
  return undefined;
}

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.keys.get(this.keys.activeId);
    if (!key) return Promise.reject(new CodecKeyError(`active codec key ${this.keys.activeId} missing`));
    return Promise.resolve(
      payloads.map((p) => {
        const plain = temporal.api.common.v1.Payload.encode(p).finish();
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: { encoding: utf8(ENCODING), [KEY_ID_KEY]: utf8(this.keys.activeId) },
          data: new Uint8Array(data),
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    try {
      return Promise.resolve(payloads.map((p) => this.decodeOne(p)));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private decodeOne(p: Payload): Payload {
    if (text(p.metadata?.encoding) !== ENCODING) return p; // written before encryption was enabled
    const id = text(p.metadata?.[KEY_ID_KEY]);
    const key = this.keys.keys.get(id);
    if (!key) throw new CodecKeyError(`payload encrypted with key "${id}", which this process does not have`);
    const buf = Buffer.from(p.data ?? new Uint8Array());
    if (buf.length < IV_BYTES + TAG_BYTES) throw new CodecKeyError('encrypted payload too short');
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return temporal.api.common.v1.Payload.decode(plain) as Payload;
  }
}

/** The data converter option for clients and workers: encryption when keys are configured, else the default. */
export function dataConverterFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): { payloadCodecs: PayloadCodec[] } | undefined {
  const keys = codecKeysFromEnv(env);
  return keys ? { payloadCodecs: [new EncryptionCodec(keys)] } : undefined;
}
