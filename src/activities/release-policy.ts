// Defence in depth for the release policy (src/policy.ts): the worker checks every release activity's context —
// the target namespace and the new images — before the activity does anything (a Kubernetes write, a webhook, a
// query, a notification). A release the starter would have refused (one started directly, bypassing it, or
// started before the policy was tightened) fails with a non-retryable ApplicationFailure of type
// `PolicyViolation`, and nothing is written.
import { ApplicationFailure } from '@temporalio/common';
import type { ReleaseContext } from '../domain/context.js';
import {
  checkReleasePolicy,
  formatPolicyViolations,
  policyViolationType,
  type ReleasePolicy,
} from '../policy.js';

/** Throws the typed failure when `policy` refuses the release of `ctx`. */
export function assertReleaseAllowed(policy: ReleasePolicy, ctx: ReleaseContext): void {
  const violations = checkReleasePolicy(policy, { namespace: ctx.target.namespace, images: ctx.newImages });
  if (violations.length === 0) return;
  throw ApplicationFailure.create({
    message: `${formatPolicyViolations(violations)}\n(worker check of ${ctx.workflowId}; nothing was done)`,
    type: policyViolationType,
    nonRetryable: true,
    details: [violations],
  });
}

type ReleaseActivity = (ctx: ReleaseContext, ...rest: never[]) => Promise<unknown>;

/**
 * The same activities, each checking the policy first. Every release activity takes the release's context as its
 * first argument; without a policy the activities are returned as they are.
 */
export function enforceReleasePolicy<T extends Record<string, ReleaseActivity>>(
  policy: ReleasePolicy | undefined,
  activities: T,
): T {
  if (!policy) return activities;
  const out: Record<string, ReleaseActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (ctx: ReleaseContext, ...rest: never[]): Promise<unknown> => {
      assertReleaseAllowed(policy, ctx);
      return fn(ctx, ...rest);
    };
  }
  return out as T;
}
