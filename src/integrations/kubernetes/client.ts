// Kubernetes client construction and server-side apply helpers shared by the integrations.
import { createHash } from 'node:crypto';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';

export const fieldManager = 'fledge';

type SecurityContext = Parameters<k8s.KubeConfig['applySecurityAuthentication']>[0];

/**
 * A KubeConfig whose API clients keep their TLS connections. @kubernetes/client-node builds a new
 * `https.Agent` for every request, so each call paid a TCP + TLS handshake: behind a 2 s apiserver link that is
 * three round trips per call, and a release missed its deadlines. Here one keep-alive agent per set of TLS
 * options (CA, client certificate, server name…) is reused; credentials that are headers (tokens, exec
 * plugins) are still applied per request by the library. Proxy agents are left as the library makes them.
 */
export class PooledKubeConfig extends k8s.KubeConfig {
  readonly #agents = new Map<string, https.Agent>();

  override async applySecurityAuthentication(context: SecurityContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getAgent();
    if (!made || made.constructor !== https.Agent) return;
    const options = (made as https.Agent & { options: https.AgentOptions }).options;
    const key = agentKey(options);
    let agent = this.#agents.get(key);
    if (!agent) {
      // No cap on sockets (client-go's HTTP/1.1 transport has none either; the request budget bounds the rate).
      // A capped pool hands a socket to a queued request the moment a response ends, before that response has
      // emitted 'close', and node-fetch (the library's HTTP client) then fails the complete, chunked response as
      // 'Premature close' (node-fetch #1767): ~90 % of reads failed with 300 in flight (test/integration/
      // kubernetes.test.ts), and 100+ concurrent releases retried their steps over and over (npm run bench:scale).
      agent = new https.Agent({ ...options, keepAlive: true, maxFreeSockets: 32 });
      this.#agents.set(key, agent);
    }
    made.destroy();
    context.setAgent(agent);
  }

  /** Closes the pooled connections (tests, shutdown). */
  closeConnections(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}

function agentKey(o: https.AgentOptions): string {
  const h = createHash('sha256');
  for (const v of [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, String(o.rejectUnauthorized)]) {
    const parts = Array.isArray(v) ? v : [v];
    for (const p of parts) {
      if (p === undefined) h.update('\u0000');
      else if (typeof p === 'string' || Buffer.isBuffer(p)) h.update(p);
      else h.update(JSON.stringify(p));
    }
    h.update('\u0001');
  }
  return h.digest('hex');
}

/** Kubeconfig from an explicit path, $KUBECONFIG, or the in-cluster service account. */
export function loadKubeConfig(path?: string): k8s.KubeConfig {
  const kc = new PooledKubeConfig();
  const file = path ?? process.env.KUBECONFIG;
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export const applyPatchOptions = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
export const mergePatchOptions = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export interface CustomResourceRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

/** Server-side apply of a custom object: only the fields in `body` are owned by Fledge. */
export async function applyCustomObject<T extends object>(
  custom: k8s.CustomObjectsApi,
  ref: CustomResourceRef,
  body: object,
): Promise<T> {
  return (await custom.patchNamespacedCustomObject(
    { ...ref, body, fieldManager, force: true },
    applyPatchOptions,
  )) as T;
}

export async function readCustomObject<T extends object>(
  custom: k8s.CustomObjectsApi,
  ref: CustomResourceRef,
): Promise<T | undefined> {
  try {
    return (await custom.getNamespacedCustomObject(ref)) as T;
  } catch (e) {
    if (e instanceof k8s.ApiException && e.code === 404) return undefined;
    throw e;
  }
}
