// Container image references (the Docker/OCI reference grammar of github.com/distribution/reference) and the
// CLI's `--image <container>=<ref>` arguments. PURE.
import { quote } from '../sanitize.js';
import type { SpecError, SpecResult } from './errors.js';

export interface ImageRef {
  /** Registry host[:port], when the reference names one (`ghcr.io`, `localhost:5000`). */
  domain?: string;
  /** Repository path (`acme/podinfo`). */
  path: string;
  tag?: string;
  /** `algorithm:hex`. */
  digest?: string;
}

// Grammar (distribution/reference, regexp.go):
//   reference        := name [ ":" tag ] [ "@" digest ]
//   name             := [domain '/'] remote-name
//   domain           := host [':' port-number]
//   host             := domain-name | IPv4address | \[ IPv6address \]
//   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//   path-component   := alpha-numeric [separator alpha-numeric]*   (lowercase only)
//   separator        := /[_.]|__|[-]+/
//   tag              := /[\w][\w.-]{0,127}/
//   digest           := algorithm ":" hex
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainRe = new RegExp(`^(?:${domainName}|${ipv6})(?::[0-9]+)?$`);
const pathComponentRe = /^[a-z0-9]+(?:(?:[_.]|__|[-]+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const nameTotalLengthMax = 255;

/** A first path segment is a registry host when it has a `.` or `:`, is `localhost`, or has uppercase letters. */
function looksLikeDomain(segment: string): boolean {
  return (
    segment.includes('.') ||
    segment.includes(':') ||
    segment === 'localhost' ||
    segment !== segment.toLowerCase()
  );
}

/** Parses and validates an image reference; a tag or a digest is required (no implicit `latest`). */
export function parseImageRef(ref: string): { ok: true; value: ImageRef } | { ok: false; error: string } {
  const fail = (why: string) => ({
    ok: false as const,
    error: `invalid image reference ${quote(ref)}: ${why}`,
  });
  if (ref.trim() !== ref || ref === '') return fail('empty or surrounded by whitespace');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) return fail('digest must be sha256:<64 lowercase hex> (or sha512:<128 hex>)');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag.length > 128) return fail(`tag is ${tag.length} characters long (at most 128)`);
    if (!tagRe.test(tag)) return fail(`tag ${quote(tag)} must match [A-Za-z0-9_][A-Za-z0-9_.-]*`);
  }
  if (rest.length > nameTotalLengthMax)
    return fail(`repository name longer than ${nameTotalLengthMax} characters`);
  const segments = rest.split('/');
  let domain: string | undefined;
  const first = segments[0] ?? '';
  if (segments.length > 1 && looksLikeDomain(first)) {
    if (!domainRe.test(first)) return fail(`registry host ${quote(first)} is not a valid host[:port]`);
    domain = first;
    segments.shift();
  }
  for (const segment of segments) {
    if (segment === '') return fail('empty path component');
    if (!pathComponentRe.test(segment)) {
      return fail(
        segment !== segment.toLowerCase()
          ? `repository name must be lowercase (${quote(segment)})`
          : `invalid path component ${quote(segment)} (lowercase letters, digits and single . _ __ or - separators)`,
      );
    }
  }
  if (tag === undefined && digest === undefined)
    return fail('a tag (:1.2.3) or a digest (@sha256:…) is required');
  return {
    ok: true,
    value: {
      ...(domain !== undefined ? { domain } : {}),
      path: segments.join('/'),
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
    },
  };
}

/** RFC 1123 label: a Kubernetes container name. */
const containerNameRe = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Validates a container → image map (workflow input from the CLI or the Web UI). Paths are `images.<container>`. */
export function validateImages(images: unknown): SpecError[] {
  if (typeof images !== 'object' || images === null || Array.isArray(images)) {
    return [{ path: 'images', message: 'expected an object mapping container name to image reference' }];
  }
  const errors: SpecError[] = [];
  const entries = Object.entries(images);
  if (entries.length === 0) {
    errors.push({
      path: 'images',
      message: 'at least one image is required (--image <container>=<image:tag>)',
    });
  }
  for (const [container, ref] of entries) {
    const path = `images.${container}`;
    if (!containerNameRe.test(container)) {
      errors.push({
        path,
        message: `container name ${quote(container)} is not a valid Kubernetes container name (RFC 1123 label)`,
      });
    }
    if (typeof ref !== 'string') {
      errors.push({
        path,
        message: `expected an image reference string, got ${ref === null ? 'null' : typeof ref}`,
      });
      continue;
    }
    const parsed = parseImageRef(ref);
    if (!parsed.ok) errors.push({ path, message: parsed.error });
  }
  return errors;
}

/** Parses the CLI's repeated `--image <container>=<ref>` values. */
export function parseImageArgs(args: readonly string[]): SpecResult<Record<string, string>> {
  const images: Record<string, string> = {};
  const errors: SpecError[] = [];
  args.forEach((arg, index) => {
    const eq = arg.indexOf('=');
    if (eq <= 0 || eq === arg.length - 1) {
      errors.push({
        path: `--image[${index}]`,
        message: `expected <container>=<image reference>, got ${quote(arg)}`,
      });
      return;
    }
    const container = arg.slice(0, eq);
    const ref = arg.slice(eq + 1);
    if (Object.prototype.hasOwnProperty.call(images, container)) {
      errors.push({
        path: `images.${container}`,
        message: `container ${quote(container)} is given more than once`,
      });
      return;
    }
    images[container] = ref;
  });
  if (args.length > 0) errors.push(...validateImages(images).filter((e) => e.path !== 'images'));
  else errors.push(...validateImages(images));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: images };
}

const idUnsafe = /[^A-Za-z0-9._-]/g;

/**
 * The release identity part of a workflow ID (`fledge/<ns>/<name>/<tag-or-digest>`): the tag when there is one
 * (`6.5.1`; a CI retry of the same tag finds the same release), else the digest shortened to `sha256-<12 hex>`;
 * both → `<tag>-sha256-<12 hex>`. Characters outside `[A-Za-z0-9._-]` become `-`. An unparseable reference
 * falls back to its sanitised last path segment (validate first: see `parseImageRef`).
 */
export function imageTagOrDigest(ref: string): string {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) {
    const tail = ref.slice(ref.lastIndexOf('/') + 1);
    return tail.replace(idUnsafe, '-') || 'unknown';
  }
  const { tag, digest } = parsed.value;
  const shortDigest = digest
    ? `${digest.slice(0, digest.indexOf(':'))}-${digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13)}`
    : undefined;
  const id = [tag, shortDigest].filter((part): part is string => part !== undefined).join('-');
  return id.replace(idUnsafe, '-');
}
