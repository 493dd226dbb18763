// The fault-matrix harness. One toxiproxy-server per run with a proxy in front of every dependency of the worker
// — the kube-apiserver (TCP; TLS passes through), Prometheus, the fake Slack, the webhook service and the
// Temporal frontend — plus small HTTP fault layers for what a TCP proxy cannot make (apiserver 500 / 429 /
// 409 / held writes, Slack 5xx / 429). The Fledge worker runs as a child process reaching everything through
// the proxies, authenticated to Kubernetes as a ServiceAccount bound to Fledge's least-privilege ClusterRole
// (deploy/kustomize/overlays/cluster-wide/clusterrole.yaml) by a RoleBinding in the scenario's namespace, so RBAC
// can be revoked mid-release. The harness itself (client, admin kube, fake Slack, webhook service) talks to the
// stack directly.
//
//   worker ──► toxiproxy "kube"      ──► kube fault layer (TLS, the apiserver's own cert) ──► kube-apiserver
//          ──► toxiproxy "prometheus" ──► Prometheus
//          ──► toxiproxy "slack"      ──► slack fault layer ──► fake Slack
//          ──► toxiproxy "webhook"    ──► webhook service
//          ──► toxiproxy "temporal"   ──► Temporal frontend (or a scenario's own dev server)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Connection, Client } from '@temporalio/client';
import { parseAllDocuments } from 'yaml';
import { loadFledgeConfig, type FledgeConfig } from '../../src/config.js';
import { FakeSlackClient } from '../../src/dev/fake-slack/client.js';
import { ensureCredentials, writeKubeconfig } from '../../src/dev/stack/kube.js';
import { searchAttributeCliType } from '../../src/dev/stack/stack.js';
import { loadStackConfig, loadToolPaths, projectRoot, type StackConfig } from '../../src/dev/stack/config.js';
import { fledgeSearchAttributes } from '../../src/workflows/search-attributes.js';
import { WebhookServiceClient } from '../../src/dev/webhook-service/client.js';
import { deployment, kube, type KubeClients } from '../support/stack.js';
import { FaultLayer } from './fault-layer.js';
import { oldImage } from './kit.js';
import {
  freePort,
  startToxiproxy,
  type ProxyInfo,
  type Toxiproxy,
  type ToxiproxyServer,
} from './toxiproxy.js';

export type ProxyName = 'kube' | 'prometheus' | 'slack' | 'webhook' | 'temporal';

const workerSa = 'fledge-worker';

export interface ChaosEnv {
  stack: StackConfig;
  admin: KubeClients;
  rbac: k8s.RbacAuthorizationV1Api;
  /** The worker's least-privilege rules (deploy manifests), granted per scenario namespace. */
  rules: k8s.V1PolicyRule[];
  toxi: Toxiproxy;
  proxies: Record<ProxyName, ProxyInfo>;
  kubeLayer: FaultLayer;
  slackLayer: FaultLayer;
  slack: FakeSlackClient;
  hooks: WebhookServiceClient;
  /** Connection to the shared Temporal frontend (direct, never through a proxy). */
  connection: Connection;
  artifactsDir: string;
  apiserverCa: Buffer;
  /** Adds a proxy (e.g. in front of a scenario's own Temporal server); removed again by `stop`. */
  addProxy: (name: string, upstream: string) => Promise<ProxyInfo>;
  stop: () => Promise<void>;
}

const addressOf = (url: string): string => new URL(url).host;

/**
 * The worker's least-privilege rules, as the deploy manifests grant them: the per-namespace Role of
 * deploy/kustomize/base/release-namespaces.yaml (or, in older layouts, the ClusterRole).
 */
export function workerRbacRules(): k8s.V1PolicyRule[] {
  const candidates = [
    'deploy/kustomize/base/release-namespaces.yaml',
    'deploy/kustomize/overlays/cluster-wide/clusterrole.yaml',
    'deploy/kustomize/base/clusterrole.yaml',
  ];
  for (const rel of candidates) {
    const file = join(projectRoot, rel);
    if (!existsSync(file)) continue;
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const obj = doc.toJSON() as { kind?: string; rules?: k8s.V1PolicyRule[] } | null;
      if ((obj?.kind === 'Role' || obj?.kind === 'ClusterRole') && obj.rules) return obj.rules;
    }
  }
  throw new Error(`no Role/ClusterRole with the worker's rules in ${candidates.join(', ')}`);
}

export async function startChaosEnv(opts: {
  artifactsDir: string;
  log?: (m: string) => void;
}): Promise<ChaosEnv> {
  const log = opts.log ?? (() => undefined);
  const stack = loadStackConfig();
  mkdirSync(opts.artifactsDir, { recursive: true });
  const admin = kube(stack);
  const rbac = admin.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const rules = workerRbacRules();

  const creds = ensureCredentials(stack.stateDir);
  const apiserverCa = readFileSync(join(creds.certDir, 'apiserver.crt'));
  const kubeLayer = new FaultLayer({
    name: 'kube',
    upstream: stack.urls.apiserver,
    upstreamCa: apiserverCa,
    tls: { cert: apiserverCa, key: readFileSync(join(creds.certDir, 'apiserver.key')) },
  });
  const slackLayer = new FaultLayer({ name: 'slack', upstream: stack.urls.fakeSlack });
  await kubeLayer.start();
  await slackLayer.start();

  let toxiServer: ToxiproxyServer | undefined;
  try {
    toxiServer = await startToxiproxy(join(opts.artifactsDir, 'toxiproxy.log'));
    const toxi = toxiServer.client;
    log(`toxiproxy ${await toxi.version()} on 127.0.0.1:${toxiServer.port}`);
    const proxies: Record<ProxyName, ProxyInfo> = {
      kube: await toxi.createProxy('kube', kubeLayer.address),
      prometheus: await toxi.createProxy('prometheus', addressOf(stack.urls.prometheus)),
      slack: await toxi.createProxy('slack', slackLayer.address),
      webhook: await toxi.createProxy('webhook', addressOf(stack.urls.webhook)),
      temporal: await toxi.createProxy('temporal', stack.urls.temporal),
    };
    const connection = await Connection.connect({ address: stack.urls.temporal });
    const server = toxiServer;
    return {
      stack,
      admin,
      rbac,
      rules,
      toxi,
      proxies,
      kubeLayer,
      slackLayer,
      slack: new FakeSlackClient(stack.urls.fakeSlack),
      hooks: new WebhookServiceClient(stack.urls.webhook),
      connection,
      artifactsDir: opts.artifactsDir,
      apiserverCa,
      addProxy: async (name, upstream) => {
        return toxi.createProxy(name, upstream);
      },
      stop: async () => {
        await connection.close().catch(() => undefined);
        await server.stop();
        await kubeLayer.stop();
        await slackLayer.stop();
      },
    };
  } catch (e) {
    await toxiServer?.stop();
    await kubeLayer.stop();
    await slackLayer.stop();
    throw e;
  }
}

// ── a scenario's namespace, credentials and worker ───────────────────────────────────────────────────────────

export interface ScenarioSpace {
  namespace: string;
  taskQueue: string;
  /** The worker's kubeconfig: the kube proxy's address, the ServiceAccount's token. */
  kubeconfig: string;
  /** Slack channel of this scenario's releases. */
  channel: string;
  cleanup: () => Promise<void>;
}

export async function createSpace(env: ChaosEnv, id: string): Promise<ScenarioSpace> {
  const short = id
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 30)
    .replace(/-+$/, '');
  const namespace = `chaos-${short}-${Date.now().toString(36)}`;
  const { core, apps } = env.admin;
  await core.createNamespace({
    body: { metadata: { name: namespace, labels: { 'fledge.dev/chaos': 'true' } } },
  });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: workerSa } } });
  await env.rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: workerSa }, rules: env.rules },
  });
  await bindWorker(env, namespace);
  const token = await core.createNamespacedServiceAccountToken({
    name: workerSa,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const tokenValue = token.status?.token;
  if (!tokenValue) throw new Error('TokenRequest answered without a token');
  const dir = join(env.artifactsDir, namespace);
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, 'kubeconfig');
  const caFile = join(dir, 'apiserver.crt');
  writeFileSync(caFile, env.apiserverCa);
  writeKubeconfig(kubeconfig, `https://${env.proxies.kube.listen}`, tokenValue, caFile);
  await apps.createNamespacedDeployment({
    namespace,
    body: deployment('podinfo', namespace, oldImage, { app: 'podinfo' }, 2),
  });
  return {
    namespace,
    taskQueue: `chaos-${short}-${Date.now().toString(36)}`,
    kubeconfig,
    channel: `C-${namespace}`,
    cleanup: async () => {
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}

/** The worker's RoleBinding in the namespace (to its Role there, as deploy/kustomize/base grants it). */
export async function bindWorker(env: ChaosEnv, namespace: string): Promise<void> {
  await env.rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: workerSa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: workerSa },
      subjects: [{ kind: 'ServiceAccount', name: workerSa, namespace }],
    },
  });
}

/** Revokes the worker's permissions in the namespace: every request it makes there gets 403 Forbidden. */
export async function revokeWorker(env: ChaosEnv, namespace: string): Promise<void> {
  await env.rbac.deleteNamespacedRoleBinding({ name: workerSa, namespace });
}

export interface WorkerHandle {
  start: () => Promise<void>;
  /** SIGKILL, no goodbye. Resolves once the process is gone. */
  kill: () => Promise<void>;
  running: () => boolean;
  /** How many worker processes were started. */
  starts: () => number;
  stop: () => Promise<void>;
}

/** Environment of the worker child: every dependency through its proxy. */
export function workerEnv(
  env: ChaosEnv,
  space: ScenarioSpace,
  temporalProxy: ProxyInfo = env.proxies.temporal,
): NodeJS.ProcessEnv {
  const keep = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('FLEDGE_') && !k.startsWith('TEMPORAL_')),
  );
  return {
    ...keep,
    FLEDGE_STATE_DIR: env.stack.stateDir,
    TEMPORAL_ADDRESS: temporalProxy.listen,
    TEMPORAL_NAMESPACE: env.stack.temporalNamespace,
    FLEDGE_TASK_QUEUE: space.taskQueue,
    KUBECONFIG: space.kubeconfig,
    FLEDGE_PROMETHEUS_URL: `http://${env.proxies.prometheus.listen}`,
    FLEDGE_SLACK_TOKEN: 'xoxb-fledge-chaos',
    FLEDGE_SLACK_API_URL: `http://${env.proxies.slack.listen}/api/`,
    FLEDGE_WEB_UI_URL: env.stack.urls.temporalUi,
    FLEDGE_METRICS_PORT: 'off',
  };
}

export function workerProcess(
  env: ChaosEnv,
  space: ScenarioSpace,
  childEnv: NodeJS.ProcessEnv,
): WorkerHandle {
  let child: ChildProcess | undefined;
  let count = 0;
  const logFile = join(env.artifactsDir, space.namespace, 'worker.log');
  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null)
      throw new Error('worker already running');
    count++;
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`\n=== worker #${count} started ${new Date().toISOString()}\n`);
    // The production entry point (src/worker.ts main(): composition root, metrics off by env).
    const c = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/worker.ts')], {
      cwd: projectRoot,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    c.stdout?.pipe(log);
    c.stderr?.pipe(log);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`worker did not start within 60 s (log: ${logFile})`)),
        60_000,
      );
      c.stdout?.on('data', (b: Buffer) => {
        if (b.toString().includes('fledge worker: task queue')) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker exited early (${code ?? signal}); log: ${logFile}`));
      });
    });
  };
  const kill = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await gone;
  };
  return {
    start,
    kill,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    starts: () => count,
    stop: kill,
  };
}

/** The harness's own view: a client on the scenario's task queue, talking to Temporal directly. */
export function scenarioClient(
  env: ChaosEnv,
  space: ScenarioSpace,
  connection: Connection = env.connection,
): { client: Client; cfg: FledgeConfig } {
  const cfg = loadFledgeConfig({
    ...process.env,
    TEMPORAL_ADDRESS: env.stack.urls.temporal,
    TEMPORAL_NAMESPACE: env.stack.temporalNamespace,
    FLEDGE_TASK_QUEUE: space.taskQueue,
    KUBECONFIG: env.stack.kubeconfig,
  });
  return { client: new Client({ connection, namespace: cfg.temporal.namespace }), cfg };
}

// ── a scenario's own Temporal dev server (stopped and restarted on the same SQLite file) ────────────────────

export interface OwnTemporal {
  address: string;
  port: number;
  dbFile: string;
  /** Stops the server (SIGTERM, SIGKILL after 10 s). */
  stop: () => Promise<void>;
  /** Starts it again on the same port and database file. */
  start: () => Promise<void>;
}

export async function ownTemporal(env: ChaosEnv, name: string): Promise<OwnTemporal> {
  const bin = loadToolPaths().temporal;
  const port = await freePort();
  const dir = join(env.artifactsDir, name);
  mkdirSync(dir, { recursive: true });
  const dbFile = join(dir, 'temporal.db');
  const address = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const log = createWriteStream(join(dir, 'temporal.log'), { flags: 'a' });
    const c = spawn(
      bin,
      [
        'server',
        'start-dev',
        '--ip=127.0.0.1',
        `--port=${port}`,
        '--headless',
        `--db-filename=${dbFile}`,
        `--namespace=${env.stack.temporalNamespace}`,
        '--log-level=warn',
        '--dynamic-config-value=frontend.enableUpdateWorkflowExecution=true',
        '--dynamic-config-value=frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
        '--dynamic-config-value=system.enableEagerWorkflowStart=true',
        ...fledgeSearchAttributes.map(
          (k) => `--search-attribute=${k.name}=${searchAttributeCliType(k.type)}`,
        ),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout?.pipe(log);
    c.stderr?.pipe(log);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (c.exitCode !== null)
        throw new Error(`temporal dev server exited with ${c.exitCode} (${dir}/temporal.log)`);
      const ok =
        spawnSync(bin, ['operator', 'cluster', 'health', `--address=${address}`], {
          timeout: 5000,
          stdio: 'ignore',
        }).status === 0;
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`temporal dev server on ${address} not healthy after 60 s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  };
  await start();
  return { address, port, dbFile, start, stop };
}
