// Each rejection: exact path, message, 1-based line/column (marked `#!` in the YAML), and the same message from
// validateCanaryBundle on the same documents as JSON (the workflow's start-time validation).
import { describe, expect, it } from 'vitest';
import {
  compileRelease,
  parseCanaryYaml,
  parseReleaseYaml,
  validateCanaryBundle,
  type SpecError,
} from '../../../src/domain/manifest/index.js';
import { legacyProfile } from '../../../src/domain/manifest/schema.js';
import { keyColumnOf, lineOf, yamlDocuments } from './fixtures.js';

const base = `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  provider: istio
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
  analysis:
    interval: 2s
    threshold: 2
    maxWeight: 50
    stepWeight: 10
    metrics:
      - name: request-success-rate
        thresholdRange:
          min: 99
        interval: 1m
    webhooks:
      - name: load-test
        url: http://flagger-loadtester.test/
        metadata:
          cmd: "hey -z 1m http://podinfo-canary.test:9898/"
`;

const template = (
  name: string,
  extra = '',
  query = 'sum(rate(http_requests_total{namespace="{{ namespace }}"}[{{ interval }}]))',
) => `---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: ${name}
  namespace: test
spec:
  provider:
    type: prometheus${extra}
  query: ${JSON.stringify(query)}
`;

/** Replaces `from` (which must occur) in the base spec. */
const edit =
  (from: string, to: string) =>
  (text: string): string => {
    if (!text.includes(from)) throw new Error(`edit: ${JSON.stringify(from)} not in base`);
    return text.replace(from, to);
  };
const compose =
  (...edits: Array<(t: string) => string>) =>
  (text: string): string =>
    edits.reduce((t, e) => e(t), text);

const metricWithRef = (name: string, extra = '') =>
  edit(
    '        interval: 1m\n',
    `        interval: 1m\n      - name: ${name}\n        templateRef:\n          name: ${name}\n        thresholdRange:\n          max: 5\n${extra}`,
  );

interface Case {
  name: string;
  change: (text: string) => string;
  path: string;
  message: string;
  /** Column: the key on the marked line (default), the sequence item (`- ` + 2), or a number. */
  column?: 'key' | 'item' | number;
  /** Exactly this many errors (default 1). */
  count?: number;
}

const cases: Case[] = [
  {
    name: 'stepWeight of the wrong type',
    change: edit('stepWeight: 10', 'stepWeight: "10" #!'),
    path: 'spec.analysis.stepWeight',
    message: 'expected number, got string',
  },
  {
    name: 'unknown field with a suggestion',
    change: edit('  service:\n', '  servce: {} #!\n  service:\n'),
    path: 'spec.servce',
    message: 'unknown field `servce` (did you mean `service`?)',
  },
  {
    name: 'unknown field',
    change: edit('    port: 9898', '    port: 9898\n    color: blue #!'),
    path: 'spec.service.color',
    message: 'unknown field `color`',
  },
  {
    name: 'stepWeight below 1',
    change: edit('stepWeight: 10', 'stepWeight: 0 #!'),
    path: 'spec.analysis.stepWeight',
    message: 'must be >= 1, got 0',
  },
  {
    name: 'stepWeight above 100',
    change: compose(edit('stepWeight: 10', 'stepWeight: 101 #!'), edit('    maxWeight: 50\n', '')),
    path: 'spec.analysis.stepWeight',
    message: 'must be <= 100, got 101',
  },
  {
    name: 'maxWeight above 100',
    change: edit('maxWeight: 50', 'maxWeight: 120 #!'),
    path: 'spec.analysis.maxWeight',
    message: 'must be <= 100, got 120',
  },
  {
    name: 'stepWeight not an integer',
    change: edit('stepWeight: 10', 'stepWeight: 2.5 #!'),
    path: 'spec.analysis.stepWeight',
    message: 'expected integer, got 2.5',
  },
  {
    name: 'stepWeight > maxWeight',
    change: edit('stepWeight: 10', 'stepWeight: 60 #!'),
    path: 'spec.analysis.stepWeight',
    message: 'stepWeight (60) must be <= maxWeight (50)',
  },
  {
    name: 'canary without stepWeight or stepWeights',
    change: compose(
      edit('  analysis:', '  analysis: #!'),
      edit('    maxWeight: 50\n    stepWeight: 10\n', ''),
    ),
    path: 'spec.analysis.stepWeight',
    message:
      'missing required field: a canary needs `stepWeight` (with `maxWeight`) or `stepWeights`; for blue/green set `iterations`',
  },
  {
    name: 'stepWeights not strictly ascending',
    change: edit('    maxWeight: 50\n    stepWeight: 10\n', '    stepWeights: [10, 20, 20] #!\n'),
    path: 'spec.analysis.stepWeights[2]',
    message: 'stepWeights must be strictly ascending: 20 after 20',
    column: 27,
  },
  {
    name: 'stepWeights entry out of range',
    change: edit('    maxWeight: 50\n    stepWeight: 10\n', '    stepWeights: [10, 200] #!\n'),
    path: 'spec.analysis.stepWeights[1]',
    message: 'must be <= 100, got 200',
    column: 23,
  },
  {
    name: 'iterations below 1',
    change: edit('    maxWeight: 50\n    stepWeight: 10\n', '    iterations: 0 #!\n'),
    path: 'spec.analysis.iterations',
    message: 'must be >= 1, got 0',
  },
  {
    name: 'mirrorWeight out of range',
    change: edit('    maxWeight: 50\n', '    maxWeight: 50\n    mirror: true\n    mirrorWeight: 0 #!\n'),
    path: 'spec.analysis.mirrorWeight',
    message: 'must be >= 1, got 0',
  },
  {
    name: 'stepWeightPromotion with blue/green',
    change: edit(
      '    maxWeight: 50\n    stepWeight: 10\n',
      '    iterations: 5\n    stepWeightPromotion: 20 #!\n',
    ),
    path: 'spec.analysis.stepWeightPromotion',
    message:
      'not supported yet by Fledge for blue/green: promotion routes traffic back to the primary at once',
  },
  {
    name: 'analysis threshold below 1',
    change: edit('threshold: 2', 'threshold: 0 #!'),
    path: 'spec.analysis.threshold',
    message: 'must be >= 1, got 0',
  },
  {
    name: 'interval below 1s',
    change: edit('interval: 2s', 'interval: 500ms #!'),
    path: 'spec.analysis.interval',
    message: 'interval "500ms" must be at least 1s',
  },
  {
    name: 'interval not a Go duration',
    change: edit('interval: 2s', 'interval: 2 minutes #!'),
    path: 'spec.analysis.interval',
    message: 'invalid duration "2 minutes": unknown unit " minutes" (valid units: ns, us, ms, s, m, h)',
  },
  {
    name: 'metric interval of the wrong type',
    change: edit('        interval: 1m', '        interval: 60 #!'),
    path: 'spec.analysis.metrics[0].interval',
    message: 'expected a duration string such as "30s", "1m" or "1m30s", got number',
  },
  {
    name: 'thresholdRange without min or max',
    change: edit('        thresholdRange:\n          min: 99\n', '        thresholdRange: {} #!\n'),
    path: 'spec.analysis.metrics[0].thresholdRange',
    message: '`thresholdRange` needs `min` and/or `max`',
  },
  {
    name: 'thresholdRange min > max',
    change: edit('          min: 99\n', '          min: 99 #!\n          max: 50\n'),
    path: 'spec.analysis.metrics[0].thresholdRange.min',
    message: 'min (99) must be <= max (50)',
  },
  {
    name: 'metric without a threshold',
    change: edit(
      '      - name: request-success-rate\n        thresholdRange:\n          min: 99\n',
      '      - name: request-success-rate #!\n',
    ),
    path: 'spec.analysis.metrics[0].thresholdRange',
    message: 'missing required field: a metric needs `thresholdRange` with `min` and/or `max`',
    column: 'item',
  },
  {
    name: 'duplicate metric names',
    change: edit(
      '        interval: 1m\n',
      '        interval: 1m\n      - name: request-success-rate #!\n        thresholdRange:\n          min: 90\n',
    ),
    path: 'spec.analysis.metrics[1].name',
    message: 'duplicate metric name `request-success-rate` (also metrics[0])',
    column: 'item',
  },
  {
    name: 'unknown metric without templateRef',
    change: edit('      - name: request-success-rate', '      - name: error-rate #!'),
    path: 'spec.analysis.metrics[0].name',
    message:
      'metric `error-rate` needs a `templateRef` (or an inline `query`); the built-in metrics are request-success-rate and request-duration',
    column: 'item',
  },
  {
    name: 'built-in metric name with a templateRef',
    change: edit(
      '        interval: 1m\n',
      '        interval: 1m\n        templateRef: #!\n          name: x\n',
    ),
    path: 'spec.analysis.metrics[0].templateRef',
    message:
      '`request-success-rate` is a built-in metric name: Flagger would run the built-in check as well as this template; give the metric another name',
  },
  {
    name: 'templateRef and query',
    change: (t) => metricWithRef('latency', '        query: up #!\n')(t) + template('latency'),
    path: 'doc[0].spec.analysis.metrics[1].query',
    message: 'set either `templateRef` or the deprecated inline `query`, not both',
  },
  {
    name: 'templateRef to a missing MetricTemplate',
    change: compose(metricWithRef('latency'), edit('          name: latency', '          name: latency #!')),
    path: 'spec.analysis.metrics[1].templateRef.name',
    message: 'MetricTemplate `test/latency` not found: put it in the same file (multi-document YAML)',
  },
  {
    name: 'templateRef to a MetricTemplate of another provider',
    change: (t) =>
      metricWithRef('latency')(t) + template('latency').replace('type: prometheus', 'type: newrelic #!'),
    path: 'doc[1].spec.provider.type',
    message: 'metric provider `newrelic` is not supported yet by Fledge (supported: prometheus, datadog)',
  },
  {
    name: 'template variable without a value',
    change: (t) =>
      compose(
        metricWithRef('latency'),
        edit(
          '        templateRef:\n          name: latency',
          '        templateRef: #!\n          name: latency',
        ),
      )(t) + template('latency', '', 'sum(x{path="{{ variables.path }}"})'),
    path: 'doc[0].spec.analysis.metrics[1].templateRef',
    message: 'MetricTemplate `test/latency` query: template variable {{ variables.path }} has no value',
  },
  {
    name: 'MetricTemplate credentials in a header (they would be kept in workflow history)',
    change: (t) =>
      metricWithRef('latency')(t) +
      template('latency', '\n    headers:\n      Authorization: #!\n        - Bearer s3cr3t'),
    path: 'doc[1].spec.provider.headers.Authorization',
    message:
      'header "Authorization" looks like a credential: credentials never go in the spec (it is kept in workflow history); put them in a Secret and use provider.secretRef',
  },
  {
    name: 'alert provider missing',
    change: edit(
      '    webhooks:\n',
      '    alerts:\n      - name: on-call\n        providerRef:\n          name: on-call #!\n    webhooks:\n',
    ),
    path: 'spec.analysis.alerts[0].providerRef.name',
    message: 'AlertProvider `test/on-call` not found: put it in the same file (multi-document YAML)',
  },
  {
    name: 'alert severity',
    change: (t) =>
      edit(
        '    webhooks:\n',
        '    alerts:\n      - name: on-call\n        severity: critical #!\n        providerRef:\n          name: on-call\n    webhooks:\n',
      )(t) +
      '---\napiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: on-call\n  namespace: test\nspec:\n  type: slack\n  channel: alerts\n',
    path: 'doc[0].spec.analysis.alerts[0].severity',
    message: 'expected one of "info", "warn", "error", got string "critical"',
  },
  {
    name: 'alert provider type',
    change: (t) =>
      edit(
        '    webhooks:\n',
        '    alerts:\n      - name: on-call\n        providerRef:\n          name: on-call\n    webhooks:\n',
      )(t) +
      '---\napiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: on-call\n  namespace: test\nspec:\n  type: discord #!\n  address: https://example.com/hook\n',
    path: 'doc[1].spec.type',
    message: 'alert provider `discord` is not supported yet by Fledge (supported: slack, msteams, webhook)',
  },
  {
    name: 'msteams alert provider without an address',
    change: (t) =>
      edit(
        '    webhooks:\n',
        '    alerts:\n      - name: on-call\n        providerRef:\n          name: on-call\n    webhooks:\n',
      )(t) +
      '---\napiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: on-call\n  namespace: test\nspec: #!\n  type: msteams\n',
    path: 'doc[1].spec.address',
    message: 'address (the Teams incoming webhook URL) or secretRef is required for type msteams',
  },
  {
    name: 'webhook URL',
    change: edit('url: http://flagger-loadtester.test/', 'url: flagger-loadtester.test #!'),
    path: 'spec.analysis.webhooks[0].url',
    message: 'expected an http(s) URL such as http://flagger-loadtester.test/, got "flagger-loadtester.test"',
  },
  {
    name: 'webhook timeout',
    change: edit('        metadata:\n', '        timeout: 5 seconds #!\n        metadata:\n'),
    path: 'spec.analysis.webhooks[0].timeout',
    message: 'invalid duration "5 seconds": unknown unit " seconds" (valid units: ns, us, ms, s, m, h)',
  },
  {
    name: 'webhook type',
    change: edit('        metadata:\n', '        type: pre-rolout #!\n        metadata:\n'),
    path: 'spec.analysis.webhooks[0].type',
    message:
      'expected one of "confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion", "post-rollout", "rollback", "event", got string "pre-rolout"',
  },
  {
    name: 'webhook metadata values are strings',
    change: edit('          cmd: "hey', '          retries: 3 #!\n          cmd: "hey'),
    path: 'spec.analysis.webhooks[0].metadata.retries',
    message: 'expected string, got number',
  },
  {
    name: 'duplicate webhook names',
    change: compose(
      edit('      - name: load-test\n', '      - name: load-test #!\n'),
      edit('    webhooks:\n', '    webhooks:\n      - name: load-test\n        url: http://a.test/\n'),
    ),
    path: 'spec.analysis.webhooks[1].name',
    message: 'duplicate webhook name `load-test` (also webhooks[0])',
    column: 'item',
  },
  {
    name: 'webhook disableTLS',
    change: edit('        metadata:\n', '        disableTLS: true #!\n        metadata:\n'),
    path: 'spec.analysis.webhooks[0].disableTLS',
    message: 'not supported yet by Fledge (TLS verification cannot be turned off per webhook)',
  },
  {
    name: 'sessionAffinity: the same cookie for primary and canary',
    change: edit(
      '    threshold: 2\n',
      '    threshold: 2\n    sessionAffinity:\n      cookieName: c\n      primaryCookieName: c #!\n',
    ),
    path: 'spec.analysis.sessionAffinity.primaryCookieName',
    message:
      "can't use the same cookie name for both primary and canary (cookieName); please update them to be different",
  },
  {
    name: 'revertOnDeletion: not a boolean',
    change: edit('  provider: istio\n', '  provider: istio\n  revertOnDeletion: "yes" #!\n'),
    path: 'spec.revertOnDeletion',
    message: 'expected boolean, got string',
  },
  {
    name: 'portDiscovery: not a boolean',
    change: edit('    port: 9898', '    port: 9898\n    portDiscovery: 1 #!'),
    path: 'spec.service.portDiscovery',
    message: 'expected boolean, got number',
  },
  {
    name: 'headless services',
    change: edit('    port: 9898', '    port: 9898\n    headless: true #!'),
    path: 'spec.service.headless',
    message: 'not supported yet by Fledge (headless services)',
  },
  {
    name: 'App Mesh backends',
    change: edit('    port: 9898', '    port: 9898\n    backends: [a] #!'),
    path: 'spec.service.backends',
    message: 'not supported yet by Fledge (App Mesh)',
  },
  {
    name: 'service port missing',
    change: edit('  service:\n    port: 9898\n', '  service: #!\n    portName: http\n'),
    path: 'spec.service.port',
    message: 'missing required field (expected number)',
  },
  {
    name: 'service port out of range',
    change: edit('    port: 9898', '    port: 70000 #!'),
    path: 'spec.service.port',
    message: 'must be <= 65535, got 70000',
  },
  {
    name: 'targetPort of the wrong type',
    change: edit('    port: 9898', '    port: 9898\n    targetPort: true #!'),
    path: 'spec.service.targetPort',
    message: 'expected a port number or a port name, got boolean',
  },
  {
    name: 'service name too long',
    change: edit('    port: 9898', `    port: 9898\n    name: ${'a'.repeat(56)} #!`),
    path: 'spec.service.name',
    message: `service name "${'a'.repeat(56)}" is too long: the generated \`${'a'.repeat(56)}-primary\` must fit in 63 characters (at most 55)`,
  },
  {
    name: 'gatewayapi:v1 without gatewayRefs',
    change: compose(edit('provider: istio', 'provider: gatewayapi:v1'), edit('  service:', '  service: #!')),
    path: 'spec.service.gatewayRefs',
    message: 'missing required field: provider gatewayapi:v1 needs the Gateways the HTTPRoute attaches to',
  },
  {
    name: 'trafficPolicy unknown field',
    change: edit(
      '    port: 9898',
      '    port: 9898\n    trafficPolicy:\n      tls:\n        mode: DISABLE\n        verify: true #!',
    ),
    path: 'spec.service.trafficPolicy.tls.verify',
    message: 'unknown field `verify`',
  },
  {
    name: 'trafficPolicy TLS mode',
    change: edit('    port: 9898', '    port: 9898\n    trafficPolicy:\n      tls:\n        mode: STRICT #!'),
    path: 'spec.service.trafficPolicy.tls.mode',
    message: 'expected one of "DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL", got string "STRICT"',
  },
  {
    name: 'A/B match with suffix',
    change: edit(
      '    maxWeight: 50\n    stepWeight: 10\n',
      '    iterations: 5\n    match:\n      - headers:\n          x-canary:\n            suffix: insider #!\n',
    ),
    path: 'spec.analysis.match[0].headers.x-canary.suffix',
    message: 'not supported yet by Fledge (Istio has no suffix match; use regex: ".*<suffix>$")',
  },
  {
    name: 'A/B match with two operators',
    change: edit(
      '    maxWeight: 50\n    stepWeight: 10\n',
      '    iterations: 5\n    match:\n      - headers:\n          x-canary: #!\n            exact: a\n            prefix: b\n',
    ),
    path: 'spec.analysis.match[0].headers.x-canary',
    message: 'exactly one of exact, prefix or regex is required (got 2)',
  },
  {
    name: 'A/B match on a field the plan cannot express',
    change: edit(
      '    maxWeight: 50\n    stepWeight: 10\n',
      '    iterations: 5\n    match:\n      - headers:\n          x-canary:\n            exact: a\n        withoutHeaders: #!\n          x-b:\n            exact: b\n',
    ),
    path: 'spec.analysis.match[0].withoutHeaders',
    message:
      'not supported yet by Fledge (in analysis.match Fledge supports headers (and cookies as the `cookie` header), queryParams, uri, method and sourceLabels)',
  },
  {
    name: 'targetRef kind DaemonSet',
    change: edit('kind: Deployment', 'kind: DaemonSet #!'),
    path: 'spec.targetRef.kind',
    message: 'kind DaemonSet is not supported yet by Fledge (supported: Deployment)',
  },
  {
    name: 'targetRef kind Service',
    change: edit('kind: Deployment', 'kind: Service #!'),
    path: 'spec.targetRef.kind',
    message: 'kind Service is not supported yet by Fledge (supported: Deployment)',
  },
  {
    name: 'targetRef kind StatefulSet',
    change: edit('kind: Deployment', 'kind: StatefulSet #!'),
    path: 'spec.targetRef.kind',
    message: 'expected Deployment, got "StatefulSet"',
  },
  {
    name: 'targetRef name missing',
    change: compose(
      edit('    name: podinfo\n  service:', '  service:'),
      edit('  targetRef:', '  targetRef: #!'),
    ),
    path: 'spec.targetRef.name',
    message: 'missing required field (expected string)',
  },
  {
    name: 'autoscalerRef KEDA',
    change: edit(
      '  service:\n',
      '  autoscalerRef:\n    apiVersion: keda.sh/v1alpha1\n    kind: ScaledObject #!\n    name: podinfo\n  service:\n',
    ),
    path: 'spec.autoscalerRef.kind',
    message: 'kind ScaledObject (KEDA) is not supported yet by Fledge (supported: HorizontalPodAutoscaler)',
  },
  {
    name: 'autoscalerRef apiVersion',
    change: edit(
      '  service:\n',
      '  autoscalerRef:\n    apiVersion: autoscaling/v2beta2 #!\n    kind: HorizontalPodAutoscaler\n    name: podinfo\n  service:\n',
    ),
    path: 'spec.autoscalerRef.apiVersion',
    message:
      'expected autoscaling/v2, got "autoscaling/v2beta2" (autoscaling/v2beta2 was removed in Kubernetes 1.26)',
  },
  {
    name: 'metricsServer',
    change: edit('  provider: istio\n', '  provider: istio\n  metricsServer: http://prometheus:9090 #!\n'),
    path: 'spec.metricsServer',
    message:
      "not supported yet by Fledge (built-in metrics use the worker's Prometheus; use a MetricTemplate with provider.address for another one)",
  },
  {
    name: 'ingressRef (NGINX)',
    change: edit('  provider: istio\n', '  provider: istio\n  ingressRef: #!\n    name: podinfo\n'),
    path: 'spec.ingressRef',
    message: 'not supported yet by Fledge (NGINX ingress router)',
  },
  {
    name: 'suspend: true',
    change: edit('  provider: istio\n', '  provider: istio\n  suspend: true #!\n'),
    path: 'spec.suspend',
    message:
      'the Canary is suspended: Fledge does not start releases of a suspended Canary (set suspend: false to release)',
  },
  {
    name: 'analysis missing',
    change: (t) => edit('spec:', 'spec: #!')(t.slice(0, t.indexOf('  analysis:'))),
    path: 'spec.analysis',
    message:
      'missing required field (Flagger requires `analysis`; set `skipAnalysis: true` to promote without analysis)',
  },
  {
    name: 'Fledge manual gate name',
    change: edit(
      '  provider: istio\n',
      '  provider: istio\n  fledge:\n    manualGates: [confirm-rolout] #!\n',
    ),
    path: 'spec.fledge.manualGates[0]',
    message:
      'expected one of "confirm-rollout", "confirm-traffic-increase", "confirm-promotion", got string "confirm-rolout"',
    column: 19,
  },
  {
    name: 'Fledge onInfrastructureError',
    change: edit(
      '  provider: istio\n',
      '  provider: istio\n  fledge:\n    onInfrastructureError: ignore #!\n',
    ),
    path: 'spec.fledge.onInfrastructureError',
    message: 'expected one of "count-as-failed-check", "hold", "rollback", got string "ignore"',
  },
  {
    name: 'Fledge unknown option',
    change: edit('  provider: istio\n', '  provider: istio\n  fledge:\n    supercede: queue #!\n'),
    path: 'spec.fledge.supercede',
    message: 'unknown field `supercede` (did you mean `supersede`?)',
  },
  {
    name: 'apiVersion',
    change: edit('apiVersion: flagger.app/v1beta1', 'apiVersion: flagger.app/v1alpha3 #!'),
    path: 'apiVersion',
    message: 'expected "flagger.app/v1beta1", got string "flagger.app/v1alpha3"',
  },
  {
    name: 'metadata name',
    change: edit('  name: podinfo\n  namespace', '  name: PodInfo #!\n  namespace'),
    path: 'metadata.name',
    message:
      "\"PodInfo\" is not a valid Kubernetes name (lowercase letters, digits, '-' and '.', at most 253 characters)",
  },
];

/**
 * What Flagger accepts and ignores: a notice (with its place) in the current profile, and still the error it was in
 * the legacy profile (the release workflow's legacy input path, which must replay as it ran).
 */
const tolerated: Array<Case & { notice: string }> = [
  {
    name: 'stepWeight and stepWeights',
    change: edit('    maxWeight: 50\n', '    stepWeights: [10, 20] #!\n'),
    path: 'spec.analysis.stepWeights',
    message: 'set either `stepWeight` or `stepWeights`, not both',
    notice:
      'only its last entry is used, as Flagger does when `stepWeight` is set too: the canary advances by `stepWeight` up to that weight',
  },
  {
    name: 'maxWeight with stepWeights',
    change: edit(
      '    maxWeight: 50\n    stepWeight: 10\n',
      '    maxWeight: 50 #!\n    stepWeights: [10, 20]\n',
    ),
    path: 'spec.analysis.maxWeight',
    message: '`maxWeight` is not used with `stepWeights`: the last entry is the maximum weight',
    notice: 'ignored with `stepWeights`, as Flagger does: the last entry is the maximum weight',
  },
  {
    name: 'match without iterations',
    change: edit(
      '    maxWeight: 50\n',
      '    maxWeight: 50\n    match: #!\n      - headers:\n          x-canary:\n            exact: insider\n',
    ),
    path: 'spec.analysis.match',
    message:
      'A/B testing needs `iterations` (e.g. iterations: 10): without it Flagger ignores `match` and runs a weighted canary; add iterations or remove match',
    notice:
      'ignored without `iterations`, as Flagger does: this runs a weighted canary for everyone; A/B testing needs `iterations` (e.g. iterations: 10)',
  },
  {
    name: 'weights with iterations',
    change: edit('    maxWeight: 50\n    stepWeight: 10\n', '    iterations: 5\n    stepWeight: 10 #!\n'),
    path: 'spec.analysis.stepWeight',
    message:
      'not used with `iterations` (blue/green runs a number of iterations, not weight steps); remove it, or remove iterations for a weighted canary',
    notice:
      'ignored with `iterations`, as Flagger does: blue/green runs a number of iterations, not weight steps',
  },
  {
    name: 'mirror with A/B testing',
    change: edit(
      '    maxWeight: 50\n    stepWeight: 10\n',
      '    iterations: 5\n    mirror: true #!\n    match:\n      - headers:\n          x-canary:\n            exact: insider\n',
    ),
    path: 'spec.analysis.mirror',
    message:
      'not used by A/B testing; mirroring works with a weighted canary (one interval) or blue/green (iterations without match)',
    notice: 'ignored by A/B testing, as Flagger does (it mirrors with a weighted canary or blue/green only)',
  },
  {
    name: 'mirrorWeight without mirror',
    change: edit('    maxWeight: 50\n', '    maxWeight: 50\n    mirrorWeight: 20 #!\n'),
    path: 'spec.analysis.mirrorWeight',
    message: '`mirrorWeight` needs `mirror: true`',
    notice: 'ignored without `mirror: true`, as Flagger does (nothing is mirrored)',
  },
  {
    name: 'threshold and thresholdRange',
    change: edit('        interval: 1m\n', '        interval: 1m\n        threshold: 99 #!\n'),
    path: 'spec.analysis.metrics[0].threshold',
    message: 'the deprecated `threshold` is ignored when `thresholdRange` is set; remove one',
    notice: 'ignored: `thresholdRange` is set, and Flagger uses it over the deprecated `threshold`',
  },
  {
    name: 'gatewayRefs with Istio',
    change: edit('    port: 9898', '    port: 9898\n    gatewayRefs: #!\n      - name: gw'),
    path: 'spec.service.gatewayRefs',
    message: 'only used with provider gatewayapi:v1 (for Istio, use `gateways`)',
    notice: 'ignored with provider istio, as Flagger does (Gateway API only; for Istio, `gateways`)',
  },
  {
    name: 'trafficPolicy with gatewayapi:v1',
    change: compose(
      edit('provider: istio', 'provider: gatewayapi:v1'),
      edit(
        '    port: 9898',
        '    port: 9898\n    gatewayRefs: [{name: gw}]\n    trafficPolicy: #!\n      tls:\n        mode: DISABLE',
      ),
    ),
    path: 'spec.service.trafficPolicy',
    message: 'only used with provider istio (DestinationRules)',
    notice: 'ignored with provider gatewayapi:v1, as Flagger does (Istio DestinationRules only)',
  },
  {
    name: 'analysis and canaryAnalysis',
    change: edit(
      '  analysis:\n',
      '  canaryAnalysis: #!\n    interval: 1m\n    stepWeight: 10\n  analysis:\n',
    ),
    path: 'spec.canaryAnalysis',
    message: 'both `analysis` and its deprecated spelling `canaryAnalysis` are set; keep only `analysis`',
    notice:
      'ignored: `analysis` is set, and Flagger uses `analysis` over its deprecated spelling `canaryAnalysis`',
  },
];

function locate(text: string, column: Case['column']): { line: number; column: number } {
  const line = lineOf(text, '#!');
  const key = keyColumnOf(text, '#!');
  return {
    line,
    column: column === undefined || column === 'key' ? key : column === 'item' ? key + 2 : column,
  };
}

const byPath = (errors: readonly SpecError[]) => errors.map((e) => `${e.path}: ${e.message}`).sort();

describe('rejections: exact path, message, line and column; same message from validateCanaryBundle', () => {
  it('the base spec is valid', () => {
    expect(parseCanaryYaml(base).ok).toBe(true);
  });

  it.each(cases)('$name', ({ change, path, message, column, count }) => {
    const text = change(base);
    const result = parseCanaryYaml(text, 'canary.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContainEqual({ path, message, ...locate(text, column) });
    expect(result.errors).toHaveLength(count ?? 1);

    const fromJson = validateCanaryBundle(yamlDocuments(text));
    expect(fromJson.ok).toBe(false);
    if (!fromJson.ok) {
      expect(fromJson.errors.every((e) => e.line === undefined && e.column === undefined)).toBe(true);
      expect(byPath(fromJson.errors)).toEqual(byPath(result.errors));
    }
  });
});

describe('tolerated as Flagger tolerates them: a notice with path, line and column; the legacy profile still rejects', () => {
  it.each(tolerated)('$name', ({ change, path, message, notice, column }) => {
    const text = change(base);
    const { result, notices } = parseReleaseYaml(text);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(notices).toContainEqual({ path, message: notice, ...locate(text, column) });
    // Without the line: the same documents as JSON validate too (the workflow's input).
    expect(validateCanaryBundle(yamlDocuments(text)).ok).toBe(true);
    const legacy = validateCanaryBundle(yamlDocuments(text), { profile: legacyProfile });
    expect(legacy.ok).toBe(false);
    if (!legacy.ok) expect(legacy.errors).toContainEqual({ path, message });
  });

  it('what runs is what Flagger runs: iterations win over weights, stepWeight over stepWeights (up to their last entry)', () => {
    const compiled = (text: string) => {
      const { result } = parseReleaseYaml(text);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      return compileRelease(result.value, { podinfod: 'ghcr.io/stefanprodan/podinfo:6.5.1' });
    };
    const both = compiled(base.replace('    maxWeight: 50\n', '    stepWeights: [5, 30]\n'));
    expect(both.plan.strategy).toMatchObject({ kind: 'canary', weights: [10, 20, 30] });
    const bg = compiled(
      base.replace(
        '    maxWeight: 50\n    stepWeight: 10\n',
        '    iterations: 4\n    maxWeight: 50\n    stepWeight: 10\n    sessionAffinity:\n      cookieName: c\n',
      ),
    );
    expect(bg.plan.strategy).toMatchObject({ kind: 'blue-green', iterations: 4 });
    expect(bg.router).not.toHaveProperty('sessionAffinity');
    const noMirror = compiled(
      base.replace('    maxWeight: 50\n', '    maxWeight: 50\n    mirrorWeight: 20\n'),
    );
    expect(noMirror.plan.strategy).toMatchObject({ kind: 'canary', mirror: false });
    expect(noMirror.plan.strategy).not.toHaveProperty('mirrorWeight');
  });
});

describe('providers', () => {
  it.each<[string, string]>([
    [
      'linkerd',
      'provider `linkerd` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'nginx',
      'provider `nginx` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'contour',
      'provider `contour` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'gloo',
      'provider `gloo` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'traefik',
      'provider `traefik` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'appmesh:v1beta2',
      'provider `appmesh:v1beta2` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'smi:v1alpha3',
      'provider `smi:v1alpha3` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'kuma',
      'provider `kuma` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'osm',
      'provider `osm` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'apisix',
      'provider `apisix` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'skipper',
      'provider `skipper` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'knative',
      'provider `knative` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
    ],
    [
      'gatewayapi:v1beta1',
      'provider `gatewayapi:v1beta1` is not supported yet by Fledge: it writes gateway.networking.k8s.io/v1 HTTPRoutes, so write `gatewayapi:v1` (needs Gateway API >= v1.0 CRDs); supported: istio, gatewayapi:v1, kubernetes',
    ],
    ['envoy', 'unknown provider `envoy`; supported: istio, gatewayapi:v1, kubernetes'],
  ])('%s is rejected, naming the router', (provider, message) => {
    const text = base.replace('provider: istio', `provider: ${provider}`);
    const result = parseCanaryYaml(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([{ path: 'spec.provider', line: 7, column: 3, message }]);
  });

  it('no provider means istio (Flagger default mesh provider)', () => {
    const result = parseCanaryYaml(base.replace('  provider: istio\n', ''));
    expect(result.ok && result.value.canary.spec.provider).toBe(undefined);
  });
});

describe('accepted zero values of unsupported fields', () => {
  it.each<[string, string]>([
    ['portDiscovery: false', '    port: 9898\n    portDiscovery: false'],
    ['headless: false', '    port: 9898\n    headless: false'],
    ['delegation: false', '    port: 9898\n    delegation: false'],
  ])('%s', (_name, service) => {
    expect(parseCanaryYaml(base.replace('    port: 9898', service)).ok).toBe(true);
  });

  it('disableTLS: false and kubectl-exported metadata/status are accepted', () => {
    const text = base
      .replace('        metadata:\n', '        disableTLS: false\n        metadata:\n')
      .replace(
        '  namespace: test\n',
        '  namespace: test\n  uid: 6a1f\n  resourceVersion: "42"\n  generation: 3\n',
      )
      .concat('status:\n  phase: Succeeded\n  canaryWeight: 0\n');
    const result = parseCanaryYaml(text);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});
