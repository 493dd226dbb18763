// The `fledge` program: its commands, and one run of it with the exit code (src/cli/main.ts runs it on
// process.argv; tests run it in-process).
import { Command, CommanderError } from 'commander';
import { registerClusterCommand } from './cluster.js';
import { registerCodecCommand } from './codec.js';
import { registerDevCommands } from './dev.js';
import { exitCodeFor, exitCodes } from './errors.js';
import { registerHistoryCommand } from './history.js';
import { registerListCommand, registerOperatorCommands } from './operate.js';
import { configureOutput, err, safeText } from './output.js';
import { registerRetryCommand } from './retry.js';
import { registerStartCommands } from './start.js';
import { registerWorkerCommand } from './worker.js';

export function buildProgram(): Command {
  const program = new Command('fledge')
    .description('Progressive delivery for Kubernetes where every release is a durable Temporal workflow')
    .version('0.1.0')
    .option('--no-color', 'no ANSI colours (also: NO_COLOR set, or output not a terminal)')
    // Usage errors (unknown option, missing argument, bad -o value) exit 5 like any other invalid input.
    .exitOverride()
    // Commander echoes the offending argument: escaped and bounded like every other message (set before the
    // commands are added, which inherit it).
    .configureOutput({ outputError: (text, write) => write(safeText(text)) })
    .showHelpAfterError('(add --help for usage)')
    .hook('preAction', (_program, action) => {
      configureOutput({ color: action.optsWithGlobals<{ color?: boolean }>().color });
    });
  registerStartCommands(program);
  registerOperatorCommands(program);
  registerRetryCommand(program);
  registerHistoryCommand(program);
  registerListCommand(program);
  registerCodecCommand(program);
  registerClusterCommand(program);
  registerWorkerCommand(program);
  registerDevCommands(program);
  return program;
}

/**
 * Runs the CLI on `argv` (`process.argv` shape: node, script, args…) and returns the exit code. Errors are printed
 * to standard error, sanitised: control characters escaped, long values cut.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander printed the message (or the help / version) already.
      return e.exitCode === 0 ? 0 : exitCodes.invalidInput;
    }
    console.error(`${err().red('fledge:')} ${safeText(e instanceof Error ? e.message : String(e))}`);
    return exitCodeFor(e);
  }
}
