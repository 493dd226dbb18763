// Where a benchmark's figures come from, printed beside them: the commit (and whether the tree was dirty) and the
// machine with its load average — the benches run on shared machines, where load moves wall times.
import { execFileSync } from 'node:child_process';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { projectRoot } from '../../src/dev/stack/config.js';

/** The 1/5/15-minute load averages, two decimals each. */
export const loadAverage = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** `HEAD` as 12 hex digits, "(with uncommitted changes)" when tracked files differ; 'unknown' outside git. */
export function benchCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: projectRoot })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: projectRoot })
      .toString()
      .trim();
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

/** Host, CPUs, memory and the load average at the start (given) and now. */
export function benchMachine(loadAtStart: string, note = ''): string {
  return `${hostname()}: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadAtStart} at the start, ${loadAverage()} at the end${note}`;
}
