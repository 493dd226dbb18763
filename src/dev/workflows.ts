// The embedded dev stack's workflows: the production ones plus the foundation demo (`demoTrafficShift`), which the
// production worker and its prebuilt bundle do not carry (src/workflows/index.ts). Registered by src/dev/worker.ts.
export * from '../workflows/index.js';
export { demoTrafficShift } from '../workflows/demo.js';
