// Shared zod building blocks for the Flagger manifests. PURE.
import { z } from 'zod';
import { groupDigits, hasControlCharacters, quote } from '../sanitize.js';
import { parseGoDuration } from './duration.js';

export const notSupportedYet = 'not supported yet by Fledge';

/** Values that mean "feature off" in Flagger's Go types (omitempty zero values): accepted for unsupported fields. */
function isOff(value: unknown): boolean {
  if (value === null || value === false || value === '' || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/**
 * A Flagger field Fledge cannot honour yet: any "on" value is an error naming the path
 * (`spec.analysis.sessionAffinity: not supported yet by Fledge (…)`); zero values (`false`, `{}`, `[]`) pass.
 */
export function notYet(hint?: string) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (!isOff(value))
        ctx.addIssue({ code: 'custom', message: hint ? `${notSupportedYet} (${hint})` : notSupportedYet });
    })
    .optional();
}

export const stringMap = z.record(z.string(), z.string());

/** A Go duration string (`30s`, `1m30s`, `500ms`); `minMs` bounds it from below. Kept as written. */
export function goDuration(opts: { minMs?: number; what?: string } = {}) {
  return z
    .string({ error: 'expected a duration string such as "30s", "1m" or "1m30s"' })
    .superRefine((text, ctx) => {
      const parsed = parseGoDuration(text);
      if (!parsed.ok) {
        ctx.addIssue({ code: 'custom', message: parsed.error });
        return;
      }
      const min = opts.minMs ?? 1;
      if (parsed.ms < min) {
        ctx.addIssue({
          code: 'custom',
          message:
            min === 1
              ? `duration ${quote(text)} must be positive`
              : `${opts.what ?? 'duration'} ${quote(text)} must be at least ${min >= 1000 ? `${min / 1000}s` : `${min}ms`}`,
        });
      }
    });
}

const hostLabel = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const httpUrlRe = new RegExp(
  `^https?://(\\[[0-9A-Fa-f:.]+\\]|${hostLabel}(?:\\.${hostLabel})*)(?::([0-9]{1,5}))?(?:[/?#](.*))?$`,
);

/**
 * Why `text` is not an absolute http(s) URL with a host, or undefined when it is one. Stricter than a browser and
 * as strict as Go's net/url and Envoy: no spaces or control characters anywhere, a port in 1..65535, valid
 * percent-escapes, a host name of at most 253 characters. Pure: no `URL` global needed in the workflow sandbox.
 */
export function httpUrlProblem(text: string): string | undefined {
  if (hasControlCharacters(text) || /\s/.test(text))
    return 'a URL may not contain spaces or control characters (percent-encode them: %20)';
  const m = httpUrlRe.exec(text);
  if (!m) return 'expected an absolute http:// or https:// URL with a host name';
  if ((m[1] ?? '').length > 253) return 'the host name is longer than 253 characters';
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))
    return `port ${m[2]} is not in 1..65535`;
  if (m[3] !== undefined && /%(?![0-9A-Fa-f]{2})/.test(m[3]))
    return 'invalid percent-escape (% must be followed by two hex digits)';
  return undefined;
}

/** True for an absolute http(s) URL with a host (see `httpUrlProblem`). */
export function isHttpUrl(text: string): boolean {
  return httpUrlProblem(text) === undefined;
}

export const httpUrl = z.string().superRefine((text, ctx) => {
  const problem = httpUrlProblem(text);
  if (problem !== undefined)
    ctx.addIssue({
      code: 'custom',
      message: `expected an http(s) URL such as http://flagger-loadtester.test/, got ${quote(text)}${problem.startsWith('expected') ? '' : `: ${problem}`}`,
    });
});

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes object name (DNS-1123 subdomain, at most 253 characters). */
export const objectName = z.string().superRefine((text, ctx) => {
  if (text.length > 253 || !dns1123Subdomain.test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: `${quote(text)} is not a valid Kubernetes name (lowercase letters, digits, '-' and '.', at most 253 characters)`,
    });
  }
});

/** A namespace name (DNS-1123 label, at most 63 characters). */
export const namespaceName = z.string().superRefine((text, ctx) => {
  if (text.length > 63 || !dns1123Label.test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: `${quote(text)} is not a valid namespace name (lowercase letters, digits and '-', at most 63 characters)`,
    });
  }
});

const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Why `key` is not a Kubernetes qualified name (label and annotation keys: `[prefix/]name`, the prefix a DNS-1123
 * subdomain of at most 253 characters, the name at most 63 characters of alphanumerics, '-', '_' and '.',
 * starting and ending alphanumeric), or undefined.
 */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix === '') return 'the prefix before / must not be empty';
    if (prefix.length > 253 || !dns1123Subdomain.test(prefix))
      return "the prefix before / must be a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)";
  }
  if (name === '') return 'the name must not be empty';
  if (name.length > 63) return `the name part is ${name.length} characters long (at most 63)`;
  if (!qualifiedNamePart.test(name))
    return "the name part must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit";
  return undefined;
}

/** Why `value` is not a valid label value (at most 63 characters; empty, or alphanumerics, '-', '_', '.' inside). */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return `a label value is at most 63 characters (got ${value.length})`;
  if (!labelValueRe.test(value))
    return "a label value consists of letters, digits, '-', '_' or '.', and starts and ends with a letter or digit";
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A string map whose keys (and values) `check` inspects on the raw input, before zod builds its output (which
 * would drop a `__proto__` key unseen); then `stringMap`.
 */
function checkedStringMap(check: (map: Record<string, unknown>, ctx: z.RefinementCtx) => void) {
  return z
    .unknown()
    .superRefine((raw, ctx) => {
      if (isRecord(raw)) check(raw, ctx);
    })
    .pipe(stringMap);
}

/** Kubernetes labels (also label selectors such as Istio `sourceLabels`): keys and values by the apiserver's rules. */
export const labelMap = checkedStringMap((labels, ctx) => {
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `invalid label key ${quote(key)}: ${keyProblem}`,
      });
    const valueProblem = typeof value === 'string' ? labelValueProblem(value) : undefined;
    if (valueProblem !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `invalid label value ${quote(String(value))}: ${valueProblem}`,
      });
  }
});

/** The apiserver's limit on all annotations of an object together (keys and values, bytes). */
export const maxAnnotationBytes = 256 * 1024;

/** Kubernetes annotations: qualified-name keys (checked in lowercase, as the apiserver does), at most 256 KiB. */
export const annotationMap = checkedStringMap((annotations, ctx) => {
  let total = 0;
  for (const [key, value] of Object.entries(annotations)) {
    total += key.length + (typeof value === 'string' ? value.length : 0);
    const keyProblem = qualifiedNameProblem(key.toLowerCase());
    if (keyProblem !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `invalid annotation key ${quote(key)}: ${keyProblem}`,
      });
  }
  if (total > maxAnnotationBytes)
    ctx.addIssue({
      code: 'custom',
      message: `annotations total ${groupDigits(total)} characters; Kubernetes accepts at most 262,144 bytes`,
    });
});

const ianaServiceNameRe = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Why `name` is not an IANA service name (a named container port, Service `targetPort`): at most 15 characters,
 * lowercase letters, digits and '-', at least one letter, no '-' at either end or twice in a row.
 */
export function serviceNameProblem(name: string): string | undefined {
  if (/^[0-9]+$/.test(name)) return 'a port number is written without quotes';
  if (name.length > 15) return `at most 15 characters (got ${name.length})`;
  if (!ianaServiceNameRe.test(name))
    return "lowercase letters, digits and '-' only, not starting or ending with '-'";
  if (name.includes('--')) return "no '--'";
  if (!/[a-z]/.test(name)) return 'at least one letter';
  return undefined;
}

/** A port name (IANA service name). */
export const portName = z.string().superRefine((name, ctx) => {
  const problem = serviceNameProblem(name);
  if (problem !== undefined)
    ctx.addIssue({
      code: 'custom',
      message: `${quote(name)} is not a valid port name (IANA service name: ${problem})`,
    });
});

/** A DNS-1123 label (Service port names, at most 63 characters). */
export const dnsLabel = z.string().superRefine((text, ctx) => {
  if (text.length > 63 || !dns1123Label.test(text))
    ctx.addIssue({
      code: 'custom',
      message: `${quote(text)} is not a valid DNS label (lowercase letters, digits and '-', at most 63 characters)`,
    });
});

/** A Kubernetes qualified name (e.g. a Service port's `appProtocol`: `http`, `kubernetes.io/h2c`). */
export const qualifiedName = z.string().superRefine((text, ctx) => {
  const problem = qualifiedNameProblem(text);
  if (problem !== undefined)
    ctx.addIssue({ code: 'custom', message: `${quote(text)} is not a valid qualified name: ${problem}` });
});

/**
 * `metadata` of a manifest. `name`, `namespace`, `labels` and `annotations` are read; the fields the API server
 * fills in (`kubectl get -o yaml` output) are accepted and ignored so an exported object validates as is.
 */
export function objectMeta() {
  const ignored = z.unknown().optional();
  return z.strictObject({
    name: objectName,
    namespace: namespaceName.optional(),
    labels: labelMap.optional(),
    annotations: annotationMap.optional(),
    uid: ignored,
    resourceVersion: ignored,
    generation: ignored,
    creationTimestamp: ignored,
    managedFields: ignored,
    finalizers: ignored,
    ownerReferences: ignored,
    selfLink: ignored,
  });
}

/** Port number 1..65535. */
export const portNumber = z.int().min(1).max(65535);
