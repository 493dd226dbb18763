// Plain Kubernetes (no mesh), the pure half (see ../router-manifest.ts): Flagger's `provider: kubernetes`
// (docs "Kubernetes Blue/Green"; pkg/router/kubernetes_noop.go). Fledge writes the Services only — the apex `<svc>`
// selects the primary the whole time, the new version is reached through `<svc>-canary` (conformance and load tests
// target it) — and no routing object: route changes are no-ops, as with Flagger's KubernetesNoopRouter. Promotion
// copies the canary's template to the primary, whose rolling update moves the apex's traffic.
//
// Strategy: blue/green only (`iterations`), as Flagger. What Flagger rewrites with a warning for this provider (it
// drops `match`, forces `iterations: 10` when unset, skips `mirror`) Fledge accepts with a notice and compiles the
// same way (src/domain/manifest/compile.ts), so a Canary that ran under Flagger runs here. Route settings under
// `service` have no object to go into: ignored with a notice, as Flagger's no-op router ignores them. (The legacy
// profile of recorded histories predates this provider: it rejects `provider: kubernetes` itself.) Built-in checks: Flagger's generic HTTP
// observer (pkg/metrics/observers/http.go) — the application's own `http_request_duration_seconds` histogram, per
// pod, scraped by Prometheus with the `kubernetes_namespace` / `kubernetes_pod_name` labels. PURE.
import { isSet, type RouterManifest } from '../router-manifest.js';

const serviceOnly = 'provider kubernetes writes plain Services only, with no routing object to carry it';
const blueGreenOnly = 'provider kubernetes runs blue/green only (Flagger: no mesh, no weights)';

/** Route settings of `spec.service` that need a mesh or gateway router. */
const routeFields = [
  'gateways',
  'gatewayRefs',
  'hosts',
  'match',
  'rewrite',
  'retries',
  'headers',
  'corsPolicy',
  'trafficPolicy',
  'timeout',
  'mirror',
] as const;

const selector = (pod: string): string =>
  `kubernetes_namespace="{{ namespace }}", kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"${pod}`;

export const kubernetesManifest = {
  name: 'kubernetes',
  strategies: ['blue-green'],
  check({ service, analysis, at, skipAnalysis, ignore }) {
    for (const field of routeFields)
      if (service && isSet(service[field]))
        ignore(['spec', 'service', field], `ignored, as Flagger does: ${serviceOnly}`);
    if (!analysis) return;
    if (isSet(analysis.match))
      ignore(
        at('match'),
        `ignored, as Flagger does ("A/B testing is not supported when using the kubernetes provider"): ${blueGreenOnly}; the iterations run as blue/green`,
      );
    if (analysis.mirror === true)
      ignore(
        at('mirror'),
        `ignored, as Flagger does: ${blueGreenOnly}; mirroring needs a mesh router (istio, gatewayapi:v1)`,
      );
    const iterations = analysis.iterations;
    if (iterations === undefined || (typeof iterations === 'number' && iterations < 1)) {
      for (const key of ['stepWeight', 'stepWeights', 'maxWeight', 'stepWeightPromotion'] as const)
        if (analysis[key] !== undefined)
          ignore(
            at(key),
            `ignored, as Flagger does ("Progressive traffic is not supported when using the kubernetes provider"): ${blueGreenOnly}; it runs 10 iterations instead`,
          );
      if (!skipAnalysis && iterations === undefined)
        ignore(
          at('iterations'),
          `not set: ${blueGreenOnly}; 10 analysis iterations run, as Flagger sets them`,
        );
    }
    // Anything else (`mirrorWeight` without `mirror`, weights next to `iterations`) the general rules report.
  },
  builtins: {
    'request-success-rate': `
      sum(rate(http_request_duration_seconds_count{${selector(', status!~"5.*"')}}[{{ interval }}]))
      /
      sum(rate(http_request_duration_seconds_count{${selector('')}}[{{ interval }}]))
      * 100`,
    // Seconds → milliseconds, as Flagger's HttpObserver converts the value (thresholds are in ms).
    'request-duration': `
      histogram_quantile(
        0.99,
        sum(rate(http_request_duration_seconds_bucket{${selector('')}}[{{ interval }}])) by (le)
      ) * 1000`,
  },
  gateways: () => [],
  routeObjects: [],
  rbac: [],
} as const satisfies RouterManifest;
