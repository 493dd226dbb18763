// `fledge cluster-mode`: the GitOps trigger as a process of its own. Watches Canary objects (canaries.flagger.app) and
// their targets; a change of a target's pod template starts a release through the target's lane, and the Canary's
// status follows it as Flagger writes it (src/cluster/controller.ts). Runs until SIGINT/SIGTERM. Its configuration is
// the environment, strictly, like the production worker's: no dev-stack defaults (TEMPORAL_ADDRESS and Kubernetes
// access are required; it queries no metrics, so FLEDGE_PROMETHEUS_URL is not). The same controller runs inside a
// worker with `fledge worker --cluster-mode` / FLEDGE_CLUSTER_MODE=true.
import type { Command } from 'commander';
import {
  hasKubeAccess,
  loadFledgeConfig,
  MissingSettingsError,
  type FledgeConfig,
  type KubeAccessProbe,
} from '../config.js';
import { CliError, exitCodes } from './errors.js';
import { connectCli } from './connect.js';

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The configuration of a cluster-mode process: the environment only (registered dev defaults are ignored), with
 * TEMPORAL_ADDRESS and Kubernetes access required — all missing ones named in one `MissingSettingsError`.
 */
export function clusterModeConfig(
  env: NodeJS.ProcessEnv = process.env,
  kubeProbe?: KubeAccessProbe,
): FledgeConfig {
  const noKube = !hasKubeAccess(env, kubeProbe);
  try {
    const cfg = loadFledgeConfig(env, { defaults: null, role: 'client' });
    if (noKube) throw new MissingSettingsError(['KUBECONFIG']);
    return cfg;
  } catch (e) {
    if (e instanceof MissingSettingsError && noKube && !e.missing.includes('KUBECONFIG'))
      throw new MissingSettingsError([...e.missing, 'KUBECONFIG'], e.invalid);
    throw e;
  }
}

/** `-n a,b`: the namespaces to watch (checked), or undefined (all namespaces). */
export function parseNamespaces(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map((s) => s.trim());
  for (const ns of list)
    if (!dns1123.test(ns) || ns.length > 63)
      throw new CliError(`--namespace: not a namespace name: ${ns || '(empty)'}`, exitCodes.invalidInput);
  return [...new Set(list)];
}

export function registerClusterCommand(program: Command): void {
  program
    .command('cluster-mode')
    .description(
      'watch Canary objects in the cluster: a change of a target’s pod template (GitOps, kubectl set image) starts a release; the Canary’s status follows it. Configured by the environment only: TEMPORAL_ADDRESS and Kubernetes access are required',
    )
    .option(
      '-n, --namespace <namespaces>',
      'watch these namespaces only, comma-separated (default: all namespaces)',
    )
    .action(async (opts: { namespace?: string }) => {
      const listed = parseNamespaces(opts.namespace);
      let cfg: FledgeConfig;
      try {
        cfg = clusterModeConfig();
      } catch (e) {
        throw new CliError(
          `cluster mode cannot start: ${e instanceof Error ? e.message : String(e)}`,
          exitCodes.invalidInput,
        );
      }
      const { loadKubeConfig } = await import('../integrations/kubernetes/client.js');
      const { createElectedClusterMode, watchScopeOf } = await import('../cluster/controller.js');
      // Without -n: the namespaces FLEDGE_ALLOWED_NAMESPACES names literally, else all (as in the worker).
      const namespaces = listed ?? (cfg.policy ? watchScopeOf(cfg.policy) : undefined);
      const kc = loadKubeConfig(cfg.kubeconfig);
      const client = await connectCli(cfg);
      // Leader election (a coordination.k8s.io Lease; FLEDGE_LEASE_*, FLEDGE_LEADER_ELECTION=false to turn it off):
      // of several cluster-mode processes, one watches and starts releases. SIGTERM releases the Lease.
      const controller = createElectedClusterMode({ kc, client, cfg, ...(namespaces ? { namespaces } : {}) });
      await controller.start();
      console.log(
        `fledge cluster-mode: ready (Temporal ${cfg.temporal.address}, namespace ${cfg.temporal.namespace}, task queue ${cfg.taskQueue})`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await controller.stop();
      await client.connection.close();
    });
}
