// Every workflow the production worker registers (and the prebuilt bundle holds). Workflow type names are wire
// contracts: never rename. The demo workflow (./demo.ts) is registered only by the embedded dev stack's worker
// (src/dev/workflows.ts).
//
// Each export loads its workflow's module on demand. With the SDK's reused V8 context every workflow evaluates its own
// copy of each module it loads; this entry module is evaluated by every workflow, so it imports nothing statically: a
// lane evaluates lane.ts (and not the release's interpreter, decision core and status code), a release evaluates
// release.ts and not lane.ts. `import()` in webpack's eager mode is bundled with the rest and resolves in a microtask:
// it records nothing in history and the workflow starts in the same activation as before (messages that arrive with
// the start are buffered until their handler is set, as before). test/unit/workflows/workflow-module-cost.test.ts.
import type { ReleaseResult } from '../domain/result.js';
import type { fledgeLane as FledgeLane } from './lane.js';
import type { ReleaseInput } from './prepare.js';

export async function releaseWorkflow(input: ReleaseInput): Promise<ReleaseResult> {
  return (await import(/* webpackMode: "eager" */ './release.js')).releaseWorkflow(input);
}

export async function fledgeLane(...args: Parameters<typeof FledgeLane>): ReturnType<typeof FledgeLane> {
  return (await import(/* webpackMode: "eager" */ './lane.js')).fledgeLane(...args);
}
