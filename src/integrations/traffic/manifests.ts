// The traffic router registry, pure half: `spec.provider` name → RouterManifest (schema rules, strategies, built-in
// metric queries, context building, RBAC). Imported by the manifest layer, the compiler and the workflow's input
// check; the runtime half (TrafficRouter factories, worker only) is `routers.ts`, keyed by the same names.
// Adding a router: a folder `<name>/` with `manifest.ts` and `router.ts`, one line here, one line in routers.ts.
// PURE: no clients (eslint fences this file like domain code).
import { gatewayApiManifest } from './gateway-api/manifest.js';
import { istioManifest } from './istio/manifest.js';
import { kubernetesManifest } from './kubernetes/manifest.js';
import type { RouterManifest } from './router-manifest.js';

export const routerManifests = {
  istio: istioManifest,
  'gatewayapi:v1': gatewayApiManifest,
  kubernetes: kubernetesManifest,
} as const satisfies Record<string, RouterManifest>;

/** A `spec.provider` Fledge supports. */
export type RouterProvider = keyof typeof routerManifests;

/** Registered router names, in registry order. */
export const routerNames = Object.keys(routerManifests) as RouterProvider[];

/** Flagger's default `-mesh-provider`, used when `spec.provider` is omitted. */
export const defaultRouter: RouterProvider = 'istio';

export function isRouterProvider(name: unknown): name is RouterProvider {
  return typeof name === 'string' && Object.hasOwn(routerManifests, name);
}

export function routerManifest(name: RouterProvider): RouterManifest {
  return routerManifests[name];
}
