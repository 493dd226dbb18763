// Payload encryption (AES-256-GCM, key id in metadata) and the codec server's remote-codec protocol.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  CodecKeyError,
  ENCODING,
  EncryptionCodec,
  KEY_ID_KEY,
  parseCodecKeys,
} from '../../../src/codec/encryption.js';
import { createCodecServer } from '../../../src/codec/server.js';

const key = () => randomBytes(32).toString('base64');
const k1 = key();
const k2 = key();
const text = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());
const marker = 'MARKER-7f3a9c';
const plain = (): Payload => defaultPayloadConverter.toPayload({ spec: `token ${marker}` });

describe('EncryptionCodec', () => {
  it('encrypts every payload with the active key (no plaintext left) and decrypts it back exactly', async () => {
    const codec = new EncryptionCodec(parseCodecKeys(`one=${k1}`));
    const [enc] = await codec.encode([plain()]);
    expect(text(enc?.metadata?.encoding)).toBe(ENCODING);
    expect(text(enc?.metadata?.[KEY_ID_KEY])).toBe('one');
    expect(Buffer.from(enc?.data ?? []).toString('latin1')).not.toContain(marker);
    const [dec] = await codec.decode([enc!]);
    expect(defaultPayloadConverter.fromPayload(dec!)).toEqual({ spec: `token ${marker}` });
  });

  it('rotates by key id: payloads of the old key still decrypt, new ones use the new key', async () => {
    const old = new EncryptionCodec(parseCodecKeys(`one=${k1}`));
    const [enc1] = await old.encode([plain()]);
    const rotated = new EncryptionCodec(parseCodecKeys(`two=${k2},one=${k1}`));
    const [enc2] = await rotated.encode([plain()]);
    expect(text(enc2?.metadata?.[KEY_ID_KEY])).toBe('two');
    const out = await rotated.decode([enc1!, enc2!]);
    expect(out.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([
      { spec: `token ${marker}` },
      { spec: `token ${marker}` },
    ]);
    // A process without the old key cannot read old payloads, and says which key it lacks.
    await expect(new EncryptionCodec(parseCodecKeys(`two=${k2}`)).decode([enc1!])).rejects.toThrow(
      /key "one"/,
    );
  });

  it('refuses a tampered payload (GCM authentication) and passes unencrypted payloads through', async () => {
    const codec = new EncryptionCodec(parseCodecKeys(`one=${k1}`));
    const [enc] = await codec.encode([plain()]);
    const data = Buffer.from(enc!.data!);
    data[20] = (data[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...enc!, data: new Uint8Array(data) }])).rejects.toThrow();
    const untouched = plain();
    expect(await codec.decode([untouched])).toEqual([untouched]);
  });

  it.each([
    ['', /none given/],
    ['nokey', /<id>=<base64 key>/],
    [`one=${Buffer.from('short').toString('base64')}`, /32 bytes/],
    [`one=${k1},one=${k2}`, /listed twice/],
    [`bad id=${k1}`, /<id>=<base64 key>/],
  ])('rejects key spec %j', (spec, msg) => {
    expect(() => parseCodecKeys(spec)).toThrow(CodecKeyError);
    expect(() => parseCodecKeys(spec)).toThrow(msg);
  });
});

describe('codec server (Temporal remote-codec protocol)', () => {
  let base = '';
  const server = createCodecServer({
    keys: parseCodecKeys(`one=${k1}`),
    corsOrigins: ['http://ui.example'],
    token: 'sesame',
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const asJson = (p: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('decodes what the worker encrypted for an authorised caller, under /<namespace>/decode too', async () => {
    const [enc] = await new EncryptionCodec(parseCodecKeys(`one=${k1}`)).encode([plain()]);
    for (const path of ['/decode', '/default/decode']) {
      const res = await post(path, { payloads: [asJson(enc!)] }, { authorization: 'Bearer sesame' });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { payloads: Array<{ data: string }> };
      expect(Buffer.from(body.payloads[0]!.data, 'base64').toString()).toContain(marker);
    }
  });

  it('refuses callers without the token (401) and malformed bodies (400)', async () => {
    const [enc] = await new EncryptionCodec(parseCodecKeys(`one=${k1}`)).encode([plain()]);
    expect((await post('/decode', { payloads: [asJson(enc!)] })).status).toBe(401);
    expect(
      (await post('/decode', { payloads: [asJson(enc!)] }, { authorization: 'Bearer nope' })).status,
    ).toBe(401);
    expect((await post('/decode', { nope: 1 }, { authorization: 'Bearer sesame' })).status).toBe(400);
  });

  it('answers CORS only for the configured Web UI origin', async () => {
    const ok = await fetch(`${base}/decode`, { method: 'OPTIONS', headers: { origin: 'http://ui.example' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://ui.example');
    const other = await fetch(`${base}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
