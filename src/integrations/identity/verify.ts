// Verifies the identity token an operator message carries, on the worker (the trusted side): an OIDC ID token from
// a configured issuer (CLI/CI: `--id-token`), or a short-lived token the worker's own Slack interactions endpoint
// issued for a signed button press (src/interactions/slack.ts). Runs inside the `verifyIdentity` local activity, so
// its answer is recorded in the release's history and replay never verifies again.
//
// A verification failure is an answer ({ok: false, reason}); only an infrastructure problem (the issuer's JWKS
// cannot be fetched) throws, so the activity retries it.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import { hasControlCharacters, maxActorLength, type OperatorIdentity } from '../../domain/approvers.js';
import type { OperatorActionName } from '../../domain/state.js';
import type { IdentitySettings, OidcIssuer } from './settings.js';

export interface VerifyIdentityRequest {
  /** The token as the message carried it. */
  token: string;
  /** What the message asks for: a Slack-issued token must have been issued for exactly this. */
  workflowId: string;
  action: OperatorActionName;
  gate?: string;
}

export type IdentityVerdict =
  | {
      ok: true;
      identity: OperatorIdentity;
      /** jti, else a hash of the token: each is used once per release. */ tokenId: string;
    }
  | { ok: false; reason: string };

/** Tokens minted by the Slack interactions endpoint for one button press. */
export const slackBridgeIssuer = 'urn:fledge:slack-interactions';
const slackBridgeAudience = 'urn:fledge:release';
export const slackBridgeTtlSeconds = 300;

/** The key of Slack bridge tokens, derived from the Slack signing secret (no extra setting to distribute). */
export function slackBridgeKey(signingSecret: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', signingSecret).update('fledge slack bridge token v1').digest());
}

export interface SlackBridgeClaims {
  slackUserId: string;
  /** The actor to record: the mapped email (FLEDGE_SLACK_USER_MAP), else `slack:<user id>`. */
  actor: string;
  workflowId: string;
  action: OperatorActionName;
  gate?: string;
}

/** A token binding one verified Slack button press to one workflow, action (and gate), valid for 5 minutes. */
export async function mintSlackBridgeToken(
  key: Uint8Array,
  c: SlackBridgeClaims,
  nowMs: number = Date.now(),
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({
    fledge_actor: c.actor,
    fledge_wf: c.workflowId,
    fledge_action: c.action,
    ...(c.gate !== undefined ? { fledge_gate: c.gate } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(slackBridgeIssuer)
    .setAudience(slackBridgeAudience)
    .setSubject(`slack:${c.slackUserId}`)
    .setIssuedAt(iat)
    .setExpirationTime(iat + slackBridgeTtlSeconds)
    .setJti(randomUUID())
    .sign(key);
}

/** The JWKS of an issuer could not be read: retried by the activity, then the message is rejected saying so. */
export class IdentityInfrastructureError extends Error {
  override readonly name = 'IdentityInfrastructureError';
}

const asymmetricAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Text from an unverified token, safe for the operator log: no control characters, short. */
function clip(v: unknown, max = 120): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

const claimNames: Record<string, string> = {
  iss: 'wrong issuer',
  aud: 'wrong audience',
  nbf: 'not valid yet (nbf)',
  iat: 'issued in the future (iat)',
  exp: 'expired',
  sub: 'wrong subject',
};

/** A verification failure as a reason, or undefined when `e` is an infrastructure problem. */
function rejectionOf(e: unknown): string | undefined {
  if (e instanceof errors.JWTExpired) return 'token expired';
  if (e instanceof errors.JWTClaimValidationFailed)
    return `${claimNames[e.claim] ?? `claim ${clip(e.claim)} invalid`} (${clip(e.message)})`;
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (e instanceof errors.JWKSNoMatchingKey)
    return 'signed with a key the issuer does not publish (no matching key in its JWKS)';
  if (e instanceof errors.JWKSMultipleMatchingKeys) return 'ambiguous key: several JWKS keys match';
  if (e instanceof errors.JOSEAlgNotAllowed) return `algorithm not allowed (${clip(e.message)})`;
  if (
    e instanceof errors.JWSInvalid ||
    e instanceof errors.JWTInvalid ||
    e instanceof errors.JOSENotSupported
  )
    return `malformed token (${clip(e.message)})`;
  return undefined;
}

function tokenIdOf(token: string, payload: JWTPayload): string {
  return typeof payload.jti === 'string' && payload.jti !== ''
    ? `jti:${clip(payload.jti, 200)}`
    : `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

function validActor(actor: string): string | undefined {
  if (actor.trim() === '') return 'the actor claim is empty';
  if (actor.length > maxActorLength) return `the actor is longer than ${maxActorLength} characters`;
  if (hasControlCharacters(actor)) return 'the actor contains control characters';
  return undefined;
}

const bridgeClaims = z.object({
  sub: z.string().regex(/^slack:[UW][A-Z0-9]{2,30}$/),
  fledge_actor: z.string().min(1),
  fledge_wf: z.string().min(1),
  fledge_action: z.string().min(1),
  fledge_gate: z.string().min(1).optional(),
});

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface IdentityVerifierDeps {
  /** The transport for remote JWKS (the worker passes its outbound guard). Default: fetch. */
  fetch?: FetchLike;
}

export interface IdentityVerifier {
  verify(req: VerifyIdentityRequest): Promise<IdentityVerdict>;
}

export function createIdentityVerifier(
  settings: Pick<IdentitySettings, 'oidcIssuers' | 'slackSigningSecret' | 'groups'>,
  deps: IdentityVerifierDeps = {},
): IdentityVerifier {
  const bridgeKey = settings.slackSigningSecret ? slackBridgeKey(settings.slackSigningSecret) : undefined;
  const remote = new Map<string, JWTVerifyGetKey>();

  const keysOf = async (issuer: OidcIssuer): Promise<JWTVerifyGetKey> => {
    if (issuer.jwksFile !== undefined) {
      let jwks: JSONWebKeySet;
      try {
        jwks = JSON.parse(await readFile(issuer.jwksFile, 'utf8')) as JSONWebKeySet;
      } catch (e) {
        throw new IdentityInfrastructureError(
          `cannot read the JWKS file of ${issuer.issuer}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      return createLocalJWKSet(jwks);
    }
    const uri = issuer.jwksUri ?? '';
    let set = remote.get(uri);
    if (!set) {
      const transport = deps.fetch;
      set = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: 5000,
        ...(transport ? { [customFetch]: (url: string, init: RequestInit) => transport(url, init) } : {}),
      });
      remote.set(uri, set);
    }
    return set;
  };

  const groupsOf = (names: string[], fromToken: string[]): string[] => {
    const groups = new Set(fromToken);
    for (const [group, members] of Object.entries(settings.groups))
      if (members.some((m) => names.includes(m))) groups.add(group);
    return [...groups].sort();
  };

  const verifyBridge = async (req: VerifyIdentityRequest): Promise<IdentityVerdict> => {
    if (!bridgeKey)
      return {
        ok: false,
        reason: 'a Slack interaction token, but this worker has no FLEDGE_SLACK_SIGNING_SECRET',
      };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(req.token, bridgeKey, {
        issuer: slackBridgeIssuer,
        audience: slackBridgeAudience,
        algorithms: ['HS256'],
        clockTolerance: 5,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      }));
    } catch (e) {
      const reason = rejectionOf(e);
      if (reason === undefined) throw e;
      return { ok: false, reason: `Slack interaction token: ${reason}` };
    }
    const c = bridgeClaims.safeParse(payload);
    if (!c.success) return { ok: false, reason: 'Slack interaction token: missing or invalid Fledge claims' };
    if (c.data.fledge_wf !== req.workflowId || c.data.fledge_action !== req.action)
      return {
        ok: false,
        reason: `Slack interaction token was issued for ${clip(c.data.fledge_action)} on ${clip(c.data.fledge_wf)}, not ${req.action} on this release`,
      };
    if (c.data.fledge_gate !== undefined && c.data.fledge_gate !== req.gate)
      return {
        ok: false,
        reason: `Slack interaction token was issued for gate ${clip(c.data.fledge_gate)}, not ${req.gate ?? 'the pending one'}`,
      };
    const bad = validActor(c.data.fledge_actor);
    if (bad) return { ok: false, reason: `Slack interaction token: ${bad}` };
    const names = [c.data.fledge_actor, c.data.sub];
    return {
      ok: true,
      identity: {
        via: 'slack',
        actor: c.data.fledge_actor,
        aliases: c.data.sub === c.data.fledge_actor ? [] : [c.data.sub],
        groups: groupsOf(names, []),
      },
      tokenId: tokenIdOf(req.token, payload),
    };
  };

  const verifyOidc = async (issuer: OidcIssuer, token: string): Promise<IdentityVerdict> => {
    const keys = await keysOf(issuer);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: asymmetricAlgorithms,
        clockTolerance: issuer.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (e) {
      const reason = rejectionOf(e);
      if (reason === undefined) {
        throw new IdentityInfrastructureError(
          `cannot verify a token of ${issuer.issuer}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      return { ok: false, reason: `ID token of ${clip(issuer.issuer)}: ${reason}` };
    }
    const claim = payload[issuer.actorClaim];
    if (typeof claim !== 'string' && typeof claim !== 'number')
      return {
        ok: false,
        reason: `ID token of ${clip(issuer.issuer)} has no "${clip(issuer.actorClaim)}" claim to name the actor`,
      };
    const actor = `${issuer.actorPrefix}${String(claim)}`;
    const bad = validActor(actor);
    if (bad) return { ok: false, reason: `ID token of ${clip(issuer.issuer)}: ${bad}` };
    const aliases =
      issuer.actorClaim !== 'email' && typeof payload.email === 'string' && payload.email_verified === true
        ? [payload.email]
        : [];
    const rawGroups = issuer.groupsClaim !== undefined ? payload[issuer.groupsClaim] : undefined;
    const tokenGroups = Array.isArray(rawGroups)
      ? rawGroups.filter((g): g is string => typeof g === 'string' && g !== '' && !hasControlCharacters(g))
      : [];
    return {
      ok: true,
      identity: { via: 'oidc', actor, aliases, groups: groupsOf([actor, ...aliases], tokenGroups) },
      tokenId: tokenIdOf(token, payload),
    };
  };

  return {
    async verify(req) {
      let claims: JWTPayload;
      try {
        claims = decodeJwt(req.token);
      } catch (e) {
        return { ok: false, reason: rejectionOf(e) ?? 'malformed token' };
      }
      if (typeof claims.iss !== 'string') return { ok: false, reason: 'the token names no issuer (iss)' };
      if (claims.iss === slackBridgeIssuer) return verifyBridge(req);
      const issuer = settings.oidcIssuers.find((i) => i.issuer === claims.iss);
      if (!issuer) {
        return {
          ok: false,
          reason:
            settings.oidcIssuers.length === 0
              ? 'identity tokens are not accepted: this worker trusts no OIDC issuer (FLEDGE_OIDC_ISSUERS)'
              : `issuer ${clip(claims.iss)} is not trusted (FLEDGE_OIDC_ISSUERS)`,
        };
      }
      return verifyOidc(issuer, req.token);
    },
  };
}
