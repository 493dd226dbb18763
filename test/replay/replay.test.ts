// Replays recorded histories (from real runs on the local stack) against the current workflow code: a change
// that would break in-flight releases (non-determinism) fails here. Fixtures: test/replay/histories/*.json,
// re-recorded with FLEDGE_RECORD_HISTORIES=1 on the e2e tests when a change is intentionally incompatible.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';

const dir = fileURLToPath(new URL('./histories/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
function load(file: string | undefined): { workflowId: string; history: ReturnType<typeof historyFromJSON> } {
  const raw = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as { workflowId: string; history: unknown };
  return { workflowId: raw.workflowId, history: historyFromJSON(raw.history) };
}

const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

describe('replay of recorded histories', () => {
  it('has fixtures to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)(
    '%s replays deterministically',
    async (file) => {
      const { workflowId, history } = load(file);
      await Worker.runReplayHistory({ workflowsPath, replayName: file }, history, workflowId);
    },
    60_000,
  );
});

describe('replay harness', () => {
  it('detects a non-deterministic change', async () => {
    const file = files.find((f) => f.startsWith('demo-traffic-shift'));
    expect(file).toBeDefined();
    const { workflowId, history } = load(file);
    const broken = fileURLToPath(new URL('./broken/index.ts', import.meta.url));
    await expect(
      Worker.runReplayHistory({ workflowsPath: broken, replayName: 'broken' }, history, workflowId),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 60_000);
});
