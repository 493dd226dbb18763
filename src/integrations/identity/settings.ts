// Identity settings of the worker (verified approvers, docs/security.md): which OIDC issuers it trusts, the Slack
// app's signing secret (interactive buttons), where the interactions endpoint listens, and group membership.
// Read from the environment with zod at start-up; an unreadable setting stops the worker, naming it.
import { z } from 'zod';
import { hasControlCharacters, maxActorLength } from '../../domain/approvers.js';

const principal = z
  .string()
  .min(1)
  .max(maxActorLength)
  .refine((s) => !hasControlCharacters(s), 'contains control characters');

export const oidcIssuerSchema = z
  .strictObject({
    /** The token's `iss`, exactly. */
    issuer: z.string().min(1),
    /** The `aud` Fledge expects (one of them must be in the token). */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** The issuer's JWKS over HTTP(S) (through the worker's outbound guard). */
    jwksUri: z.url().optional(),
    /** Or a local JWKS file (read at each verification, so it can be rotated in place). */
    jwksFile: z.string().min(1).optional(),
    /** The claim naming the actor (default `email`; GitHub Actions: `actor` or `sub`). */
    actorClaim: z.string().min(1).default('email'),
    /** Prepended to the claim's value, e.g. `github:` (default none). */
    actorPrefix: z.string().max(50).default(''),
    /** A claim holding a list of group names (optional). */
    groupsClaim: z.string().min(1).optional(),
    /** Allowed clock skew for exp/nbf/iat (seconds, default 60). */
    clockToleranceSeconds: z.int().min(0).max(600).default(60),
  })
  .refine((i) => (i.jwksUri === undefined) !== (i.jwksFile === undefined), {
    message: 'give exactly one of jwksUri and jwksFile',
  });
export type OidcIssuer = z.infer<typeof oidcIssuerSchema>;

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((raw, ctx): z.infer<T> => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `not JSON: ${e instanceof Error ? e.message : String(e)}` });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      for (const i of parsed.error.issues)
        ctx.addIssue({ code: 'custom', message: `${i.path.join('.') || '(value)'}: ${i.message}` });
      return z.NEVER;
    }
    return parsed.data as z.infer<T>;
  });

const envSchema = z.object({
  FLEDGE_OIDC_ISSUERS: jsonOf(z.array(oidcIssuerSchema).max(20)).optional(),
  FLEDGE_SLACK_SIGNING_SECRET: z.string().min(8, 'too short to be a Slack signing secret').optional(),
  FLEDGE_INTERACTIONS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  FLEDGE_INTERACTIONS_HOST: z.string().min(1).optional(),
  /** Slack user ID → the actor to record (e.g. an email): `{"U0123ABCD": "alice@example.com"}`. */
  FLEDGE_SLACK_USER_MAP: jsonOf(z.record(z.string().regex(/^[UW][A-Z0-9]{2,30}$/), principal)).optional(),
  /** Group → members (actors or aliases): `{"sre": ["alice@example.com", "slack:U0123ABCD"]}`. */
  FLEDGE_APPROVER_GROUPS: jsonOf(
    z.record(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/), z.array(principal).max(1000)),
  ).optional(),
});

export interface IdentitySettings {
  oidcIssuers: OidcIssuer[];
  slackSigningSecret?: string;
  /** The Slack interactions endpoint (on when the signing secret is set). */
  interactions: { host: string; port: number };
  slackUserMap: Record<string, string>;
  groups: Record<string, string[]>;
}

export const defaultInteractionsPort = 3030;

export function identitySettingsFromEnv(env: NodeJS.ProcessEnv): IdentitySettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${issues}`);
  }
  const e = parsed.data;
  return {
    oidcIssuers: e.FLEDGE_OIDC_ISSUERS ?? [],
    ...(e.FLEDGE_SLACK_SIGNING_SECRET ? { slackSigningSecret: e.FLEDGE_SLACK_SIGNING_SECRET } : {}),
    interactions: {
      host: e.FLEDGE_INTERACTIONS_HOST ?? '0.0.0.0',
      port: e.FLEDGE_INTERACTIONS_PORT ?? defaultInteractionsPort,
    },
    slackUserMap: e.FLEDGE_SLACK_USER_MAP ?? {},
    groups: e.FLEDGE_APPROVER_GROUPS ?? {},
  };
}
