// Every workflow the worker registers. Workflow type names are wire contracts: never rename.
export { demoTrafficShift } from './demo.js';
export { releaseWorkflow } from './release.js';
export { fledgeLane } from './lane.js';
