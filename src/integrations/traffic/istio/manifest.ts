// Istio, the pure half (see ../router-manifest.ts): `spec.provider: istio` (Flagger's default mesh provider). Writes a
// VirtualService `<svc>` and DestinationRules `<svc>-primary`/`<svc>-canary`; every strategy. Built-in checks are
// Flagger's Istio observer queries (pkg/metrics/observers/istio.go) over istio_requests_total and
// istio_request_duration_milliseconds. PURE.
import { builtinQueries } from '../../../domain/promql.js';
import {
  arr,
  isSet,
  obj,
  type RawObject,
  type RouterCheckInput,
  type RouterManifest,
} from '../router-manifest.js';

const tcpIgnored =
  'ignored for a TCP route (`appProtocol: tcp`), as Flagger does: its VirtualService has a `tcp` route only';

/**
 * `service.appProtocol: tcp` (Flagger's isTcp, any case): the VirtualService gets one weighted `tcp` route matched on
 * the ports of `service.match`. HTTP settings are ignored, as Flagger ignores them; A/B testing is refused: a TCP
 * route cannot match headers, and Flagger would send every connection to the canary.
 */
function checkTcp(
  input: Pick<RouterCheckInput, 'analysis' | 'at' | 'ignore' | 'addNew'> & { service: RawObject },
): void {
  const { service, analysis, at, ignore, addNew } = input;
  for (const field of ['timeout', 'retries', 'headers', 'corsPolicy', 'rewrite'] as const)
    if (isSet(service[field])) ignore(['spec', 'service', field], `${tcpIgnored} (HTTP settings)`);
  arr(service.match)?.forEach((m, i) => {
    const extra = Object.keys(obj(m) ?? {}).filter((k) => k !== 'port');
    if (extra.length > 0)
      ignore(
        ['spec', 'service', 'match', i],
        `${tcpIgnored}; only \`port\` of a match is used (an L4 match), not ${extra.join(', ')}`,
      );
  });
  if (!analysis) return;
  if (isSet(analysis.match) && analysis.iterations !== undefined)
    addNew(
      at('match'),
      'A/B testing needs HTTP: a TCP route (`service.appProtocol: tcp`) cannot match headers or cookies (Flagger would send every connection to the canary); use blue/green (iterations without match) or a weighted canary',
    );
  if (analysis.mirror === true) ignore(at('mirror'), `${tcpIgnored} (Istio mirrors HTTP requests only)`);
  if (isSet(analysis.sessionAffinity)) ignore(at('sessionAffinity'), `${tcpIgnored} (cookies are HTTP)`);
}

export const istioManifest = {
  name: 'istio',
  strategies: ['canary', 'ab-testing', 'blue-green'],
  check({ service, analysis, at, add, ignore, addNew }) {
    if (!service) return;
    // Fields Flagger's Istio router (pkg/router/istio.go) never reads: accepted, with a notice.
    if (isSet(service.gatewayRefs))
      ignore(
        ['spec', 'service', 'gatewayRefs'],
        'ignored with provider istio, as Flagger does (Gateway API only; for Istio, `gateways`)',
        'only used with provider gatewayapi:v1 (for Istio, use `gateways`)',
      );
    if (isSet(service.mirror))
      ignore(
        ['spec', 'service', 'mirror'],
        'ignored with provider istio, as Flagger does (Gateway API mirror filters; to mirror traffic to the canary, analysis.mirror)',
        'only used with provider gatewayapi:v1 (to mirror traffic to the canary, use analysis.mirror)',
      );
    if (isSet(obj(service.rewrite)?.type))
      ignore(
        ['spec', 'service', 'rewrite', 'type'],
        'ignored with provider istio, as Flagger does (a Gateway API path modifier)',
        'only used with provider gatewayapi:v1',
      );
    // Flagger (pkg/router/istio.go): a delegate VirtualService cannot have hosts and gateways.
    if (service.delegation === true)
      for (const field of ['hosts', 'gateways'] as const)
        if (isSet(service[field]))
          add(
            ['spec', 'service', field],
            'not used with `delegation: true`: a delegate VirtualService has no hosts or gateways (the parent VirtualService has them)',
          );
    if (typeof service.appProtocol === 'string' && service.appProtocol.toLowerCase() === 'tcp')
      checkTcp({ service, analysis, at, ignore, addNew });
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
