// Builds the workflow bundle, the production artefact the worker image ships. The bundler rejects
// workflow code that imports Node built-ins or other non-deterministic modules, so this is also a CI check.
// It also reports what the bundle holds only for the LEGACY release input (raw documents compiled in the workflow:
// the manifest's zod schemas and compiler, src/workflows/prepare.ts) — the size its removal will save.
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

/** Bytes per bundled module (webpack's `/***\/ "<path>"` module headers). */
export function moduleSizes(bundle: string): Map<string, number> {
  const sizes = new Map<string, number>();
  const header = /^\/\*{3}\/ "([^"]+)"/gm;
  const starts = [...bundle.matchAll(header)].map((m) => ({ path: m[1] ?? '', at: m.index }));
  for (const [i, s] of starts.entries()) sizes.set(s.path, (starts[i + 1]?.at ?? bundle.length) - s.at);
  return sizes;
}

// Modules the compiled-release path does not need: the manifest's validation and compiler, and zod. (image.ts and
// errors.ts stay: the release policy's image check uses them.)
const legacyOnly = (path: string): boolean =>
  path.includes('/node_modules/zod/') ||
  (path.startsWith('./src/domain/manifest/') && !/\/(image|errors)\.ts$/.test(path));
let legacy = 0;
for (const [path, size] of moduleSizes(code)) if (legacyOnly(path)) legacy += size;
console.log(
  `  of which only for legacy release inputs (manifest validation + compiler + zod): ${(legacy / 1024).toFixed(0)} KiB (${((100 * legacy) / code.length).toFixed(0)} %)`,
);
