// Gateway API v1, the pure half (see ../router-manifest.ts): `spec.provider: gatewayapi:v1`. Writes an HTTPRoute
// `<svc>` attached to `service.gatewayRefs`; every strategy. Built-in checks: Flagger has no Gateway API observer
// (pkg/metrics/observers/factory.go falls back to Istio's for it), so they are Istio's queries — the mesh behind
// the gateway reports them. PURE.
import { builtinQueries } from '../../../domain/promql.js';
import { arr, isSet, obj, type RouterManifest } from '../router-manifest.js';

export const gatewayApiManifest = {
  name: 'gatewayapi:v1',
  strategies: ['canary', 'ab-testing', 'blue-green'],
  check({ service, analysis, at, add }) {
    if (!service) return;
    if (isSet(service.trafficPolicy))
      add(['spec', 'service', 'trafficPolicy'], 'only used with provider istio (DestinationRules)');
    if (isSet(service.gateways))
      add(
        ['spec', 'service', 'gateways'],
        'only used with provider istio; with gatewayapi:v1 use `gatewayRefs`',
      );
    if (isSet(service.retries))
      add(['spec', 'service', 'retries'], 'not supported yet by Fledge with provider gatewayapi:v1');
    // The Gateway API standard channel (v1.3) has no CORS filter.
    if (isSet(service.corsPolicy))
      add(['spec', 'service', 'corsPolicy'], 'not supported yet by Fledge with provider gatewayapi:v1');
    if (!isSet(service.gatewayRefs))
      add(
        ['spec', 'service', 'gatewayRefs'],
        'missing required field: provider gatewayapi:v1 needs the Gateways the HTTPRoute attaches to',
      );
    arr(analysis?.match)?.forEach((m, i) => {
      if (isSet(obj(m)?.sourceLabels))
        add(at('match', i, 'sourceLabels'), 'only supported with provider istio');
    });
  },
  builtins: builtinQueries.istio,
  gateways: (service) => service.gatewayRefs.map((g) => (g.namespace ? `${g.namespace}/${g.name}` : g.name)),
  routeObjects: ['HTTPRoute/{svc}'],
  rbac: [
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: ['httproutes'],
      verbs: ['get', 'create', 'patch'],
    },
  ],
} as const satisfies RouterManifest;
