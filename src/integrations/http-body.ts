// Reading a request body with a size limit, for Fledge's own small HTTP endpoints (Slack interactions, the codec
// server) and the dev fakes.
import type { IncomingMessage } from 'node:http';

/** The body as UTF-8, or null when it is larger than `limit` bytes (the rest is read and dropped). */
export function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
