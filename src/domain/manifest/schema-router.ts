// zod schemas for the router settings under `spec.service` (Istio VirtualService/DestinationRule fragments and
// Gateway API references), following Flagger's Go types (pkg/apis/istio/v1beta1, pkg/apis/gatewayapi/v1beta1).
// Strict: a field Flagger's types do not have is an error. PURE.
import { RE2JS } from 're2js';
import { z } from 'zod';
import { hasControlCharacters, quote } from '../sanitize.js';
import { annotationMap, goDuration, labelMap, notYet, portNumber, stringMap } from './schema-common.js';

/** Longest regular expression accepted (Gateway API's limit for a header value). */
export const maxRegexLength = 4096;

/**
 * Why `pattern` is not a regular expression Envoy (RE2) accepts, or undefined. Checked with re2js, a port of RE2:
 * no lookaround, no backreferences, repeat counts at most 1000, nesting at most 1000.
 */
export function re2Problem(pattern: string): string | undefined {
  if (pattern.length > maxRegexLength)
    return `the regular expression is ${pattern.length} characters long (at most ${maxRegexLength})`;
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : String(e);
    return `not a valid RE2 regular expression (Envoy's syntax): ${why}`;
  }
}

/** A regular expression in RE2 syntax (what Envoy runs for Istio and Gateway API matches). */
export const re2Regex = z.string().superRefine((pattern, ctx) => {
  const problem = re2Problem(pattern);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** An HTTP header name (RFC 9110 token): what Envoy accepts in a header match or header operation. */
const headerNameRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkHeaderName(name: string, ctx: z.RefinementCtx, path: PropertyKey[]): void {
  if (!headerNameRe.test(name))
    ctx.addIssue({
      code: 'custom',
      path,
      message: `${quote(name)} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~, no spaces)`,
    });
}

/** Istio StringMatch: exactly one of exact | prefix | regex (RE2). */
export const stringMatchSchema = z
  .strictObject({
    exact: z.string().optional(),
    prefix: z.string().optional(),
    regex: re2Regex.optional(),
    // Flagger's Go type has `suffix`, Istio's API does not: the VirtualService would be rejected.
    suffix: notYet('Istio has no suffix match; use regex: ".*<suffix>$"'),
  })
  .superRefine((m, ctx) => {
    const set = [m.exact, m.prefix, m.regex].filter((v) => v !== undefined).length;
    if (set !== 1 && m.suffix === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `exactly one of exact, prefix or regex is required (got ${set})`,
      });
    }
  })
  .transform(({ exact, prefix, regex }) => ({
    ...(exact !== undefined ? { exact } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
    ...(regex !== undefined ? { regex } : {}),
  }));

const stringMatchMap = z.record(z.string(), stringMatchSchema);

/** Header name → StringMatch: names are HTTP tokens. */
const headerMatchMap = stringMatchMap.superRefine((headers, ctx) => {
  for (const name of Object.keys(headers)) checkHeaderName(name, ctx, [name]);
});

/** Istio HTTPMatchRequest, as `service.match` carries it (all of Flagger's fields). */
export const httpMatchRequestSchema = z.strictObject({
  name: z.string().optional(),
  uri: stringMatchSchema.optional(),
  scheme: stringMatchSchema.optional(),
  method: stringMatchSchema.optional(),
  authority: stringMatchSchema.optional(),
  headers: headerMatchMap.optional(),
  port: portNumber.optional(),
  sourceLabels: labelMap.optional(),
  gateways: z.array(z.string().min(1)).optional(),
  queryParams: stringMatchMap.optional(),
  ignoreUriCase: z.boolean().optional(),
  withoutHeaders: headerMatchMap.optional(),
  sourceNamespace: z.string().optional(),
});

const abOnly =
  'in analysis.match Fledge supports headers (and cookies as the `cookie` header), queryParams, uri, method and sourceLabels';

/** `analysis.match` (A/B testing): the subset of HTTPMatchRequest the release plan expresses. */
export const abMatchSchema = z
  .strictObject({
    headers: headerMatchMap.optional(),
    queryParams: stringMatchMap.optional(),
    uri: stringMatchSchema.optional(),
    method: stringMatchSchema.optional(),
    sourceLabels: labelMap.optional(),
    name: notYet(abOnly),
    scheme: notYet(abOnly),
    authority: notYet(abOnly),
    port: notYet(abOnly),
    gateways: notYet(abOnly),
    ignoreUriCase: notYet(abOnly),
    withoutHeaders: notYet(abOnly),
    sourceNamespace: notYet(abOnly),
  })
  .superRefine((m, ctx) => {
    const conditions = [m.headers, m.queryParams, m.uri, m.method, m.sourceLabels].filter(
      (v) => v !== undefined && Object.keys(v).length > 0,
    );
    if (conditions.length === 0)
      ctx.addIssue({
        code: 'custom',
        message: 'an A/B match needs at least one condition (e.g. headers: {x-canary: {exact: insider}})',
      });
  });

const portSelectorSchema = z.strictObject({ number: portNumber.optional(), name: z.string().optional() });

const loadBalancerSchema = z.strictObject({
  simple: z
    .enum(['UNSPECIFIED', 'ROUND_ROBIN', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'LEAST_REQUEST'])
    .optional(),
  consistentHash: z
    .strictObject({
      httpHeaderName: z.string().optional(),
      httpCookie: z
        .strictObject({ name: z.string().min(1), path: z.string().optional(), ttl: goDuration({ minMs: 0 }) })
        .optional(),
      useSourceIp: z.boolean().optional(),
      minimumRingSize: z.int().min(0).optional(),
    })
    .optional(),
  localityLbSetting: z
    .strictObject({
      distribute: z
        .array(
          z.strictObject({
            from: z.string().optional(),
            to: z.record(z.string(), z.int().min(0)).optional(),
          }),
        )
        .optional(),
      failover: z
        .array(z.strictObject({ from: z.string().optional(), to: z.string().optional() }))
        .optional(),
      failoverPriority: z.array(z.string()).optional(),
      enabled: z.boolean().optional(),
    })
    .optional(),
  warmupDurationSecs: goDuration().optional(),
});

const connectionPoolSchema = z.strictObject({
  tcp: z
    .strictObject({ maxConnections: z.int().min(0).optional(), connectTimeout: goDuration().optional() })
    .optional(),
  http: z
    .strictObject({
      h2UpgradePolicy: z.enum(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']).optional(),
      http1MaxPendingRequests: z.int().min(0).optional(),
      http2MaxRequests: z.int().min(0).optional(),
      maxRequestsPerConnection: z.int().min(0).optional(),
      maxRetries: z.int().min(0).optional(),
      idleTimeout: goDuration().optional(),
    })
    .optional(),
});

const outlierDetectionSchema = z.strictObject({
  consecutiveErrors: z.int().min(0).optional(),
  consecutiveGatewayErrors: z.int().min(0).optional(),
  consecutive5xxErrors: z.int().min(0).optional(),
  splitExternalLocalOriginErrors: z.boolean().optional(),
  consecutiveLocalOriginFailures: z.int().min(0).optional(),
  interval: goDuration().optional(),
  baseEjectionTime: goDuration().optional(),
  maxEjectionPercent: z.int().min(0).max(100).optional(),
  minHealthPercent: z.int().min(0).max(100).optional(),
});

const tlsSettingsSchema = z.strictObject({
  mode: z.enum(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']),
  clientCertificate: z.string().optional(),
  privateKey: z.string().optional(),
  caCertificates: z.string().optional(),
  subjectAltNames: z.array(z.string()).optional(),
  sni: z.string().optional(),
});

/** Istio TrafficPolicy for the generated DestinationRules `<svc>-primary` / `<svc>-canary`. */
export const trafficPolicySchema = z.strictObject({
  loadBalancer: loadBalancerSchema.optional(),
  connectionPool: connectionPoolSchema.optional(),
  outlierDetection: outlierDetectionSchema.optional(),
  tls: tlsSettingsSchema.optional(),
  portLevelSettings: z
    .array(
      z.strictObject({
        port: portSelectorSchema,
        loadBalancer: loadBalancerSchema.optional(),
        connectionPool: connectionPoolSchema.optional(),
        outlierDetection: outlierDetectionSchema.optional(),
        tls: tlsSettingsSchema.optional(),
      }),
    )
    .optional(),
});

/** Istio HTTPRetry. */
export const httpRetrySchema = z.strictObject({
  attempts: z.int().min(0),
  perTryTimeout: goDuration().optional(),
  retryOn: z.string().optional(),
});

const headerOperationsSchema = z
  .strictObject({
    set: stringMap.optional(),
    add: stringMap.optional(),
    remove: z.array(z.string()).optional(),
  })
  .superRefine((ops, ctx) => {
    for (const op of ['set', 'add'] as const)
      for (const [name, value] of Object.entries(ops[op] ?? {})) {
        checkHeaderName(name, ctx, [op, name]);
        if (hasControlCharacters(value))
          ctx.addIssue({
            code: 'custom',
            path: [op, name],
            message: 'a header value may not contain control characters (line breaks would split the header)',
          });
      }
    ops.remove?.forEach((name, i) => checkHeaderName(name, ctx, ['remove', i]));
  });

/** Istio Headers (request/response header operations). */
export const headersSchema = z.strictObject({
  request: headerOperationsSchema.optional(),
  response: headerOperationsSchema.optional(),
});

/** Istio CorsPolicy. */
export const corsPolicySchema = z.strictObject({
  allowOrigin: z.array(z.string()).optional(),
  allowOrigins: z.array(stringMatchSchema).optional(),
  allowMethods: z.array(z.string()).optional(),
  allowHeaders: z.array(z.string()).optional(),
  exposeHeaders: z.array(z.string()).optional(),
  maxAge: goDuration().optional(),
  allowCredentials: z.boolean().optional(),
});

/** Flagger's HTTPRewrite: `uri`, `authority` (Istio and Gateway API), `type` (Gateway API path modifier). */
export const httpRewriteSchema = z.strictObject({
  uri: z.string().optional(),
  authority: z.string().optional(),
  type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']).optional(),
});

/** Gateway API ParentReference (`service.gatewayRefs`). */
export const parentReferenceSchema = z.strictObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  namespace: z.string().min(1).optional(),
  name: z.string().min(1),
  sectionName: z.string().optional(),
  port: portNumber.optional(),
});

/** Gateway API HTTPRequestMirrorFilter (`service.mirror`): mirror requests to another backend. */
export const requestMirrorSchema = z.strictObject({
  backendRef: z.strictObject({
    group: z.string().optional(),
    kind: z.string().optional(),
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
    port: portNumber.optional(),
  }),
});

export const customMetadataSchema = z.strictObject({
  labels: labelMap.optional(),
  annotations: annotationMap.optional(),
});

export type StringMatch = z.infer<typeof stringMatchSchema>;
export type HttpMatchRequest = z.infer<typeof httpMatchRequestSchema>;
export type TrafficPolicy = z.infer<typeof trafficPolicySchema>;
export type HttpRetry = z.infer<typeof httpRetrySchema>;
export type HeaderOperations = z.infer<typeof headersSchema>;
export type CorsPolicy = z.infer<typeof corsPolicySchema>;
export type HttpRewrite = z.infer<typeof httpRewriteSchema>;
export type ParentReference = z.infer<typeof parentReferenceSchema>;
export type RequestMirror = z.infer<typeof requestMirrorSchema>;
export type CustomMetadata = z.infer<typeof customMetadataSchema>;
