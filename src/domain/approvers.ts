// Verified approvers: who may open which gate, pause, promote or abort a release (`spec.fledge.approvers`), and the
// limits every operator message's text must respect. PURE and deterministic: used by the workflow's update
// validators, by decide() for signals, and by the tests. Identities are established outside (src/integrations/
// identity: Slack request signatures, OIDC ID tokens) and reach this module as plain data recorded in history.
import type { GateName, OperatorActionName } from './state.js';

/** What a list in `spec.fledge.approvers` governs: a gate (approve), or pause (pause and resume), promote, abort. */
export const approverScopes = [
  'confirm-rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'abort',
  'promote',
  'pause',
] as const;
export type ApproverScope = (typeof approverScopes)[number];

/**
 * The compiled `spec.fledge.approvers`. A scope that is not listed is open to anyone (as without approvers).
 * Principals: users (`alice@example.com`, `slack:U0123ABCD`, `github:octocat` — compared exactly) and groups
 * (`group:sre`).
 */
export interface ApproversPlan {
  rules: Partial<Record<ApproverScope, string[]>>;
  /**
   * `verified` (default): only an identity the worker verified (a signed Slack interaction, an OIDC ID token) can
   * match. `self-declared`: the message's `actor` may match a user entry too (groups never: membership is only
   * known for verified identities) — an annotation, not a control.
   */
  identity: 'verified' | 'self-declared';
}

/** An identity the worker verified (the result of the `verifyIdentity` local activity, recorded in history). */
export interface OperatorIdentity {
  via: 'slack' | 'oidc';
  /** The verified actor: `slack:<user id>` (or its mapped email), or the OIDC token's actor claim. */
  actor: string;
  /** Other names of the same identity that user entries may name (e.g. `slack:U123` when the actor is an email). */
  aliases: string[];
  /** Groups of the identity (the token's groups claim, the worker's FLEDGE_APPROVER_GROUPS), without `group:`. */
  groups: string[];
}

export type CheckResult = { ok: true } | { ok: false; reason: string };

/** Limits of an operator message's text (the validator rejects longer ones). */
export const maxActorLength = 200;
export const maxReasonLength = 1000;
/** An identity token longer than this (or not in JWS compact form) is refused by the validator unverified. */
export const maxIdentityTokenLength = 16_384;
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The shape of an identity token a message may carry (its signature is checked by the worker, not here). */
export function checkIdentityTokenShape(token: unknown): CheckResult {
  if (typeof token !== 'string') return { ok: false, reason: 'idToken must be a string (a JWT)' };
  if (token.length > maxIdentityTokenLength)
    return { ok: false, reason: `idToken is too long (at most ${maxIdentityTokenLength} characters)` };
  if (!compactJws.test(token))
    return { ok: false, reason: 'idToken is not a JWT (header.payload.signature)' };
  return { ok: true };
}

/** Actions that override the analysis' verdict: the audit trail must say why. */
export const reasonRequiredActions: readonly OperatorActionName[] = ['abort', 'promote'];

// C0 and C1 controls, DEL, line/paragraph separators and the bidirectional overrides/isolates (text that would
// rewrite terminals, Slack, the Web UI or a log line).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlChars = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export function hasControlCharacters(s: string): boolean {
  return controlChars.test(s);
}

/** The message's actor and reason: printable text within the limits; a reason for abort and promote. */
export function checkOperatorText(action: OperatorActionName, actor: unknown, reason: unknown): CheckResult {
  if (typeof actor !== 'string' || actor.trim() === '')
    return { ok: false, reason: 'actor is required: say who is acting' };
  if (actor.length > maxActorLength)
    return { ok: false, reason: `actor is too long (${actor.length} characters; at most ${maxActorLength})` };
  if (hasControlCharacters(actor)) return { ok: false, reason: 'actor contains control characters' };
  if (typeof reason !== 'string') return { ok: false, reason: 'reason must be a string' };
  if (reason.length > maxReasonLength)
    return {
      ok: false,
      reason: `reason is too long (${reason.length} characters; at most ${maxReasonLength})`,
    };
  if (hasControlCharacters(reason)) return { ok: false, reason: 'reason contains control characters' };
  if (reasonRequiredActions.includes(action) && reason.trim() === '')
    return {
      ok: false,
      reason: `a reason is required for ${action}: it overrides the analysis, the audit trail must say why`,
    };
  return { ok: true };
}

/** Which list governs `action` (approve: the gate it opens; resume: the pause list). */
export function approverScopeOf(
  action: OperatorActionName,
  gate: GateName | undefined,
): ApproverScope | undefined {
  switch (action) {
    case 'approve':
      return gate;
    case 'pause':
    case 'resume':
      return 'pause';
    case 'promote':
    case 'abort':
      return action;
  }
}

const groupPrefix = 'group:';

export function isGroupEntry(entry: string): boolean {
  return entry.startsWith(groupPrefix);
}

function describeScope(action: OperatorActionName, scope: ApproverScope): string {
  return action === 'approve' ? `approve ${scope}` : action;
}

/** Who asks: the message's (self-declared) actor, and the verified identity when there is one. */
export interface Requester {
  actor: string;
  identity?: OperatorIdentity;
  /** The message carries an identity token not verified yet (update validator): the check waits for it. */
  pendingVerification?: boolean;
}

/**
 * May `who` do `action` (for approve: on `gate`)? Open when there are no approvers, or none for that scope. A verified
 * identity matches a user entry by its actor or an alias, a group entry by its groups; a self-declared actor matches
 * user entries only, and only with `identity: self-declared`.
 */
export function checkApprover(
  approvers: ApproversPlan | undefined,
  action: OperatorActionName,
  gate: GateName | undefined,
  who: Requester,
): CheckResult {
  const scope = approverScopeOf(action, gate);
  if (approvers === undefined || scope === undefined) return { ok: true };
  const allowed = approvers.rules[scope];
  if (allowed === undefined) return { ok: true };
  const what = describeScope(action, scope);
  const list = allowed.length > 0 ? allowed.join(', ') : 'nobody';
  if (who.identity !== undefined) {
    const id = who.identity;
    const names = new Set([id.actor, ...id.aliases]);
    const groups = new Set(id.groups);
    const match = allowed.some((entry) =>
      isGroupEntry(entry) ? groups.has(entry.slice(groupPrefix.length)) : names.has(entry),
    );
    if (match) return { ok: true };
    return {
      ok: false,
      reason: `${id.actor} (verified by ${id.via}) may not ${what}: spec.fledge.approvers.${scope} allows ${list}`,
    };
  }
  if (who.pendingVerification === true) return { ok: true };
  if (approvers.identity === 'verified')
    return {
      ok: false,
      reason: `${what} needs a verified identity (spec.fledge.approvers.${scope}: ${list}); "${who.actor}" is self-declared — use the Slack buttons or --id-token`,
    };
  if (allowed.some((entry) => !isGroupEntry(entry) && entry === who.actor)) return { ok: true };
  return {
    ok: false,
    reason: `${who.actor} may not ${what}: spec.fledge.approvers.${scope} allows ${list}${allowed.some(isGroupEntry) ? ' (groups match verified identities only)' : ''}`,
  };
}
