// `fledge dev up|down|status|env|worker`: the embedded local stack, and a worker on it.
import type { Command } from 'commander';
import { CliError, exitCodes } from './errors.js';
import { isJson, outputOption } from './output.js';
import { componentOrder, type ComponentName } from '../dev/stack/components.js';
import { devStackEnv } from '../dev/stack/config.js';

// The orchestration (process spawning, Kubernetes and Temporal clients) loads only when a dev command runs:
// every other command starts faster without it.
const stack = () => import('../dev/stack/stack.js');

function parseOnly(value: string | undefined): ComponentName[] | undefined {
  if (!value) return undefined;
  const names = value.split(',').map((s) => s.trim());
  const bad = names.filter((n) => !(componentOrder as string[]).includes(n));
  if (bad.length > 0)
    throw new CliError(
      `unknown component(s): ${bad.join(', ')}; known: ${componentOrder.join(', ')}`,
      exitCodes.invalidInput,
    );
  return names as ComponentName[];
}

export function registerDevCommands(program: Command): void {
  const dev = program
    .command('dev')
    .description('run the embedded local stack (Kubernetes, Temporal, Prometheus, fakes)');
  dev
    .command('up')
    .description('start every part of the local stack (idempotent; already-running parts are kept)')
    .option('--only <components>', `comma-separated subset of: ${componentOrder.join(', ')}`)
    .action(async (opts: { only?: string }) => {
      await (await stack()).stackUp({ only: parseOnly(opts.only) });
    });
  dev
    .command('down')
    .description('stop exactly the processes `dev up` started (PID files)')
    .option('--purge', 'also delete the state directory (cluster data, Temporal DB, logs)')
    .action(async (opts: { purge?: boolean }) => {
      await (await stack()).stackDown({ purge: opts.purge });
    });
  dev
    .command('status')
    .description('show each part with its PID and URL')
    .addOption(outputOption())
    .action(async (opts: { output: string }) => {
      const rows = await (await stack()).stackStatus();
      if (isJson(opts.output)) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      for (const r of rows) {
        console.log(`${r.name.padEnd(24)} ${r.state.padEnd(10)} ${String(r.pid ?? '-').padEnd(8)} ${r.url}`);
      }
      if (rows.some((r) => r.state !== 'running')) process.exitCode = 1;
    });
  dev
    .command('env')
    .description(
      'print the local stack as explicit settings, for a shell: eval "$(npx fledge dev env)" (then e.g. `fledge worker`)',
    )
    .action(() => {
      const quote = (v: string): string => `'${v.replaceAll("'", "'\\''")}'`;
      const lines = Object.entries(devStackEnv()).map(([k, v]) => `export ${k}=${quote(v)}\n`);
      process.stdout.write(lines.join(''));
    });
  dev
    .command('worker')
    .description(
      'run a worker on the local stack: its settings for whatever the environment leaves unset, metrics scraped by its Prometheus, alerts to its fake Slack, plus the demo workflow',
    )
    .action(async () => {
      await (await import('../dev/worker.js')).runDevWorker();
    });
}
