// Proves workflows run on the real local Temporal dev server (started by the stack), through @temporalio/testing.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { stack } from '../support/stack.js';
import { addUpdate, echoWorkflow, releaseSignal, stateQuery } from './workflows/echo.js';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  const cfg = stack();
  env = await TestWorkflowEnvironment.createFromExistingServer({
    address: cfg.urls.temporal,
    namespace: cfg.temporalNamespace,
  });
});
afterAll(async () => {
  await env?.teardown();
});

describe('local Temporal dev server', () => {
  it('runs a workflow with a timer, an activity, a signal, an update and a query', async () => {
    const taskQueue = `it-echo-${Date.now()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: stack().temporalNamespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./workflows/echo.ts', import.meta.url)),
      activities: { shout: async (t: string) => t.toUpperCase() },
    });
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(echoWorkflow, {
        taskQueue,
        workflowId: taskQueue,
        args: ['hello'],
      });
      expect(await handle.executeUpdate(addUpdate, { args: [2] })).toBe(2);
      expect(await handle.executeUpdate(addUpdate, { args: [3] })).toBe(5);
      await expect(handle.executeUpdate(addUpdate, { args: [-1] })).rejects.toBeInstanceOf(
        WorkflowUpdateFailedError,
      );
      expect(await handle.query(stateQuery)).toEqual({ total: 5, released: null });
      await handle.signal(releaseSignal, 'alice');
      return handle.result();
    });
    expect(result).toEqual({ loud: 'HELLO', total: 5, releasedBy: 'alice' });
    const desc = await env.client.workflow.getHandle(taskQueue).describe();
    expect(desc.status.name).toBe('COMPLETED');
    // The rejected update left no trace in history (validators run before anything is written).
    const history = await env.client.workflow.getHandle(taskQueue).fetchHistory();
    const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(accepted).toHaveLength(2);
  });

  it('has Fledge search attributes registered', async () => {
    const res = await env.connection.operatorService.listSearchAttributes({
      namespace: stack().temporalNamespace,
    });
    const names = Object.keys(res.customAttributes ?? {});
    expect(names).toEqual(
      expect.arrayContaining([
        'FledgeTarget',
        'FledgeNamespace',
        'FledgeImageTag',
        'FledgePhase',
        'FledgeWeight',
        'FledgeOutcome',
        'FledgeInitiator',
      ]),
    );
  });
});
