// CI entry: connect to Temporal and start (or attach to) workflows. The `fledge start` command builds on this.
import { Client, Connection, WorkflowIdReusePolicy } from '@temporalio/client';
import { connectionOptions, loadFledgeConfig, type FledgeConfig } from './config.js';
import type { DemoShiftInput, DemoShiftStep } from './workflows/demo.js';

export async function connectClient(cfg: FledgeConfig = loadFledgeConfig()): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(cfg));
  return new Client({ connection, namespace: cfg.temporal.namespace });
}

export function webUiWorkflowUrl(cfg: FledgeConfig, workflowId: string, runId?: string): string {
  const base = `${cfg.webUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(cfg.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}` : base;
}

export async function runDemoShift(
  client: Client,
  cfg: FledgeConfig,
  input: DemoShiftInput,
  workflowId: string,
): Promise<{ workflowId: string; runId: string; steps: DemoShiftStep[] }> {
  const handle = await client.workflow.start('demoTrafficShift', {
    taskQueue: cfg.taskQueue,
    workflowId,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  const steps = (await handle.result()) as DemoShiftStep[];
  return { workflowId, runId: handle.firstExecutionRunId, steps };
}
