// `fledge cluster-mode`: the GitOps trigger. Watches Canary objects (canaries.flagger.app) and their targets; a
// change of a target's pod template starts a release through the target's lane, and the Canary's status follows it
// as Flagger writes it (src/cluster/controller.ts). Runs until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { CliError, exitCodes } from './errors.js';
import { cliConfig } from './options.js';
import { connectCli } from './connect.js';

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function registerClusterCommand(program: Command): void {
  program
    .command('cluster-mode')
    .description(
      'watch Canary objects in the cluster: a change of a target’s pod template (GitOps, kubectl set image) starts a release; the Canary’s status follows it',
    )
    .option('-n, --namespace <namespace>', 'watch this namespace only (default: all namespaces)')
    .action(async (opts: { namespace?: string }) => {
      if (opts.namespace !== undefined && (!dns1123.test(opts.namespace) || opts.namespace.length > 63))
        throw new CliError(`--namespace: not a namespace name: ${opts.namespace}`, exitCodes.invalidInput);
      const cfg = cliConfig();
      const { loadKubeConfig } = await import('../integrations/kubernetes/client.js');
      const { createClusterMode } = await import('../cluster/controller.js');
      const kc = loadKubeConfig(cfg.kubeconfig);
      const client = await connectCli(cfg);
      const controller = createClusterMode({
        kc,
        client,
        cfg,
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
      });
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
