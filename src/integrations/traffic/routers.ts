// The traffic router registry, runtime half: `spec.provider` name → TrafficRouter factory (worker only: these hold
// Kubernetes clients). Keyed by the same names as the pure registry (manifests.ts) — a name missing here is a type
// error. Adding a router: one line here and one in manifests.ts.
import type * as k8s from '@kubernetes/client-node';
import type { RequestBudget } from '../kubernetes/budget.js';
import { createGatewayApiRouter } from './gateway-api/router.js';
import { createIstioRouter } from './istio/router.js';
import { createKubernetesRouter } from './kubernetes/router.js';
import type { RouterProvider } from './manifests.js';
import type { TrafficRouter } from './router.js';

export interface RouterClients {
  custom: k8s.CustomObjectsApi;
  budget: RequestBudget;
}

export const routerFactories = {
  istio: (c) => createIstioRouter(c.custom, c.budget),
  'gatewayapi:v1': (c) => createGatewayApiRouter(c.custom, c.budget),
  kubernetes: () => createKubernetesRouter(),
} as const satisfies Record<RouterProvider, (clients: RouterClients) => TrafficRouter>;

/** One TrafficRouter per registered provider. */
export function createRouters(clients: RouterClients): Record<RouterProvider, TrafficRouter> {
  const out = {} as Record<RouterProvider, TrafficRouter>;
  for (const [name, create] of Object.entries(routerFactories) as Array<
    [RouterProvider, (c: RouterClients) => TrafficRouter]
  >)
    out[name] = create(clients);
  return out;
}
