// The router and metrics provider registries: the provider-name unions, the schema and the workflow's input check
// accept exactly the registered names; the legacy profile (the release workflow's path for inputs of the previous
// version) still rejects what that version rejected, with the same messages; `provider: kubernetes` (blue/green on
// plain Services) and `provider.type: datadog` templates are accepted and checked through their own folders' rules;
// built-in checks are the release's router's queries; the worker's MetricsProvider dispatches by template type.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  parseCanaryYaml,
  parseReleaseYaml,
  validateCanaryBundle,
} from '../../../src/domain/manifest/index.js';
import { compileRelease } from '../../../src/domain/manifest/compile.js';
import {
  canarySpecSchema,
  flaggerOnlyRouters,
  legacyProfile,
  metricTemplateSchema,
} from '../../../src/domain/manifest/schema.js';
import { checkCompiledReleaseInput, compiledReleaseInput } from '../../../src/domain/compiled.js';
import { routerManifests, routerNames } from '../../../src/integrations/traffic/manifests.js';
import { routerFactories } from '../../../src/integrations/traffic/routers.js';
import { metricProviderManifests, metricProviderTypes } from '../../../src/integrations/metrics/manifests.js';
import {
  metricProviderFactories,
  createMetricsProvider,
} from '../../../src/integrations/metrics/providers.js';
import { resolveMetricQuery, type MetricsProvider } from '../../../src/integrations/metrics/provider.js';
import { createKubernetesRouter } from '../../../src/integrations/traffic/kubernetes/router.js';
import type { MetricPlan } from '../../../src/domain/plan.js';
import { yamlDocuments } from '../manifest/fixtures.js';

const canary = (spec: string, ns = 'shop') => `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: ${ns}
spec:
${spec}`;

const blueGreen = canary(`  provider: kubernetes
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
  analysis:
    interval: 30s
    threshold: 2
    iterations: 10
    metrics:
      - name: request-success-rate
        thresholdRange:
          min: 99
        interval: 1m
`);

const errorsOf = (yaml: string) => {
  const r = parseCanaryYaml(yaml);
  return r.ok ? [] : r.errors.map((e) => ({ path: e.path, message: e.message }));
};

describe('the registries are the single source of provider names', () => {
  it('the runtime registries are keyed by exactly the pure registries’ names', () => {
    expect(Object.keys(routerFactories).sort()).toEqual([...routerNames].sort());
    expect(Object.keys(metricProviderFactories).sort()).toEqual([...metricProviderTypes].sort());
    expect(routerNames).toEqual(['istio', 'gatewayapi:v1', 'kubernetes']);
    expect(metricProviderTypes).toEqual(['prometheus', 'datadog']);
    for (const [name, m] of Object.entries(routerManifests)) expect(m.name).toBe(name);
    for (const [type, m] of Object.entries(metricProviderManifests)) expect(m.type).toBe(type);
  });

  it('spec.provider accepts every registered router and nothing else', () => {
    for (const name of routerNames)
      expect(canarySpecSchema.shape.provider.safeParse(name).success, name).toBe(true);
    const others = [...flaggerOnlyRouters.filter((r) => !(routerNames as string[]).includes(r)), 'envoy', ''];
    for (const name of others)
      expect(canarySpecSchema.shape.provider.safeParse(name).success, name).toBe(false);
  });

  it('MetricTemplate provider.type accepts every registered type (and none = prometheus) and nothing else', () => {
    const tpl = (provider: Record<string, unknown> | undefined) => ({
      apiVersion: 'flagger.app/v1beta1',
      kind: 'MetricTemplate',
      metadata: { name: 't' },
      spec: { ...(provider ? { provider } : {}), query: 'up' },
    });
    const minimal: Record<string, Record<string, unknown>> = {
      prometheus: { type: 'prometheus' },
      datadog: { type: 'datadog', secretRef: { name: 'dd' } },
    };
    expect(Object.keys(minimal).sort()).toEqual([...metricProviderTypes].sort());
    for (const type of metricProviderTypes)
      expect(metricTemplateSchema.safeParse(tpl(minimal[type])).success, type).toBe(true);
    expect(metricTemplateSchema.safeParse(tpl(undefined)).success).toBe(true);
    for (const type of ['newrelic', 'cloudwatch', 'graphite', 'influxdb', 'dynatrace', 'foo'])
      expect(metricTemplateSchema.safeParse(tpl({ type })).success, type).toBe(false);
  });

  it("the workflow's input check accepts every registered router in plan and context, and no other", () => {
    const r = parseCanaryYaml(blueGreen);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const input = compiledReleaseInput(
      { bundle: r.value, compiled: compileRelease(r.value, { app: 'ghcr.io/x/podinfo:2' }) },
      { images: { app: 'ghcr.io/x/podinfo:2' }, initiator: 't' },
    );
    for (const name of routerNames) {
      const i = structuredClone(input);
      i.plan.provider = name;
      i.ctx.provider = name;
      expect(checkCompiledReleaseInput(i).ok, name).toBe(true);
    }
    const bad = structuredClone(input) as unknown as { plan: { provider: string } };
    bad.plan.provider = 'linkerd';
    expect(checkCompiledReleaseInput(bad)).toMatchObject({ ok: false, path: 'input.plan.provider' });
  });
});

describe('legacy profile: the previous version’s providers, messages unchanged', () => {
  it('rejects provider kubernetes and datadog templates exactly as before', () => {
    const docs = yamlDocuments(
      blueGreen +
        `---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: dd
  namespace: shop
spec:
  provider:
    type: datadog
    secretRef:
      name: dd
  query: avg:x{*}
`,
    );
    const legacy = validateCanaryBundle(docs, { profile: legacyProfile });
    expect(legacy.ok).toBe(false);
    if (!legacy.ok)
      expect(legacy.errors.map((e) => e.message)).toEqual([
        'provider `kubernetes` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1',
        'metric provider `datadog` is not supported yet by Fledge (supported: prometheus)',
      ]);
    expect(validateCanaryBundle(docs).ok).toBe(true);
  });
});

describe('provider: kubernetes (blue/green on plain Services)', () => {
  it('accepts Flagger’s Kubernetes blue/green tutorial shape and compiles it to blue/green', () => {
    const r = parseCanaryYaml(blueGreen);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = compileRelease(r.value, { app: 'ghcr.io/x/podinfo:2' });
    expect(c.plan.provider).toBe('kubernetes');
    expect(c.plan.strategy).toEqual({ kind: 'blue-green', iterations: 10, mirror: false });
  });

  // What Flagger rewrites with a warning for this provider (pkg/controller/scheduler.go: drops `match`, sets
  // `iterations: 10`, skips `mirror`) runs here the same way, with a notice (the legacy profile of recorded
  // histories predates `provider: kubernetes` and rejects the provider itself).
  const kubernetesRewrites = (yaml: string) => {
    const { result, notices } = parseReleaseYaml(yaml);
    const legacy = validateCanaryBundle(yamlDocuments(yaml), { profile: legacyProfile });
    return {
      notices: notices.map((n) => ({ path: n.path, message: n.message })),
      strategy: result.ok
        ? compileRelease(result.value, { app: 'ghcr.io/x/podinfo:2' }).plan.strategy
        : undefined,
      legacyErrors: legacy.ok ? [] : legacy.errors.map((e) => ({ path: e.path, message: e.message })),
    };
  };
  const bgOnly = 'provider kubernetes runs blue/green only (Flagger: no mesh, no weights)';

  it('weight steps, A/B match, mirroring and a missing iterations: notices, and blue/green runs as Flagger runs it', () => {
    const weighted = kubernetesRewrites(
      blueGreen.replace('    iterations: 10\n', '    stepWeight: 10\n    maxWeight: 50\n'),
    );
    const progressive = `ignored, as Flagger does ("Progressive traffic is not supported when using the kubernetes provider"): ${bgOnly}; it runs 10 iterations instead`;
    expect(weighted.notices).toEqual([
      {
        path: 'spec.analysis.iterations',
        message: `not set: ${bgOnly}; 10 analysis iterations run, as Flagger sets them`,
      },
      { path: 'spec.analysis.stepWeight', message: progressive },
      { path: 'spec.analysis.maxWeight', message: progressive },
    ]);
    expect(weighted.strategy).toEqual({ kind: 'blue-green', iterations: 10, mirror: false });
    expect(weighted.legacyErrors.map((e) => e.path)).toEqual(['spec.provider']);
    const ab = kubernetesRewrites(
      blueGreen.replace(
        '    iterations: 10\n',
        '    iterations: 4\n    match:\n      - headers:\n          x-canary:\n            exact: insider\n',
      ),
    );
    expect(ab.notices).toEqual([
      {
        path: 'spec.analysis.match',
        message: `ignored, as Flagger does ("A/B testing is not supported when using the kubernetes provider"): ${bgOnly}; the iterations run as blue/green`,
      },
    ]);
    expect(ab.strategy).toEqual({ kind: 'blue-green', iterations: 4, mirror: false });
    const mirror = kubernetesRewrites(
      blueGreen.replace('    iterations: 10\n', '    iterations: 10\n    mirror: true\n'),
    );
    expect(mirror.notices).toEqual([
      {
        path: 'spec.analysis.mirror',
        message: `ignored, as Flagger does: ${bgOnly}; mirroring needs a mesh router (istio, gatewayapi:v1)`,
      },
    ]);
    expect(mirror.strategy).toEqual({ kind: 'blue-green', iterations: 10, mirror: false });
  });

  it('route settings that have no object to go into: notices', () => {
    const routed = kubernetesRewrites(
      blueGreen.replace(
        '    port: 9898\n',
        '    port: 9898\n    hosts: [app.example.com]\n    gateways: [public]\n    timeout: 30s\n',
      ),
    );
    const serviceOnly = 'provider kubernetes writes plain Services only, with no routing object to carry it';
    expect(routed.notices).toEqual(
      ['hosts', 'gateways', 'timeout'].map((f) => ({
        path: `spec.service.${f}`,
        message: `ignored, as Flagger does: ${serviceOnly}`,
      })),
    );
    expect(routed.strategy).toEqual({ kind: 'blue-green', iterations: 10, mirror: false });
  });

  it('the router writes nothing and reads back what was asked (Flagger’s no-op router)', async () => {
    const router = createKubernetesRouter();
    const t = { namespace: 'shop', service: 'podinfo', port: 9898 };
    await router.reconcile(t);
    const w = { primaryWeight: 0, canaryWeight: 100, mirrorPercent: null, abMatch: false };
    expect(await router.setRoutes(t, w)).toEqual(w);
    expect(await router.getRoutes(t)).toEqual({ ...w, primaryWeight: 100, canaryWeight: 0 });
  });
});

describe('built-in checks are the router’s queries', () => {
  const builtin = (b: 'request-success-rate' | 'request-duration'): MetricPlan => ({
    name: b,
    source: { kind: 'builtin', builtin: b },
    interval: '1m',
    thresholdRange: { min: 99 },
    templateVariables: {},
  });
  const ctx = { namespace: 'shop', target: 'podinfo', service: 'podinfo' };

  it('istio and gatewayapi:v1: Istio telemetry; kubernetes: the application’s http_request_duration_seconds', () => {
    for (const router of ['istio', 'gatewayapi:v1'] as const) {
      const q = resolveMetricQuery(builtin('request-success-rate'), { ...ctx, router }, []);
      expect(q.ok && q.query).toContain('istio_requests_total{ reporter="destination"');
    }
    const sr = resolveMetricQuery(builtin('request-success-rate'), { ...ctx, router: 'kubernetes' }, []);
    expect(sr.ok && sr.query).toBe(
      'sum(rate(http_request_duration_seconds_count{kubernetes_namespace="shop", kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)", status!~"5.*"}[1m])) / sum(rate(http_request_duration_seconds_count{kubernetes_namespace="shop", kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[1m])) * 100',
    );
    const d = resolveMetricQuery(builtin('request-duration'), { ...ctx, router: 'kubernetes' }, []);
    expect(d.ok && d.query).toContain('http_request_duration_seconds_bucket{');
    expect(d.ok && d.query).toMatch(/\* 1000$/);
    // No router given: Istio (the default mesh provider), as before the registry.
    const dflt = resolveMetricQuery(builtin('request-duration'), ctx, []);
    expect(dflt.ok && dflt.query).toContain('istio_request_duration_milliseconds_bucket');
  });
});

describe('datadog MetricTemplates through the registry', () => {
  const withDatadog = (
    provider: string,
    query = 'avg:trace.http.request.errors{env:prod,service:{{ target }}}',
  ) =>
    blueGreen.replace(
      '    metrics:\n',
      '    metrics:\n      - name: dd-errors\n        templateRef:\n          name: dd-errors\n        thresholdRange:\n          max: 1\n',
    ) +
    `---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: dd-errors
  namespace: shop
spec:
  provider:
${provider}
  query: ${query}
`;

  it('accepts a datadog template and compiles its type; the query is rendered as Datadog, not PromQL', () => {
    const yaml = withDatadog('    type: datadog\n    secretRef:\n      name: datadog');
    const r = parseCanaryYaml(yaml);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(compileRelease(r.value, {}).metricTemplates[0]?.provider).toEqual({
      type: 'datadog',
      secretRef: { name: 'datadog' },
    });
  });

  it('rejects a datadog template without secretRef, with headers, or with a value outside Datadog’s tag alphabet', () => {
    expect(errorsOf(withDatadog('    type: datadog'))).toEqual([
      {
        path: 'doc[1].spec.provider.secretRef',
        message:
          'missing required field: the datadog provider needs a Secret with datadog_api_key and datadog_application_key (secretRef: {name: …})',
      },
    ]);
    expect(
      errorsOf(
        withDatadog('    type: datadog\n    secretRef:\n      name: dd\n    headers:\n      X-Env: [prod]'),
      ),
    ).toEqual([
      {
        path: 'doc[1].spec.provider.headers',
        message:
          'not used by the datadog provider (it sends only the DD-API-KEY and DD-APPLICATION-KEY headers, from secretRef)',
      },
    ]);
    const bad = errorsOf(
      withDatadog(
        '    type: datadog\n    secretRef:\n      name: dd',
        'avg:x{env:{{ variables.env }}}',
      ).replace(
        '          name: dd-errors\n',
        '          name: dd-errors\n        templateVariables:\n          env: "prod,*"\n',
      ),
    );
    expect(bad).toHaveLength(1);
    expect(bad[0]?.message).toContain('must be a plain Datadog tag value');
  });

  it('the worker’s MetricsProvider sends template checks to their type and everything else to Prometheus', async () => {
    const seen: string[] = [];
    const fake = (type: string) => (): MetricsProvider => ({
      evaluate: async (m) => {
        seen.push(`${type}:${m.name}`);
        return { name: m.name, value: 1 };
      },
    });
    const provider = createMetricsProvider(
      { prometheusUrl: 'http://127.0.0.1:1', secrets: { read: () => undefined } },
      { prometheus: fake('prometheus'), datadog: fake('datadog') },
    );
    const tpl = (name: string, type: 'prometheus' | 'datadog') => ({
      name,
      namespace: 'shop',
      provider: { type },
      query: 'q',
    });
    const plan = (name: string, source: MetricPlan['source']): MetricPlan => ({
      name,
      source,
      interval: '1m',
      thresholdRange: {},
      templateVariables: {},
    });
    const templates = [tpl('p', 'prometheus'), tpl('d', 'datadog')];
    const ctx = { namespace: 'shop', target: 'podinfo', service: 'podinfo' };
    await provider.evaluate(
      plan('a', { kind: 'template', templateName: 'd', templateNamespace: 'shop' }),
      ctx,
      templates,
    );
    await provider.evaluate(
      plan('b', { kind: 'template', templateName: 'p', templateNamespace: 'shop' }),
      ctx,
      templates,
    );
    await provider.evaluate(plan('c', { kind: 'builtin', builtin: 'request-success-rate' }), ctx, templates);
    await provider.evaluate(plan('e', { kind: 'inline', query: 'up' }), ctx, templates);
    expect(seen).toEqual(['datadog:a', 'prometheus:b', 'prometheus:c', 'prometheus:e']);
  });
});

describe('RBAC: every registered router’s rules are in the worker’s Role', () => {
  it('deploy/kustomize/base/release-namespaces.yaml grants each router its routing objects', () => {
    const docs = parseAllDocuments(
      readFileSync(
        new URL('../../../deploy/kustomize/base/release-namespaces.yaml', import.meta.url),
        'utf8',
      ),
    ).map(
      (d) =>
        d.toJS() as {
          kind?: string;
          rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
        },
    );
    const rules = docs.find((d) => d.kind === 'Role')?.rules ?? [];
    for (const [name, router] of Object.entries(routerManifests))
      for (const need of router.rbac)
        for (const resource of need.resources)
          for (const verb of need.verbs)
            expect(
              rules.some(
                (r) =>
                  need.apiGroups.every((g) => r.apiGroups.includes(g)) &&
                  r.resources.includes(resource) &&
                  r.verbs.includes(verb),
              ),
              `${name}: ${verb} ${resource}`,
            ).toBe(true);
  });
});
