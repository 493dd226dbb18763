// A list + watch cache of one cluster-wide resource for the mesh simulator. Polling full lists every second cost
// ~0.5 CPU s per poll at ~900 pods, deployments and services (JSON decoding), and far more at the sizes of
// `npm run bench:scale` — the simulator fell a minute behind the routes. The cache lists once (from the
// apiserver's watch cache, `resourceVersion=0`), then applies watch events; a poll reads the cache. A watch that
// ends is resumed from the last resourceVersion; an expired one (410) or an error relists.
import type { ClientRequest, IncomingMessage } from 'node:http';
import * as https from 'node:https';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

interface Meta {
  namespace?: string;
  name?: string;
  resourceVersion?: string;
}
const metaOf = (o: unknown): Meta => ((o as { metadata?: Meta } | null)?.metadata ?? {}) as Meta;
const keyOf = (o: unknown): string => `${metaOf(o).namespace ?? ''}/${metaOf(o).name ?? ''}`;

/** The objects of one resource and the resourceVersion they are at. PURE apart from its own state. */
export class ObjectStore {
  readonly items = new Map<string, unknown>();
  resourceVersion = '';

  /** Replaces everything with a list answer (`{ metadata: { resourceVersion }, items }`). */
  reset(list: unknown): void {
    this.items.clear();
    const l = list as { metadata?: { resourceVersion?: string }; items?: unknown };
    for (const o of Array.isArray(l?.items) ? (l.items as unknown[]) : []) this.items.set(keyOf(o), o);
    this.resourceVersion = l?.metadata?.resourceVersion ?? '';
  }

  /** Applies one watch event; returns 'relist' for an ERROR event (e.g. 410 Gone: the version expired). */
  apply(ev: WatchEvent): 'ok' | 'relist' {
    if (ev.type === 'ERROR') return 'relist';
    const rv = metaOf(ev.object).resourceVersion;
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.items.set(keyOf(ev.object), ev.object);
    else if (ev.type === 'DELETED') this.items.delete(keyOf(ev.object));
    if (rv) this.resourceVersion = rv;
    return 'ok';
  }

  values(): unknown[] {
    return [...this.items.values()];
  }
}

/** Splits a watch stream's bytes into JSON lines; keeps a partial last line for the next chunk. PURE. */
export function splitLines(buffered: string, chunk: string): { lines: string[]; rest: string } {
  const all = buffered + chunk;
  const parts = all.split('\n');
  const rest = parts.pop() ?? '';
  return { lines: parts.filter((l) => l.trim() !== ''), rest };
}

export interface WatchCacheOptions {
  /** `/api/v1/pods`, `/apis/networking.istio.io/v1/virtualservices`, … (cluster-wide). */
  path: string;
  /** Sets the server, credentials and CA on a request (KubeConfig.applyToHTTPSOptions). */
  authorize: (opts: https.RequestOptions) => Promise<void>;
  server: URL;
  agent: https.Agent;
  log?: (msg: string) => void;
}

export class WatchCache {
  readonly store = new ObjectStore();
  /** The list answered at least once (with items or 404); until then reads wait. */
  private synced: Promise<void>;
  private markSynced: () => void = () => undefined;
  /** The last list answered 404: the resource is not served (a CRD not installed). */
  notServed = false;
  lastError: string | null = null;
  private stopped = false;
  private current: ClientRequest | null = null;

  constructor(private readonly o: WatchCacheOptions) {
    this.synced = new Promise((r) => (this.markSynced = r));
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }

  /** Waits (up to `timeoutMs`) for the first list; then the cached objects. */
  async read(timeoutMs = 30_000): Promise<unknown[]> {
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.synced,
      new Promise<void>((_, reject) => {
        t = setTimeout(
          () => reject(new Error(`${this.o.path}: not listed yet (${this.lastError ?? 'waiting'})`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(t));
    return this.notServed ? [] : this.store.values();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const { code, body } = await this.get(`${this.o.path}?resourceVersion=0`);
        if (code === 404) {
          this.notServed = true;
          this.store.reset({});
          this.markSynced();
          await sleep(10_000); // a CRD may be installed later
          continue;
        }
        if (code < 200 || code >= 300) throw new Error(`list ${this.o.path}: ${code} ${body.slice(0, 200)}`);
        this.notServed = false;
        this.store.reset(JSON.parse(body));
        this.lastError = null;
        this.markSynced();
        // Watch until it expires or fails; a watch that simply ended (timeoutSeconds) is resumed.
        while (!this.stopped && (await this.watch()) === 'resume');
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        await sleep(1000);
      }
    }
  }

  private async request(path: string): Promise<IncomingMessage> {
    const opts: https.RequestOptions = {
      protocol: this.o.server.protocol,
      hostname: this.o.server.hostname,
      port: this.o.server.port,
      method: 'GET',
      path,
      headers: { Accept: 'application/json' },
    };
    await this.o.authorize(opts);
    opts.agent = this.o.agent;
    return new Promise((resolve, reject) => {
      const req = https.request(opts, resolve);
      this.current = req;
      // A watch gets a bookmark about every minute; two minutes of silence means a dead connection.
      req.setTimeout(120_000, () => req.destroy(new Error(`GET ${path}: silent for 120 s`)));
      req.on('error', reject);
      req.end();
    });
  }

  private async get(path: string): Promise<{ code: number; body: string }> {
    const res = await this.request(path);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
  }

  /** One watch from the store's resourceVersion: 'resume' when it ended normally, 'relist' when it must relist. */
  private async watch(): Promise<'resume' | 'relist'> {
    const rv = encodeURIComponent(this.store.resourceVersion);
    const res = await this.request(
      `${this.o.path}?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${rv}`,
    );
    if ((res.statusCode ?? 0) !== 200) {
      res.resume();
      return 'relist';
    }
    let rest = '';
    res.setEncoding('utf8'); // characters split across chunks are decoded whole
    for await (const c of res) {
      const split = splitLines(rest, c as string);
      rest = split.rest;
      for (const line of split.lines) {
        if (this.store.apply(JSON.parse(line) as WatchEvent) === 'relist') {
          res.destroy();
          return 'relist';
        }
      }
    }
    return 'resume';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
