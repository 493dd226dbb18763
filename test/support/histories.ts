// Recording workflow histories as replay fixtures. E2E tests call `recordHistory` for the executions they
// finish; with FLEDGE_RECORD_HISTORIES=1 the history is written to test/replay/histories/<name>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

export const historiesDir = fileURLToPath(new URL('../replay/histories/', import.meta.url));

export async function recordHistory(
  client: Client,
  workflowId: string,
  name: string,
  runId?: string,
): Promise<boolean> {
  if (process.env.FLEDGE_RECORD_HISTORIES !== '1') return false;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(
    `${historiesDir}${name}.json`,
    `{"workflowId": ${JSON.stringify(workflowId)}, "history": ${historyToJSON(history)}}\n`,
  );
  return true;
}
