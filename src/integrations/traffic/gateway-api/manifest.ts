// Gateway API v1, the pure half (see ../router-manifest.ts): `spec.provider: gatewayapi:v1`. Writes an HTTPRoute
// `<svc>` attached to `service.gatewayRefs`; every strategy. Built-in checks: Flagger has no Gateway API observer
// (pkg/metrics/observers/factory.go falls back to Istio's for it), so they are Istio's queries — the mesh behind
// the gateway reports them. PURE.
import { builtinQueries } from '../../../domain/promql.js';
import { arr, isSet, obj, type RouterManifest } from '../router-manifest.js';

/** A Gateway API Duration (GEP-2257, the HTTPRoute CRD's pattern) in milliseconds, or undefined. */
export function gatewayDurationMs(text: string): number | undefined {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(text)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 0);
  return total;
}

export const gatewayApiManifest = {
  name: 'gatewayapi:v1',
  strategies: ['canary', 'ab-testing', 'blue-green'],
  check({ service, analysis, at, add, ignore, addNew }) {
    if (!service) return;
    // Fields Flagger's Gateway API router (pkg/router/gateway_api.go) never reads: accepted, with a notice.
    if (isSet(service.trafficPolicy))
      ignore(
        ['spec', 'service', 'trafficPolicy'],
        'ignored with provider gatewayapi:v1, as Flagger does (Istio DestinationRules only)',
        'only used with provider istio (DestinationRules)',
      );
    if (isSet(service.gateways))
      ignore(
        ['spec', 'service', 'gateways'],
        'ignored with provider gatewayapi:v1, as Flagger does (Istio only; the HTTPRoute attaches to `gatewayRefs`)',
        'only used with provider istio; with gatewayapi:v1 use `gatewayRefs`',
      );
    if (isSet(service.retries))
      ignore(
        ['spec', 'service', 'retries'],
        'ignored with provider gatewayapi:v1, as Flagger does (the HTTPRoute standard channel has no retry policy)',
        'not supported yet by Fledge with provider gatewayapi:v1',
      );
    // Flagger >= 1.42 writes an HTTPRoute CORS filter, which the Gateway API standard channel (v1.3) does not have:
    // an apiserver with the standard CRDs refuses such a route. Fledge accepts the field and does not write it.
    if (isSet(service.corsPolicy))
      ignore(
        ['spec', 'service', 'corsPolicy'],
        'not written with provider gatewayapi:v1: the HTTPRoute CORS filter is not in the Gateway API standard channel (Flagger >= 1.42 writes one, which a cluster with the standard CRDs refuses); set CORS on the Gateway or with an implementation-specific policy',
        'not supported yet by Fledge with provider gatewayapi:v1',
      );
    // Flagger writes both into every rule's HTTPRoute `timeouts` (makeHTTPRouteTimeouts); the CRD's rules apply.
    const durations: Partial<Record<'timeout' | 'backendTimeout', number>> = {};
    for (const key of ['timeout', 'backendTimeout'] as const) {
      const value = service[key];
      if (typeof value !== 'string' || value === '') continue;
      const ms = gatewayDurationMs(value);
      if (ms === undefined)
        addNew(
          ['spec', 'service', key],
          `${JSON.stringify(value)} is not a Gateway API duration (GEP-2257: up to four <number><h|m|s|ms> parts of at most 5 digits, e.g. 30s, 1m30s, 500ms), which the HTTPRoute \`timeouts.${key === 'timeout' ? 'request' : 'backendRequest'}\` must be`,
        );
      else durations[key] = ms;
    }
    if (
      durations.timeout !== undefined &&
      durations.backendTimeout !== undefined &&
      durations.timeout !== 0 &&
      durations.backendTimeout > durations.timeout
    )
      addNew(
        ['spec', 'service', 'backendTimeout'],
        `must not be longer than \`timeout\` (${String(service.timeout)}): the Gateway API refuses a backendRequest timeout above the request timeout that contains it`,
      );
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
