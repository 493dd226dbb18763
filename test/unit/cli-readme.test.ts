// The README's CLI reference lists every command the `fledge` program registers (src/cli/program.ts), subcommands
// included: a command added without a row fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { projectRoot } from '../../src/dev/stack/config.js';

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');

/** The first cells of the `## CLI reference` table. */
function commandCells(): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('CLI reference\n'));
  if (!section) throw new Error('README has no "## CLI reference" section');
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `fledge '))
    .map((l) => l.split(' | ')[0] ?? '');
}

/** Every registered command as its path: `start`, `dev up`, … (a parent with subcommands only by its children). */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return c.commands.length > 0 ? commandPaths(c, path) : [path];
  });
}

describe('README: the CLI reference table', async () => {
  const cells = commandCells();
  // Awaited whether buildProgram is synchronous or not.
  const paths = commandPaths(await Promise.resolve(buildProgram()));

  it('has a row for every registered command', () => {
    expect(paths.length).toBeGreaterThan(15);
    const missing = paths.filter(([head, ...rest]) => {
      const leaf = rest.at(-1);
      return !cells.some((cell) =>
        leaf === undefined
          ? new RegExp(`\`fledge ${head}( |\`)`).test(cell)
          : cell.includes(`fledge ${head} `) && new RegExp(`(^|[ \`|])${leaf}( |\`|$)`).test(cell),
      );
    });
    expect(missing.map((p) => p.join(' '))).toEqual([]);
  });

  it('lists no command the program does not have', () => {
    const heads = new Set(paths.map((p) => p[0]));
    const named = cells.flatMap((c) => [...c.matchAll(/`fledge ([a-z-]+)/g)].map((m) => m[1]));
    expect(named.filter((n) => !heads.has(n))).toEqual([]);
  });
});
