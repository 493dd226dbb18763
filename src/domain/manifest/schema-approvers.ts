// `spec.fledge.approvers`: who may open which gate, pause (and resume), promote or abort a release (Fledge's
// extension; docs/security.md, "Verified approvers"). Compiled into `plan.approvers`, enforced by the workflow's
// update validators and by decide() for signals (src/domain/approvers.ts).
import { z } from 'zod';
import {
  approverScopes,
  hasControlCharacters,
  maxActorLength,
  type ApproverScope,
  type ApproversPlan,
} from '../approvers.js';

const principalSchema = z
  .string()
  .min(1)
  .max(maxActorLength)
  .refine((s) => !hasControlCharacters(s), { message: 'contains control characters' })
  .refine((s) => s.trim() === s, { message: 'has leading or trailing blanks' })
  .refine((s) => !s.startsWith('group:') || /^group:[A-Za-z0-9._-]{1,100}$/.test(s), {
    message: 'a group is group:<name> (letters, digits, ".", "_", "-")',
  });

const listSchema = z
  .array(principalSchema)
  .min(1, { message: 'an empty list would let nobody act; leave the key out to let anyone' })
  .max(100);

/**
 * Per scope (`confirm-rollout`, `confirm-traffic-increase`, `confirm-promotion`, `abort`, `promote`, `pause`) the
 * users (`alice@example.com`, `slack:U0123ABCD`, `github:octocat`) and groups (`group:sre`) who may act; a scope
 * left out is open to anyone. `identity`: `verified` (default; only identities the worker verified match) or
 * `self-declared` (the message's actor may match a user entry).
 */
export const approversSchema = z.strictObject({
  'confirm-rollout': listSchema.optional(),
  'confirm-traffic-increase': listSchema.optional(),
  'confirm-promotion': listSchema.optional(),
  abort: listSchema.optional(),
  promote: listSchema.optional(),
  pause: listSchema.optional(),
  identity: z.enum(['verified', 'self-declared']).optional(),
});
export type ApproversSpec = z.infer<typeof approversSchema>;

export function compileApprovers(spec: ApproversSpec | undefined): ApproversPlan | undefined {
  if (spec === undefined) return undefined;
  const rules: Partial<Record<ApproverScope, string[]>> = {};
  for (const scope of approverScopes) {
    const list = spec[scope];
    if (list !== undefined) rules[scope] = [...new Set(list)];
  }
  return { rules, identity: spec.identity ?? 'verified' };
}
