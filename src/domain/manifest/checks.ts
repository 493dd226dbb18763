// Rules that span fields or documents (strategy, references between documents, provider-specific fields).
// They read the raw documents defensively (a field of the wrong type is zod's to report, and skipped here) so
// every problem is reported in one pass, even when the schema found others. PURE.
import { parseGoDuration } from './duration.js';
import type { PathSegment, SpecIssue } from './errors.js';
import { quote } from '../sanitize.js';
import { currentProfile, builtinMetricNames, type ManifestProfile, type RouterProvider } from './schema.js';
import { defaultRouter, routerManifests } from '../../integrations/traffic/manifests.js';
import {
  defaultMetricProvider,
  isMetricProviderType,
  metricProviderManifests,
} from '../../integrations/metrics/manifests.js';

type Raw = Record<string, unknown>;

const obj = (v: unknown): Raw | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;
const arr = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** Set to something other than a zero value (Flagger's omitempty semantics). */
const isSet = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== false && v !== '' && !(Array.isArray(v) && v.length === 0);

/** A manifest of the bundle as the checks see it: kind, name and namespace (defaulted to the canary's). */
export interface BundleObject {
  doc: number;
  kind: 'MetricTemplate' | 'AlertProvider';
  name: string;
  namespace: string;
  raw: Raw;
}

export const defaultNamespace = 'default';

const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** `<svc>-primary` must still be a valid Service name (63 characters). */
const maxApexLength = 63 - '-primary'.length;

/** The canary's namespace: `metadata.namespace`, or `default` (what `kubectl apply` would use with a default context). */
export function canaryNamespaceOf(canary: unknown): string {
  return str(obj(obj(canary)?.metadata)?.namespace) ?? defaultNamespace;
}

/**
 * How a reference to a MetricTemplate/AlertProvider absent from the bundle is explained: the text after
 * "`<kind> \`ns/name\` not found: `". Default: Fledge's original hint (put it in the same file), which the legacy
 * workflow path keeps; `checkRelease` says whether and where the cluster was searched (normalize.ts).
 */
export type DescribeMissing = (
  kind: 'MetricTemplate' | 'AlertProvider',
  namespace: string,
  name: string,
) => string;
const putInFile: DescribeMissing = () => 'put it in the same file (multi-document YAML)';

/**
 * The cross-field rules of a Canary document. Returns the errors; `notices` (when given) receives what Flagger
 * accepts and ignores — a field another one overrides, a field the provider does not use — which the current profile
 * reports as a notice ("ignored, as Flagger does") and the legacy profile as the error it always was.
 */
export function checkCanary(
  canary: unknown,
  doc: number,
  objects: readonly BundleObject[],
  profile: ManifestProfile = currentProfile,
  describeMissing: DescribeMissing = putInFile,
  notices: SpecIssue[] = [],
): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const add = (path: PathSegment[], message: string) => issues.push({ doc, path, message });
  const ignore = (path: PathSegment[], message: string, legacy?: string) => {
    if (profile.dropIn) notices.push({ doc, path, message });
    else if (legacy !== undefined) add(path, legacy);
  };
  const addNew = (path: PathSegment[], message: string) => {
    if (profile.dropIn) add(path, message);
  };
  const root = obj(canary);
  const spec = obj(root?.spec);
  if (!root || !spec) return issues;
  const namespace = canaryNamespaceOf(root);

  // ── analysis spelling ───────────────────────────────────────────────────────────────────────────────────────
  const hasAnalysis = isSet(spec.analysis);
  const hasLegacy = isSet(spec.canaryAnalysis);
  if (hasAnalysis && hasLegacy)
    ignore(
      ['spec', 'canaryAnalysis'],
      'ignored: `analysis` is set, and Flagger uses `analysis` over its deprecated spelling `canaryAnalysis`',
      'both `analysis` and its deprecated spelling `canaryAnalysis` are set; keep only `analysis`',
    );
  const analysisKey = hasAnalysis || !hasLegacy ? 'analysis' : 'canaryAnalysis';
  const analysis = obj(spec[analysisKey]);
  const at = (...rest: PathSegment[]): PathSegment[] => ['spec', analysisKey, ...rest];
  const skipAnalysis = spec.skipAnalysis === true;
  if (!hasAnalysis && !hasLegacy && !skipAnalysis) {
    add(
      ['spec', 'analysis'],
      'missing required field (Flagger requires `analysis`; set `skipAnalysis: true` to promote without analysis)',
    );
  }

  // ── service naming and provider-specific router fields ──────────────────────────────────────────────────────
  const provider: RouterProvider | undefined =
    spec.provider === undefined
      ? defaultRouter
      : (profile.routers as readonly unknown[]).includes(spec.provider)
        ? (spec.provider as RouterProvider)
        : undefined;
  const router = provider !== undefined ? routerManifests[provider] : undefined;
  const service = obj(spec.service);
  const targetName = str(obj(spec.targetRef)?.name);
  const serviceName = str(service?.name);
  const apex = serviceName ?? targetName;
  const apexPath: PathSegment[] =
    serviceName !== undefined ? ['spec', 'service', 'name'] : ['spec', 'targetRef', 'name'];
  if (apex !== undefined) {
    if (!dns1035.test(apex)) {
      add(
        apexPath,
        `${quote(apex)} is not a valid Service name (DNS-1035 label: lowercase letters, digits and '-', starting with a letter)${serviceName === undefined ? '; set spec.service.name' : ''}`,
      );
    } else if (apex.length > maxApexLength) {
      add(
        apexPath,
        `service name ${quote(apex)} is too long: the generated \`${apex}-primary\` must fit in 63 characters (at most ${maxApexLength})`,
      );
    }
  }
  router?.check({ spec, service, analysis, at, skipAnalysis, add, ignore, addNew });
  if (profile.dropIn) checkDropInFields({ provider, service, analysis, at, add, ignore });

  // ── strategy ───────────────────────────────────────────────────────────────────────────────────────────────
  if (analysis) {
    const hasIterations = analysis.iterations !== undefined;
    const hasMatch = isSet(analysis.match);
    const mirror = analysis.mirror === true;
    const strategies: readonly string[] = router?.strategies ?? ['canary', 'ab-testing', 'blue-green'];
    if (hasMatch && !hasIterations && strategies.includes('ab-testing')) {
      ignore(
        at('match'),
        'ignored without `iterations`, as Flagger does: this runs a weighted canary for everyone; A/B testing needs `iterations` (e.g. iterations: 10)',
        'A/B testing needs `iterations` (e.g. iterations: 10): without it Flagger ignores `match` and runs a weighted canary; add iterations or remove match',
      );
    }
    if (hasIterations) {
      const strategy = hasMatch ? 'A/B testing' : 'blue/green';
      for (const key of ['stepWeight', 'stepWeights', 'maxWeight'] as const) {
        if (analysis[key] !== undefined)
          ignore(
            at(key),
            `ignored with \`iterations\`, as Flagger does: ${strategy} runs a number of iterations, not weight steps`,
            `not used with \`iterations\` (${strategy} runs a number of iterations, not weight steps); remove it, or remove iterations for a weighted canary`,
          );
      }
      if ((num(analysis.stepWeightPromotion) ?? 0) > 0) {
        add(
          at('stepWeightPromotion'),
          `not supported yet by Fledge for ${strategy}: promotion routes traffic back to the primary at once`,
        );
      }
      if (hasMatch && mirror)
        ignore(
          at('mirror'),
          'ignored by A/B testing, as Flagger does (it mirrors with a weighted canary or blue/green only)',
          'not used by A/B testing; mirroring works with a weighted canary (one interval) or blue/green (iterations without match)',
        );
    } else if (strategies.includes('canary')) {
      const hasStep = analysis.stepWeight !== undefined;
      const stepWeights = arr(analysis.stepWeights);
      const hasSteps = analysis.stepWeights !== undefined;
      if (!hasStep && !hasSteps && !skipAnalysis) {
        add(
          at('stepWeight'),
          'missing required field: a canary needs `stepWeight` (with `maxWeight`) or `stepWeights`; for blue/green set `iterations`',
        );
      }
      if (hasStep && hasSteps)
        ignore(
          at('stepWeights'),
          'only its last entry is used, as Flagger does when `stepWeight` is set too: the canary advances by `stepWeight` up to that weight',
          'set either `stepWeight` or `stepWeights`, not both',
        );
      if (hasSteps && analysis.maxWeight !== undefined)
        ignore(
          at('maxWeight'),
          'ignored with `stepWeights`, as Flagger does: the last entry is the maximum weight',
          '`maxWeight` is not used with `stepWeights`: the last entry is the maximum weight',
        );
      const step = num(analysis.stepWeight);
      const max = num(analysis.maxWeight);
      if (step !== undefined && max !== undefined && step > max)
        add(at('stepWeight'), `stepWeight (${step}) must be <= maxWeight (${max})`);
      stepWeights?.forEach((w, i) => {
        const prev = num(stepWeights[i - 1]);
        const current = num(w);
        if (i > 0 && prev !== undefined && current !== undefined && current <= prev) {
          add(at('stepWeights', i), `stepWeights must be strictly ascending: ${current} after ${prev}`);
        }
      });
    }
    if (analysis.mirrorWeight !== undefined && !mirror)
      ignore(
        at('mirrorWeight'),
        'ignored without `mirror: true`, as Flagger does (nothing is mirrored)',
        '`mirrorWeight` needs `mirror: true`',
      );

    checkMetrics(analysis, at, add, ignore, {
      namespace,
      target: targetName,
      service: apex,
      objects,
      profile,
      describeMissing,
    });
    checkNamed(arr(analysis.webhooks), 'webhook', 'webhooks', at, add);
    checkNamed(arr(analysis.alerts), 'alert', 'alerts', at, add);
    arr(analysis.alerts)?.forEach((a, i) => {
      const ref = obj(obj(a)?.providerRef);
      const name = str(ref?.name);
      if (name === undefined) return;
      const ns = str(ref?.namespace) ?? namespace;
      if (!objects.some((o) => o.kind === 'AlertProvider' && o.name === name && o.namespace === ns)) {
        add(
          at('alerts', i, 'providerRef', 'name'),
          `AlertProvider \`${ns}/${name}\` not found: ${describeMissing('AlertProvider', ns, name)}`,
        );
      }
    });
  }

  // ── Fledge extension ──────────────────────────────────────────────────────────────────────────────────────
  const gates = arr(obj(spec.fledge)?.manualGates);
  const seenGates = new Set<unknown>();
  gates?.forEach((g, i) => {
    if (seenGates.has(g))
      add(
        ['spec', 'fledge', 'manualGates', i],
        `gate ${typeof g === 'string' ? quote(g) : String(g)} is listed twice`,
      );
    seenGates.add(g);
  });
  return issues;
}

function checkNamed(
  items: unknown[] | undefined,
  what: string,
  list: string,
  at: (...p: PathSegment[]) => PathSegment[],
  add: (path: PathSegment[], message: string) => void,
): void {
  const seen = new Map<string, number>();
  items?.forEach((item, i) => {
    const name = str(obj(item)?.name);
    if (name === undefined) return;
    const first = seen.get(name);
    if (first !== undefined)
      add(at(list, i, 'name'), `duplicate ${what} name \`${name}\` (also ${list}[${first}])`);
    else seen.set(name, i);
  });
}

interface MetricContext {
  namespace: string;
  target: string | undefined;
  service: string | undefined;
  objects: readonly BundleObject[];
  profile: ManifestProfile;
  describeMissing: DescribeMissing;
}

function checkMetrics(
  analysis: Raw,
  at: (...p: PathSegment[]) => PathSegment[],
  add: (path: PathSegment[], message: string) => void,
  ignore: (path: PathSegment[], message: string, legacy?: string) => void,
  ctx: MetricContext,
): void {
  const metrics = arr(analysis.metrics);
  checkNamed(metrics, 'metric', 'metrics', at, add);
  metrics?.forEach((m, i) => {
    const metric = obj(m);
    if (!metric) return;
    const p = (...rest: PathSegment[]) => at('metrics', i, ...rest);
    const name = str(metric.name);
    const hasRef = metric.templateRef !== undefined;
    const hasQuery = metric.query !== undefined;
    const builtin = name !== undefined && (builtinMetricNames as readonly string[]).includes(name);
    if (hasRef && hasQuery)
      add(p('query'), 'set either `templateRef` or the deprecated inline `query`, not both');
    else if (builtin && (hasRef || hasQuery)) {
      add(
        p(hasRef ? 'templateRef' : 'query'),
        `\`${name}\` is a built-in metric name: Flagger would run the built-in check as well as this ${hasRef ? 'template' : 'query'}; give the metric another name`,
      );
    } else if (!builtin && name !== undefined && !hasRef && !hasQuery) {
      add(
        p('name'),
        `metric \`${name}\` needs a \`templateRef\` (or an inline \`query\`); the built-in metrics are ${builtinMetricNames.join(' and ')}`,
      );
    }

    const hasRange = metric.thresholdRange !== undefined;
    const hasThreshold = metric.threshold !== undefined;
    if (hasRange && hasThreshold)
      ignore(
        p('threshold'),
        'ignored: `thresholdRange` is set, and Flagger uses it over the deprecated `threshold`',
        'the deprecated `threshold` is ignored when `thresholdRange` is set; remove one',
      );
    else if (!hasRange && !hasThreshold)
      add(
        p('thresholdRange'),
        'missing required field: a metric needs `thresholdRange` with `min` and/or `max`',
      );
    const range = obj(metric.thresholdRange);
    if (range) {
      const min = num(range.min);
      const max = num(range.max);
      if (range.min === undefined && range.max === undefined)
        add(p('thresholdRange'), '`thresholdRange` needs `min` and/or `max`');
      if (min !== undefined && max !== undefined && min > max)
        add(p('thresholdRange', 'min'), `min (${min}) must be <= max (${max})`);
    }

    // Resolve the template and dry-render the query, so a missing variable fails now and not at the first tick.
    let query: string | undefined;
    let queryPath: PathSegment[] = p('query');
    let label = 'query';
    let render = metricProviderManifests[defaultMetricProvider].render;
    if (hasRef && !hasQuery && !builtin) {
      const ref = obj(metric.templateRef);
      const refName = str(ref?.name);
      if (refName === undefined) return;
      const refNs = str(ref?.namespace) ?? ctx.namespace;
      const template = ctx.objects.find(
        (o) => o.kind === 'MetricTemplate' && o.name === refName && o.namespace === refNs,
      );
      if (!template) {
        const elsewhere = ctx.objects.find((o) => o.kind === 'MetricTemplate' && o.name === refName);
        add(
          p('templateRef', 'name'),
          `MetricTemplate \`${refNs}/${refName}\` not found: ${ctx.describeMissing('MetricTemplate', refNs, refName)}${elsewhere ? `; the file has \`${elsewhere.namespace}/${refName}\` (set templateRef.namespace)` : ''}`,
        );
        return;
      }
      query = str(obj(template.raw.spec)?.query);
      // The template's query language: its provider type's renderer (a type the profile rejects is zod's to report).
      const type = obj(obj(template.raw.spec)?.provider)?.type ?? defaultMetricProvider;
      if (isMetricProviderType(type) && ctx.profile.metricProviders.includes(type))
        render = metricProviderManifests[type].render;
      else if (type !== defaultMetricProvider) return;
      queryPath = p('templateRef');
      label = `MetricTemplate \`${refNs}/${refName}\` query`;
    } else if (hasQuery && !hasRef && !builtin) {
      query = str(metric.query);
    }
    if (query === undefined || query === '' || ctx.target === undefined) return;
    const intervalText = str(metric.interval) ?? '1m';
    const interval = parseGoDuration(intervalText);
    if (!interval.ok) return;
    const variables = obj(metric.templateVariables) ?? {};
    const stringVariables: Record<string, string> = {};
    for (const [k, v] of Object.entries(variables)) if (typeof v === 'string') stringVariables[k] = v;
    const rendered = render(query, {
      namespace: ctx.namespace,
      target: ctx.target,
      interval: intervalText,
      ...(ctx.service !== undefined ? { service: ctx.service } : {}),
      variables: stringVariables,
    });
    if (!rendered.ok) add(queryPath, `${label}: ${rendered.error}`);
    else if (/\{\{|\}\}/.test(rendered.query)) {
      add(
        queryPath,
        `${label}: unsupported template expression (Fledge supports {{ namespace }}, {{ target }}, {{ service }}, {{ interval }} and {{ variables.<key> }})`,
      );
    }
  });
}

/**
 * Rules of the Flagger fields the current profile accepts (portDiscovery needs none): which routers carry them and,
 * for session affinity, Flagger's own check (pkg/controller/controller.go verifySessionAffinity) and strategy.
 */
function checkDropInFields(input: {
  provider: RouterProvider | undefined;
  service: Raw | undefined;
  analysis: Raw | undefined;
  at: (...p: PathSegment[]) => PathSegment[];
  add: (path: PathSegment[], message: string) => void;
  ignore: (path: PathSegment[], message: string, legacy?: string) => void;
}): void {
  const { provider, service, analysis, at, add, ignore } = input;
  if (provider === undefined) return; // an unknown provider is zod's to report
  if (isSet(service?.backendTimeout) && provider !== 'gatewayapi:v1')
    ignore(
      ['spec', 'service', 'backendTimeout'],
      `ignored with provider ${provider}, as Flagger does (only its Gateway API router writes it, as HTTPRoute timeouts.backendRequest)`,
    );
  if (service?.delegation === true && provider !== 'istio')
    ignore(
      ['spec', 'service', 'delegation'],
      `ignored with provider ${provider}, as Flagger does (only its Istio router writes a delegate VirtualService)`,
      `only used with provider istio (a delegate VirtualService); provider is ${provider}`,
    );
  const affinity = obj(analysis?.sessionAffinity);
  if (!affinity) return;
  if (provider !== 'istio' && provider !== 'gatewayapi:v1')
    ignore(
      at('sessionAffinity'),
      `ignored with provider ${provider}, as Flagger does (only its istio and gatewayapi:v1 routers write cookie routes)`,
      `only supported with providers istio and gatewayapi:v1 (as Flagger: cookie-based routes); provider is ${provider}`,
    );
  else if (analysis?.iterations !== undefined)
    ignore(
      at('sessionAffinity'),
      'ignored with `iterations`: session affinity keeps users on one side of a weighted canary; blue/green and A/B testing send every (matching) request to the canary anyway',
      'only used by a weighted canary (stepWeight/stepWeights), as Flagger\'s "Canary Release with Session Affinity"; remove it or `iterations`',
    );
  const cookie = str(affinity.cookieName);
  if (cookie !== undefined && cookie === str(affinity.primaryCookieName))
    add(
      at('sessionAffinity', 'primaryCookieName'),
      "can't use the same cookie name for both primary and canary (cookieName); please update them to be different",
    );
}
