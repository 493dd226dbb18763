// The `fledge` program: its commands, and one run of it with the exit code (src/cli/main.ts runs it on
// process.argv; tests run it in-process).
import { Command, CommanderError } from 'commander';
import { exitCodeFor, exitCodes } from './errors.js';
import { configureOutput, err, safeText } from './output.js';

type Register = (program: Command) => void;

/**
 * The commands, in the order `fledge --help` lists them, each with the module that defines it. A module (and what it
 * imports: the Temporal client, the spec schemas, the Kubernetes client…) is loaded only when one of its commands
 * may run, so `fledge validate` never loads the Temporal client and `fledge start` never loads `history`'s
 * decoder or the dev stack's orchestration.
 */
const registrations: ReadonlyArray<{ commands: readonly string[]; load: () => Promise<Register> }> = [
  { commands: ['start', 'validate'], load: async () => (await import('./start.js')).registerStartCommands },
  {
    commands: ['status', 'approve', 'pause', 'resume', 'promote', 'abort'],
    load: async () => (await import('./operate.js')).registerOperatorCommands,
  },
  { commands: ['retry'], load: async () => (await import('./retry.js')).registerRetryCommand },
  { commands: ['history'], load: async () => (await import('./history.js')).registerHistoryCommand },
  { commands: ['list'], load: async () => (await import('./operate.js')).registerListCommand },
  { commands: ['codec-server'], load: async () => (await import('./codec.js')).registerCodecCommand },
  { commands: ['cluster-mode'], load: async () => (await import('./cluster.js')).registerClusterCommand },
  { commands: ['worker'], load: async () => (await import('./worker.js')).registerWorkerCommand },
  { commands: ['dev'], load: async () => (await import('./dev.js')).registerDevCommands },
];

/**
 * The registrations `argv` needs: only the named command's when the command line names one (after the program's
 * own `--no-color`); every command otherwise (`fledge --help`, `fledge help …`, a typo that commander answers with
 * "did you mean", no command at all) — so every output is exactly what the whole program would print.
 */
function registrationsFor(argv: readonly string[] | undefined): Array<() => Promise<Register>> {
  if (argv !== undefined) {
    const args = argv.slice(2);
    let i = 0;
    while (args[i] === '--no-color') i++;
    const named = args[i];
    const one = registrations.find((r) => named !== undefined && r.commands.includes(named));
    if (one) return [one.load];
  }
  return registrations.map((r) => r.load);
}

/**
 * The `fledge` program. With `argv`, only the commands that command line can run are defined (see
 * `registrationsFor`); without it, all of them.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
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
  const registers = await Promise.all(registrationsFor(argv).map((load) => load()));
  for (const register of registers) register(program);
  return program;
}

/**
 * Runs the CLI on `argv` (`process.argv` shape: node, script, args…) and returns the exit code. Errors are printed
 * to standard error, sanitised: control characters escaped, long values cut.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync([...argv]);
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
