// The compiled-release path of the workflow input (src/workflows/prepare.ts has the whole story): the envelope's
// structural check and the activities' context. Kept apart from prepare.ts so the release workflow evaluates no
// manifest validation, compiler, zod or re2js for a compiled input — with the reused V8 context every workflow (each
// release and each lane) evaluates its own copy of every workflow module it imports, which cost ~36 ms of CPU and
// ~1.7 MiB of heap per cached workflow (npm run bench:cost). The legacy path is imported on demand.
import type { ReleaseContext } from '../domain/context.js';
import { checkCompiledReleaseInput, type CompiledContext } from '../domain/compiled.js';
import type { ReleasePlan } from '../domain/plan.js';

export type PreparedCompiled =
  | { ok: true; plan: ReleasePlan; ctx: ReleaseContext; legacy: false }
  | { ok: false; type: string; message: string; details: unknown };

/** The plan and context of a compiled-release input, or why it cannot run (a non-retryable failure). */
export function prepareCompiledInput(input: unknown, workflowId: string): PreparedCompiled {
  const checked = checkCompiledReleaseInput(input);
  if (!checked.ok)
    return {
      ok: false,
      type: checked.type,
      message: checked.message,
      details: [{ path: checked.path, message: checked.message }],
    };
  return {
    ok: true,
    plan: checked.input.plan,
    ctx: withWorkflowId(checked.input.ctx, workflowId),
    legacy: false,
  };
}

/** The context with the release's own workflow ID (in the key order the previous version used). */
export function withWorkflowId(compiled: CompiledContext, workflowId: string): ReleaseContext {
  const { checksum, newImages, ...rest } = compiled;
  return { ...rest, checksum, workflowId, newImages: { ...newImages } };
}
