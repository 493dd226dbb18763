// Every workflow the production worker registers (and the prebuilt bundle holds). Workflow type names are wire
// contracts: never rename. The demo workflow (./demo.ts) is registered only by the embedded dev stack's worker
// (src/dev/workflows.ts).
export { releaseWorkflow } from './release.js';
export { fledgeLane } from './lane.js';
