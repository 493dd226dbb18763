// I/O: the HTTP endpoints Prometheus and humans read: /metrics, /healthz, /debug.
import { createServer, type Server } from 'node:http';
import { listen } from '../http.js';

export interface ServerHandlers {
  metrics(): string;
  health(): Record<string, unknown>;
  debug(): unknown;
}

export async function startServer(host: string, port: number, h: ServerHandlers): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') send(405, 'text/plain', 'method not allowed\n');
      else if (path === '/metrics') send(200, 'text/plain; version=0.0.4; charset=utf-8', h.metrics());
      else if (path === '/healthz') send(200, 'application/json', `${JSON.stringify(h.health())}\n`);
      else if (path === '/debug') send(200, 'application/json', `${JSON.stringify(h.debug(), null, 2)}\n`);
      else send(404, 'text/plain', 'not found: try /metrics, /healthz, /debug\n');
    } catch (e) {
      send(500, 'text/plain', `${e instanceof Error ? e.message : String(e)}\n`);
    }
  });
  await listen(server, port, host);
  return server;
}
