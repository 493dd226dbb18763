// `analysis.sessionAffinity` → the cookies and matches the routers write (Flagger's "Canary Release with Session
// Affinity", pkg/router/istio.go and gateway_api.go getSessionAffinityRouteRules; SessionAffinity.BuildCookie in
// pkg/apis/flagger/v1beta1/canary.go). Flagger draws a random cookie value per canary run and keeps it in the
// Canary's status; Fledge derives it from the release (the compiled context's checksum of spec + images), so every
// worker and every retry of an activity writes the same routes without state. PURE.
import type { SessionAffinitySpec } from './schema.js';

/** One sticky cookie: `name=value`, its Set-Cookie header value, and the regex Flagger matches `Cookie` with. */
export interface StickyCookie {
  cookie: string;
  setCookie: string;
  /** `.*<name>.*<value>.*` on the request's `Cookie` header (Flagger's match). */
  match: string;
}

/** What the routers need for session affinity (ReleaseContext.service.options.sessionAffinity). Plain JSON. */
export interface SessionAffinityRoutes {
  /** Set on responses of the canary while it has weight; requests carrying it go to the canary. */
  canary: StickyCookie;
  /** `primaryCookieName`: set on responses of the primary (Max-Age: the analysis interval); sticks to the primary. */
  primary?: StickyCookie;
  /** At weight 0 (promotion, rollback): requests carrying the canary cookie get it expired (`Max-Age=-1`). */
  expire: string;
}

/** Flagger's default cookie lifetime: a day. */
export const defaultSessionAffinityMaxAge = 86_400;

/** Flagger's BuildCookie: `<name=value>; Max-Age=<n>[; Domain=…][; HttpOnly][; Partitioned][; Path=…][; SameSite=…][; Secure]`. */
export function buildCookie(s: SessionAffinitySpec, cookie: string, maxAge: number): string {
  let out = `${cookie}; Max-Age=${maxAge}`;
  if (s.domain) out += `; Domain=${s.domain}`;
  if (s.httpOnly) out += '; HttpOnly';
  if (s.partitioned) out += '; Partitioned';
  if (s.path) out += `; Path=${s.path}`;
  if (s.sameSite) out += `; SameSite=${s.sameSite}`;
  if (s.secure) out += '; Secure';
  return out;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The sticky cookies of a release. `token`: a value unique to the release (letters and digits); `intervalSeconds`:
 * the analysis interval (the primary cookie's Max-Age, as Flagger).
 */
export function sessionAffinityRoutes(
  s: SessionAffinitySpec,
  token: string,
  intervalSeconds: number,
): SessionAffinityRoutes {
  const sticky = (name: string, maxAge: number): StickyCookie => ({
    cookie: `${name}=${token}`,
    setCookie: buildCookie(s, `${name}=${token}`, maxAge),
    // Flagger's pattern; cookie names may contain regex metacharacters (`.`, `*`, `+`…), escaped here.
    match: `.*${escapeRegex(name)}.*${escapeRegex(token)}.*`,
  });
  return {
    canary: sticky(s.cookieName, s.maxAge && s.maxAge > 0 ? s.maxAge : defaultSessionAffinityMaxAge),
    ...(s.primaryCookieName ? { primary: sticky(s.primaryCookieName, Math.floor(intervalSeconds)) } : {}),
    expire: `${s.cookieName}=${token}; Max-Age=-1`,
  };
}
