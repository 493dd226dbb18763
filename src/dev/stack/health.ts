// Health probes used while starting the stack.
import { connect } from 'node:net';
import { request } from 'node:https';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

/** GET over https without verifying the (self-signed) certificate; for local health endpoints only. */
export function httpsOkInsecure(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'GET', rejectUnauthorized: false, headers, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 300);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; isAlive?: () => boolean; onFail?: () => string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (opts.isAlive && !opts.isAlive()) {
      throw new Error(`${what} exited during start-up\n${opts.onFail?.() ?? ''}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not healthy after ${opts.timeoutMs / 1000} s\n${opts.onFail?.() ?? ''}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}
