// Builds the workflow bundle, the production artefact the worker image ships. The bundler rejects
// workflow code that imports Node built-ins or other non-deterministic modules, so this is also a CI check.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

const workflowsPath = fileURLToPath(new URL('../src/workflows/index.ts', import.meta.url));
const out = fileURLToPath(new URL('../dist/workflow-bundle.js', import.meta.url));
const t0 = Date.now();
const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
mkdirSync(fileURLToPath(new URL('../dist/', import.meta.url)), { recursive: true });
writeFileSync(out, code);
console.log(`workflow bundle: ${out} (${(code.length / 1024).toFixed(0)} KiB) in ${Date.now() - t0} ms`);
