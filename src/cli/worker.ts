// `fledge worker`: runs the production worker (src/worker.ts) in the foreground until SIGINT/SIGTERM. Its whole
// configuration is the environment, with no defaults: TEMPORAL_ADDRESS, FLEDGE_PROMETHEUS_URL and Kubernetes access
// must be there, or it exits 5 naming every missing one. `--cluster-mode` (or FLEDGE_CLUSTER_MODE=true) runs cluster
// mode in the same process. `fledge dev worker` (./dev.ts) is the embedded stack's.
import type { Command } from 'commander';
import { CliError, exitCodes } from './errors.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run a Fledge worker (release and lane workflows) configured by the environment only: TEMPORAL_ADDRESS, FLEDGE_PROMETHEUS_URL and Kubernetes access are required',
    )
    .option(
      '--cluster-mode',
      'also run cluster mode in this process: Canary objects in the cluster start releases (as FLEDGE_CLUSTER_MODE=true)',
    )
    .action(async (opts: { clusterMode?: boolean }) => {
      // The worker (Temporal's native worker, the integrations) loads only when this command runs.
      const { productionWorkerConfig, runWorker } = await import('../worker.js');
      let cfg;
      try {
        cfg = productionWorkerConfig();
      } catch (e) {
        throw new CliError(
          `the worker cannot start: ${e instanceof Error ? e.message : String(e)}`,
          exitCodes.invalidInput,
        );
      }
      await runWorker(opts.clusterMode ? { ...cfg, clusterMode: true } : cfg);
    });
}
