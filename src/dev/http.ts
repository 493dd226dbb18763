// Plumbing shared by the local stack's own HTTP services (fake Slack, webhook service, mesh simulator) and
// their typed clients: listen, stop on signals, JSON requests to control endpoints.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/** Listens on host:port (0 = any free port); resolves with the bound port, rejects on EADDRINUSE etc. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes the server, dropping kept-alive connections so close() does not wait for clients. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A service's process lifecycle: SIGTERM/SIGINT close it and exit 0 (forced after 2 s). */
export function exitOnSignals(log: (msg: string) => void, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    setTimeout(() => process.exit(0), 2000).unref();
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** A port given on the command line, or the stack's default. */
export function portArg(value: string | undefined, fallback: number): number {
  const port = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port=${value} is not a valid port`);
  return port;
}

/** JSON over HTTP to a service's control endpoints; non-2xx throws with the service's own message. */
export async function jsonRequest<T>(
  service: string,
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service} ${method} ${path}: HTTP ${res.status}: ${text.trim()}`);
  return JSON.parse(text) as T;
}
