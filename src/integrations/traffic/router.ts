// The TrafficRouter port: how a release moves traffic between `<svc>-primary` and `<svc>-canary`.
export interface RouteWeights {
  primaryWeight: number;
  canaryWeight: number;
  /** Percentage of primary-bound traffic mirrored to the canary; null = no mirroring. */
  mirrorPercent: number | null;
  /** A/B: requests matching the release's match conditions go to the canary. */
  abMatch: boolean;
}

export interface HeaderMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

/** Service/route settings from the Canary's `service` block that the routers carry into their objects. */
export interface RouteOptions {
  /** Match conditions every route of this service carries (Flagger `service.match`). */
  match?: Array<Record<string, unknown>>;
  timeout?: string;
  retries?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  corsPolicy?: Record<string, unknown>;
  rewrite?: Record<string, unknown>;
  /** Istio: DestinationRule trafficPolicy for `<svc>-primary` and `<svc>-canary`. */
  trafficPolicy?: Record<string, unknown>;
  /** Gateway API: parentRefs (Flagger `service.gatewayRefs`). */
  gatewayRefs?: Array<Record<string, unknown>>;
  /** Gateway API: extra RequestMirror filters (Flagger `service.mirror`). */
  mirrors?: Array<Record<string, unknown>>;
}

export interface RouterTarget {
  namespace: string;
  /** Apex service name; the router addresses `<service>-primary` and `<service>-canary`. */
  service: string;
  port: number;
  /** Extra hosts and gateways (Istio) or parent gateways (Gateway API). */
  hosts?: string[];
  gateways?: string[];
  /** A/B match conditions (header/cookie). */
  match?: Array<{ headers?: Record<string, HeaderMatch> } & Record<string, unknown>>;
  options?: RouteOptions;
}

export interface TrafficRouter {
  readonly kind: 'istio' | 'gatewayapi:v1';
  /** Ensures the routing objects exist; new objects start at 100% primary. Existing weights are kept. */
  reconcile(target: RouterTarget): Promise<void>;
  /** Writes the weights and returns what the apiserver holds afterwards (read back). */
  setRoutes(target: RouterTarget, weights: RouteWeights): Promise<RouteWeights>;
  getRoutes(target: RouterTarget): Promise<RouteWeights>;
}
