// Istio, the pure half (see ../router-manifest.ts): `spec.provider: istio` (Flagger's default mesh provider). Writes a
// VirtualService `<svc>` and DestinationRules `<svc>-primary`/`<svc>-canary`; every strategy. Built-in checks are
// Flagger's Istio observer queries (pkg/metrics/observers/istio.go) over istio_requests_total and
// istio_request_duration_milliseconds. PURE.
import { builtinQueries } from '../../../domain/promql.js';
import { isSet, obj, type RouterManifest } from '../router-manifest.js';

export const istioManifest = {
  name: 'istio',
  strategies: ['canary', 'ab-testing', 'blue-green'],
  check({ service, add }) {
    if (!service) return;
    if (isSet(service.gatewayRefs))
      add(
        ['spec', 'service', 'gatewayRefs'],
        'only used with provider gatewayapi:v1 (for Istio, use `gateways`)',
      );
    if (isSet(service.mirror))
      add(
        ['spec', 'service', 'mirror'],
        'only used with provider gatewayapi:v1 (to mirror traffic to the canary, use analysis.mirror)',
      );
    if (isSet(obj(service.rewrite)?.type))
      add(['spec', 'service', 'rewrite', 'type'], 'only used with provider gatewayapi:v1');
    // Flagger (pkg/router/istio.go): a delegate VirtualService cannot have hosts and gateways.
    if (service.delegation === true)
      for (const field of ['hosts', 'gateways'] as const)
        if (isSet(service[field]))
          add(
            ['spec', 'service', field],
            'not used with `delegation: true`: a delegate VirtualService has no hosts or gateways (the parent VirtualService has them)',
          );
  },
  builtins: builtinQueries.istio,
  gateways: (service) => service.gateways,
  routeObjects: ['VirtualService/{svc}', 'DestinationRule/{svc}-primary', 'DestinationRule/{svc}-canary'],
  rbac: [
    {
      apiGroups: ['networking.istio.io'],
      resources: ['virtualservices', 'destinationrules'],
      verbs: ['get', 'create', 'patch'],
    },
  ],
} as const satisfies RouterManifest;
