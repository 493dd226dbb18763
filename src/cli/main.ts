#!/usr/bin/env node
// The `fledge` command line.
import { Command } from 'commander';
import { registerDevCommands } from './dev.js';
import { CliError, exitCodes } from './errors.js';
import { registerListCommand, registerOperatorCommands } from './operate.js';
import { registerStartCommands } from './start.js';

export function buildProgram(): Command {
  const program = new Command('fledge')
    .description('Progressive delivery for Kubernetes where every release is a durable Temporal workflow')
    .version('0.1.0');
  registerStartCommands(program);
  registerOperatorCommands(program);
  registerListCommand(program);
  registerDevCommands(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(`fledge: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = err instanceof CliError ? err.exitCode : exitCodes.failure;
  });
