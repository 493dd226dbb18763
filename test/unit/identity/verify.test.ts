// Identity tokens verified by the worker (src/integrations/identity/verify.ts): OIDC ID tokens from configured
// issuers — a locally generated key pair, its JWKS in a file and on a local HTTP server — and the short-lived tokens
// the Slack interactions endpoint issues for one button press.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import {
  IdentityInfrastructureError,
  createIdentityVerifier,
  mintSlackBridgeToken,
  slackBridgeKey,
  type IdentityVerifier,
} from '../../../src/integrations/identity/verify.js';
import { identitySettingsFromEnv, type OidcIssuer } from '../../../src/integrations/identity/settings.js';

const issuer = 'https://token.actions.example.com';
const audience = 'fledge';
let key: CryptoKey;
let otherKey: CryptoKey;
let jwk: JWK;
let jwksFile: string;
let server: Server;
let jwksUri: string;

beforeAll(async () => {
  ({ privateKey: key, publicKey: jwk } = await generateKeyPair('ES256', { extractable: true }).then(
    async (p) => ({ privateKey: p.privateKey, publicKey: await exportJWK(p.publicKey) }),
  ));
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwks = { keys: [{ ...jwk, kid: 'k1', alg: 'ES256', use: 'sig' }] };
  const dir = mkdtempSync(join(tmpdir(), 'fledge-jwks-'));
  jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks));
  server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  jwksUri = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/jwks`;
});
afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
});

const issuerConfig = (extra: Partial<OidcIssuer> = {}): OidcIssuer => ({
  issuer,
  audience,
  jwksFile,
  actorClaim: 'actor',
  actorPrefix: 'github:',
  groupsClaim: 'groups',
  clockToleranceSeconds: 60,
  ...extra,
});

async function token(
  opts: {
    iss?: string;
    aud?: string;
    exp?: number | string;
    signWith?: CryptoKey;
    kid?: string;
    claims?: Record<string, unknown>;
  } = {},
): Promise<string> {
  return new SignJWT({ actor: 'octocat', groups: ['release-managers'], ...opts.claims })
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? 'k1' })
    .setIssuer(opts.iss ?? issuer)
    .setAudience(opts.aud ?? audience)
    .setSubject('repo:acme/shop:ref:refs/heads/main')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(opts.signWith ?? key);
}

const req = (t: string) => ({
  token: t,
  workflowId: 'fledge/shop/podinfo/1.0.0',
  action: 'approve' as const,
});

describe('OIDC ID tokens', () => {
  let file: IdentityVerifier;
  let http: IdentityVerifier;
  beforeAll(() => {
    const groups = { sre: ['github:octocat'] };
    file = createIdentityVerifier({ oidcIssuers: [issuerConfig()], groups });
    http = createIdentityVerifier({
      oidcIssuers: [issuerConfig({ jwksFile: undefined, jwksUri })],
      groups,
    });
  });

  it('a valid token (JWKS file): accepted, the actor is the configured claim, groups from token and config', async () => {
    const r = await file.verify(req(await token()));
    expect(r).toMatchObject({
      ok: true,
      identity: { via: 'oidc', actor: 'github:octocat', groups: ['release-managers', 'sre'] },
      tokenId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
  });

  it('a valid token (JWKS over HTTP): accepted', async () => {
    expect(await http.verify(req(await token()))).toMatchObject({
      ok: true,
      identity: { actor: 'github:octocat' },
    });
  });

  const rejected: Array<[string, () => Promise<string>, RegExp]> = [
    [
      'wrong issuer',
      () => token({ iss: 'https://evil.example.com' }),
      /issuer https:\/\/evil.example.com is not trusted/,
    ],
    ['wrong audience', () => token({ aud: 'someone-else' }), /wrong audience/],
    [
      'expired (beyond the clock tolerance)',
      () => token({ exp: Math.floor(Date.now() / 1000) - 120 }),
      /token expired/,
    ],
    ['bad signature (another key, same kid)', () => token({ signWith: otherKey }), /bad signature/],
    ['a key the issuer does not publish', () => token({ kid: 'k2' }), /no matching key in its JWKS/],
    ['no actor claim', () => token({ claims: { actor: undefined } }), /has no "actor" claim/],
    [
      'an actor with control characters',
      () => token({ claims: { actor: 'octo\u001bcat' } }),
      /control characters/,
    ],
    ['not a JWT', () => Promise.resolve('a.b.c'), /malformed token/],
  ];
  for (const [name, make, reason] of rejected) {
    it(`${name}: rejected with the reason`, async () => {
      for (const v of [file, http]) {
        const r = await v.verify(req(await make()));
        expect(r.ok).toBe(false);
        expect(!r.ok && r.reason).toMatch(reason);
      }
    });
  }

  it('a worker that trusts no issuer refuses every token, saying so', async () => {
    const none = createIdentityVerifier({ oidcIssuers: [], groups: {} });
    expect(await none.verify(req(await token()))).toEqual({
      ok: false,
      reason: 'identity tokens are not accepted: this worker trusts no OIDC issuer (FLEDGE_OIDC_ISSUERS)',
    });
  });

  it('an unreachable JWKS is an infrastructure error (retried), not a rejection', async () => {
    const down = createIdentityVerifier({
      oidcIssuers: [issuerConfig({ jwksFile: undefined, jwksUri: 'http://127.0.0.1:1/jwks' })],
      groups: {},
    });
    await expect(down.verify(req(await token()))).rejects.toBeInstanceOf(IdentityInfrastructureError);
  });

  it('FLEDGE_OIDC_ISSUERS is read with zod: defaults, and unreadable settings name themselves', () => {
    const s = identitySettingsFromEnv({
      FLEDGE_OIDC_ISSUERS: JSON.stringify([{ issuer, audience, jwksFile }]),
    });
    expect(s.oidcIssuers[0]).toMatchObject({
      actorClaim: 'email',
      actorPrefix: '',
      clockToleranceSeconds: 60,
    });
    expect(() =>
      identitySettingsFromEnv({ FLEDGE_OIDC_ISSUERS: JSON.stringify([{ issuer, audience }]) }),
    ).toThrow(/FLEDGE_OIDC_ISSUERS: .*exactly one of jwksUri and jwksFile/);
    expect(() => identitySettingsFromEnv({ FLEDGE_OIDC_ISSUERS: '[' })).toThrow(
      /FLEDGE_OIDC_ISSUERS: not JSON/,
    );
    expect(() => identitySettingsFromEnv({ FLEDGE_SLACK_USER_MAP: '{"nope": "a"}' })).toThrow(
      /FLEDGE_SLACK_USER_MAP/,
    );
  });
});

describe('Slack interaction tokens (issued by the worker for one signed button press)', () => {
  const secret = 'slack-signing-secret-for-tests';
  const verifier = createIdentityVerifier({
    oidcIssuers: [],
    slackSigningSecret: secret,
    groups: { sre: ['slack:U0SRE0001'] },
  });
  const press = {
    slackUserId: 'U0SRE0001',
    actor: 'carol@example.com',
    workflowId: 'fledge/shop/podinfo/1.0.0',
    action: 'approve' as const,
    gate: 'confirm-rollout',
  };

  it('verifies: the mapped actor, the Slack user as alias, its groups, a single-use token ID', async () => {
    const t = await mintSlackBridgeToken(slackBridgeKey(secret), press);
    expect(await verifier.verify({ ...req(t), gate: 'confirm-rollout' })).toMatchObject({
      ok: true,
      identity: { via: 'slack', actor: 'carol@example.com', aliases: ['slack:U0SRE0001'], groups: ['sre'] },
      tokenId: expect.stringMatching(/^jti:/),
    });
  });

  it('is bound to its release, action and gate', async () => {
    const t = await mintSlackBridgeToken(slackBridgeKey(secret), press);
    const other = await verifier.verify({
      ...req(t),
      workflowId: 'fledge/shop/podinfo/2.0.0',
      gate: 'confirm-rollout',
    });
    expect(!other.ok && other.reason).toMatch(
      /issued for approve on fledge\/shop\/podinfo\/1.0.0, not approve/,
    );
    const abort = await verifier.verify({ ...req(t), action: 'abort' });
    expect(!abort.ok && abort.reason).toMatch(/not abort on this release/);
    const gate = await verifier.verify({ ...req(t), gate: 'confirm-promotion' });
    expect(!gate.ok && gate.reason).toMatch(/issued for gate confirm-rollout/);
  });

  it('another secret, an expired token, or a worker without the secret: rejected', async () => {
    const forged = await mintSlackBridgeToken(slackBridgeKey('another-secret-entirely'), press);
    const f = await verifier.verify({ ...req(forged), gate: 'confirm-rollout' });
    expect(!f.ok && f.reason).toMatch(/Slack interaction token: bad signature/);
    const old = await mintSlackBridgeToken(slackBridgeKey(secret), press, Date.now() - 10 * 60_000);
    const o = await verifier.verify({ ...req(old), gate: 'confirm-rollout' });
    expect(!o.ok && o.reason).toMatch(/token expired/);
    const without = createIdentityVerifier({ oidcIssuers: [], groups: {} });
    const w = await without.verify({
      ...req(await mintSlackBridgeToken(slackBridgeKey(secret), press)),
      gate: 'confirm-rollout',
    });
    expect(!w.ok && w.reason).toMatch(/no FLEDGE_SLACK_SIGNING_SECRET/);
  });
});
