// What the spec compiles to besides the ReleasePlan: router/service settings for the traffic and Kubernetes
// layers, metric templates for the metrics layer, alert routes for the notifiers. Plain JSON. PURE.
import type { ReleasePlan } from '../plan.js';
import type { RouterProvider } from '../../integrations/traffic/manifests.js';
import type { MetricProviderType } from '../../integrations/metrics/manifests.js';
import type { SessionAffinitySpec } from './schema.js';
import type {
  CorsPolicy,
  HeaderOperations,
  HttpMatchRequest,
  HttpRetry,
  HttpRewrite,
  ParentReference,
  RequestMirror,
  TrafficPolicy,
} from './schema-router.js';

export type { RouterProvider } from '../../integrations/traffic/manifests.js';
export type { MetricProviderType } from '../../integrations/metrics/manifests.js';
export type {
  CorsPolicy,
  HeaderOperations,
  HttpMatchRequest,
  HttpRetry,
  HttpRewrite,
  ParentReference,
  RequestMirror,
  StringMatch,
  TrafficPolicy,
} from './schema-router.js';

export interface ServiceMetadata {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** `spec.service` with Flagger's defaults applied: the generated Services and the route settings. */
export interface ServiceSpec {
  /** Apex service `<name>` (default: targetRef.name); also the VirtualService/HTTPRoute name. */
  name: string;
  primaryName: string; // `<name>-primary`
  canaryName: string; // `<name>-canary`
  port: number;
  portName: string; // default `http`
  targetPort: number | string; // default: port
  appProtocol?: string;
  /** Labels/annotations for the apex, primary and canary Services (`service.apex|primary|canary`). */
  apex: ServiceMetadata;
  primary: ServiceMetadata;
  canary: ServiceMetadata;
  /** VirtualService hosts / HTTPRoute hostnames in addition to the service name. */
  hosts: string[];
  /** Istio gateways (`ns/name`); empty = the mesh gateway. */
  gateways: string[];
  /** Gateway API parents of the HTTPRoute (required with gatewayapi:v1). */
  gatewayRefs: ParentReference[];
  /** Route timeout, a Go duration as written (`30s`). */
  timeout?: string;
  /** Gateway API: the timeout of one request from the gateway to a backend (HTTPRoute `timeouts.backendRequest`). */
  backendTimeout?: string;
  /** Match conditions of every generated route (e.g. a URI prefix). */
  match: HttpMatchRequest[];
  rewrite?: HttpRewrite;
  retries?: HttpRetry;
  headers?: HeaderOperations;
  corsPolicy?: CorsPolicy;
  /** Istio DestinationRule traffic policy for `<name>-primary` and `<name>-canary`. */
  trafficPolicy?: TrafficPolicy;
  /** Gateway API RequestMirror filters to other backends (`service.mirror`; not the analysis mirror). */
  mirror: RequestMirror[];
  /** `service.portDiscovery`: the Services also expose every container port of the target (Flagger's rules). */
  portDiscovery?: true;
  /** `service.delegation` (Istio): the VirtualService has no hosts/gateways, a parent delegates to it. */
  delegation?: true;
  /** Istio with `appProtocol: tcp` (Flagger's isTcp): a weighted `tcp` route in the VirtualService, no HTTP route. */
  tcp?: true;
}

/** Everything the traffic router needs. */
export interface RouterSpec {
  provider: RouterProvider;
  service: ServiceSpec;
  /**
   * A/B route conditions: each `analysis.match` entry combined with each `service.match` entry (Flagger's
   * mergeMatchConditions). Flagger keeps only headers and sourceLabels of the A/B entry when service.match is
   * set; Fledge keeps every field the A/B entry sets. Empty unless the strategy is A/B testing.
   */
  abMatch: HttpMatchRequest[];
  /** `analysis.sessionAffinity` with the analysis interval (the primary cookie's Max-Age). Absent: none. */
  sessionAffinity?: { spec: SessionAffinitySpec; intervalSeconds: number };
}

/** `spec.autoscalerRef`: the target's HPA, copied to `<name>-primary`. */
export interface AutoscalerSpec {
  apiVersion: 'autoscaling/v2';
  kind: 'HorizontalPodAutoscaler';
  name: string;
  /** Overrides for the primary HPA's replicas. */
  primaryScalerReplicas?: { minReplicas?: number; maxReplicas?: number };
}

/** A MetricTemplate for the metrics layer (compatible with integrations/metrics MetricTemplateDef). */
export interface MetricTemplateDefinition {
  name: string;
  namespace: string;
  provider: {
    /** The registered provider type (src/integrations/metrics/manifests.ts); default `prometheus`. */
    type: MetricProviderType;
    /** The provider's base URL; undefined = its default (the worker's Prometheus, Datadog's API). */
    address?: string;
    /** Extra request headers (multiple values joined with ", "); never credentials. */
    headers?: Record<string, string>;
    /** Credentials from a Secret the worker resolves in the template's namespace (see integrations/secrets). */
    secretRef?: { name: string };
  };
  query: string;
}

/** `webhook` (generic JSON) is Fledge's own; the others are Flagger's. */
export type AlertProviderType = 'slack' | 'msteams' | 'webhook';

export interface AlertProviderDefinition {
  name: string;
  namespace: string;
  type: AlertProviderType;
  channel?: string;
  username?: string;
  /** Incoming-webhook address, if set in the manifest. */
  address?: string;
  /**
   * Names the worker's own secret holding the address: the worker reads `FLEDGE_ALERT_<NAME>_ADDRESS` from its
   * environment (it never reads Secrets in application namespaces).
   */
  secretRef?: { name: string };
}

/** One `analysis.alerts` entry with its provider resolved. Severity routing as Flagger: info ⊃ warn ⊃ error. */
export interface AlertRoute {
  name: string;
  severity: 'info' | 'warn' | 'error';
  provider: AlertProviderDefinition;
}

/** The whole compiled release: the plan for the decision core plus the settings of the I/O layers. */
export interface CompiledRelease {
  canary: { name: string; namespace: string };
  plan: ReleasePlan;
  router: RouterSpec;
  autoscaler?: AutoscalerSpec;
  metricTemplates: MetricTemplateDefinition[];
  alerts: AlertRoute[];
  /**
   * `spec.revertOnDeletion` (Flagger semantics): when the target's release setup is removed, restore the routing
   * objects Fledge took over and the Service selectors, and scale the target back up. For the Kubernetes layer.
   */
  revertOnDeletion: boolean;
}
