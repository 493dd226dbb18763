// The pure half of a traffic router plugin: what the manifest layer, the compiler and the metrics layer need to know
// about a router, without any client code. Each router folder has a `manifest.ts` exporting one RouterManifest (this
// half, importable by workflow and domain code) and a `router.ts` with the TrafficRouter factory (the runtime half,
// worker only). The two registries — `manifests.ts` (pure) and `routers.ts` (runtime) — are keyed by the same names.
// PURE: no Node built-ins, no clients, no I/O.
import type { PathSegment } from '../../domain/manifest/errors.js';
import type { ServiceSpec } from '../../domain/manifest/types.js';

/** Flagger's two built-in checks, as `analysis.metrics[].name`. */
export const builtinMetricNames = ['request-success-rate', 'request-duration'] as const;
export type BuiltinMetricName = (typeof builtinMetricNames)[number];

/** A field of the raw Canary manifest, read defensively (a wrong type is zod's to report). */
export type RawObject = Record<string, unknown>;

/** What a router's rules see of a Canary: the raw spec (untyped: it may not have passed the schema). */
export interface RouterCheckInput {
  /** `spec` of the Canary. */
  spec: RawObject;
  /** `spec.service` when it is an object. */
  service: RawObject | undefined;
  /** `spec.analysis` (or the deprecated `spec.canaryAnalysis`) when it is an object. */
  analysis: RawObject | undefined;
  /** The path of an `analysis` field: `at('iterations')` → `spec.analysis.iterations` (or canaryAnalysis). */
  at: (...rest: PathSegment[]) => PathSegment[];
  skipAnalysis: boolean;
  /** Report a problem at a path of the Canary document. */
  add: (path: PathSegment[], message: string) => void;
  /**
   * A field Flagger accepts and ignores (or uses differently) with this router: a notice (`message`) in the current
   * profile; the legacy profile (recorded histories) still reports `legacy` as the error it was (nothing when the
   * rule is newer than that profile).
   */
  ignore: (path: PathSegment[], message: string, legacy?: string) => void;
  /** A problem only the current profile reports (a rule newer than the legacy profile, which must not change). */
  addNew: (path: PathSegment[], message: string) => void;
}

/** Kubernetes RBAC rule the worker needs for a router's objects (kustomize Role / Helm chart; tested to match). */
export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export type StrategyKind = 'canary' | 'ab-testing' | 'blue-green';

export interface RouterManifest {
  /** The `spec.provider` value. */
  readonly name: string;
  /** Deployment strategies the router can carry (Flagger's DeploymentStrategy dispatch, restricted). */
  readonly strategies: readonly StrategyKind[];
  /** The router's own rules on the Canary: fields it does not use or needs, with a path and a reason. */
  check(input: RouterCheckInput): void;
  /**
   * Built-in checks as PromQL on the worker's Prometheus (Flagger's per-router observer,
   * pkg/metrics/observers): `{{ namespace }}`, `{{ target }}`, `{{ interval }}` placeholders.
   */
  readonly builtins: Readonly<Record<BuiltinMetricName, string>>;
  /** ReleaseContext.service.gateways: the gateways/parents the router attaches to, from the compiled service. */
  gateways(service: ServiceSpec): string[];
  /** Routing objects it writes in the target's namespace, as `Kind/<name>` with `{svc}` for the apex name. */
  readonly routeObjects: readonly string[];
  /** RBAC the worker needs for those objects. */
  readonly rbac: readonly RbacRule[];
}

/** Set to something other than a zero value (Flagger's omitempty semantics). */
export const isSet = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== false && v !== '' && !(Array.isArray(v) && v.length === 0);
export const obj = (v: unknown): RawObject | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as RawObject) : undefined;
export const arr = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);
