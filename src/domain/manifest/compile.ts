// Compile a validated bundle into the ReleasePlan (every Flagger default applied, Flagger's strategy dispatch)
// and the router / metrics / alert settings. Total on a validated bundle: it never fails. PURE.
import type {
  HookPlan,
  MatchCondition,
  MetricPlan,
  ReleasePlan,
  StrategyPlan,
  ThresholdRange,
} from '../plan.js';
import { linearWeights } from '../weights.js';
import { defaultRouter } from '../../integrations/traffic/manifests.js';
import { defaultMetricProvider, type MetricProviderType } from '../../integrations/metrics/manifests.js';
import { defaultNamespace } from './checks.js';
import { compileApprovers } from './schema-approvers.js';
import { formatDuration, parseGoDuration } from './duration.js';
import type { AnalysisSpec, MetricSpec, WebhookSpec } from './schema.js';
import type { HttpMatchRequest } from './schema-router.js';
import type {
  AlertProviderType,
  AlertRoute,
  AutoscalerSpec,
  CompiledRelease,
  MetricTemplateDefinition,
  RouterSpec,
  ServiceMetadata,
  ServiceSpec,
} from './types.js';
import type { ParsedCanaryBundle } from './validate.js';

/** Flagger's defaults (pkg/apis/flagger/v1beta1/canary.go, scheduler.go). */
export const flaggerDefaults = {
  intervalMs: 60_000, // AnalysisInterval
  threshold: 1, // GetAnalysisThreshold
  maxWeight: 100, // maxWeight(): totalWeight when unset
  progressDeadlineSeconds: 600, // ProgressDeadlineSeconds
  readyThreshold: 100, // PrimaryReadyThreshold, CanaryReadyThreshold
  metricInterval: '1m', // MetricInterval
  webhookTimeout: '10s', // CanaryWebhook timeout
  portName: 'http',
} as const;

/** `spec.fledge.gatePollInterval` default: a closed gate's webhooks are polled this often while it waits. */
export const defaultGatePollInterval = '2s';

function ms(duration: string | undefined, fallback: string): number {
  const parsed = parseGoDuration(duration ?? fallback);
  return parsed.ok ? parsed.ms : (parseGoDuration(fallback) as { ok: true; ms: number }).ms;
}

function namespaceOf(bundle: ParsedCanaryBundle): string {
  return bundle.canary.metadata.namespace ?? defaultNamespace;
}

function analysisOf(bundle: ParsedCanaryBundle): AnalysisSpec | undefined {
  return bundle.canary.spec.analysis ?? bundle.canary.spec.canaryAnalysis;
}

function toMatchCondition(m: NonNullable<AnalysisSpec['match']>[number]): MatchCondition {
  return {
    ...(m.headers ? { headers: m.headers } : {}),
    ...(m.queryParams ? { queryParams: m.queryParams } : {}),
    ...(m.uri ? { uri: m.uri } : {}),
    ...(m.method ? { method: m.method } : {}),
    ...(m.sourceLabels ? { sourceLabels: m.sourceLabels } : {}),
  };
}

/**
 * `legacy`: compile as the version before the drop-in audit did (the release workflow's LEGACY in-workflow path,
 * whose recorded histories must replay as they ran): no TCP routes.
 */
export interface CompileOptions {
  legacy?: boolean;
}

/**
 * Istio with `service.appProtocol: tcp` (any case): Flagger's isTcp() — the VirtualService carries a weighted `tcp`
 * route, and nothing HTTP (matches, headers, mirroring, cookies).
 */
export function isTcp(bundle: ParsedCanaryBundle, opts: CompileOptions = {}): boolean {
  if (opts.legacy === true) return false;
  const provider = bundle.canary.spec.provider ?? defaultRouter;
  return provider === 'istio' && bundle.canary.spec.service.appProtocol?.toLowerCase() === 'tcp';
}

/**
 * `provider: kubernetes` (not in the legacy profile, which rejected every field this rewrites): Flagger's scheduler
 * drops `match` and forces `iterations: 10` when unset — blue/green is all it can run without a router.
 */
function isKubernetes(bundle: ParsedCanaryBundle, opts: CompileOptions = {}): boolean {
  return opts.legacy !== true && bundle.canary.spec.provider === 'kubernetes';
}

/** Flagger's iterations when `provider: kubernetes` has none ("Setting canaryAnalysis.iterations: 10"). */
export const kubernetesDefaultIterations = 10;

/** Flagger's DeploymentStrategy(): A/B if match + iterations, blue/green if iterations, else canary. */
function compileStrategy(
  analysis: AnalysisSpec | undefined,
  opts: { tcp?: boolean; kubernetes?: boolean } = {},
): StrategyPlan {
  const kubernetes = opts.kubernetes === true;
  const iterations =
    kubernetes && !(analysis?.iterations !== undefined && analysis.iterations > 0)
      ? kubernetesDefaultIterations
      : analysis?.iterations;
  const match = kubernetes ? [] : (analysis?.match ?? []);
  // A TCP route cannot mirror (Flagger's TCP SetRoutes ignores `mirrored`); nor can plain Services.
  const mirror = analysis?.mirror === true && opts.tcp !== true && !kubernetes;
  const mirrorWeight =
    mirror && analysis?.mirrorWeight !== undefined ? { mirrorWeight: analysis.mirrorWeight } : {};
  if (iterations !== undefined && iterations > 0 && match.length > 0) {
    return { kind: 'ab-testing', iterations, match: match.map(toMatchCondition) };
  }
  if (iterations !== undefined && iterations > 0) {
    return { kind: 'blue-green', iterations, mirror, ...mirrorWeight };
  }
  // stepWeights: that list (Flagger caps maxWeight at 100 = the last entry). stepWeight: add it while below
  // maxWeight (default 100); like Flagger the last step is NOT clamped to maxWeight (step 30, max 50 → 30, 60).
  // Both set: Flagger's nextStepWeight() takes stepWeight and its maxWeight() the last stepWeights entry.
  const lastStep = analysis?.stepWeights?.[analysis.stepWeights.length - 1];
  const weights =
    analysis?.stepWeight !== undefined
      ? linearWeights(
          analysis.stepWeight,
          lastStep !== undefined
            ? Math.min(lastStep, 100)
            : (analysis.maxWeight ?? flaggerDefaults.maxWeight),
        )
      : analysis?.stepWeights
        ? [...analysis.stepWeights]
        : [];
  return {
    kind: 'canary',
    weights,
    stepWeightPromotion: analysis?.stepWeightPromotion ?? 0,
    mirror,
    ...mirrorWeight,
  };
}

/** Flagger's deprecated `threshold`: a minimum for request-success-rate, a maximum for everything else. */
function thresholdRangeOf(metric: MetricSpec): ThresholdRange {
  if (metric.thresholdRange) {
    return {
      ...(metric.thresholdRange.min !== undefined ? { min: metric.thresholdRange.min } : {}),
      ...(metric.thresholdRange.max !== undefined ? { max: metric.thresholdRange.max } : {}),
    };
  }
  if (metric.threshold === undefined) return {};
  return metric.name === 'request-success-rate' ? { min: metric.threshold } : { max: metric.threshold };
}

function compileMetric(metric: MetricSpec, namespace: string): MetricPlan {
  let source: MetricPlan['source'];
  if (metric.templateRef)
    source = {
      kind: 'template',
      templateName: metric.templateRef.name,
      templateNamespace: metric.templateRef.namespace ?? namespace,
    };
  else if (metric.query !== undefined) source = { kind: 'inline', query: metric.query };
  else
    source = {
      kind: 'builtin',
      builtin: metric.name === 'request-duration' ? 'request-duration' : 'request-success-rate',
    };
  return {
    name: metric.name,
    source,
    interval: formatDuration(ms(metric.interval, flaggerDefaults.metricInterval)),
    thresholdRange: thresholdRangeOf(metric),
    templateVariables: { ...(metric.templateVariables ?? {}) },
  };
}

function compileHook(hook: WebhookSpec): HookPlan {
  return {
    name: hook.name,
    type: hook.type === undefined || hook.type === '' ? 'rollout' : hook.type,
    url: hook.url,
    timeoutMs: ms(hook.timeout, flaggerDefaults.webhookTimeout),
    retries: hook.retries ?? 0,
    muteAlert: hook.muteAlert === true,
    metadata: { ...(hook.metadata ?? {}) },
  };
}

/** The normalised ReleasePlan of a validated bundle, for the given new images (container → reference). */
export function compileReleasePlan(
  bundle: ParsedCanaryBundle,
  images: Readonly<Record<string, string>>,
  opts: CompileOptions = {},
): ReleasePlan {
  const { spec } = bundle.canary;
  const namespace = namespaceOf(bundle);
  const analysis = analysisOf(bundle);
  const intervalMs = ms(analysis?.interval, '60s');
  const fledge = spec.fledge ?? {};
  return {
    target: { kind: 'Deployment', name: spec.targetRef.name, namespace },
    images: { ...images },
    provider: spec.provider ?? defaultRouter,
    intervalMs,
    interval: formatDuration(intervalMs),
    threshold: analysis?.threshold ?? flaggerDefaults.threshold,
    progressDeadlineMs: (spec.progressDeadlineSeconds ?? flaggerDefaults.progressDeadlineSeconds) * 1000,
    skipAnalysis: spec.skipAnalysis === true || analysis === undefined,
    primaryReadyThreshold: analysis?.primaryReadyThreshold ?? flaggerDefaults.readyThreshold,
    canaryReadyThreshold: analysis?.canaryReadyThreshold ?? flaggerDefaults.readyThreshold,
    strategy: compileStrategy(analysis, { tcp: isTcp(bundle, opts), kubernetes: isKubernetes(bundle, opts) }),
    metrics: (analysis?.metrics ?? []).map((m) => compileMetric(m, namespace)),
    hooks: (analysis?.webhooks ?? []).map(compileHook),
    manualGates: [...new Set(fledge.manualGates ?? [])],
    gatePollMs: Math.min(ms(fledge.gatePollInterval, defaultGatePollInterval), intervalMs),
    onInfrastructureError: fledge.onInfrastructureError ?? 'count-as-failed-check',
    supersedePolicy: fledge.supersede ?? 'supersede',
    ...(fledge.approvers ? { approvers: compileApprovers(fledge.approvers) } : {}),
  };
}

function metadataOf(
  m: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined,
): ServiceMetadata {
  return { labels: { ...(m?.labels ?? {}) }, annotations: { ...(m?.annotations ?? {}) } };
}

/** `spec.service` with defaults: names, ports, metadata and route settings. */
export function compileServiceSpec(bundle: ParsedCanaryBundle, opts: CompileOptions = {}): ServiceSpec {
  const { spec } = bundle.canary;
  const s = spec.service;
  const name = s.name ?? spec.targetRef.name;
  return {
    name,
    primaryName: `${name}-primary`,
    canaryName: `${name}-canary`,
    port: s.port,
    portName: s.portName ?? flaggerDefaults.portName,
    targetPort: s.targetPort ?? s.port,
    ...(s.appProtocol !== undefined ? { appProtocol: s.appProtocol } : {}),
    apex: metadataOf(s.apex),
    primary: metadataOf(s.primary),
    canary: metadataOf(s.canary),
    hosts: [...(s.hosts ?? [])],
    gateways: [...(s.gateways ?? [])],
    gatewayRefs: [...(s.gatewayRefs ?? [])],
    ...(s.timeout !== undefined ? { timeout: s.timeout } : {}),
    ...(s.backendTimeout !== undefined && s.backendTimeout !== ''
      ? { backendTimeout: s.backendTimeout }
      : {}),
    match: [...(s.match ?? [])],
    ...(s.rewrite ? { rewrite: s.rewrite } : {}),
    ...(s.retries ? { retries: s.retries } : {}),
    ...(s.headers ? { headers: s.headers } : {}),
    ...(s.corsPolicy ? { corsPolicy: s.corsPolicy } : {}),
    ...(s.trafficPolicy ? { trafficPolicy: s.trafficPolicy } : {}),
    mirror: [...(s.mirror ?? [])],
    ...(s.portDiscovery === true ? { portDiscovery: true as const } : {}),
    ...(s.delegation === true ? { delegation: true as const } : {}),
    ...(isTcp(bundle, opts) ? { tcp: true as const } : {}),
  };
}

/**
 * A/B conditions × service.match (Flagger's mergeMatchConditions): with no service.match the A/B conditions
 * as they are; otherwise each A/B condition over each service condition, the A/B condition's fields winning.
 */
export function mergeMatchConditions(
  abMatch: readonly MatchCondition[],
  serviceMatch: readonly HttpMatchRequest[],
): HttpMatchRequest[] {
  if (serviceMatch.length === 0) return abMatch.map((m) => ({ ...m }));
  return abMatch.flatMap((m) => serviceMatch.map((d) => ({ ...d, ...m })));
}

export function compileRouterSpec(bundle: ParsedCanaryBundle, opts: CompileOptions = {}): RouterSpec {
  const service = compileServiceSpec(bundle, opts);
  const strategy = compileStrategy(analysisOf(bundle), {
    tcp: isTcp(bundle, opts),
    kubernetes: isKubernetes(bundle, opts),
  });
  const analysis = analysisOf(bundle);
  const provider = bundle.canary.spec.provider ?? defaultRouter;
  // Session affinity steers users between the two sides of a weighted canary on a mesh/gateway route; otherwise it
  // is ignored (validation says so).
  const affinity =
    strategy.kind === 'canary' &&
    (provider === 'istio' || provider === 'gatewayapi:v1') &&
    !isTcp(bundle, opts)
      ? analysis?.sessionAffinity
      : undefined;
  return {
    provider,
    service,
    abMatch: strategy.kind === 'ab-testing' ? mergeMatchConditions(strategy.match, service.match) : [],
    ...(affinity
      ? {
          sessionAffinity: {
            spec: { ...affinity },
            intervalSeconds: Math.floor(ms(analysis?.interval, '1m') / 1000),
          },
        }
      : {}),
  };
}

export function compileAutoscaler(bundle: ParsedCanaryBundle): AutoscalerSpec | undefined {
  const ref = bundle.canary.spec.autoscalerRef;
  if (!ref) return undefined;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    name: ref.name,
    ...(ref.primaryScalerReplicas ? { primaryScalerReplicas: { ...ref.primaryScalerReplicas } } : {}),
  };
}

/** The bundle's MetricTemplates (namespace defaulted to the canary's), for the metrics layer. */
export function compileMetricTemplates(bundle: ParsedCanaryBundle): MetricTemplateDefinition[] {
  const namespace = namespaceOf(bundle);
  return bundle.metricTemplates.map((t) => {
    const p = t.spec.provider;
    const headers = p?.headers
      ? Object.fromEntries(Object.entries(p.headers).map(([k, v]) => [k, v.join(', ')]))
      : undefined;
    return {
      name: t.metadata.name,
      namespace: t.metadata.namespace ?? namespace,
      provider: {
        type: (p?.type as MetricProviderType | undefined) ?? defaultMetricProvider,
        ...(p?.address !== undefined ? { address: p.address } : {}),
        ...(headers ? { headers } : {}),
        ...(p?.secretRef ? { secretRef: { name: p.secretRef.name } } : {}),
      },
      query: t.spec.query,
    };
  });
}

/** `analysis.alerts` with their AlertProviders resolved (severity default `info`), for the notifiers. */
export function compileAlerts(bundle: ParsedCanaryBundle): AlertRoute[] {
  const namespace = namespaceOf(bundle);
  const routes: AlertRoute[] = [];
  for (const alert of analysisOf(bundle)?.alerts ?? []) {
    const ns = alert.providerRef.namespace ?? namespace;
    const provider = bundle.alertProviders.find(
      (p) => p.metadata.name === alert.providerRef.name && (p.metadata.namespace ?? namespace) === ns,
    );
    if (!provider) continue; // validation guarantees it exists
    const s = provider.spec;
    routes.push({
      name: alert.name,
      severity: alert.severity === undefined || alert.severity === '' ? 'info' : alert.severity,
      provider: {
        name: provider.metadata.name,
        namespace: ns,
        type: s.type as AlertProviderType,
        ...(s.channel !== undefined ? { channel: s.channel } : {}),
        ...(s.username !== undefined ? { username: s.username } : {}),
        ...(s.address !== undefined ? { address: s.address } : {}),
        ...(s.secretRef ? { secretRef: { name: s.secretRef.name } } : {}),
      },
    });
  }
  return routes;
}

/** Everything at once: the plan and the settings of the traffic, Kubernetes, metrics and notification layers. */
export function compileRelease(
  bundle: ParsedCanaryBundle,
  images: Readonly<Record<string, string>>,
  opts: CompileOptions = {},
): CompiledRelease {
  const autoscaler = compileAutoscaler(bundle);
  return {
    canary: { name: bundle.canary.metadata.name, namespace: namespaceOf(bundle) },
    plan: compileReleasePlan(bundle, images, opts),
    router: compileRouterSpec(bundle, opts),
    ...(autoscaler ? { autoscaler } : {}),
    metricTemplates: compileMetricTemplates(bundle),
    alerts: compileAlerts(bundle),
    revertOnDeletion: bundle.canary.spec.revertOnDeletion === true,
  };
}
