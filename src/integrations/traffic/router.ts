// The TrafficRouter port: how a release moves traffic between `<svc>-primary` and `<svc>-canary`.
import type { ReleaseContext } from '../../domain/context.js';
import type { RouterProvider } from './manifests.js';

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
export type RouteOptions = ReleaseContext['service']['options'];

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
  readonly kind: RouterProvider;
  /** Ensures the routing objects exist; new objects start at 100% primary. Existing weights are kept. */
  reconcile(target: RouterTarget): Promise<void>;
  /** Writes the weights and returns what the apiserver holds afterwards (read back). */
  setRoutes(target: RouterTarget, weights: RouteWeights): Promise<RouteWeights>;
  getRoutes(target: RouterTarget): Promise<RouteWeights>;
}
