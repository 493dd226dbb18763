// The identity activity: verifies the identity token an operator message carries (an OIDC ID token, or a token the
// worker's Slack interactions endpoint issued). Run by the release workflow as a LOCAL activity before it acts on
// such a message; its answer is recorded in history (a marker), so replay never verifies again and stays
// deterministic. A verification failure is an answer, not an error: only an unreachable JWKS throws (retried).
import type {
  IdentityVerdict,
  IdentityVerifier,
  VerifyIdentityRequest,
} from '../integrations/identity/verify.js';

export function createIdentityActivities(verifier: IdentityVerifier) {
  return {
    async verifyIdentity(req: VerifyIdentityRequest): Promise<IdentityVerdict> {
      return verifier.verify(req);
    },
  };
}

export type IdentityActivities = ReturnType<typeof createIdentityActivities>;
