// The embedded local stack: real etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
// Temporal dev server, Prometheus, plus the project's own dev services (mesh simulator, fake Slack,
// webhook test service). Each runs as a local process on loopback with a PID file; `down` stops exactly those.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fledgeSearchAttributes } from '../../workflows/search-attributes.js';
import { loadStackConfig, loadToolPaths, projectRoot, type StackConfig, type ToolPaths } from './config.js';
import { httpOk, httpsOkInsecure, tcpOpen, waitFor } from './health.js';
import {
  applyCrds,
  crdFiles,
  ensureCredentials,
  ensureKwokNode,
  kubeConfigFrom,
  writeKubeconfig,
  type KubeCredentials,
} from './kube.js';
import { componentOrder, type ComponentName } from './components.js';
import { isOurProcess, readPid, startProcess, stopProcess, tailLog, type SpawnSpec } from './process.js';

interface Ctx {
  cfg: StackConfig;
  tools: ToolPaths;
  creds: KubeCredentials;
  log: (msg: string) => void;
}

interface Component {
  name: ComponentName;
  /** The main port; it must be free before the component starts. */
  port: (cfg: StackConfig) => number;
  url: (cfg: StackConfig) => string;
  spawn: (ctx: Ctx) => SpawnSpec;
  healthy: (ctx: Ctx) => Promise<boolean>;
  startTimeoutMs: number;
  /** Runs once the component is healthy (idempotent). */
  afterStart?: (ctx: Ctx) => Promise<void>;
}

const nodeTs = (name: ComponentName, entry: string): SpawnSpec => ({
  name,
  command: process.execPath,
  args: ['--import', 'tsx', join(projectRoot, entry)],
  cwd: projectRoot,
});

const bearer = (ctx: Ctx): Record<string, string> => ({ Authorization: `Bearer ${ctx.creds.token}` });

const components: Record<ComponentName, Component> = {
  etcd: {
    name: 'etcd',
    port: (c) => c.ports.etcd,
    url: (c) => `http://127.0.0.1:${c.ports.etcd}`,
    startTimeoutMs: 30_000,
    spawn: ({ cfg, tools }) => ({
      name: 'etcd',
      command: tools.etcd,
      args: [
        '--name=fledge',
        `--data-dir=${join(cfg.stateDir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${cfg.ports.etcd}`,
        `--advertise-client-urls=http://127.0.0.1:${cfg.ports.etcd}`,
        `--listen-peer-urls=http://127.0.0.1:${cfg.ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${cfg.ports.etcdPeer}`,
        `--initial-cluster=fledge=http://127.0.0.1:${cfg.ports.etcdPeer}`,
        '--unsafe-no-fsync', // a dev cluster: speed over durability
        '--log-level=warn',
      ],
    }),
    healthy: ({ cfg }) => httpOk(`http://127.0.0.1:${cfg.ports.etcd}/health`),
  },
  'kube-apiserver': {
    name: 'kube-apiserver',
    port: (c) => c.ports.apiserver,
    url: (c) => c.urls.apiserver,
    startTimeoutMs: 90_000,
    spawn: ({ cfg, tools, creds }) => ({
      name: 'kube-apiserver',
      command: tools.kubeApiserver,
      args: [
        `--etcd-servers=http://127.0.0.1:${cfg.ports.etcd}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${cfg.ports.apiserver}`,
        '--advertise-address=127.0.0.1',
        `--cert-dir=${creds.certDir}`,
        `--token-auth-file=${creds.tokenFile}`,
        '--authorization-mode=Node,RBAC',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--allow-privileged=true',
        `--service-account-issuer=https://127.0.0.1:${cfg.ports.apiserver}`,
        `--service-account-key-file=${creds.saPub}`,
        `--service-account-signing-key-file=${creds.saKey}`,
        '--endpoint-reconciler-type=none',
        '--v=0',
      ],
    }),
    healthy: (ctx) => httpsOkInsecure(`${ctx.cfg.urls.apiserver}/readyz`, bearer(ctx)),
    afterStart: async ({ cfg, creds }) => {
      writeKubeconfig(cfg.kubeconfig, cfg.urls.apiserver, creds.token, join(creds.certDir, 'apiserver.crt'));
    },
  },
  'kube-controller-manager': {
    name: 'kube-controller-manager',
    port: (c) => c.ports.controllerManager,
    url: (c) => `https://127.0.0.1:${c.ports.controllerManager}/healthz`,
    startTimeoutMs: 60_000,
    spawn: ({ cfg, tools, creds }) => ({
      name: 'kube-controller-manager',
      command: tools.kubeControllerManager,
      args: [
        `--kubeconfig=${cfg.kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${cfg.ports.controllerManager}`,
        `--service-account-private-key-file=${creds.saKey}`,
        `--root-ca-file=${join(creds.certDir, 'apiserver.crt')}`,
        '--use-service-account-credentials=false',
        '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
        '--authentication-skip-lookup=true',
        '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
        '--v=0',
      ],
    }),
    healthy: ({ cfg }) => httpsOkInsecure(`https://127.0.0.1:${cfg.ports.controllerManager}/healthz`),
  },
  'kube-scheduler': {
    name: 'kube-scheduler',
    port: (c) => c.ports.scheduler,
    url: (c) => `https://127.0.0.1:${c.ports.scheduler}/healthz`,
    startTimeoutMs: 60_000,
    spawn: ({ cfg, tools }) => ({
      name: 'kube-scheduler',
      command: tools.kubeScheduler,
      args: [
        `--kubeconfig=${cfg.kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${cfg.ports.scheduler}`,
        '--authentication-skip-lookup=true',
        '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
        '--v=0',
      ],
    }),
    healthy: ({ cfg }) => httpsOkInsecure(`https://127.0.0.1:${cfg.ports.scheduler}/healthz`),
  },
  kwok: {
    name: 'kwok',
    port: (c) => c.ports.kwok,
    url: (c) => `http://127.0.0.1:${c.ports.kwok}/healthz`,
    startTimeoutMs: 60_000,
    spawn: ({ cfg, tools }) => ({
      name: 'kwok',
      command: tools.kwok,
      args: [
        `--kubeconfig=${cfg.kubeconfig}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--manage-nodes-with-label-selector=',
        '--manage-single-node=',
        '--cidr=10.0.0.1/24',
        '--node-ip=10.0.0.1',
        '--node-lease-duration-seconds=40',
        `--server-address=127.0.0.1:${cfg.ports.kwok}`,
      ],
    }),
    healthy: ({ cfg }) => httpOk(`http://127.0.0.1:${cfg.ports.kwok}/healthz`),
    afterStart: async ({ cfg, tools, log }) => {
      const kc = kubeConfigFrom(cfg.kubeconfig);
      await ensureKwokNode(kc);
      const names = await applyCrds(kc, crdFiles(tools.crdsDir));
      log(`  CRDs established: ${names.length} (Istio networking + Gateway API standard + Flagger)`);
    },
  },
  temporal: {
    name: 'temporal',
    port: (c) => c.ports.temporal,
    url: (c) => c.urls.temporalUi,
    startTimeoutMs: 60_000,
    spawn: ({ cfg, tools }) => {
      mkdirSync(join(cfg.stateDir, 'temporal'), { recursive: true });
      return {
        name: 'temporal',
        command: tools.temporal,
        args: [
          'server',
          'start-dev',
          '--ip=127.0.0.1',
          `--port=${cfg.ports.temporal}`,
          `--ui-port=${cfg.ports.temporalUi}`,
          `--metrics-port=${cfg.ports.temporalMetrics}`,
          `--db-filename=${join(cfg.stateDir, 'temporal', 'temporal.db')}`,
          `--namespace=${cfg.temporalNamespace}`,
          '--log-level=warn',
          '--dynamic-config-value=frontend.enableUpdateWorkflowExecution=true',
          '--dynamic-config-value=frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
          '--dynamic-config-value=frontend.workerVersioningWorkflowAPIs=true',
          '--dynamic-config-value=system.enableEagerWorkflowStart=true',
          ...fledgeSearchAttributes.map(
            (k) => `--search-attribute=${k.name}=${searchAttributeCliType(k.type)}`,
          ),
        ],
      };
    },
    healthy: async ({ cfg, tools }) =>
      (await tcpOpen('127.0.0.1', cfg.ports.temporal)) &&
      (await httpOk(cfg.urls.temporalUi)) &&
      spawnSync(tools.temporal, ['operator', 'cluster', 'health', `--address=${cfg.urls.temporal}`], {
        timeout: 5000,
        stdio: 'ignore',
      }).status === 0,
  },
  prometheus: {
    name: 'prometheus',
    port: (c) => c.ports.prometheus,
    url: (c) => c.urls.prometheus,
    startTimeoutMs: 30_000,
    spawn: ({ cfg, tools }) => {
      const confPath = join(cfg.stateDir, 'prometheus.yml');
      writeFileSync(confPath, prometheusConfig(cfg));
      return {
        name: 'prometheus',
        command: tools.prometheus,
        args: [
          `--config.file=${confPath}`,
          `--storage.tsdb.path=${join(cfg.stateDir, 'prometheus')}`,
          `--web.listen-address=127.0.0.1:${cfg.ports.prometheus}`,
          '--web.enable-lifecycle',
          '--storage.tsdb.retention.time=1d',
          '--log.level=warn',
        ],
      };
    },
    healthy: ({ cfg }) => httpOk(`${cfg.urls.prometheus}/-/ready`),
  },
  'mesh-sim': {
    name: 'mesh-sim',
    port: (c) => c.ports.meshSim,
    url: (c) => `${c.urls.meshSim}/metrics`,
    startTimeoutMs: 30_000,
    spawn: () => nodeTs('mesh-sim', 'src/dev/mesh-sim/main.ts'),
    healthy: ({ cfg }) => httpOk(`${cfg.urls.meshSim}/healthz`),
  },
  'fake-slack': {
    name: 'fake-slack',
    port: (c) => c.ports.fakeSlack,
    url: (c) => `${c.urls.fakeSlack}/api/`,
    startTimeoutMs: 30_000,
    spawn: () => nodeTs('fake-slack', 'src/dev/fake-slack/main.ts'),
    healthy: ({ cfg }) => httpOk(`${cfg.urls.fakeSlack}/healthz`),
  },
  'webhook-service': {
    name: 'webhook-service',
    port: (c) => c.ports.webhook,
    url: (c) => c.urls.webhook,
    startTimeoutMs: 30_000,
    spawn: () => nodeTs('webhook-service', 'src/dev/webhook-service/main.ts'),
    healthy: ({ cfg }) => httpOk(`${cfg.urls.webhook}/healthz`),
  },
};

/** A search attribute's indexed-value type as the Temporal CLI dev server's --search-attribute flag spells it. */
export function searchAttributeCliType(t: string): string {
  const map: Record<string, string> = {
    KEYWORD: 'Keyword',
    INT: 'Int',
    TEXT: 'Text',
    BOOL: 'Bool',
    DOUBLE: 'Double',
    DATETIME: 'Datetime',
  };
  return map[t] ?? 'Keyword';
}

function prometheusConfig(cfg: StackConfig): string {
  return `# Written by fledge dev up.
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mesh-sim
    static_configs:
      - targets: ['127.0.0.1:${cfg.ports.meshSim}']
  - job_name: fledge-worker
    static_configs:
      - targets: ['127.0.0.1:${cfg.ports.workerMetrics}']
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${cfg.ports.prometheus}']
`;
}

export interface UpOptions {
  only?: ComponentName[];
  log?: (msg: string) => void;
}

/** Dependency chains started concurrently; within a chain, in order. */
const chains: ComponentName[][] = [
  ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'mesh-sim'],
  ['temporal'],
  ['prometheus', 'fake-slack', 'webhook-service'],
];

function resume(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // not ours to signal, or gone: the health check decides
  }
}

async function ensureComponent(comp: Component, ctx: Ctx): Promise<void> {
  const t0 = Date.now();
  const existing = readPid(ctx.cfg.runDir, comp.name);
  // A component a benchmark paused (SIGSTOP) and could not resume (it was killed) runs on again.
  if (existing && isOurProcess(existing)) resume(existing.pid);
  if (existing && isOurProcess(existing) && (await comp.healthy(ctx))) {
    await comp.afterStart?.(ctx);
    ctx.log(`  ${comp.name.padEnd(24)} already running (pid ${existing.pid})`);
    return;
  }
  if (existing) await stopProcess(ctx.cfg.runDir, comp.name, 3000);
  const port = comp.port(ctx.cfg);
  if (await tcpOpen('127.0.0.1', port)) {
    throw new Error(
      `${comp.name}: port ${port} is already in use by a process this stack did not start (state dir ${ctx.cfg.stateDir}). ` +
        `Stop it (e.g. \`fledge dev down\` in the checkout that started it) or choose other ports with FLEDGE_<NAME>_PORT.`,
    );
  }
  const rec = startProcess(comp.spawn(ctx), ctx.cfg.runDir, ctx.cfg.logDir);
  await waitFor(comp.name, () => comp.healthy(ctx), {
    timeoutMs: comp.startTimeoutMs,
    isAlive: () => isOurProcess(rec),
    onFail: () =>
      `--- last lines of ${join(ctx.cfg.logDir, `${comp.name}.log`)}:\n${tailLog(ctx.cfg.logDir, comp.name)}`,
  });
  await comp.afterStart?.(ctx);
  ctx.log(`  ${comp.name.padEnd(24)} up in ${((Date.now() - t0) / 1000).toFixed(1)} s  ${comp.url(ctx.cfg)}`);
}

export async function stackUp(opts: UpOptions = {}): Promise<StackConfig> {
  const cfg = loadStackConfig();
  const tools = loadToolPaths();
  const log = opts.log ?? ((m: string) => console.log(m));
  for (const d of [cfg.stateDir, cfg.logDir, cfg.runDir, join(cfg.stateDir, 'pki')])
    mkdirSync(d, { recursive: true });
  const creds = ensureCredentials(cfg.stateDir);
  const ctx: Ctx = { cfg, tools, creds, log };
  const wanted = new Set(opts.only ?? componentOrder);
  const t0 = Date.now();
  log(`Starting the local stack (state: ${cfg.stateDir})`);
  await Promise.all(
    chains.map(async (chain) => {
      for (const name of chain) if (wanted.has(name)) await ensureComponent(components[name], ctx);
    }),
  );
  log(`Local stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return cfg;
}

export async function stackDown(opts: { purge?: boolean; log?: (msg: string) => void } = {}): Promise<void> {
  const cfg = loadStackConfig();
  const log = opts.log ?? ((m: string) => console.log(m));
  for (const name of [...componentOrder].reverse()) {
    const r = await stopProcess(cfg.runDir, name);
    if (r === 'stopped') log(`  stopped ${name}`);
  }
  if (opts.purge && existsSync(cfg.stateDir)) {
    rmSync(cfg.stateDir, { recursive: true, force: true });
    log(`  removed ${cfg.stateDir}`);
  }
}

export interface ComponentStatus {
  name: ComponentName;
  state: 'running' | 'unhealthy' | 'stopped';
  pid?: number;
  url: string;
  log: string;
}

export async function stackStatus(): Promise<ComponentStatus[]> {
  const cfg = loadStackConfig();
  let tools: ToolPaths | undefined;
  try {
    tools = loadToolPaths();
  } catch {
    tools = undefined;
  }
  const creds = existsSync(join(cfg.stateDir, 'pki', 'tokens.csv'))
    ? ensureCredentials(cfg.stateDir)
    : undefined;
  const out: ComponentStatus[] = [];
  for (const name of componentOrder) {
    const comp = components[name];
    const rec = readPid(cfg.runDir, name);
    const alive = rec !== undefined && isOurProcess(rec);
    let state: ComponentStatus['state'] = 'stopped';
    if (alive) {
      const healthy = tools && creds ? await comp.healthy({ cfg, tools, creds, log: () => {} }) : false;
      state = healthy ? 'running' : 'unhealthy';
    }
    out.push({
      name,
      state,
      pid: alive ? rec.pid : undefined,
      url: comp.url(cfg),
      log: join(cfg.logDir, `${name}.log`),
    });
  }
  return out;
}
