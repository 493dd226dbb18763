// A counting reverse proxy in front of the kube-apiserver: TLS on a loopback port with a throwaway self-signed
// certificate (so each controller keeps talking HTTPS, as in a cluster), every request forwarded as is (headers,
// bearer token, body) to the real apiserver over a keep-alive connection pool, responses streamed back (watches
// included). Each request is recorded with its class (read / write / watch) when it arrives.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyRequest, type CountedRequest } from './measure.js';

export interface ProxyCert {
  cert: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1 (openssl), valid for two days; it is its own CA. */
export function makeProxyCert(): ProxyCert {
  const dir = mkdtempSync(join(tmpdir(), 'fledge-bench-peer-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=fledge-bench-peer-proxy',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=digitalSignature,keyCertSign',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

export interface Upstream {
  /** https://host:port of the apiserver. */
  server: string;
  /** PEM of the apiserver's CA. */
  ca: string;
}

export interface CountingProxy {
  name: string;
  url: string;
  requests: CountedRequest[];
  /** Writes a kubeconfig that reaches the apiserver through this proxy with `token`. */
  writeKubeconfig(path: string, token: string): void;
  close(): Promise<void>;
}

export async function startCountingProxy(
  name: string,
  upstream: Upstream,
  cert: ProxyCert,
): Promise<CountingProxy> {
  const target = new URL(upstream.server);
  const agent = new https.Agent({ ca: upstream.ca, keepAlive: true, maxSockets: 64 });
  const requests: CountedRequest[] = [];
  const server = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    requests.push({ at: Date.now(), method, path, cls: classifyRequest(method, path) });
    const headers = { ...req.headers, host: target.host };
    const up = https.request(
      { protocol: 'https:', hostname: target.hostname, port: target.port, method, path, headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`bench-peer proxy: ${e.message}`);
    });
    // A client that goes away (a watch it stops) ends the upstream request too.
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    name,
    url,
    requests,
    writeKubeconfig(path, token) {
      const ca = Buffer.from(cert.cert).toString('base64');
      writeFileSync(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          `- name: ${name}`,
          '  cluster:',
          `    server: ${url}`,
          `    certificate-authority-data: ${ca}`,
          'users:',
          `- name: ${name}`,
          '  user:',
          `    token: ${token}`,
          'contexts:',
          `- name: ${name}`,
          '  context:',
          `    cluster: ${name}`,
          `    user: ${name}`,
          `current-context: ${name}`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
        agent.destroy();
      }),
  };
}
