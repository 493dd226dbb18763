// Plain Kubernetes (no mesh), the pure half (see ../router-manifest.ts): Flagger's `provider: kubernetes`
// (docs "Kubernetes Blue/Green"; pkg/router/kubernetes_noop.go). Fledge writes the Services only — the apex `<svc>`
// selects the primary the whole time, the new version is reached through `<svc>-canary` (conformance and load tests
// target it) — and no routing object: route changes are no-ops, as with Flagger's KubernetesNoopRouter. Promotion
// copies the canary's template to the primary, whose rolling update moves the apex's traffic.
//
// Strategy: blue/green only (`iterations`), as Flagger. Flagger silently rewrites what it cannot do with this provider
// (drops `match` with a warning, forces `iterations: 10`, skips `mirror`); Fledge rejects each such field with its
// path and the reason, so the manifest says what runs. Route settings under `service` have no object to go into
// and are rejected likewise. Built-in checks: Flagger's generic HTTP observer (pkg/metrics/observers/http.go) —
// the application's own `http_request_duration_seconds` histogram, per pod, scraped by Prometheus with the
// `kubernetes_namespace` / `kubernetes_pod_name` labels. PURE.
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
  check({ service, analysis, at, skipAnalysis, add }) {
    for (const field of routeFields)
      if (service && isSet(service[field])) add(['spec', 'service', field], `not used: ${serviceOnly}`);
    if (!analysis) return;
    if (isSet(analysis.match))
      add(
        at('match'),
        `not supported: ${blueGreenOnly}; A/B testing needs a router that matches headers (istio, gatewayapi:v1)`,
      );
    if (analysis.mirror === true)
      add(
        at('mirror'),
        `not supported: ${blueGreenOnly}; mirroring needs a mesh router (istio, gatewayapi:v1)`,
      );
    if (analysis.iterations === undefined) {
      for (const key of ['stepWeight', 'stepWeights', 'maxWeight', 'stepWeightPromotion'] as const)
        if (analysis[key] !== undefined)
          add(at(key), `not supported: ${blueGreenOnly}; set \`iterations\` instead of weight steps`);
      if (!skipAnalysis)
        add(
          at('iterations'),
          `missing required field: ${blueGreenOnly} — set the number of analysis iterations (Flagger uses 10 when unset)`,
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
