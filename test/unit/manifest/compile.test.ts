import { describe, expect, it } from 'vitest';
import type { ReleasePlan } from '../../../src/domain/plan.js';
import {
  compileRelease,
  compileReleasePlan,
  mergeMatchConditions,
  validateCanaryBundle,
} from '../../../src/domain/manifest/index.js';
import { parseFixture, readFixture, yamlDocuments } from './fixtures.js';

const images = { podinfod: 'ghcr.io/acme/podinfo:6.5.1' };

describe('podinfo Istio canary (Flagger tutorial + template, hooks, gate, alerts)', () => {
  const bundle = parseFixture('podinfo-istio.yaml');
  const compiled = compileRelease(bundle, images);

  it('compiles to the expected plan with Flagger defaults applied', () => {
    const expected: ReleasePlan = {
      target: { kind: 'Deployment', name: 'podinfo', namespace: 'test' },
      images: { podinfod: 'ghcr.io/acme/podinfo:6.5.1' },
      provider: 'istio',
      intervalMs: 60_000,
      interval: '1m',
      threshold: 5,
      progressDeadlineMs: 60_000,
      skipAnalysis: false,
      primaryReadyThreshold: 100,
      canaryReadyThreshold: 100,
      strategy: { kind: 'canary', weights: [10, 20, 30, 40, 50], stepWeightPromotion: 0, mirror: false },
      metrics: [
        {
          name: 'request-success-rate',
          source: { kind: 'builtin', builtin: 'request-success-rate' },
          interval: '1m',
          thresholdRange: { min: 99 },
          templateVariables: {},
        },
        {
          name: 'request-duration',
          source: { kind: 'builtin', builtin: 'request-duration' },
          interval: '30s',
          thresholdRange: { max: 500 },
          templateVariables: {},
        },
        {
          name: 'not-found-percentage',
          source: { kind: 'template', templateName: 'not-found-percentage', templateNamespace: 'test' },
          interval: '1m',
          thresholdRange: { max: 5 },
          templateVariables: { path: '/api' },
        },
      ],
      hooks: [
        {
          name: 'acceptance-test',
          type: 'pre-rollout',
          url: 'http://flagger-loadtester.test/',
          timeoutMs: 30_000,
          retries: 0,
          muteAlert: false,
          metadata: { type: 'bash', cmd: "curl -sd 'test' http://podinfo-canary:9898/token | grep token" },
        },
        {
          name: 'load-test',
          type: 'rollout',
          url: 'http://flagger-loadtester.test/',
          timeoutMs: 5000,
          retries: 0,
          muteAlert: false,
          metadata: { cmd: 'hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/' },
        },
        {
          name: 'promotion-gate',
          type: 'confirm-promotion',
          url: 'http://flagger-loadtester.test/gate/check',
          timeoutMs: 10_000,
          retries: 2,
          muteAlert: true,
          metadata: {},
        },
      ],
      manualGates: [],
      gatePollMs: 2_000,
      onInfrastructureError: 'count-as-failed-check',
      supersedePolicy: 'supersede',
    };
    expect(compiled.plan).toEqual(expected);
    expect(compileReleasePlan(bundle, images)).toEqual(expected);
  });

  it('carries the Istio service settings for the traffic layer', () => {
    expect(compiled.router).toEqual({
      provider: 'istio',
      service: {
        name: 'podinfo',
        primaryName: 'podinfo-primary',
        canaryName: 'podinfo-canary',
        port: 9898,
        portName: 'http',
        targetPort: 9898,
        apex: { labels: {}, annotations: {} },
        primary: { labels: {}, annotations: {} },
        canary: { labels: {}, annotations: {} },
        hosts: ['app.example.com'],
        gateways: ['istio-system/public-gateway'],
        gatewayRefs: [],
        match: [],
        retries: {
          attempts: 3,
          perTryTimeout: '1s',
          retryOn: 'gateway-error,connect-failure,refused-stream',
        },
        trafficPolicy: { tls: { mode: 'DISABLE' } },
        mirror: [],
      },
      abMatch: [],
    });
    expect(compiled.autoscaler).toEqual({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      name: 'podinfo',
    });
    expect(compiled.canary).toEqual({ name: 'podinfo', namespace: 'test' });
    expect(compiled.revertOnDeletion).toBe(false);
  });

  it('exports the metric template and the alert routes', () => {
    expect(compiled.metricTemplates).toHaveLength(1);
    expect(compiled.metricTemplates[0]).toMatchObject({
      name: 'not-found-percentage',
      namespace: 'test',
      provider: { type: 'prometheus', address: 'http://prometheus.istio-system:9090' },
    });
    expect(compiled.metricTemplates[0]?.query).toContain('request_path="{{ variables.path }}"');
    expect(compiled.alerts).toEqual([
      {
        name: 'on-call',
        severity: 'error',
        provider: {
          name: 'on-call',
          namespace: 'test',
          type: 'slack',
          channel: 'on-call-alerts',
          username: 'flagger',
        },
      },
      {
        name: 'dev-team',
        severity: 'info',
        provider: {
          name: 'dev-slack',
          namespace: 'flagger',
          type: 'slack',
          channel: 'dev-alerts',
          secretRef: { name: 'slack-url' },
        },
      },
    ]);
  });

  it('validates the same documents from JSON (workflow input) to the same bundle', () => {
    const fromJson = validateCanaryBundle(
      JSON.parse(JSON.stringify(yamlDocuments(readFixture('podinfo-istio.yaml')))) as unknown[],
    );
    expect(fromJson.ok).toBe(true);
    if (fromJson.ok) expect(compileRelease(fromJson.value, images)).toEqual(compiled);
  });
});

describe('strategies and settings', () => {
  it('A/B testing with header and cookie match, merged with service.match', () => {
    const compiled = compileRelease(parseFixture('ab-testing.yaml'), { app: 'ghcr.io/acme/abtest:2.0.0' });
    const insider = { headers: { 'x-canary': { regex: '.*insider.*' } } };
    const cookie = { headers: { cookie: { regex: '^(.*?;)?(canary=always)(;.*)?$' } } };
    expect(compiled.plan.strategy).toEqual({ kind: 'ab-testing', iterations: 10, match: [insider, cookie] });
    expect(compiled.plan.threshold).toBe(10);
    expect(compiled.router.service).toMatchObject({
      port: 80,
      targetPort: 'http',
      portName: 'http-web',
      match: [{ uri: { prefix: '/api' } }],
    });
    expect(compiled.router.service.headers).toEqual({
      request: { set: { 'x-envoy-upstream-rq-timeout-ms': '15000' } },
    });
    expect(compiled.router.abMatch).toEqual([
      { uri: { prefix: '/api' }, ...insider },
      { uri: { prefix: '/api' }, ...cookie },
    ]);
  });

  it('blue/green with mirroring', () => {
    const plan = compileReleasePlan(parseFixture('blue-green-mirror.yaml'), images);
    expect(plan.strategy).toEqual({ kind: 'blue-green', iterations: 10, mirror: true, mirrorWeight: 50 });
    expect(plan).toMatchObject({ intervalMs: 30_000, interval: '30s', threshold: 2, provider: 'istio' });
    // Metric interval defaults to Flagger's 1m.
    expect(plan.metrics[0]?.interval).toBe('1m');
  });

  it('stepWeights, gradual promotion, ready thresholds and the Fledge extension (2s interval honoured)', () => {
    const compiled = compileRelease(parseFixture('step-weights.yaml'), images);
    expect(compiled.plan).toMatchObject({
      intervalMs: 2000,
      interval: '2s',
      threshold: 3,
      strategy: { kind: 'canary', weights: [1, 2, 10, 80], stepWeightPromotion: 25, mirror: false },
      primaryReadyThreshold: 80,
      canaryReadyThreshold: 50,
      manualGates: ['confirm-rollout', 'confirm-promotion'],
      onInfrastructureError: 'hold',
      supersedePolicy: 'queue',
    });
    expect(compiled.plan.metrics[0]?.interval).toBe('1m30s');
    expect(compiled.revertOnDeletion).toBe(false);
    expect(compiled.router.service.apex).toEqual({ labels: {}, annotations: { team: 'web' } });
    expect(compiled.router.service.primary).toEqual({ labels: { tier: 'stable' }, annotations: {} });
  });

  it('gatewayapi:v1 with gatewayRefs and a template in another namespace; Flagger overshoots the last step', () => {
    const compiled = compileRelease(parseFixture('gatewayapi.yaml'), images);
    expect(compiled.plan.provider).toBe('gatewayapi:v1');
    // stepWeight 30 / maxWeight 50: Flagger adds 30 while below 50 → 30, 60 (the last step is not clamped).
    expect(compiled.plan.strategy).toEqual({
      kind: 'canary',
      weights: [30, 60],
      stepWeightPromotion: 0,
      mirror: false,
    });
    expect(compiled.plan.metrics[0]?.source).toEqual({
      kind: 'template',
      templateName: 'error-rate',
      templateNamespace: 'istio-system',
    });
    expect(compiled.router.service).toMatchObject({
      gatewayRefs: [{ name: 'gateway', namespace: 'istio-ingress' }],
      hosts: ['www.example.com'],
      timeout: '15s',
      gateways: [],
    });
    expect(compiled.metricTemplates[0]?.provider).toEqual({
      type: 'prometheus',
      address: 'http://prometheus.istio-system:9090',
      headers: { 'X-Scope-OrgID': 'tenant-a' },
    });
  });

  it('`canaryAnalysis` spelling and the deprecated metric `threshold` map as Flagger does', () => {
    const plan = compileReleasePlan(parseFixture('canary-analysis-legacy.yaml'), images);
    expect(plan.strategy).toEqual({
      kind: 'canary',
      weights: [15, 30],
      stepWeightPromotion: 0,
      mirror: false,
    });
    expect(plan.intervalMs).toBe(30_000);
    expect(plan.metrics.map((m) => [m.name, m.thresholdRange, m.source.kind])).toEqual([
      ['request-success-rate', { min: 99 }, 'builtin'],
      ['request-duration', { max: 500 }, 'builtin'],
      ['queue-depth', { max: 100 }, 'inline'],
    ]);
  });

  it.each<[string, string, number[]]>([
    ['stepWeight 10, maxWeight 50', 'stepWeight: 10\n    maxWeight: 50', [10, 20, 30, 40, 50]],
    ['stepWeight 20, default maxWeight (100)', 'stepWeight: 20', [20, 40, 60, 80, 100]],
    ['stepWeight 30, maxWeight 50 (overshoot as Flagger)', 'stepWeight: 30\n    maxWeight: 50', [30, 60]],
    ['stepWeight 5, maxWeight 5', 'stepWeight: 5\n    maxWeight: 5', [5]],
    ['stepWeights', 'stepWeights: [5, 10, 100]', [5, 10, 100]],
  ])('weights: %s', (_name, weights, expected) => {
    const text = readFixture('blue-green-mirror.yaml').replace(
      'iterations: 10\n    mirror: true\n    mirrorWeight: 50',
      weights,
    );
    const result = validateCanaryBundle(yamlDocuments(text));
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(compileReleasePlan(result.value, images).strategy).toEqual({
        kind: 'canary',
        weights: expected,
        stepWeightPromotion: 0,
        mirror: false,
      });
  });

  it('skipAnalysis: a canary without weights is fine and the plan says skip', () => {
    const text = readFixture('blue-green-mirror.yaml').replace(
      '  analysis:\n    interval: 30s\n    threshold: 2\n    iterations: 10\n    mirror: true\n    mirrorWeight: 50\n',
      '  skipAnalysis: true\n  analysis:\n    interval: 30s\n',
    );
    const result = validateCanaryBundle(yamlDocuments(text));
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(compileReleasePlan(result.value, images)).toMatchObject({
        skipAnalysis: true,
        strategy: { kind: 'canary', weights: [] },
      });
  });

  it('mergeMatchConditions: no service.match → A/B conditions as they are', () => {
    const ab = [{ headers: { 'x-canary': { exact: 'insider' } } }];
    expect(mergeMatchConditions(ab, [])).toEqual(ab);
    expect(mergeMatchConditions(ab, [{ uri: { prefix: '/a' } }, { uri: { prefix: '/b' } }])).toEqual([
      { uri: { prefix: '/a' }, headers: { 'x-canary': { exact: 'insider' } } },
      { uri: { prefix: '/b' }, headers: { 'x-canary': { exact: 'insider' } } },
    ]);
  });
});
