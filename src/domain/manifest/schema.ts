// zod schemas for Flagger's `Canary`, `MetricTemplate` and `AlertProvider` (flagger.app/v1beta1), following
// Flagger's Go types (pkg/apis/flagger/v1beta1) and CRD. Strict: unknown fields are errors. Each Flagger field is
// either accepted and honoured, or rejected with "not supported yet by Fledge" (docs/spec.md has the table).
// Rules that span fields (strategy, references, provider-specific fields) live in checks.ts. PURE.
import { z } from 'zod';
import { hasControlCharacters } from '../sanitize.js';
import { approversSchema } from './schema-approvers.js';
import { routerNames, type RouterProvider } from '../../integrations/traffic/manifests.js';
import {
  defaultMetricProvider,
  isMetricProviderType,
  metricProviderManifests,
  metricProviderTypes,
  type MetricProviderType,
} from '../../integrations/metrics/manifests.js';
import type { MetricProviderManifest } from '../../integrations/metrics/metric-provider-manifest.js';
import { credentialHeader, providerFields } from '../../integrations/metrics/prometheus/manifest.js';
import { hookTypes } from '../plan.js';
import {
  dnsLabel,
  goDuration,
  httpUrl,
  notSupportedYet,
  notYet,
  objectMeta,
  objectName,
  portName,
  portNumber,
  qualifiedName,
  stringMap,
} from './schema-common.js';
import {
  abMatchSchema,
  corsPolicySchema,
  customMetadataSchema,
  headersSchema,
  httpMatchRequestSchema,
  httpRetrySchema,
  httpRewriteSchema,
  parentReferenceSchema,
  requestMirrorSchema,
  trafficPolicySchema,
} from './schema-router.js';

export const flaggerApiVersion = 'flagger.app/v1beta1';

/**
 * Which routers and metric provider types a validation accepts. `currentProfile`: the registries
 * (src/integrations/traffic/manifests.ts, src/integrations/metrics/manifests.ts). `legacyProfile`: what the version
 * before the registries accepted — the release workflow's LEGACY input path validates with it, so a release started
 * then replays exactly as it ran (a spec it rejected is still rejected, with the same message).
 */
export interface ManifestProfile {
  routers: readonly RouterProvider[];
  metricProviders: readonly MetricProviderType[];
  /**
   * Flagger fields accepted since the drop-in work (issue 14): `service.portDiscovery`, `service.delegation`,
   * `analysis.sessionAffinity`, `revertOnDeletion`. Absent (the legacy profile): rejected as before, with the same
   * messages.
   */
  dropIn?: boolean;
}
export const currentProfile: ManifestProfile = {
  routers: routerNames,
  metricProviders: metricProviderTypes,
  dropIn: true,
};
export const legacyProfile: ManifestProfile = {
  routers: ['istio', 'gatewayapi:v1'],
  metricProviders: ['prometheus'],
};

/** Every registered router (derived from the router registry). */
export const supportedProviders: readonly RouterProvider[] = routerNames;
export type { RouterProvider };

/** Routers Flagger has, named in the error when Fledge does not support them (yet). */
export const flaggerOnlyRouters = [
  'linkerd',
  'smi',
  'nginx',
  'contour',
  'gloo',
  'traefik',
  'appmesh',
  'kuma',
  'osm',
  'apisix',
  'skipper',
  'knative',
  'kubernetes',
] as const;

/**
 * `spec.provider`. Omitted → `istio` (Flagger's default `-mesh-provider`). `gatewayapi:v1beta1` and plain
 * `gatewayapi` are rejected with a hint: Fledge writes gateway.networking.k8s.io/v1 HTTPRoutes only, so the
 * spelling must say v1 (and the cluster must serve Gateway API ≥ v1.0).
 */
function providerSchemaFor(profile: ManifestProfile) {
  const supportedList = profile.routers.join(', ');
  return z
    .string()
    .superRefine((value, ctx) => {
      if ((profile.routers as readonly string[]).includes(value)) return;
      const base = value.split(':')[0] ?? value;
      let message: string;
      if (base === 'gatewayapi') {
        message = `provider \`${value}\` is ${notSupportedYet}: it writes gateway.networking.k8s.io/v1 HTTPRoutes, so write \`gatewayapi:v1\` (needs Gateway API >= v1.0 CRDs); supported: ${supportedList}`;
      } else if ((flaggerOnlyRouters as readonly string[]).includes(base)) {
        message = `provider \`${value}\` is a Flagger router Fledge does not support yet; supported: ${supportedList}`;
      } else {
        message = `unknown provider \`${value}\`; supported: ${supportedList}`;
      }
      ctx.addIssue({ code: 'custom', message });
    })
    .transform((value) => value as RouterProvider);
}
export const providerSchema = providerSchemaFor(currentProfile);

const targetRefSchema = z
  .strictObject({
    apiVersion: z.string().optional(),
    kind: z.string().superRefine((kind, ctx) => {
      if (kind === 'Deployment') return;
      ctx.addIssue({
        code: 'custom',
        message:
          kind === 'DaemonSet' || kind === 'Service'
            ? `kind ${kind} is ${notSupportedYet} (supported: Deployment)`
            : `expected Deployment, got ${JSON.stringify(kind)}`,
      });
    }),
    name: objectName,
  })
  .superRefine((ref, ctx) => {
    if (ref.kind === 'Deployment' && ref.apiVersion !== undefined && ref.apiVersion !== 'apps/v1') {
      ctx.addIssue({
        code: 'custom',
        path: ['apiVersion'],
        message: `expected apps/v1 for a Deployment, got ${JSON.stringify(ref.apiVersion)}`,
      });
    }
  });

const autoscalerRefSchema = z
  .strictObject({
    apiVersion: z.string().optional(),
    kind: z.string().superRefine((kind, ctx) => {
      if (kind === 'HorizontalPodAutoscaler') return;
      ctx.addIssue({
        code: 'custom',
        message:
          kind === 'ScaledObject'
            ? `kind ScaledObject (KEDA) is ${notSupportedYet} (supported: HorizontalPodAutoscaler)`
            : `expected HorizontalPodAutoscaler, got ${JSON.stringify(kind)}`,
      });
    }),
    name: objectName,
    primaryScalerQueries: notYet('KEDA ScaledObject queries'),
    primaryScalerReplicas: z
      .strictObject({ minReplicas: z.int().min(1).optional(), maxReplicas: z.int().min(1).optional() })
      .superRefine((r, ctx) => {
        if (r.minReplicas !== undefined && r.maxReplicas !== undefined && r.minReplicas > r.maxReplicas) {
          ctx.addIssue({
            code: 'custom',
            path: ['minReplicas'],
            message: `minReplicas (${r.minReplicas}) must be <= maxReplicas (${r.maxReplicas})`,
          });
        }
      })
      .optional(),
  })
  .superRefine((ref, ctx) => {
    if (
      ref.kind === 'HorizontalPodAutoscaler' &&
      ref.apiVersion !== undefined &&
      ref.apiVersion !== 'autoscaling/v2'
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiVersion'],
        message: `expected autoscaling/v2, got ${JSON.stringify(ref.apiVersion)}${ref.apiVersion === 'autoscaling/v2beta2' ? ' (autoscaling/v2beta2 was removed in Kubernetes 1.26)' : ''}`,
      });
    }
  });

/**
 * `analysis.sessionAffinity` (Flagger's SessionAffinity): canary responses set `cookieName` (`maxAge` seconds,
 * default 86400), requests carrying it go to the canary; `primaryCookieName` does the same for the primary (Max-Age:
 * the analysis interval). The other fields are the cookie's attributes.
 */
export const sessionAffinitySchema = z.strictObject({
  cookieName: z
    .string()
    .regex(
      /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/,
      "expected a cookie name (an HTTP token: letters, digits, !#$%&'*+-.^_`|~)",
    ),
  primaryCookieName: z
    .string()
    .regex(
      /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/,
      "expected a cookie name (an HTTP token: letters, digits, !#$%&'*+-.^_`|~)",
    )
    .optional(),
  maxAge: z.int().min(0).optional(),
  domain: z
    .string()
    .regex(/^[A-Za-z0-9.-]*$/, 'expected a domain name')
    .optional(),
  httpOnly: z.boolean().optional(),
  partitioned: z.boolean().optional(),
  path: z
    .string()
    .refine((v) => !v.includes(';') && !hasControlCharacters(v), {
      message: 'expected a cookie path (no `;` or control characters)',
    })
    .optional(),
  sameSite: z.enum(['Strict', 'Lax', 'None']).optional(),
  secure: z.boolean().optional(),
});

// The drop-in fields' schemas replace the `notYet` ones in the current profile. The legacy profile keeps the old
// schemas (typed as the new ones: its outputs are a subset, those fields are rejected there).
function serviceSchemaFor(profile: ManifestProfile): typeof serviceSchemaDropIn {
  return profile.dropIn ? serviceSchemaDropIn : (serviceSchema as unknown as typeof serviceSchemaDropIn);
}

function analysisSchemaFor(profile: ManifestProfile): typeof analysisSchemaDropIn {
  return profile.dropIn ? analysisSchemaDropIn : (analysisSchema as unknown as typeof analysisSchemaDropIn);
}

const serviceSchema = z.strictObject({
  name: z.string().optional(),
  port: portNumber,
  /** The Service port's name: a DNS label (the apiserver's rule for Service ports). */
  portName: dnsLabel.optional(),
  /** A container port number, or a named container port (IANA service name). */
  targetPort: z.union([portNumber, portName], { error: 'expected a port number or a port name' }).optional(),
  appProtocol: qualifiedName.optional(),
  portDiscovery: notYet('only `port` is exposed on the generated services'),
  trafficDistribution: notYet(),
  headless: notYet('headless services'),
  timeout: goDuration().optional(),
  backendTimeout: notYet(),
  gateways: z.array(z.string().min(1)).optional(),
  gatewayRefs: z.array(parentReferenceSchema).optional(),
  hosts: z.array(z.string().min(1)).optional(),
  delegation: notYet('Istio VirtualService delegation'),
  trafficPolicy: trafficPolicySchema.optional(),
  match: z.array(httpMatchRequestSchema).optional(),
  rewrite: httpRewriteSchema.optional(),
  retries: httpRetrySchema.optional(),
  headers: headersSchema.optional(),
  mirror: z.array(requestMirrorSchema).optional(),
  corsPolicy: corsPolicySchema.optional(),
  meshName: notYet('App Mesh'),
  backends: notYet('App Mesh'),
  apex: customMetadataSchema.optional(),
  primary: customMetadataSchema.optional(),
  canary: customMetadataSchema.optional(),
  unmanagedMetadata: notYet(),
});

const serviceSchemaDropIn = serviceSchema.extend({
  /** Gateway API: HTTPRoute rules[].timeouts.backendRequest (Flagger: only its Gateway API router uses it). */
  backendTimeout: goDuration().optional(),
  /** Expose every container port of the target's pod template on the generated Services. */
  portDiscovery: z.boolean().optional(),
  /** Istio: the VirtualService has no hosts/gateways, so a parent VirtualService can delegate to it. */
  delegation: z.boolean().optional(),
});

export { builtinMetricNames } from '../../integrations/traffic/router-manifest.js';

const metricSchema = z.strictObject({
  name: z.string().min(1),
  /** PromQL range window; Flagger's default 1m. */
  interval: goDuration().optional(),
  /** Deprecated by Flagger (replaced by thresholdRange); mapped as Flagger evaluates it. */
  threshold: z.number().optional(),
  thresholdRange: z.strictObject({ min: z.number().optional(), max: z.number().optional() }).optional(),
  /** Deprecated by Flagger (replaced by templateRef): an inline PromQL query. */
  query: z.string().min(1).optional(),
  templateRef: z
    .strictObject({
      apiVersion: z.literal(flaggerApiVersion).optional(),
      kind: z.literal('MetricTemplate').optional(),
      name: objectName,
      namespace: z.string().min(1).optional(),
    })
    .optional(),
  templateVariables: stringMap.optional(),
});

const webhookSchema = z.strictObject({
  name: z.string().min(1),
  /** Default `rollout` (also for `""`). */
  type: z.enum(['', ...hookTypes]).optional(),
  url: httpUrl,
  /** Go duration, default 10s. */
  timeout: goDuration().optional(),
  retries: z.int().min(0).max(100).optional(),
  metadata: stringMap.optional(),
  muteAlert: z.boolean().optional(),
  disableTLS: notYet('TLS verification cannot be turned off per webhook'),
});

const alertSchema = z.strictObject({
  name: z.string().min(1),
  /** Default `info`. */
  severity: z.enum(['', 'info', 'warn', 'error']).optional(),
  providerRef: z.strictObject({
    apiVersion: z.literal(flaggerApiVersion).optional(),
    kind: z.literal('AlertProvider').optional(),
    name: objectName,
    namespace: z.string().min(1).optional(),
  }),
});

const weight = z.int().min(1).max(100);

/**
 * `spec.analysis` (and its deprecated spelling `spec.canaryAnalysis`). Fledge difference: `interval` is honoured
 * as written down to 1s — Flagger clamps anything below 10s to 10s and silently falls back to 60s on a bad value;
 * Fledge rejects a bad value and lets tests (and impatient operators) use short intervals such as 2s.
 */
export const analysisSchema = z.strictObject({
  interval: goDuration({ minMs: 1000, what: 'interval' }).optional(),
  iterations: z.int().min(1).optional(),
  mirror: z.boolean().optional(),
  mirrorWeight: weight.optional(),
  maxWeight: weight.optional(),
  stepWeight: weight.optional(),
  stepWeights: z.array(weight).min(1).optional(),
  stepWeightPromotion: z.int().min(0).max(100).optional(),
  threshold: z.int().min(1).optional(),
  primaryReadyThreshold: z.int().min(0).max(100).optional(),
  canaryReadyThreshold: z.int().min(0).max(100).optional(),
  alerts: z.array(alertSchema).optional(),
  metrics: z.array(metricSchema).optional(),
  webhooks: z.array(webhookSchema).optional(),
  match: z.array(abMatchSchema).optional(),
  sessionAffinity: notYet('session affinity cookies'),
});

const analysisSchemaDropIn = analysisSchema.extend({ sessionAffinity: sessionAffinitySchema.optional() });

export const manualGateNames = ['confirm-rollout', 'confirm-traffic-increase', 'confirm-promotion'] as const;

/**
 * `spec.fledge`: Fledge's own extension block (not part of Flagger's CRD; a Canary with it is still a valid
 * Flagger manifest to Fledge only).
 *
 * - `manualGates`: gates that also need an operator `fledge approve` (on top of any `confirm-*` webhooks of the
 *   same type, which must pass as well). Values: `confirm-rollout`, `confirm-traffic-increase`, `confirm-promotion`.
 * - `onInfrastructureError`: what an analysis infrastructure error (Prometheus unreachable after retries) does:
 *   `count-as-failed-check` (default; Flagger's behaviour, but reported as an infrastructure error, not a
 *   breach), `hold` (no failed check, no advance; retried next interval), `rollback` (roll back at once).
 * - `supersede`: what a newer release of the same target does to this one while it runs: `supersede` (default;
 *   traffic back to primary, outcome Superseded) or `queue` (the newer one waits until this one ends).
 * - `gatePollInterval`: how often a closed gate's `confirm-*` webhooks are polled while the release waits at it
 *   (default 2s, at least 1s; a value above the analysis interval means the interval).
 */
export const fledgeExtensionSchema = z.strictObject({
  manualGates: z.array(z.enum(manualGateNames)).optional(),
  onInfrastructureError: z.enum(['count-as-failed-check', 'hold', 'rollback']).optional(),
  supersede: z.enum(['supersede', 'queue']).optional(),
  gatePollInterval: goDuration({ minMs: 1000, what: 'gatePollInterval' }).optional(),
  /** Who may approve each gate, pause, promote or abort (schema-approvers.ts; docs/security.md). */
  approvers: approversSchema.optional(),
});

function canarySpecSchemaFor(profile: ManifestProfile) {
  return z.strictObject({
    provider: providerSchemaFor(profile).optional(),
    metricsServer: notYet(
      "built-in metrics use the worker's Prometheus; use a MetricTemplate with provider.address for another one",
    ),
    targetRef: targetRefSchema,
    autoscalerRef: autoscalerRefSchema.optional(),
    ingressRef: notYet('NGINX ingress router'),
    routeRef: notYet('APISIX router'),
    upstreamRef: notYet('Gloo router'),
    service: serviceSchemaFor(profile),
    analysis: analysisSchemaFor(profile).optional(),
    /** Deprecated by Flagger: same as `analysis` (both at once is an error). */
    canaryAnalysis: analysisSchemaFor(profile).optional(),
    progressDeadlineSeconds: z.int().min(1).optional(),
    skipAnalysis: z.boolean().optional(),
    /**
     * Flagger reverts the target when its Canary object is deleted. Accepted (and compiled into
     * `CompiledRelease.revertOnDeletion`) by the current profile; cluster mode acts on it.
     */
    revertOnDeletion: profile.dropIn
      ? z.boolean().optional()
      : notYet('Fledge keeps no Canary object in the cluster whose deletion it could watch'),
    /** `true`: Fledge refuses to start a release of a suspended Canary. */
    suspend: z
      .boolean()
      .refine((suspended) => !suspended, {
        message:
          'the Canary is suspended: Fledge does not start releases of a suspended Canary (set suspend: false to release)',
      })
      .optional(),
    fledge: fledgeExtensionSchema.optional(),
  });
}
export const canarySpecSchema = canarySpecSchemaFor(currentProfile);

const statusIgnored = z.unknown().optional();

function canarySchemaOf(profile: ManifestProfile) {
  return z.strictObject({
    apiVersion: z.literal(flaggerApiVersion),
    kind: z.literal('Canary'),
    metadata: objectMeta(),
    spec: canarySpecSchemaFor(profile),
    /** Written by Flagger's controller; accepted (so `kubectl get -o yaml` output validates) and ignored. */
    status: statusIgnored,
  });
}
export const canarySchema = canarySchemaOf(currentProfile);

/** Metric provider types Flagger has, named in the error when Fledge does not support them (yet). */
const flaggerMetricProviders = [
  'datadog',
  'cloudwatch',
  'newrelic',
  'graphite',
  'stackdriver',
  'influxdb',
  'dynatrace',
  'keptn',
  'splunk',
  'externalmetrics',
];

/**
 * A MetricTemplate's `spec.provider`: the shape of Flagger's fields (prometheus/manifest.ts), a `type` from the
 * metrics provider registry (default `prometheus`), then that type's own rules (its manifest's `rules`).
 */
function metricProviderBlockFor(profile: ManifestProfile) {
  const supported = profile.metricProviders.join(', ');
  return z
    .strictObject({
      /** Default `prometheus`. */
      type: z
        .string()
        .superRefine((type, ctx) => {
          if ((profile.metricProviders as readonly string[]).includes(type)) return;
          ctx.addIssue({
            code: 'custom',
            message: flaggerMetricProviders.includes(type)
              ? `metric provider \`${type}\` is ${notSupportedYet} (supported: ${supported})`
              : `unknown metric provider \`${type}\` (supported: ${supported})`,
          });
        })
        .optional(),
      ...providerFields,
    })
    .superRefine((block, ctx) => {
      const type = block.type ?? defaultMetricProvider;
      if (!(profile.metricProviders as readonly string[]).includes(type) || !isMetricProviderType(type))
        return;
      const rules: z.ZodType | undefined = (metricProviderManifests[type] as MetricProviderManifest).rules;
      const checked = rules?.safeParse(block);
      for (const issue of checked?.success === false ? checked.error.issues : [])
        if (issue.code !== 'unrecognized_keys')
          ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] });
    });
}

function metricTemplateSchemaOf(profile: ManifestProfile) {
  return z.strictObject({
    apiVersion: z.literal(flaggerApiVersion),
    kind: z.literal('MetricTemplate'),
    metadata: objectMeta(),
    spec: z.strictObject({
      provider: metricProviderBlockFor(profile).optional(),
      query: z.string().min(1),
    }),
    status: statusIgnored,
  });
}
export const metricTemplateSchema = metricTemplateSchemaOf(currentProfile);

/** The Canary and MetricTemplate schemas of a profile (built once per profile). */
const schemasByProfile = new Map<ManifestProfile, { canary: z.ZodType; metricTemplate: z.ZodType }>();
export function schemasFor(profile: ManifestProfile): { canary: z.ZodType; metricTemplate: z.ZodType } {
  if (profile === currentProfile) return { canary: canarySchema, metricTemplate: metricTemplateSchema };
  let s = schemasByProfile.get(profile);
  if (!s) {
    s = { canary: canarySchemaOf(profile), metricTemplate: metricTemplateSchemaOf(profile) };
    schemasByProfile.set(profile, s);
  }
  return s;
}

/** Header names that carry credentials (refused in MetricTemplate headers: use secretRef). */
export { credentialHeader };

/** Alert provider types Flagger has and Fledge has not (yet). `webhook` is Fledge's own (generic JSON). */
const flaggerOnlyAlertProviders = ['discord', 'rocket', 'gchat'];
const alertProviderTypes = ['slack', 'msteams', 'webhook'];

export const alertProviderSchema = z.strictObject({
  apiVersion: z.literal(flaggerApiVersion),
  kind: z.literal('AlertProvider'),
  metadata: objectMeta(),
  spec: z
    .strictObject({
      type: z.string().superRefine((type, ctx) => {
        if (alertProviderTypes.includes(type)) return;
        ctx.addIssue({
          code: 'custom',
          message: flaggerOnlyAlertProviders.includes(type)
            ? `alert provider \`${type}\` is ${notSupportedYet} (supported: ${alertProviderTypes.join(', ')})`
            : `unknown alert provider \`${type}\` (supported: ${alertProviderTypes.join(', ')})`,
        });
      }),
      channel: z.string().min(1).optional(),
      username: z.string().min(1).optional(),
      address: httpUrl.optional(),
      proxy: notYet(),
      secretRef: z.strictObject({ name: objectName }).optional(),
    })
    .superRefine((spec, ctx) => {
      if ((spec.type === 'msteams' || spec.type === 'webhook') && !spec.address && !spec.secretRef)
        ctx.addIssue({
          code: 'custom',
          path: ['address'],
          message: `address (the ${spec.type === 'msteams' ? 'Teams incoming webhook' : 'receiver'} URL) or secretRef is required for type ${spec.type}`,
        });
      if (spec.type === 'slack' && spec.channel === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['channel'],
          message:
            "channel is required for type slack (Fledge posts with the worker's bot token, use the channel ID)",
        });
    }),
  status: statusIgnored,
});

export type CanaryManifest = z.infer<typeof canarySchema>;
export type CanarySpec = z.infer<typeof canarySpecSchema>;
export type AnalysisSpec = z.infer<typeof analysisSchemaDropIn>;
export type SessionAffinitySpec = z.infer<typeof sessionAffinitySchema>;
export type MetricSpec = z.infer<typeof metricSchema>;
export type WebhookSpec = z.infer<typeof webhookSchema>;
export type AlertSpec = z.infer<typeof alertSchema>;
export type FledgeExtension = z.infer<typeof fledgeExtensionSchema>;
export type MetricTemplateManifest = z.infer<typeof metricTemplateSchema>;
export type AlertProviderManifest = z.infer<typeof alertProviderSchema>;
