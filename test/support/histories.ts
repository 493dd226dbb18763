// Recording workflow histories as replay fixtures. E2E tests call `recordHistory` for the executions they
// finish; with FLEDGE_RECORD_HISTORIES=1 the history is written to test/replay/histories/<name>.<format>.json, where
// <format> names the release input the history was recorded with (`compiled-v1`: the compiled-release envelope,
// src/domain/compiled.ts). Fixtures without a format suffix were recorded with the previous version's input (raw
// documents, compiled in the workflow): re-recording never overwrites them — they are what releases in flight from
// before the upgrade look like, and must keep replaying until the legacy path is removed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

export const historiesDir = fileURLToPath(new URL('../replay/histories/', import.meta.url));

/** The release input format of histories recorded by this version (bump with the envelope's version). */
export const recordedInputFormat = 'compiled-v1';

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
    `${historiesDir}${name}.${recordedInputFormat}.json`,
    `{"workflowId": ${JSON.stringify(workflowId)}, "history": ${historyToJSON(history)}}\n`,
  );
  return true;
}
