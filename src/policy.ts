// Release policy: which namespaces a release may target and which image repositories it may deploy. PURE (no I/O,
// no Node built-ins): the starter (`fledge start`, `fledge retry`) checks it before anything is started, and the
// worker checks it again in every release activity before any write (src/activities/release-policy.ts), so a
// workflow started directly (Web UI, `temporal workflow start`) is refused too. Settings (src/config.ts):
//   FLEDGE_ALLOWED_NAMESPACES  globs, `*` = any run of characters            default `*`
//   FLEDGE_ALLOWED_IMAGES      globs over the repository (no tag/digest):       default `**`
//                              `*` stays within one path segment, `**` crosses `/`
//   FLEDGE_WORKER_NAMESPACE    the worker's own namespace (in a pod: the service account's namespace file)
// kube-system, kube-public, kube-node-lease and the worker's own namespace are refused unless
// FLEDGE_ALLOWED_NAMESPACES names them literally (a glob never lets them in).
import { parseImageRef } from './domain/manifest/image.js';

/** The ApplicationFailure type of a refused release (worker side); stable, part of the contract. */
export const policyViolationType = 'PolicyViolation';

export const allowedNamespacesSetting = 'FLEDGE_ALLOWED_NAMESPACES';
export const allowedImagesSetting = 'FLEDGE_ALLOWED_IMAGES';
export const workerNamespaceSetting = 'FLEDGE_WORKER_NAMESPACE';

/** Refused unless named literally in FLEDGE_ALLOWED_NAMESPACES (with the worker's own namespace). */
export const reservedNamespaces: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export interface ReleasePolicy {
  /** Namespace globs (`*` = any run of characters). */
  namespaces: string[];
  /** Image repository globs (`*` within a path segment, `**` across segments). */
  images: string[];
  /** The worker's own namespace, when known: reserved like kube-system. */
  workerNamespace?: string;
}

export interface PolicyViolation {
  /** The setting that refuses it. */
  setting: typeof allowedNamespacesSetting | typeof allowedImagesSetting;
  /** `namespace` or `images.<container>`. */
  path: string;
  message: string;
}

export const defaultReleasePolicy: ReleasePolicy = { namespaces: ['*'], images: ['**'] };

/** `a, b c` → ['a', 'b', 'c']: comma- and/or whitespace-separated. */
export function parsePatternList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const escapeRe = (s: string): string => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** A namespace glob: `*` is any run of characters; everything else is literal. */
export function namespaceGlob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
}

/** An image repository glob: `**` is any run of characters, `*` any run without `/`. */
export function imageGlob(pattern: string): RegExp {
  const body = pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRe).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/**
 * The repository an image reference names, normalised as a registry would: `nginx:1` → `docker.io/library/nginx`,
 * `acme/app:1` → `docker.io/acme/app`, `ghcr.io/acme/app@sha256:…` → `ghcr.io/acme/app`. Undefined if invalid.
 */
export function imageRepository(ref: string): string | undefined {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) return undefined;
  const { domain, path } = parsed.value;
  if (domain === undefined || domain === 'index.docker.io')
    return `docker.io/${path.includes('/') ? path : `library/${path}`}`;
  return `${domain.toLowerCase()}/${path}`;
}

/** Validates the settings' patterns; returns problems (setting: message) instead of throwing. */
export function validatePolicyPatterns(policy: ReleasePolicy): string[] {
  const problems: string[] = [];
  for (const p of policy.namespaces)
    if (!/^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$/.test(p))
      problems.push(
        `${allowedNamespacesSetting}: ${JSON.stringify(p)} is not a namespace name or glob ([a-z0-9-] and *)`,
      );
  for (const p of policy.images)
    if (!/^[A-Za-z0-9*][A-Za-z0-9*._:/[\]-]*$/.test(p) || /[@]/.test(p))
      problems.push(
        `${allowedImagesSetting}: ${JSON.stringify(p)} is not an image repository glob (e.g. ghcr.io/acme/*; no tag or digest)`,
      );
  return problems;
}

/** Is this namespace reserved (kube-*, the worker's own)? */
export function isReservedNamespace(policy: ReleasePolicy, namespace: string): boolean {
  return reservedNamespaces.includes(namespace) || namespace === policy.workerNamespace;
}

/** Everything `policy` refuses about releasing `images` into `namespace`: empty when the release is allowed. */
export function checkReleasePolicy(
  policy: ReleasePolicy,
  release: { namespace: string; images: Record<string, string> },
): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const ns = release.namespace;
  const allowedList = policy.namespaces.join(',') || '(empty)';
  if (isReservedNamespace(policy, ns)) {
    if (!policy.namespaces.includes(ns)) {
      const why = ns === policy.workerNamespace ? "the worker's own namespace" : 'a system namespace';
      out.push({
        setting: allowedNamespacesSetting,
        path: 'namespace',
        message: `namespace ${JSON.stringify(ns)} is ${why} and is refused unless ${allowedNamespacesSetting} names it explicitly (it is ${JSON.stringify(allowedList)})`,
      });
    }
  } else if (!policy.namespaces.some((p) => namespaceGlob(p).test(ns))) {
    out.push({
      setting: allowedNamespacesSetting,
      path: 'namespace',
      message: `namespace ${JSON.stringify(ns)} is not allowed by ${allowedNamespacesSetting}=${JSON.stringify(allowedList)}`,
    });
  }
  for (const container of Object.keys(release.images).sort()) {
    const ref = release.images[container] ?? '';
    const repo = imageRepository(ref);
    if (repo !== undefined && policy.images.some((p) => imageGlob(p).test(repo))) continue;
    out.push({
      setting: allowedImagesSetting,
      path: `images.${container}`,
      message:
        repo === undefined
          ? `image ${JSON.stringify(ref)} is not a valid image reference`
          : `image ${JSON.stringify(ref)} (repository ${repo}) is not allowed by ${allowedImagesSetting}=${JSON.stringify(policy.images.join(',') || '(empty)')}`,
    });
  }
  return out;
}

/** One line per violation, for errors and failure messages. */
export function formatPolicyViolations(violations: PolicyViolation[]): string {
  return `release refused by policy:\n${violations.map((v) => `  ${v.path}: ${v.message}`).join('\n')}`;
}
