// Where the local stack lives and which loopback ports it uses. Every port can be overridden by an env var
// FLEDGE_<NAME>_PORT (e.g. FLEDGE_TEMPORAL_PORT=7233), all at once shifted by FLEDGE_PORT_OFFSET; the state dir
// by FLEDGE_STATE_DIR.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useConfigDefaults, type ConfigDefaults } from '../../config.js';

export const projectRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

const defaultPorts = {
  etcd: 23790,
  etcdPeer: 23800,
  apiserver: 26443,
  controllerManager: 20257,
  scheduler: 20259,
  kwok: 20247,
  temporal: 27233,
  temporalUi: 28233,
  temporalMetrics: 27240,
  prometheus: 29090,
  meshSim: 29101,
  fakeSlack: 29102,
  webhook: 29103,
  workerMetrics: 29110,
} as const;

export type PortName = keyof typeof defaultPorts;
export type StackPorts = Record<PortName, number>;

export interface StackConfig {
  stateDir: string;
  logDir: string;
  runDir: string;
  kubeconfig: string;
  ports: StackPorts;
  temporalNamespace: string;
  urls: {
    apiserver: string;
    temporal: string; // host:port for gRPC
    temporalUi: string;
    prometheus: string;
    meshSim: string;
    fakeSlack: string; // base for slackApiUrl: `${fakeSlack}/api/`
    webhook: string;
  };
}

function envName(name: string): string {
  return `FLEDGE_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT`;
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const stateDir = resolve(env.FLEDGE_STATE_DIR ?? join(projectRoot, '.fledge'));
  // FLEDGE_PORT_OFFSET shifts every default port, so two stacks (say, a developer's and a test run's) can coexist.
  const offset = Number(env.FLEDGE_PORT_OFFSET ?? 0);
  if (!Number.isInteger(offset) || offset < 0 || offset > 30000)
    throw new Error(`FLEDGE_PORT_OFFSET=${env.FLEDGE_PORT_OFFSET} is not a valid offset`);
  const ports = Object.fromEntries(
    Object.entries(defaultPorts).map(([k, v]) => [k, v + offset]),
  ) as StackPorts;
  for (const key of Object.keys(defaultPorts) as PortName[]) {
    const raw = env[envName(key)];
    if (raw !== undefined && raw !== '') {
      const n = Number(raw);
      if (!Number.isInteger(n) || n <= 0 || n > 65535)
        throw new Error(`${envName(key)}=${raw} is not a valid port`);
      ports[key] = n;
    }
  }
  const h = '127.0.0.1';
  return {
    stateDir,
    logDir: join(stateDir, 'logs'),
    runDir: join(stateDir, 'run'),
    kubeconfig: join(stateDir, 'kubeconfig'),
    ports,
    temporalNamespace: env.FLEDGE_TEMPORAL_NAMESPACE ?? 'default',
    urls: {
      apiserver: `https://${h}:${ports.apiserver}`,
      temporal: `${h}:${ports.temporal}`,
      temporalUi: `http://${h}:${ports.temporalUi}`,
      prometheus: `http://${h}:${ports.prometheus}`,
      meshSim: `http://${h}:${ports.meshSim}`,
      fakeSlack: `http://${h}:${ports.fakeSlack}`,
      webhook: `http://${h}:${ports.webhook}`,
    },
  };
}

/**
 * The embedded stack's values for unset Fledge settings (src/config.ts has none of its own). Processes that use the
 * stack opt in: `fledge dev …`, `npm run demo`, the CLI's client commands (with a notice), the test support.
 */
export function devConfigDefaults(env: NodeJS.ProcessEnv = process.env): ConfigDefaults {
  const s = loadStackConfig(env);
  return {
    source: 'the embedded dev stack',
    temporalAddress: s.urls.temporal,
    temporalNamespace: s.temporalNamespace,
    prometheusUrl: s.urls.prometheus,
    webUiUrl: s.urls.temporalUi,
    kubeconfig: s.kubeconfig,
  };
}

/** Opts this process in: unset settings take the embedded stack's values from now on (`useConfigDefaults`). */
export function useDevStackDefaults(
  onUse?: (defaults: ConfigDefaults, env: NodeJS.ProcessEnv) => void,
): void {
  useConfigDefaults((env) => {
    const defaults = devConfigDefaults(env);
    onUse?.(defaults, env);
    return defaults;
  });
}

/**
 * The embedded stack as explicit settings (`fledge dev env` prints them): an environment in which a plain worker or
 * CLI — no defaults at all — talks to the local stack.
 */
export function devStackEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const d = devConfigDefaults(env);
  return {
    TEMPORAL_ADDRESS: d.temporalAddress,
    TEMPORAL_NAMESPACE: d.temporalNamespace,
    FLEDGE_PROMETHEUS_URL: d.prometheusUrl,
    FLEDGE_WEB_UI_URL: d.webUiUrl,
    KUBECONFIG: d.kubeconfig,
  };
}

/** Tool binaries as resolved by scripts/install-tools.sh (written to $FLEDGE_TOOLS_CACHE/env.sh). */
export interface ToolPaths {
  temporal: string;
  etcd: string;
  kwok: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  prometheus: string;
  crdsDir: string;
}

export function toolsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLEDGE_TOOLS_CACHE ?? join(homedir(), '.cache', 'fledge-tools');
}

/** The tool versions pinned in scripts/versions.env (`NAME=value` lines). */
export function pinnedVersions(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(projectRoot, 'scripts', 'versions.env'), 'utf8')
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  ) as Record<string, string>;
}

/**
 * The real Flagger controller for side-by-side benches and the switch-over test: $FLEDGE_FLAGGER_BIN, else where
 * `scripts/install-tools.sh flagger` caches the pinned version (it may not be built: check `existsSync`).
 */
export function flaggerBinary(env: NodeJS.ProcessEnv = process.env): { version: string; bin: string } {
  const version = pinnedVersions().FLAGGER_VERSION ?? '?';
  return {
    version,
    bin: env.FLEDGE_FLAGGER_BIN ?? join(toolsCacheDir(env), `flagger-${version}`, 'flagger'),
  };
}

export function loadToolPaths(env: NodeJS.ProcessEnv = process.env): ToolPaths {
  const file = join(toolsCacheDir(env), 'env.sh');
  if (!existsSync(file)) {
    throw new Error(`tool paths not found at ${file}: run scripts/install-tools.sh first`);
  }
  const vars = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) vars.set(m[1], m[2]);
  }
  const get = (k: string): string => {
    const v = env[k] ?? vars.get(k);
    if (!v) throw new Error(`${k} missing from ${file}: rerun scripts/install-tools.sh`);
    return v;
  };
  return {
    temporal: get('FLEDGE_TEMPORAL_BIN'),
    etcd: get('FLEDGE_ETCD_BIN'),
    kwok: get('FLEDGE_KWOK_BIN'),
    kubeApiserver: get('FLEDGE_KUBE_APISERVER_BIN'),
    kubeControllerManager: get('FLEDGE_KUBE_CONTROLLER_MANAGER_BIN'),
    kubeScheduler: get('FLEDGE_KUBE_SCHEDULER_BIN'),
    prometheus: get('FLEDGE_PROMETHEUS_BIN'),
    crdsDir: get('FLEDGE_CRDS_DIR'),
  };
}
