// Fledge mesh simulator: reads the live VirtualService/HTTPRoute routing, Services, Deployments and Pods
// of the local apiserver every second, simulates requests per routed service in-process, and serves
// Istio-format metrics for Prometheus. Run: node --import tsx src/dev/mesh-sim/main.ts [--port N]
// [--host H] [--kubeconfig PATH] [--seed N] [--poll-ms N] [--tick-ms N] [--configmap NS/NAME]
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { closeServer, exitOnSignals } from '../http.js';
import { loadStackConfig } from '../stack/config.js';
import {
  configMapName,
  configMapNamespace,
  defaultSimConfig,
  parseSimConfig,
  type SimConfig,
} from './config.js';
import { MeshSimulator } from './engine.js';
import { createKubeSource, type KubeSource } from './kube.js';
import { startServer } from './server.js';
import { buildWorld, describeFlow } from './world.js';

const log = (msg: string): void => console.log(`${new Date().toISOString()} mesh-sim ${msg}`);
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${raw} must be a positive integer`);
  return n;
}

async function main(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      kubeconfig: { type: 'string' },
      seed: { type: 'string' },
      'poll-ms': { type: 'string' },
      'tick-ms': { type: 'string' },
      configmap: { type: 'string' },
    },
    strict: true,
  });
  const stack = loadStackConfig(env);
  const host = args.host ?? '127.0.0.1';
  const port = positiveInt('--port', args.port, stack.ports.meshSim);
  const pollMs = positiveInt('--poll-ms', args['poll-ms'] ?? env.FLEDGE_MESH_SIM_POLL_MS, 1000);
  const tickMs = positiveInt('--tick-ms', args['tick-ms'] ?? env.FLEDGE_MESH_SIM_TICK_MS, 100);
  const seed = Number(args.seed ?? env.FLEDGE_MESH_SIM_SEED ?? Date.now() % 2 ** 31);
  const [cmNamespace, cmName] = (
    args.configmap ??
    env.FLEDGE_MESH_SIM_CONFIGMAP ??
    `${configMapNamespace}/${configMapName}`
  ).split('/');
  // Explicit path first; then the local stack's kubeconfig when it exists, so a developer's $KUBECONFIG
  // (maybe a real cluster) is only used when there is no local stack.
  const kubeconfigPath = (): string =>
    args.kubeconfig ??
    env.FLEDGE_MESH_SIM_KUBECONFIG ??
    (existsSync(stack.kubeconfig) ? stack.kubeconfig : (env.KUBECONFIG?.split(':')[0] ?? stack.kubeconfig));

  const sim = new MeshSimulator({ seed });
  let config: SimConfig = defaultSimConfig;
  let configText = '';
  let configError: string | null = null;
  let source: KubeSource | null = null;
  let lastPoll: { ok: boolean; at: string | null; error: string | null } = {
    ok: false,
    at: null,
    error: null,
  };
  let lastWarnings = '';
  let lastProblems = '';
  const routes = new Map<string, string>();
  const startedAt = Date.now();

  const poll = async (): Promise<void> => {
    try {
      if (!source) {
        const path = kubeconfigPath();
        source = createKubeSource(path, {
          namespace: cmNamespace ?? configMapNamespace,
          name: cmName ?? configMapName,
        });
        log(`watching the apiserver of ${path} every ${pollMs} ms; ConfigMap ${cmNamespace}/${cmName}`);
      }
      const r = await source.read();
      const parsed = parseSimConfig(r.configData);
      if (parsed.ok) {
        config = parsed.config;
        configError = null;
        const text = JSON.stringify(config);
        if (text !== configText) {
          configText = text;
          log(`config from ${parsed.source}: ${text}`);
        }
      } else if (parsed.error !== configError) {
        configError = parsed.error;
        log(`config rejected, keeping the previous one: ${parsed.error}`);
      }
      const world = buildWorld(r.snapshot, config.clusterDomain);
      sim.update(world, config);
      const seen = new Set<string>();
      for (const flow of world.flows) {
        seen.add(flow.key);
        const line = describeFlow(flow, world);
        if (routes.get(flow.key) !== line) {
          routes.set(flow.key, line);
          log(`route ${line}`);
        }
      }
      for (const key of [...routes.keys()]) {
        if (!seen.has(key)) {
          routes.delete(key);
          log(`route ${key} removed`);
        }
      }
      const warnings = r.warnings.join('; ');
      if (warnings !== lastWarnings && warnings !== '') log(`warning: ${warnings}`);
      lastWarnings = warnings;
      const problems = world.problems.join('; ');
      if (problems !== lastProblems && problems !== '') log(`cannot read: ${problems}`);
      lastProblems = problems;
      if (!lastPoll.ok && lastPoll.error) log('apiserver reachable again');
      lastPoll = { ok: true, at: new Date().toISOString(), error: null };
    } catch (e) {
      const error = errText(e);
      if (error !== lastPoll.error) log(`poll failed (keeping the last routing table): ${error}`);
      lastPoll = { ok: false, at: new Date().toISOString(), error };
    }
  };

  const server: Server = await startServer(host, port, {
    metrics: () => sim.renderMetrics(),
    health: () => ({
      ok: true,
      lastPoll,
      configError,
      flows: sim.currentWorld().flows.length,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    }),
    debug: () => ({ lastPoll, configError, seed, ...sim.debug() }),
  });
  log(`listening on http://${host}:${port} (/metrics /healthz /debug), seed ${seed}`);

  let stopping = false;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  const loop = async (): Promise<void> => {
    await poll();
    if (!stopping) pollTimer = setTimeout(() => void loop(), pollMs);
  };
  void loop();

  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    sim.advance((now - last) / 1000, Date.now());
    last = now;
  }, tickMs);

  exitOnSignals(log, () => {
    stopping = true;
    clearInterval(tick);
    if (pollTimer) clearTimeout(pollTimer);
    return closeServer(server);
  });
}

main().catch((e: unknown) => {
  console.error(`mesh-sim: ${errText(e)}`);
  process.exit(1);
});
