// `npm run chaos`: the whole fault matrix against the local stack (started if needed), one scenario at a time.
// Prints one table (scenario | expected | seen | oracle | time to recover) and writes it, with each scenario's
// checks and evidence, to test-artifacts/chaos/fault-matrix.json. Exit 1 if any scenario failed.
//   npm run chaos                      every scenario
//   npm run chaos -- kill- slack-      only scenarios whose id starts with one of the prefixes
//   npm run chaos -- --subset          the representative subset `npm test` runs
//   FLEDGE_CHAOS_KEEP=1                keep each scenario's namespace for inspection
import { join } from 'node:path';
import { projectRoot } from '../../src/dev/stack/config.js';
import { stackUp } from '../../src/dev/stack/stack.js';
import { startChaosEnv } from './harness.js';
import { formatTable, runScenario, writeRows, type Row } from './matrix.js';
import { scenarios } from './scenarios.js';

const args = process.argv.slice(2);
const subset = args.includes('--subset');
const prefixes = args.filter((a) => !a.startsWith('--'));
const selected = scenarios.filter(
  (s) => (!subset || s.subset) && (prefixes.length === 0 || prefixes.some((p) => s.id.startsWith(p))),
);
if (selected.length === 0) {
  console.error(`no scenario matches ${args.join(' ')}; ids:\n  ${scenarios.map((s) => s.id).join('\n  ')}`);
  process.exit(2);
}

const log = (m: string): void => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${m}`);
await stackUp({ log: () => undefined });
const artifactsDir = join(projectRoot, 'test-artifacts', 'chaos');
const env = await startChaosEnv({ artifactsDir, log });
const rows: Row[] = [];
const t0 = Date.now();
try {
  for (const s of selected) {
    log(`${s.id}: ${s.fault}`);
    rows.push(await runScenario(env, s, log));
  }
} finally {
  await env.stop();
}
const file = join(artifactsDir, subset ? 'fault-matrix-subset.json' : 'fault-matrix.json');
writeRows(file, rows, { finishedAt: new Date().toISOString(), durationMs: Date.now() - t0, selection: args });
console.log(`\n${formatTable(rows)}\n`);
const failed = rows.filter((r) => !r.pass);
console.log(
  `${rows.length - failed.length}/${rows.length} scenarios as expected in ${((Date.now() - t0) / 60_000).toFixed(1)} min; table: ${file}`,
);
process.exit(failed.length > 0 ? 1 : 0);
