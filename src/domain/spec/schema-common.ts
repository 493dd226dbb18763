// Shared zod building blocks for the Flagger manifests. PURE.
import { z } from 'zod';
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
              ? `duration ${JSON.stringify(text)} must be positive`
              : `${opts.what ?? 'duration'} ${JSON.stringify(text)} must be at least ${min >= 1000 ? `${min / 1000}s` : `${min}ms`}`,
        });
      }
    });
}

const hostLabel = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const httpUrlRe = new RegExp(
  `^https?://(?:\\[[0-9A-Fa-f:.]+\\]|${hostLabel}(?:\\.${hostLabel})*)(?::[0-9]{1,5})?(?:[/?#][^\\s]*)?$`,
);

/** True for an absolute http(s) URL with a host (pure: no `URL` global needed in the workflow sandbox). */
export function isHttpUrl(text: string): boolean {
  return httpUrlRe.test(text);
}

export const httpUrl = z.string().superRefine((text, ctx) => {
  if (!isHttpUrl(text))
    ctx.addIssue({
      code: 'custom',
      message: `expected an http(s) URL such as http://flagger-loadtester.test/, got ${JSON.stringify(text)}`,
    });
});

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes object name (DNS-1123 subdomain, at most 253 characters). */
export const objectName = z.string().superRefine((text, ctx) => {
  if (text.length > 253 || !dns1123Subdomain.test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} is not a valid Kubernetes name (lowercase letters, digits, '-' and '.', at most 253 characters)`,
    });
  }
});

/** A namespace name (DNS-1123 label, at most 63 characters). */
export const namespaceName = z.string().superRefine((text, ctx) => {
  if (text.length > 63 || !dns1123Label.test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} is not a valid namespace name (lowercase letters, digits and '-', at most 63 characters)`,
    });
  }
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
    labels: stringMap.optional(),
    annotations: stringMap.optional(),
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
