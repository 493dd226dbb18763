// What the activities need to know about the release besides the plan: where traffic goes and how to reach
// the metric templates and notifiers. Built from the validated spec bundle in the workflow (pure, plain JSON).
import type { RouterProvider } from '../integrations/traffic/manifests.js';
import type { MatchCondition } from './plan.js';
import type { SessionAffinityRoutes } from './manifest/session-affinity.js';

export interface ReleaseContext {
  target: { namespace: string; name: string };
  /** The traffic router (src/integrations/traffic/manifests.ts). */
  provider: RouterProvider;
  service: {
    name: string;
    port: number;
    targetPort?: number | string;
    portName?: string;
    appProtocol?: string;
    hosts: string[];
    gateways: string[];
    /** A/B match conditions (already merged with service.match). */
    match: MatchCondition[];
    /** Route settings from the Canary's service block (see RouteOptions in integrations/traffic/router.ts). */
    options: {
      match?: Array<Record<string, unknown>>;
      timeout?: string;
      /** Gateway API `service.backendTimeout` (HTTPRoute rules[].timeouts.backendRequest). */
      backendTimeout?: string;
      /** Istio `service.appProtocol: tcp`: the VirtualService routes TCP (weights only). */
      tcp?: boolean;
      retries?: Record<string, unknown>;
      headers?: Record<string, unknown>;
      corsPolicy?: Record<string, unknown>;
      rewrite?: Record<string, unknown>;
      trafficPolicy?: Record<string, unknown>;
      gatewayRefs?: Array<Record<string, unknown>>;
      mirrors?: Array<Record<string, unknown>>;
      /** `service.portDiscovery`: the Services expose every container port; Istio routes name the port. */
      portDiscovery?: boolean;
      /** `service.delegation` (Istio): a delegate VirtualService, without hosts and gateways. */
      delegation?: boolean;
      /** `analysis.sessionAffinity`: the sticky cookies of this release (domain/manifest/session-affinity.ts). */
      sessionAffinity?: SessionAffinityRoutes;
    };
    /** Labels/annotations for the apex, primary and canary Services. */
    metadata: Record<
      'apex' | 'primary' | 'canary',
      { labels: Record<string, string>; annotations: Record<string, string> }
    >;
  };
  /** `<name>-primary` HPA from the target's HPA; `primaryScalerReplicas` overrides its min/max replicas. */
  autoscalerRef?: { name: string; primaryScalerReplicas?: { minReplicas?: number; maxReplicas?: number } };
  templates: Array<{
    name: string;
    namespace: string;
    provider: {
      type: string;
      address?: string;
      headers?: Record<string, string>;
      /** Resolved by the worker from its mounted Secrets/env in the template's namespace; never the values. */
      secretRef?: { name: string };
    };
    query: string;
  }>;
  alerts: Array<{
    name: string;
    severity: 'info' | 'warn' | 'error';
    provider: {
      type: string;
      channel?: string;
      username?: string;
      address?: string;
      /** AlertProvider `secretRef.name`: the address comes from the worker's env FLEDGE_ALERT_<NS>__<NAME>_ADDRESS. */
      secretName?: string;
    };
  }>;
  /** Flagger `event` webhooks: every notification is also POSTed to them (best-effort). */
  eventHooks: Array<{
    name: string;
    url: string;
    timeoutMs: number;
    retries: number;
    metadata: Record<string, string>;
  }>;
  /** Webhook payload checksum (stable per spec + images). */
  checksum: string;
  /** Release identity for links and messages. */
  workflowId: string;
  newImages: Record<string, string>;
}

/** FNV-1a 32-bit over a string, hex. Deterministic and dependency-free (workflow-safe). */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
