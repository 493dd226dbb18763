// The release workflow's input: the compiled-release envelope the client writes (src/domain/compiled.ts) and the
// legacy raw-documents input of the previous version. The client's compile and the legacy in-workflow compile give
// the same plan and context; the workflow's structural check refuses bad and unknown inputs with a typed,
// non-retryable failure after ONE workflow task (never a task-retry loop), and runs a valid envelope to its outcome.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../src/cli/program.js';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  checkCompiledReleaseInput,
  compiledReleaseKind,
  isLegacyReleaseInput,
  malformedReleaseInputType,
  unsupportedReleaseInputType,
  type CompiledReleaseInput,
} from '../../../src/domain/compiled.js';
import type { ReleaseResult } from '../../../src/domain/result.js';
import { checkRelease, releaseInputFor } from '../../../src/starter.js';
import {
  prepareInput,
  prepareLegacyRelease,
  type LegacyReleaseInput,
} from '../../../src/workflows/prepare.js';
import { releaseWorkflow } from '../../../src/workflows/release.js';
import { FakeReleaseActivities } from '../../support/fake-release-activities.js';
import { bundleFledgeWorkflows, startTimeSkippingEnv } from '../../support/time-skipping.js';

const fixtures = fileURLToPath(new URL('../../fixtures/canaries/', import.meta.url));
const example = fileURLToPath(new URL('../../../examples/podinfo-canary.yaml', import.meta.url));
const specs = [
  ...readdirSync(fixtures)
    .filter((f) => f.endsWith('.yaml') && f !== 'several-errors.yaml')
    .map((f) => `${fixtures}${f}`),
  example,
];

/** Each container of the spec's target gets a new image (any container name validates: the spec names none). */
const images = { podinfod: 'ghcr.io/stefanprodan/podinfo:6.5.1' };

/** What the payload converter does to a workflow argument. */
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function envelopeOf(file: string): CompiledReleaseInput {
  const checked = checkRelease({ yaml: readFileSync(file, 'utf8'), fileName: file, images });
  return wire(releaseInputFor(checked, images, 'ci'));
}

const base = (): CompiledReleaseInput => envelopeOf(example);

describe('compiled-release envelope', () => {
  it.each(specs)('%s: the client compile equals the legacy in-workflow compile', (file) => {
    const envelope = envelopeOf(file);
    expect(envelope).toMatchObject({ kind: compiledReleaseKind, version: 1, images, initiator: 'ci' });
    expect(isLegacyReleaseInput(envelope)).toBe(false);
    const legacyInput = { documents: envelope.documents, images, initiator: 'ci' };
    expect(isLegacyReleaseInput(legacyInput)).toBe(true);
    const current = prepareInput(envelope, 'fledge/x/y/6.5.1');
    const legacy = prepareInput(wire(legacyInput), 'fledge/x/y/6.5.1');
    expect(current.ok && !current.legacy).toBe(true);
    expect(legacy.ok && legacy.legacy).toBe(true);
    if (!current.ok || !legacy.ok) return;
    expect(current.plan).toEqual(wire(legacy.plan));
    expect(current.ctx).toEqual(wire(legacy.ctx));
    // Same key order as the previous version's context (activity arguments look as before in history).
    expect(Object.keys(current.ctx)).toEqual(Object.keys(legacy.ctx));
    expect(current.ctx.workflowId).toBe('fledge/x/y/6.5.1');
  });

  it('a worker of the previous version runs the envelope from its documents', () => {
    // prepareLegacyRelease is the previous version's input handling, unchanged: it reads documents, images and
    // initiator and ignores the rest of the envelope.
    const envelope = base();
    const old = prepareLegacyRelease(envelope as unknown as LegacyReleaseInput, 'fledge/x/y/6.5.1');
    const now = prepareInput(envelope, 'fledge/x/y/6.5.1');
    expect(old.ok && now.ok).toBe(true);
    if (old.ok && now.ok) expect(wire(old.plan)).toEqual(now.plan);
  });

  it('the workflow ID in the context is the workflow’s own, whatever the input says', () => {
    const input = { ...base(), ctx: { ...base().ctx, workflowId: 'fledge/other/release/1' } };
    const p = prepareInput(input, 'fledge/mine/podinfo/6.5.1');
    expect(p.ok && p.ctx.workflowId).toBe('fledge/mine/podinfo/6.5.1');
  });

  type Case = [string, (e: Record<string, unknown>) => unknown, string, string];
  const cases: Case[] = [
    ['not an object', () => 'release please', malformedReleaseInputType, 'input'],
    ['null', () => null, malformedReleaseInputType, 'input'],
    ['empty object', () => ({}), malformedReleaseInputType, 'input.kind'],
    [
      'an unknown kind',
      (e) => ({ ...e, kind: 'example.com/other' }),
      unsupportedReleaseInputType,
      'input.kind',
    ],
    ['a newer version', (e) => ({ ...e, version: 2 }), unsupportedReleaseInputType, 'input.version'],
    ['no version', (e) => ({ ...e, version: undefined }), unsupportedReleaseInputType, 'input.version'],
    ['no plan', (e) => ({ ...e, plan: undefined }), malformedReleaseInputType, 'input.plan'],
    [
      'weights not numbers',
      (e) => ({
        ...e,
        plan: {
          ...(e.plan as object),
          strategy: { kind: 'canary', weights: ['x'], stepWeightPromotion: 0, mirror: false },
        },
      }),
      malformedReleaseInputType,
      'input.plan.strategy.weights[0]',
    ],
    [
      'an unknown strategy',
      (e) => ({ ...e, plan: { ...(e.plan as object), strategy: { kind: 'yolo' } } }),
      malformedReleaseInputType,
      'input.plan.strategy.kind',
    ],
    [
      'a metric without a threshold range',
      (e) => {
        const plan = e.plan as { metrics: Array<Record<string, unknown>> };
        return { ...e, plan: { ...plan, metrics: [{ ...plan.metrics[0], thresholdRange: undefined }] } };
      },
      malformedReleaseInputType,
      'input.plan.metrics[0].thresholdRange',
    ],
    ['no context', (e) => ({ ...e, ctx: undefined }), malformedReleaseInputType, 'input.ctx'],
    [
      'an empty image',
      (e) => ({ ...e, images: { podinfod: '' } }),
      malformedReleaseInputType,
      'input.images.podinfod',
    ],
    ['documents not a list', (e) => ({ ...e, documents: {} }), malformedReleaseInputType, 'input.documents'],
  ];
  it.each(cases)('refuses %s with a typed failure naming the path', (_what, mutate, type, path) => {
    const r = checkCompiledReleaseInput(mutate(base() as unknown as Record<string, unknown>));
    expect(r).toMatchObject({ ok: false, type, path });
    if (!r.ok) expect(r.message.length).toBeLessThanOrEqual(2000);
  });

  it('accepts the envelope as the client writes it (and only the structure is checked)', () => {
    expect(checkCompiledReleaseInput(base())).toMatchObject({ ok: true });
  });

  it('bounds what a hostile input echoes', () => {
    const r = checkCompiledReleaseInput({ ...base(), images: { ['k'.repeat(10_000)]: '' } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.path.length).toBeLessThan(120);
  });
});

describe('fledge validate --workflow-input', () => {
  async function cli(args: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    process.exitCode = undefined;
    const code = await runCli(['node', 'fledge', ...args]);
    vi.restoreAllMocks();
    process.exitCode = undefined;
    return { code, out };
  }

  it('prints exactly the input `fledge start` submits, which the workflow accepts', async () => {
    const r = await cli([
      'validate',
      '-f',
      example,
      '--image',
      `podinfod=${images.podinfod}`,
      '--initiator',
      'ci',
      '--workflow-input',
    ]);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out) as unknown;
    expect(printed).toEqual(base());
    expect(checkCompiledReleaseInput(printed)).toMatchObject({ ok: true });
  });

  it('needs an image (exit 5)', async () => {
    expect((await cli(['validate', '-f', example, '--workflow-input'])).code).toBe(5);
  });
});

describe('release workflow input (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;
  beforeAll(async () => {
    [env, bundle] = await Promise.all([startTimeSkippingEnv(), bundleFledgeWorkflows()]);
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  let queues = 0;
  async function run(input: unknown, fake = new FakeReleaseActivities()) {
    const taskQueue = `ts-input-${++queues}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: fake.activities,
    });
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start('releaseWorkflow', {
        taskQueue,
        workflowId: `fledge/ts-input/podinfo/${queues}`,
        args: [input],
      });
      const outcome = await h.result().then(
        (r: ReleaseResult) => ({ result: r, error: undefined }),
        (e: unknown) => ({ result: undefined, error: e }),
      );
      const events = (await h.fetchHistory()).events ?? [];
      const tasks = events.filter((e) => e.workflowTaskStartedEventAttributes).length;
      return { ...outcome, tasks, id: h.workflowId, fake };
    });
  }

  it.each([
    ['an envelope of a newer version', { ...base(), version: 2 }, unsupportedReleaseInputType],
    [
      'a malformed plan',
      { ...base(), plan: { ...base().plan, threshold: 'two' } },
      malformedReleaseInputType,
    ],
    ['an empty input (Web UI default)', {}, malformedReleaseInputType],
  ])(
    '%s fails the workflow at once, typed and non-retryable',
    async (_what, input, type) => {
      const { error, tasks } = await run(input);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause).toMatchObject({ type, nonRetryable: true });
      expect(tasks).toBe(1); // one workflow task: no retry loop
    },
    60_000,
  );

  it('runs a valid envelope to its outcome with the compiled plan', async () => {
    const envelope = base();
    const { result, error, id, fake } = await run(envelope);
    expect(error).toBeUndefined();
    expect(result?.outcome).toBe('Promoted');
    expect(fake.of(id, 'promotePrimary')).toHaveLength(1);
    const weights =
      envelope.plan.strategy.kind === 'canary'
        ? envelope.plan.strategy.weights.map((w) => `routes ${100 - w}/${w}`)
        : [];
    expect(fake.effects(id)).toEqual(['scale up', ...weights, 'promote', 'routes 100/0', 'scale zero']);
  }, 60_000);
});

void releaseWorkflow; // the workflow type started by name above
