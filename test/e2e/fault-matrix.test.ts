// A representative subset of the fault matrix (`npm run chaos` runs all of it): real faults between a worker child
// process and its dependencies — toxiproxy in front of each, HTTP fault layers for what TCP cannot make — each
// scenario ending with the end-state oracle. See test/chaos/ and docs/operations.md ("Behaviour under faults").
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/dev/stack/config.js';
import { startChaosEnv, type ChaosEnv } from '../chaos/harness.js';
import { formatTable, runScenario, writeRows, type Row } from '../chaos/matrix.js';
import { scenarios } from '../chaos/scenarios.js';

const artifactsDir = join(projectRoot, 'test-artifacts', 'chaos');
let env: ChaosEnv;
const rows: Row[] = [];

beforeAll(async () => {
  env = await startChaosEnv({ artifactsDir });
});
afterAll(async () => {
  await env?.stop();
  if (rows.length > 0) {
    writeRows(join(artifactsDir, 'fault-matrix-subset.json'), rows, { finishedAt: new Date().toISOString() });
    console.log(formatTable(rows));
  }
});

describe('fault matrix (subset)', () => {
  for (const s of scenarios.filter((x) => x.subset)) {
    it(`${s.id}: ${s.fault} → ${s.expected}`, { timeout: 200_000 }, async () => {
      const row = await runScenario(env, s, () => undefined);
      rows.push(row);
      expect(row.error).toBeUndefined();
      expect(row.checks.filter((c) => !c.ok)).toEqual([]);
      expect(row.oracle).toMatch(s.oracleExpect ? /^expected deviation/ : /^ok/);
    });
  }
});
