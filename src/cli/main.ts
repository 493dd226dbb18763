#!/usr/bin/env node
// The `fledge` command line.
import { Command, CommanderError } from 'commander';
import { registerDevCommands } from './dev.js';
import { CliError, exitCodes } from './errors.js';
import { registerHistoryCommand } from './history.js';
import { registerListCommand, registerOperatorCommands } from './operate.js';
import { configureOutput, err } from './output.js';
import { registerRetryCommand } from './retry.js';
import { registerStartCommands } from './start.js';

export function buildProgram(): Command {
  const program = new Command('fledge')
    .description('Progressive delivery for Kubernetes where every release is a durable Temporal workflow')
    .version('0.1.0')
    .option('--no-color', 'no ANSI colours (also: NO_COLOR set, or output not a terminal)')
    // Usage errors (unknown option, missing argument, bad -o value) exit 5 like any other invalid input.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .hook('preAction', (_program, action) => {
      configureOutput({ color: action.optsWithGlobals<{ color?: boolean }>().color });
    });
  registerStartCommands(program);
  registerOperatorCommands(program);
  registerRetryCommand(program);
  registerHistoryCommand(program);
  registerListCommand(program);
  registerDevCommands(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    if (e instanceof CommanderError) {
      // Commander printed the message (or the help / version) already.
      process.exitCode = e.exitCode === 0 ? 0 : exitCodes.invalidInput;
      return;
    }
    console.error(`${err().red('fledge:')} ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = e instanceof CliError ? e.exitCode : exitCodes.failure;
  });
