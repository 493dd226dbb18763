// Toxiproxy (github.com/Shopify/toxiproxy/v2, built by scripts/install-tools.sh): the real TCP fault proxy the
// fault matrix puts between the Fledge worker and each dependency. This module finds the binary, runs one
// toxiproxy-server per chaos run on a free loopback port, and drives its HTTP API (proxies, toxics, cut links).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { projectRoot, toolsCacheDir } from '../../src/dev/stack/config.js';

/** The pinned version (scripts/versions.env) and where the installer caches it. */
export function toxiproxyBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLEDGE_TOXIPROXY_BIN) return env.FLEDGE_TOXIPROXY_BIN;
  const cache = toolsCacheDir(env);
  const envFile = join(cache, 'env.sh');
  if (existsSync(envFile)) {
    const m = /^FLEDGE_TOXIPROXY_BIN=(.+)$/m.exec(readFileSync(envFile, 'utf8'));
    if (m?.[1] && existsSync(m[1].trim())) return m[1].trim();
  }
  const versions = readFileSync(join(projectRoot, 'scripts', 'versions.env'), 'utf8');
  const version = /^TOXIPROXY_VERSION=(.+)$/m.exec(versions)?.[1]?.trim();
  if (!version) throw new Error('TOXIPROXY_VERSION missing from scripts/versions.env');
  const bin = join(cache, `toxiproxy-${version}`, 'toxiproxy-server');
  if (!existsSync(bin))
    throw new Error(`toxiproxy-server not found at ${bin}: run \`bash scripts/setup.sh test\` first`);
  return bin;
}

/** A free loopback TCP port (bound and released; good enough for a test-only listener). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export type ToxicType =
  'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';

export interface Toxic {
  name: string;
  type: ToxicType;
  /** upstream = client → server bytes; downstream = server → client bytes. */
  stream: 'upstream' | 'downstream';
  toxicity: number;
  attributes: Record<string, number>;
}

export interface ProxyInfo {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: Toxic[];
}

export class ToxiproxyError extends Error {}

/** Client of the toxiproxy HTTP API. */
export class Toxiproxy {
  constructor(readonly apiUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'fledge-chaos' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new ToxiproxyError(`toxiproxy ${method} ${path}: HTTP ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  version(): Promise<string> {
    return fetch(`${this.apiUrl}/version`).then((r) => r.text());
  }

  /** A proxy listening on 127.0.0.1:<free port> in front of `upstream` (host:port). Returns its listen address. */
  async createProxy(name: string, upstream: string): Promise<ProxyInfo> {
    return this.call<ProxyInfo>('POST', '/proxies', {
      name,
      listen: '127.0.0.1:0',
      upstream,
      enabled: true,
    });
  }

  proxy(name: string): Promise<ProxyInfo> {
    return this.call<ProxyInfo>('GET', `/proxies/${encodeURIComponent(name)}`);
  }

  /** Cuts the link (the listener closes: new connections are refused, open ones are dropped) or restores it. */
  async setEnabled(name: string, enabled: boolean): Promise<void> {
    await this.call('POST', `/proxies/${encodeURIComponent(name)}`, { enabled });
  }

  async addToxic(proxy: string, toxic: Partial<Toxic> & Pick<Toxic, 'type' | 'attributes'>): Promise<Toxic> {
    return this.call<Toxic>('POST', `/proxies/${encodeURIComponent(proxy)}/toxics`, {
      stream: 'downstream',
      toxicity: 1,
      ...toxic,
    });
  }

  async removeToxic(proxy: string, toxic: string): Promise<void> {
    await this.call('DELETE', `/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(toxic)}`);
  }

  /** Every proxy enabled again, every toxic removed. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }
}

export interface ToxiproxyServer {
  client: Toxiproxy;
  port: number;
  pid: number;
  stop: () => Promise<void>;
}

/** Starts toxiproxy-server on a free loopback port; its log goes to `logFile`. */
export async function startToxiproxy(logFile: string): Promise<ToxiproxyServer> {
  const bin = toxiproxyBinary();
  const port = await freePort();
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(bin, ['-host', '127.0.0.1', '-port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  if (child.pid === undefined) throw new Error(`failed to spawn ${bin}`);
  const client = new Toxiproxy(`http://127.0.0.1:${port}`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`toxiproxy-server exited with ${child.exitCode} (log: ${logFile})`);
    try {
      await client.version();
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`toxiproxy-server not answering on ${port} (log: ${logFile})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const pid = child.pid;
  return {
    client,
    port,
    pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      log.end();
    },
  };
}
