// TrafficRouter for `provider: kubernetes` (no mesh; see ./manifest.ts): the Services are the workload
// controller's (`<svc>` → primary, `<svc>-primary`, `<svc>-canary`), and there is no routing object, so reconcile
// writes nothing and a route change is a no-op that reads back what was asked — Flagger's KubernetesNoopRouter. The
// release's weights are nominal (the status shows the blue/green switch as Flagger's does); the apex keeps
// selecting the primary, whose rolling update at promotion moves the traffic. No request to the apiserver.
import type { RouteWeights, TrafficRouter } from '../router.js';

const allPrimary: RouteWeights = { primaryWeight: 100, canaryWeight: 0, mirrorPercent: null, abMatch: false };

export function createKubernetesRouter(): TrafficRouter {
  return {
    kind: 'kubernetes',
    async reconcile() {
      // Nothing to route: the Services exist (initialisation ensured them).
    },
    async setRoutes(_t, w) {
      // No mirror or match can be carried (the manifest rules reject both); anything else is nominal.
      return { ...w, mirrorPercent: null, abMatch: false };
    },
    async getRoutes() {
      return { ...allPrimary };
    },
  };
}
