// Replays recorded histories (from real runs on the local stack) against the current workflow code: a change
// that would break in-flight releases (non-determinism) fails here. Fixtures: test/replay/histories/*.json,
// recorded with FLEDGE_RECORD_HISTORIES=1 on the e2e tests (test/support/histories.ts). `<name>.json` were recorded
// by the previous version (legacy input: raw documents, compiled in the workflow) and stand for releases in flight
// across the upgrade; `<name>.compiled-v1.json` with the compiled-release input (src/domain/compiled.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeterminismViolationError } from '@temporalio/workflow';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { recordedInputFormat } from '../support/histories.js';

const dir = fileURLToPath(new URL('./histories/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
function load(file: string | undefined): { workflowId: string; history: ReturnType<typeof historyFromJSON> } {
  const raw = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as { workflowId: string; history: unknown };
  return { workflowId: raw.workflowId, history: historyFromJSON(raw.history) };
}

/** The production workflows (the worker's bundle); the demo workflow only exists in the dev stack's worker. */
// The dev stack's workflows: the production ones (src/workflows/index.ts) plus the demo, whose history is a fixture.
const workflowsPath = fileURLToPath(new URL('../../src/dev/workflows.ts', import.meta.url));
const devWorkflowsPath = fileURLToPath(new URL('../../src/dev/workflows.ts', import.meta.url));
const bundles = new Map<string, WorkflowBundleWithSourceMap>();
const pathFor = (file: string): string => (file.startsWith('demo-') ? devWorkflowsPath : workflowsPath);

beforeAll(async () => {
  // Bundled once per workflow set (not once per history).
  for (const path of new Set(files.map(pathFor)))
    bundles.set(path, await bundleWorkflowCode({ workflowsPath: path, logger: new DefaultLogger('WARN') }));
}, 120_000);

/** The release input a recorded release history started with (undefined for other workflows). */
function releaseInputOf(file: string): Record<string, unknown> | undefined {
  const { history } = load(file);
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (started?.workflowType?.name !== 'releaseWorkflow') return undefined;
  const payload = started.input?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload) : undefined;
}

describe('replay of recorded histories', () => {
  it('has fixtures to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it('covers both release inputs: the previous version’s raw documents and the compiled envelope', () => {
    const inputs = files.map((f) => [f, releaseInputOf(f)] as const).filter(([, i]) => i !== undefined);
    const legacy = inputs.filter(([, i]) => Array.isArray(i?.documents) && i?.kind === undefined);
    const compiled = inputs.filter(([, i]) => i?.kind === 'fledge.dev/compiled-release' && i.version === 1);
    expect(legacy.length, 'legacy (previous version) release histories').toBeGreaterThanOrEqual(10);
    expect(compiled.length, 'compiled-release histories').toBeGreaterThanOrEqual(1);
    // The file name says which input the history was recorded with.
    for (const [f] of compiled) expect(f).toMatch(new RegExp(`\\.${recordedInputFormat}\\.json$`));
    for (const [f] of legacy) expect(f).not.toMatch(/\.compiled-v\d+\.json$/);
  });

  it.each(files)(
    '%s replays deterministically',
    async (file) => {
      const { workflowId, history } = load(file);
      const workflowBundle = bundles.get(pathFor(file));
      expect(workflowBundle).toBeDefined();
      await Worker.runReplayHistory({ workflowBundle, replayName: file }, history, workflowId);
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
