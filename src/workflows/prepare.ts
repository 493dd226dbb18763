// From the workflow input to the plan and the activities' context.
//
// Current input: a compiled release (src/domain/compiled.ts) — the client validated and compiled the manifest; the
// workflow only checks the envelope's structure. Validation rules, defaults and the compiler are therefore client
// code, and changing them never affects the replay of a release in flight.
//
// LEGACY input (`{ documents, images, initiator }`, written by Fledge clients before the compiled envelope): the
// workflow validates and compiles the documents itself, exactly as before, so releases started on the previous
// version replay and finish. It keeps the manifest's zod schemas and compiler in the workflow bundle.
// TODO(remove in the next version): drop `prepareLegacyRelease` and its manifest imports once no release started
// with a legacy input can still be running (docs/operations.md, "Upgrading: what may change between versions").
import type { ReleaseContext } from '../domain/context.js';
import {
  isLegacyReleaseInput,
  releaseContextOf,
  type CarriedRelease,
  type CompiledReleaseInput,
} from '../domain/compiled.js';
import { prepareCompiledInput, withWorkflowId } from './prepare-compiled.js';
import type { ReleasePlan } from '../domain/plan.js';
// Imported module by module (not through manifest/index.ts) so the YAML parser stays out of the workflow bundle.
import { compileRelease } from '../domain/manifest/compile.js';
import { formatSpecErrors, type SpecError } from '../domain/manifest/errors.js';
import { validateImages } from '../domain/manifest/image.js';
import type { CompiledRelease } from '../domain/manifest/types.js';
import { legacyProfile } from '../domain/manifest/schema.js';
import { validateCanaryBundle } from '../domain/manifest/validate.js';

/** LEGACY: the release input of Fledge clients before the compiled envelope (remove in the next version). */
export interface LegacyReleaseInput {
  /** The Canary, MetricTemplate and AlertProvider documents, as JSON (e.g. a parsed multi-document YAML). */
  documents: unknown[];
  /** container name → new image reference. */
  images: Record<string, string>;
  /** Who started the release (CI job, user). */
  initiator: string;
  /** Set by continue-as-new only. */
  carried?: CarriedRelease;
}

/** What the release workflow accepts: the compiled envelope, or (legacy, for releases in flight) raw documents. */
export type ReleaseInput = CompiledReleaseInput | LegacyReleaseInput;

/** The failure type of a legacy input whose documents do not validate (unchanged from the previous version). */
export const invalidSpecType = 'InvalidSpec';

export type Prepared =
  | { ok: true; plan: ReleasePlan; ctx: ReleaseContext; legacy: boolean }
  | { ok: false; type: string; message: string; details: unknown };

/** The plan and context of a release input, or why it cannot run (a non-retryable failure of the workflow). */
export function prepareInput(input: unknown, workflowId: string): Prepared {
  if (isLegacyReleaseInput(input)) {
    const legacy = prepareLegacyRelease(input as LegacyReleaseInput, workflowId);
    return legacy.ok
      ? { ok: true, plan: legacy.plan, ctx: legacy.ctx, legacy: true }
      : { ok: false, type: invalidSpecType, message: legacy.message, details: legacy.errors };
  }
  return prepareCompiledInput(input, workflowId);
}

export type PreparedLegacy =
  | { ok: true; plan: ReleasePlan; ctx: ReleaseContext; compiled: CompiledRelease }
  | { ok: false; message: string; errors: SpecError[] };

/**
 * LEGACY (remove in the next version): validates and compiles raw documents in the workflow, exactly as the
 * previous version did for every release.
 */
export function prepareLegacyRelease(input: LegacyReleaseInput, workflowId: string): PreparedLegacy {
  if (!input || typeof input !== 'object' || !Array.isArray(input.documents)) {
    const errors: SpecError[] = [
      {
        path: 'input.documents',
        message: 'expected an array of Canary/MetricTemplate/AlertProvider documents',
      },
    ];
    return { ok: false, message: formatSpecErrors(errors), errors };
  }
  // The providers of the version before the registries: a legacy input validates (and fails) exactly as it did then.
  const bundle = validateCanaryBundle(input.documents, { profile: legacyProfile });
  const imageErrors = validateImages(input.images);
  if (!bundle.ok || imageErrors.length > 0) {
    const errors = [...(bundle.ok ? [] : bundle.errors), ...imageErrors];
    return { ok: false, message: `invalid release input:\n${formatSpecErrors(errors)}`, errors };
  }
  // `legacy`: no TCP routes for `appProtocol: tcp` (the drop-in audit's), so a recorded history replays as it ran.
  const compiled = compileRelease(bundle.value, input.images, { legacy: true });
  const ctx = withWorkflowId(releaseContextOf(compiled, bundle.value.canary.spec, input.images), workflowId);
  return { ok: true, plan: compiled.plan, ctx, compiled };
}

/** @deprecated LEGACY name of `prepareLegacyRelease` (tests of the previous version's path). */
export const prepareRelease = prepareLegacyRelease;
