// The end-state oracle: after a release ends, read every object it touched from the apiserver and compare it,
// field by field, with what Fledge's model (Flagger's object model) requires for that outcome. Used by every
// end-to-end scenario, the CLI tests, the fault matrix and the demo. It deliberately does NOT reuse the
// product's builders (primaryDeployment, buildVirtualService, …): it derives the expectation from the target
// Deployment, the spec's service/router settings and a baseline captured before the release.
//
// What it checks (each a finding when violated):
// - `<name>-primary`: pod template equal to the target's (selector label value suffixed `-primary`) with the
//   expected images (new after Promoted or a *-after-promotion / promotion-failed end, else the images the
//   primary ran before); replicas (the target's, else what the primary ran before; within the HPA's bounds when
//   autoscaled); strategy, minReadySeconds, progressDeadlineSeconds, revisionHistoryLimit; labels and the
//   copied annotations; rollout finished (observed generation, all replicas updated and available, no old ones).
// - the target (canary slot): at 0 replicas (except after promotion-failed, where it serves), its user fields
//   unchanged apart from the images Fledge set.
// - Services `<svc>`, `<svc>-primary`, `<svc>-canary`: selectors and the port; with `service.portDiscovery`, also
//   every container port of the target (Flagger's naming: the port's name, else `tcp-<container>-<index>`; mesh
//   proxies and the main port left out).
// - Istio: VirtualService `<svc>` with one route, 100 % to the primary (or the canary after promotion-failed),
//   no A/B match route, no mirror (with `sessionAffinity`: one rule before it, matching the canary cookie, routed
//   the same way and expiring the cookie; with `delegation`: no hosts, no gateways); DestinationRules `<svc>-primary`/`<svc>-canary`. Gateway API: HTTPRoute
//   `<svc>` likewise (no header-match rule, no RequestMirror filter). Kubernetes (no mesh): no routing object.
// - `<hpa>-primary` (autoscalerRef): retargeted at the primary, min/max from primaryScalerReplicas or the HPA.
// - config tracking: the primary's template refers to `<name>-primary` copies of the ConfigMaps (and, unless the
//   spec says the worker has no Secrets, the Secrets of Flagger's tracked types) its target refers to, except those
//   annotated `flagger.app/config-tracking: disabled`; each copy holds its source's data as of the promotion (after a
//   rollback: what it held before the release) and is owned by the primary.
// - nothing of the user's removed, nothing orphaned: every object in the namespace is either in the baseline or
//   one Fledge is expected to own.
// `watchPrimaryCapacity` asserts, during a release, that the primary's ready replicas never drop below what its
// rolling-update strategy allows.
import * as k8s from '@kubernetes/client-node';
import type { ReleaseResult } from '../domain/result.js';
import { yamlDocuments } from '../domain/manifest/yaml.js';
import { validateCanaryBundle } from '../domain/manifest/validate.js';
import { compileAutoscaler, compileRouterSpec, compileServiceSpec } from '../domain/manifest/compile.js';

export type OracleProvider = 'istio' | 'gatewayapi:v1' | 'kubernetes';

/** What the spec says about the objects (from the Canary): names, port, router, autoscaler. */
export interface OracleSpec {
  namespace: string;
  /** targetRef.name */
  target: string;
  provider: OracleProvider;
  service: {
    name: string;
    port: number;
    portName: string;
    targetPort: number | string;
    /** `service.portDiscovery`: the Services also expose the target's container ports. */
    portDiscovery?: boolean;
    /** `service.delegation` (Istio): a VirtualService without hosts and gateways. */
    delegation?: boolean;
  };
  /** `analysis.sessionAffinity`: after the release, one cookie-expiring rule before the weighted one. */
  sessionAffinity?: boolean;
  autoscaler?: { name: string; minReplicas?: number; maxReplicas?: number };
  /** `secrets: false`: the worker is not granted Secrets, so they are not copied. Default: Secrets are tracked. */
  configTracking?: { secrets: boolean };
}

/** A ConfigMap's or Secret's content as the oracle compares it. */
interface ConfigSnapshot {
  data: Record<string, string>;
  binaryData?: Record<string, string>;
  type?: string;
  disabled: boolean;
  owners: string[];
}

/** The namespace before the release: the user's objects and the target/primary as they were. */
export interface Baseline {
  spec: OracleSpec;
  target: k8s.V1Deployment;
  primary?: k8s.V1Deployment;
  objects: string[];
  /** `Kind/name` → content: the configs the target and the primary refer to, and their `-primary` copies. */
  configs?: Record<string, ConfigSnapshot>;
}

export interface Verdict {
  ok: boolean;
  /** Fields checked (a measure of coverage). */
  checked: number;
  findings: string[];
}

const selectorKeys = ['app', 'name', 'app.kubernetes.io/name'] as const;

interface Listed {
  kind: string;
  list: () => Promise<Array<{ metadata?: k8s.V1ObjectMeta }>>;
}

function lister(kc: k8s.KubeConfig, namespace: string): Listed[] {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const hpa = kc.makeApiClient(k8s.AutoscalingV2Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const crd =
    (group: string, version: string, plural: string) =>
    async (): Promise<Array<{ metadata?: k8s.V1ObjectMeta }>> => {
      try {
        const r = (await custom.listNamespacedCustomObject({ group, version, plural, namespace })) as {
          items: Array<{ metadata?: k8s.V1ObjectMeta }>;
        };
        return r.items;
      } catch (e) {
        if (e instanceof k8s.ApiException && e.code === 404) return []; // CRD not installed
        throw e;
      }
    };
  return [
    { kind: 'Deployment', list: async () => (await apps.listNamespacedDeployment({ namespace })).items },
    { kind: 'Service', list: async () => (await core.listNamespacedService({ namespace })).items },
    {
      kind: 'HorizontalPodAutoscaler',
      list: async () => (await hpa.listNamespacedHorizontalPodAutoscaler({ namespace })).items,
    },
    {
      kind: 'ConfigMap',
      list: async () =>
        (await core.listNamespacedConfigMap({ namespace })).items.filter(
          (c) => c.metadata?.name !== 'kube-root-ca.crt',
        ),
    },
    { kind: 'VirtualService', list: crd('networking.istio.io', 'v1', 'virtualservices') },
    { kind: 'DestinationRule', list: crd('networking.istio.io', 'v1', 'destinationrules') },
    { kind: 'HTTPRoute', list: crd('gateway.networking.k8s.io', 'v1', 'httproutes') },
  ];
}

async function listObjects(kc: k8s.KubeConfig, namespace: string): Promise<string[]> {
  const out: string[] = [];
  for (const l of lister(kc, namespace))
    for (const o of await l.list()) out.push(`${l.kind}/${o.metadata?.name ?? '?'}`);
  return out.sort();
}

async function readDeployment(kc: k8s.KubeConfig, namespace: string, name: string) {
  try {
    return await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ namespace, name });
  } catch (e) {
    if (e instanceof k8s.ApiException && e.code === 404) return undefined;
    throw e;
  }
}

const configKeys = {
  configMap: 'ConfigMap',
  configMapKeyRef: 'ConfigMap',
  configMapRef: 'ConfigMap',
} as const;
const secretKeys = new Set(['secret', 'secretKeyRef', 'secretRef']);

/**
 * The oracle's own walk over a pod spec (plain JSON): calls `visit` with `Kind/name` for every object under a
 * `configMap`/`configMapKeyRef`/`configMapRef` key (its `name`) or a `secret`/`secretKeyRef`/`secretRef` key (its
 * `secretName` or `name`), and lets it rename it.
 */
function walkConfigRefs(spec: unknown, visit: (ref: string, rename: (name: string) => void) => void): void {
  const walk = (v: unknown, parentKey: string): void => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x, parentKey));
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const cmKind = (configKeys as Record<string, string>)[parentKey];
    const field = cmKind
      ? 'name'
      : secretKeys.has(parentKey)
        ? 'secretName' in o
          ? 'secretName'
          : 'name'
        : null;
    if (field && typeof o[field] === 'string')
      visit(`${cmKind ?? 'Secret'}/${o[field]}`, (name) => (o[field] = name));
    for (const [k, x] of Object.entries(o)) walk(x, k);
  };
  walk(spec, '');
}

function referencedConfigs(spec: unknown): string[] {
  const out = new Set<string>();
  walkConfigRefs(plain(spec), (ref) => out.add(ref));
  return [...out];
}

async function readConfig(
  kc: k8s.KubeConfig,
  namespace: string,
  ref: string,
): Promise<ConfigSnapshot | undefined> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const [kind, name] = ref.split('/') as [string, string];
  try {
    const o =
      kind === 'ConfigMap'
        ? await core.readNamespacedConfigMap({ namespace, name })
        : await core.readNamespacedSecret({ namespace, name });
    const p = plain(o) as k8s.V1ConfigMap & k8s.V1Secret;
    return {
      data: p.data ?? {},
      ...(p.binaryData ? { binaryData: p.binaryData } : {}),
      ...(kind === 'Secret' ? { type: p.type ?? 'Opaque' } : {}),
      disabled: (p.metadata?.annotations?.['flagger.app/config-tracking'] ?? '').startsWith('disable'),
      owners: (p.metadata?.ownerReferences ?? []).map((r) => r.uid),
    };
  } catch (e) {
    if (e instanceof k8s.ApiException && e.code === 404) return undefined;
    throw e;
  }
}

async function snapshotConfigs(
  kc: k8s.KubeConfig,
  namespace: string,
  ...deps: Array<k8s.V1Deployment | undefined>
): Promise<Record<string, ConfigSnapshot>> {
  const out: Record<string, ConfigSnapshot> = {};
  const refs = new Set(deps.flatMap((d) => referencedConfigs(d?.spec?.template.spec)));
  for (const ref of [...refs].flatMap((r) => [r, `${r}-primary`])) {
    const snap = await readConfig(kc, namespace, ref);
    if (snap) out[ref] = snap;
  }
  return out;
}

/** Secret types Flagger's config tracking copies (registry credentials and others are left alone). */
const copiedSecretTypes = [
  'Opaque',
  'kubernetes.io/basic-auth',
  'kubernetes.io/ssh-auth',
  'kubernetes.io/tls',
];

/** Captures the namespace before a release (call it before starting the workflow). */
export async function captureBaseline(kc: k8s.KubeConfig, spec: OracleSpec): Promise<Baseline> {
  const target = await readDeployment(kc, spec.namespace, spec.target);
  if (!target) throw new Error(`oracle: target deployment ${spec.namespace}/${spec.target} not found`);
  const primary = await readDeployment(kc, spec.namespace, `${spec.target}-primary`);
  return {
    spec,
    target,
    ...(primary ? { primary } : {}),
    objects: await listObjects(kc, spec.namespace),
    configs: await snapshotConfigs(kc, spec.namespace, target, primary),
  };
}

/** The objects Fledge owns for this spec. */
export function expectedObjects(spec: OracleSpec): string[] {
  const svc = spec.service.name;
  const out = [
    `Deployment/${spec.target}-primary`,
    `Service/${svc}`,
    `Service/${svc}-primary`,
    `Service/${svc}-canary`,
  ];
  if (spec.provider === 'istio')
    out.push(`VirtualService/${svc}`, `DestinationRule/${svc}-primary`, `DestinationRule/${svc}-canary`);
  else if (spec.provider === 'gatewayapi:v1') out.push(`HTTPRoute/${svc}`);
  // kubernetes: Services only — no routing object.
  if (spec.autoscaler) out.push(`HorizontalPodAutoscaler/${spec.autoscaler.name}-primary`);
  return out;
}

function imagesOf(d: k8s.V1Deployment | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of d?.spec?.template.spec?.containers ?? []) if (c.image) out[c.name] = c.image;
  return out;
}

/** Which end the result describes: does the primary run the new version, and where does traffic go. */
export function expectedEnd(result: Pick<ReleaseResult, 'outcome' | 'reason'>): {
  primaryNew: boolean;
  traffic: 'primary' | 'canary';
} {
  const code = result.reason.code;
  if (code === 'promotion-failed') return { primaryNew: true, traffic: 'canary' };
  // The primary was deleted out of band: the canary took all traffic (the missing primary is the scenario's own doing).
  if (code === 'primary-missing') return { primaryNew: false, traffic: 'canary' };
  const primaryNew =
    result.outcome === 'Promoted' ||
    code === 'superseded-after-promotion' ||
    code === 'cancelled-after-promotion';
  return { primaryNew, traffic: 'primary' };
}

/** Deep comparison that reports the paths of differences (plain JSON values). */
function diff(path: string, want: unknown, got: unknown, out: string[]): void {
  if (want === got) return;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (Array.isArray(want) && Array.isArray(got)) {
    if (want.length !== got.length) {
      out.push(`${path}: expected ${want.length} items, got ${got.length}`);
      return;
    }
    want.forEach((w, i) => diff(`${path}[${i}]`, w, got[i], out));
    return;
  }
  if (isObj(want) && isObj(got) && !Array.isArray(want) && !Array.isArray(got)) {
    for (const k of new Set([...Object.keys(want), ...Object.keys(got)]))
      diff(`${path}.${k}`, want[k], got[k], out);
    return;
  }
  if (want instanceof Date || got instanceof Date) {
    if (String(want) === String(got)) return;
  }
  out.push(`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

/** Plain JSON (the client returns class instances with undefined fields). */
const plain = <T>(v: T): unknown => JSON.parse(JSON.stringify(v ?? null)) as unknown;

function selectorOf(d: k8s.V1Deployment): { key: string; value: string } | undefined {
  const m = d.spec?.selector.matchLabels ?? {};
  for (const key of selectorKeys) if (m[key]) return { key, value: m[key] };
  return undefined;
}

function resolveMaxUnavailable(d: k8s.V1Deployment, replicas: number): number {
  const s = d.spec?.strategy;
  if (s?.type === 'Recreate') return replicas;
  const v = s?.rollingUpdate?.maxUnavailable as unknown;
  if (v === undefined || v === null) return Math.floor(replicas * 0.25);
  if (typeof v === 'number') return v;
  const pct = /^(\d+)%$/.exec(String(v));
  return pct ? Math.floor((Number(pct[1]) / 100) * replicas) : Number(v);
}

/** Ignores the keys Kubernetes maintains itself (not part of what a user or Fledge writes). */
const ownedAnnotations = (a: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(a ?? {}).filter(
      ([k]) =>
        !k.startsWith('deployment.kubernetes.io/') &&
        k !== 'kubectl.kubernetes.io/last-applied-configuration' &&
        !k.startsWith('fledge.dev/'),
    ),
  );

/**
 * Compares the live objects with the model for `result`. `settleMs`: how long to wait for the primary's rollout to
 * finish (a promotion reports once it did, so the default is short).
 */
export async function verifyEndState(
  kc: k8s.KubeConfig,
  baseline: Baseline,
  result: Pick<ReleaseResult, 'outcome' | 'reason'>,
  newImages: Record<string, string>,
  opts: { settleMs?: number } = {},
): Promise<Verdict> {
  const { spec } = baseline;
  const ns = spec.namespace;
  const findings: string[] = [];
  let checked = 0;
  const check = (what: string, want: unknown, got: unknown): void => {
    checked++;
    const d: string[] = [];
    diff(what, plain(want), plain(got), d);
    findings.push(...d);
  };
  const end = expectedEnd(result);
  /** The config copies the primary refers to (Fledge's objects: not orphans). */
  const copies: string[] = [];
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);

  // --- target (canary slot)
  const target = await readDeployment(kc, ns, spec.target);
  if (!target) {
    findings.push(`Deployment/${spec.target}: the target was removed`);
    return { ok: false, checked: checked + 1, findings };
  }
  const sel = selectorOf(target);
  if (!sel) {
    findings.push(`Deployment/${spec.target}: no selector label among ${selectorKeys.join(', ')}`);
    return { ok: false, checked: checked + 1, findings };
  }
  check(
    `Deployment/${spec.target}.spec.replicas`,
    end.traffic === 'canary' ? target.spec?.replicas : 0,
    target.spec?.replicas ?? 0,
  );
  // The user's target: unchanged apart from the images (and the replicas Fledge scales).
  const baseTpl = structuredClone(plain(baseline.target.spec?.template)) as k8s.V1PodTemplateSpec;
  for (const c of baseTpl.spec?.containers ?? []) if (newImages[c.name]) c.image = newImages[c.name];
  check(`Deployment/${spec.target}.spec.template`, baseTpl, target.spec?.template);
  check(`Deployment/${spec.target}.spec.selector`, baseline.target.spec?.selector, target.spec?.selector);
  check(
    `Deployment/${spec.target}.metadata.labels`,
    baseline.target.metadata?.labels,
    target.metadata?.labels,
  );
  check(
    `Deployment/${spec.target}.metadata.annotations`,
    ownedAnnotations(baseline.target.metadata?.annotations),
    ownedAnnotations(target.metadata?.annotations),
  );

  // --- primary
  const primaryName = `${spec.target}-primary`;
  const deadline = Date.now() + (opts.settleMs ?? 10_000);
  let primary = await readDeployment(kc, ns, primaryName);
  const rolledOut = (p: k8s.V1Deployment | undefined): boolean => {
    const st = p?.status ?? {};
    const want = p?.spec?.replicas ?? 1;
    return (
      (st.observedGeneration ?? 0) >= (p?.metadata?.generation ?? 0) &&
      (st.updatedReplicas ?? 0) === want &&
      (st.replicas ?? 0) === want &&
      (st.availableReplicas ?? 0) === want
    );
  };
  while (primary && !rolledOut(primary) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    primary = await readDeployment(kc, ns, primaryName);
  }
  if (!primary) {
    findings.push(`Deployment/${primaryName}: missing`);
  } else {
    const before = baseline.primary ?? baseline.target;
    const wantImages = end.primaryNew ? { ...imagesOf(before), ...newImages } : imagesOf(before);
    const tpl = structuredClone(plain(target.spec?.template)) as k8s.V1PodTemplateSpec;
    // A primary Flagger made (a Canary taken over from Flagger) carries Flagger's restart marker `flagger-id` in its
    // template, written by Flagger's field manager: Fledge's applies leave it as it was (harmless: a constant value).
    const flaggerId = baseline.primary?.spec?.template.metadata?.annotations?.['flagger-id'];
    tpl.metadata = {
      ...(tpl.metadata ?? {}),
      labels: { ...(tpl.metadata?.labels ?? {}), [sel.key]: `${sel.value}-primary` },
      ...(flaggerId !== undefined
        ? { annotations: { ...(tpl.metadata?.annotations ?? {}), 'flagger-id': flaggerId } }
        : {}),
    };
    for (const c of tpl.spec?.containers ?? []) c.image = wantImages[c.name] ?? c.image;
    // Config tracking: which of the target's configs the primary must refer to as `-primary` copies, and what each
    // copy must hold. After a promotion (or the primary's creation) the sources as they are; after a rollback of
    // an existing primary, what it referred to and held before the release.
    const configsBefore = baseline.configs ?? {};
    const sourcesNow = end.primaryNew || !baseline.primary;
    const secretsTracked = spec.configTracking?.secrets ?? true;
    const previouslyCopied = new Set(referencedConfigs(baseline.primary?.spec?.template.spec));
    const tracked: Array<{ ref: string; want: ConfigSnapshot }> = [];
    for (const ref of referencedConfigs(tpl.spec)) {
      const source = end.primaryNew ? await readConfig(kc, ns, ref) : configsBefore[ref];
      if (sourcesNow) {
        if (!source || source.disabled) continue;
        if (ref.startsWith('Secret/') && (!secretsTracked || !copiedSecretTypes.includes(source.type ?? '')))
          continue;
        tracked.push({ ref, want: source });
      } else if (previouslyCopied.has(`${ref}-primary`)) {
        const copy = configsBefore[`${ref}-primary`];
        if (copy) tracked.push({ ref, want: copy });
      }
    }
    const trackedRefs = new Set(tracked.map((t) => t.ref));
    walkConfigRefs(tpl.spec, (ref, rename) => {
      if (trackedRefs.has(ref)) rename(`${ref.slice(ref.indexOf('/') + 1)}-primary`);
    });
    check(`Deployment/${primaryName}.spec.template`, tpl, primary.spec?.template);
    for (const { ref, want } of tracked) {
      const copyRef = `${ref}-primary`;
      const copy = await readConfig(kc, ns, copyRef);
      checked++;
      if (!copy) {
        findings.push(`${copyRef}: missing (the primary refers to it)`);
        continue;
      }
      copies.push(copyRef);
      check(`${copyRef}.data (= ${ref} as of the promotion)`, want.data, copy.data);
      if (ref.startsWith('ConfigMap/'))
        check(`${copyRef}.binaryData`, want.binaryData ?? {}, copy.binaryData ?? {});
      else check(`${copyRef}.type`, want.type, copy.type);
      check(
        `${copyRef}.metadata.ownerReferences (owned by ${primaryName})`,
        true,
        copy.owners.includes(primary.metadata?.uid ?? '?'),
      );
    }
    check(
      `Deployment/${primaryName}.spec.selector`,
      { matchLabels: { [sel.key]: `${sel.value}-primary` } },
      primary.spec?.selector,
    );
    for (const f of [
      'strategy',
      'minReadySeconds',
      'progressDeadlineSeconds',
      'revisionHistoryLimit',
    ] as const)
      check(`Deployment/${primaryName}.spec.${f}`, target.spec?.[f], primary.spec?.[f]);
    const wantLabels = { ...(target.metadata?.labels ?? {}), [sel.key]: `${sel.value}-primary` };
    check(`Deployment/${primaryName}.metadata.labels`, wantLabels, primary.metadata?.labels);
    check(
      `Deployment/${primaryName}.metadata.annotations`,
      ownedAnnotations(target.metadata?.annotations),
      ownedAnnotations(primary.metadata?.annotations),
    );
    const replicas = primary.spec?.replicas ?? 1;
    checked++;
    if (spec.autoscaler) {
      const min = spec.autoscaler.minReplicas ?? 1;
      const max = spec.autoscaler.maxReplicas ?? Number.MAX_SAFE_INTEGER;
      if (replicas < min || replicas > max)
        findings.push(
          `Deployment/${primaryName}.spec.replicas: ${replicas} outside the HPA's ${min}..${max}`,
        );
    } else {
      const own = baseline.target.spec?.replicas ?? 1;
      const want = own > 0 ? own : (baseline.primary?.spec?.replicas ?? 1);
      if (replicas !== want)
        findings.push(`Deployment/${primaryName}.spec.replicas: expected ${want}, got ${replicas}`);
    }
    checked++;
    if (!rolledOut(primary)) {
      const st = primary.status ?? {};
      findings.push(
        `Deployment/${primaryName}: rollout not finished (replicas ${st.replicas ?? 0}, updated ${st.updatedReplicas ?? 0}, available ${st.availableReplicas ?? 0}, want ${replicas})`,
      );
    }
  }

  // --- Services
  const svc = spec.service;
  const wantPort = { name: svc.portName, port: svc.port, targetPort: svc.targetPort, protocol: 'TCP' };
  const wantPorts = [
    wantPort,
    ...(svc.portDiscovery ? containerPorts(baseline.target.spec?.template.spec?.containers ?? [], svc) : []),
  ];
  for (const [name, value] of [
    [svc.name, `${sel.value}-primary`],
    [`${svc.name}-primary`, `${sel.value}-primary`],
    [`${svc.name}-canary`, sel.value],
  ] as const) {
    try {
      const s = await core.readNamespacedService({ namespace: ns, name });
      check(`Service/${name}.spec.selector`, { [sel.key]: value }, s.spec?.selector);
      const ports = (s.spec?.ports ?? []).map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort,
        protocol: p.protocol,
      }));
      check(`Service/${name}.spec.ports`, wantPorts, ports);
    } catch (e) {
      findings.push(
        `Service/${name}: ${e instanceof k8s.ApiException && e.code === 404 ? 'missing' : String(e)}`,
      );
    }
  }

  // --- routes
  const to = end.traffic === 'primary' ? { primary: 100, canary: 0 } : { primary: 0, canary: 100 };
  const get = async (
    group: string,
    plural: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined> => {
    try {
      return (await custom.getNamespacedCustomObject({
        group,
        version: 'v1',
        plural,
        namespace: ns,
        name,
      })) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof k8s.ApiException && e.code === 404) return undefined;
      throw e;
    }
  };
  if (spec.provider === 'istio') {
    const vs = (await get('networking.istio.io', 'virtualservices', svc.name)) as
      { spec?: { http?: Array<Record<string, unknown>> } } | undefined;
    if (!vs) findings.push(`VirtualService/${svc.name}: missing`);
    else {
      const http = vs.spec?.http ?? [];
      const sticky = spec.sessionAffinity ? 1 : 0;
      check(`VirtualService/${svc.name}.spec.http.length (no A/B match route left)`, 1 + sticky, http.length);
      if (sticky) {
        // Flagger: at weight 0 a request with the canary cookie is routed like the others and the cookie expired.
        const expire = http[0] ?? {};
        const cookie = (
          expire.match as Array<{ headers?: Record<string, { regex?: string }> }> | undefined
        )?.[0]?.headers?.Cookie?.regex;
        if (!cookie)
          findings.push(`VirtualService/${svc.name}.spec.http[0]: no Cookie match (session affinity)`);
        const set = (expire.headers as { response?: { add?: Record<string, string> } } | undefined)?.response
          ?.add?.['Set-Cookie'];
        if (!set?.endsWith('; Max-Age=-1'))
          findings.push(
            `VirtualService/${svc.name}.spec.http[0]: the canary cookie is not expired (${String(set)})`,
          );
        const r =
          (expire.route as Array<{ destination: { host: string }; weight?: number }> | undefined) ?? [];
        check(
          `VirtualService/${svc.name}.spec.http[0] weights`,
          { [`${svc.name}-primary`]: to.primary, [`${svc.name}-canary`]: to.canary },
          Object.fromEntries(r.map((d) => [d.destination.host, d.weight ?? 0])),
        );
      }
      if (svc.delegation) {
        const vsSpec = vs.spec as Record<string, unknown> | undefined;
        check(`VirtualService/${svc.name}.spec.hosts (delegate)`, undefined, vsSpec?.hosts);
        check(`VirtualService/${svc.name}.spec.gateways (delegate)`, undefined, vsSpec?.gateways);
      }
      const main = http[http.length - 1] ?? {};
      const route =
        (main.route as Array<{ destination: { host: string }; weight?: number }> | undefined) ?? [];
      const weights = Object.fromEntries(route.map((r) => [r.destination.host, r.weight ?? 0]));
      check(
        `VirtualService/${svc.name} weights`,
        { [`${svc.name}-primary`]: to.primary, [`${svc.name}-canary`]: to.canary },
        weights,
      );
      check(`VirtualService/${svc.name} mirror`, null, main.mirror ?? main.mirrorPercentage ?? null);
    }
    for (const host of [`${svc.name}-primary`, `${svc.name}-canary`]) {
      const dr = (await get('networking.istio.io', 'destinationrules', host)) as
        { spec?: { host?: string } } | undefined;
      if (!dr) findings.push(`DestinationRule/${host}: missing`);
      else check(`DestinationRule/${host}.spec.host`, host, dr.spec?.host);
    }
  } else if (spec.provider === 'kubernetes') {
    // No mesh: Services only. Nothing may have written a route for the apex (the namespace check catches other
    // names); traffic follows the apex Service, which selects the primary whatever the outcome.
    for (const [group, plural, kind] of [
      ['networking.istio.io', 'virtualservices', 'VirtualService'],
      ['gateway.networking.k8s.io', 'httproutes', 'HTTPRoute'],
    ] as const)
      if (await get(group, plural, svc.name))
        findings.push(`${kind}/${svc.name}: present, but provider kubernetes writes no routing object`);
  } else {
    const route = (await get('gateway.networking.k8s.io', 'httproutes', svc.name)) as
      { spec?: { rules?: Array<Record<string, unknown>> } } | undefined;
    if (!route) findings.push(`HTTPRoute/${svc.name}: missing`);
    else {
      const rules = route.spec?.rules ?? [];
      const sticky = spec.sessionAffinity ? 1 : 0;
      check(`HTTPRoute/${svc.name}.spec.rules.length (no A/B match rule left)`, 1 + sticky, rules.length);
      if (sticky) {
        const expire = rules[0] ?? {};
        const headers = (
          expire.matches as Array<{ headers?: Array<{ name: string; type?: string }> }> | undefined
        )?.[0]?.headers;
        if (!headers?.some((h) => h.name === 'Cookie' && h.type === 'RegularExpression'))
          findings.push(`HTTPRoute/${svc.name}.spec.rules[0]: no Cookie match (session affinity)`);
        const adds = ((expire.filters as Array<Record<string, unknown>> | undefined) ?? []).flatMap(
          (f) =>
            (f.responseHeaderModifier as { add?: Array<{ name: string; value: string }> } | undefined)?.add ??
            [],
        );
        if (!adds.some((a) => a.name === 'Set-Cookie' && a.value.endsWith('; Max-Age=-1')))
          findings.push(`HTTPRoute/${svc.name}.spec.rules[0]: the canary cookie is not expired`);
      }
      const main = rules[rules.length - 1] ?? {};
      const refs = (main.backendRefs as Array<{ name: string; weight?: number }> | undefined) ?? [];
      check(
        `HTTPRoute/${svc.name} weights`,
        { [`${svc.name}-primary`]: to.primary, [`${svc.name}-canary`]: to.canary },
        Object.fromEntries(refs.map((r) => [r.name, r.weight ?? 1])),
      );
      const mirrors = ((main.filters as Array<{ type: string }> | undefined) ?? []).filter(
        (f) => f.type === 'RequestMirror',
      );
      check(`HTTPRoute/${svc.name} mirror filters`, 0, mirrors.length);
    }
  }

  // --- primary HPA
  if (spec.autoscaler) {
    const hpaApi = kc.makeApiClient(k8s.AutoscalingV2Api);
    const name = `${spec.autoscaler.name}-primary`;
    try {
      const [h, src] = await Promise.all([
        hpaApi.readNamespacedHorizontalPodAutoscaler({ namespace: ns, name }),
        hpaApi.readNamespacedHorizontalPodAutoscaler({ namespace: ns, name: spec.autoscaler.name }),
      ]);
      check(
        `HorizontalPodAutoscaler/${name}.spec.scaleTargetRef.name`,
        primaryName,
        h.spec?.scaleTargetRef.name,
      );
      check(
        `HorizontalPodAutoscaler/${name}.spec.minReplicas`,
        spec.autoscaler.minReplicas ?? src.spec?.minReplicas,
        h.spec?.minReplicas,
      );
      check(
        `HorizontalPodAutoscaler/${name}.spec.maxReplicas`,
        spec.autoscaler.maxReplicas ?? src.spec?.maxReplicas,
        h.spec?.maxReplicas,
      );
    } catch (e) {
      findings.push(`HorizontalPodAutoscaler/${name}: ${e instanceof k8s.ApiException ? e.code : String(e)}`);
    }
  }

  // --- nothing removed, nothing orphaned
  const now = await listObjects(kc, ns);
  const allowed = new Set([...baseline.objects, ...expectedObjects(spec), ...copies]);
  checked += 2;
  for (const o of baseline.objects)
    if (!now.includes(o)) findings.push(`${o}: the user's object was removed`);
  for (const o of now) if (!allowed.has(o)) findings.push(`${o}: not the user's and not Fledge's (orphaned)`);

  return { ok: findings.length === 0, checked, findings };
}

/** One line for logs and the demo. */
export function formatVerdict(v: Verdict): string {
  return v.ok
    ? `end state OK (${v.checked} checks)`
    : `end state WRONG (${v.findings.length} of ${v.checked} checks):\n  - ${v.findings.join('\n  - ')}`;
}

/**
 * Watches the primary's ready replicas during a release and records every drop below what its rolling-update
 * strategy allows (spec.replicas − maxUnavailable). Starts counting once the primary has been fully ready once.
 */
export function watchPrimaryCapacity(
  kc: k8s.KubeConfig,
  namespace: string,
  target: string,
): { stop: () => Promise<{ violations: string[]; minReady: number | null; samples: number }> } {
  const name = `${target}-primary`;
  const violations: string[] = [];
  let minReady: number | null = null;
  let samples = 0;
  let armed = false;
  let stopped = false;
  const observe = (d: k8s.V1Deployment): void => {
    samples++;
    const want = d.spec?.replicas ?? 1;
    const ready = d.status?.readyReplicas ?? 0;
    if (!armed) {
      if (ready >= want) armed = true;
      else return;
    }
    minReady = minReady === null ? ready : Math.min(minReady, ready);
    const floor = want - resolveMaxUnavailable(d, want);
    if (ready < floor && violations.length < 20)
      violations.push(
        `${name}: ${ready} ready < ${floor} allowed (replicas ${want}) at ${new Date().toISOString()}`,
      );
  };
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  // Polls every 200 ms: a watch connection can be dropped silently by the fault proxy the matrix puts in front
  // of the apiserver, and this checker must keep seeing the real apiserver (it uses its own kubeconfig).
  const loop = (async () => {
    while (!stopped) {
      try {
        observe(await apps.readNamespacedDeployment({ namespace, name }));
      } catch {
        // not created yet, or a transient error: nothing to observe
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { violations, minReady, samples };
    },
  };
}

/**
 * The oracle's view of a Canary manifest (names, port, router, autoscaler), from the same YAML the release uses. The
 * file may be as Flagger users keep it: other kinds are ignored, MetricTemplates/AlertProviders it references need
 * not be in it, and without `spec.provider` the router is `defaultProvider`, else `gatewayapi:v1` when the Canary
 * has `gatewayRefs`, else istio (the front step's rules, docs/spec.md).
 */
export function oracleSpecFromYaml(yaml: string, opts: { defaultProvider?: string } = {}): OracleSpec {
  const docs = yamlDocuments(yaml);
  if (!docs.ok) throw new Error(`oracle: the spec does not parse: ${docs.errors[0]?.message ?? ''}`);
  const canaryDoc = docs.documents.find((d) => (d as { kind?: unknown } | null)?.kind === 'Canary') as
    { spec?: Record<string, unknown> } | undefined;
  if (!canaryDoc?.spec) throw new Error('oracle: no Canary in the spec');
  // Only the Canary matters here: references to other objects are dropped before validating it.
  const strip = (a: unknown) => {
    if (typeof a !== 'object' || a === null) return a;
    const analysis = a as { metrics?: Array<{ templateRef?: unknown }>; alerts?: unknown };
    const { alerts: _alerts, ...rest } = analysis;
    return { ...rest, metrics: (analysis.metrics ?? []).filter((m) => !m.templateRef) };
  };
  const spec = { ...canaryDoc.spec };
  if (spec.analysis) spec.analysis = strip(spec.analysis);
  if (spec.canaryAnalysis) spec.canaryAnalysis = strip(spec.canaryAnalysis);
  const gatewayRefs = (spec.service as { gatewayRefs?: unknown[] } | undefined)?.gatewayRefs ?? [];
  if (spec.provider === undefined) {
    if (opts.defaultProvider) spec.provider = opts.defaultProvider;
    else if (gatewayRefs.length > 0) spec.provider = 'gatewayapi:v1';
  }
  const parsed = validateCanaryBundle([{ ...canaryDoc, spec }]);
  if (!parsed.ok) throw new Error(`oracle: the spec does not parse: ${parsed.errors[0]?.message ?? ''}`);
  const bundle = parsed.value;
  const service = compileServiceSpec(bundle);
  const hpa = compileAutoscaler(bundle);
  const analysis = bundle.canary.spec.analysis ?? bundle.canary.spec.canaryAnalysis;
  return {
    namespace: bundle.canary.metadata.namespace ?? 'default',
    target: bundle.canary.spec.targetRef.name,
    provider:
      bundle.canary.spec.provider === 'gatewayapi:v1' || bundle.canary.spec.provider === 'kubernetes'
        ? bundle.canary.spec.provider
        : 'istio',
    service: {
      name: service.name,
      port: service.port,
      portName: service.portName,
      targetPort: service.targetPort,
      ...(bundle.canary.spec.service.portDiscovery === true ? { portDiscovery: true } : {}),
      ...(bundle.canary.spec.service.delegation === true ? { delegation: true } : {}),
    },
    // As compiled: ignored (with a notice) without a weighted canary on istio/gatewayapi:v1.
    ...(analysis?.sessionAffinity && compileRouterSpec(bundle).sessionAffinity
      ? { sessionAffinity: true }
      : {}),
    ...(hpa
      ? {
          autoscaler: {
            name: hpa.name,
            ...(hpa.primaryScalerReplicas?.minReplicas !== undefined
              ? { minReplicas: hpa.primaryScalerReplicas.minReplicas }
              : {}),
            ...(hpa.primaryScalerReplicas?.maxReplicas !== undefined
              ? { maxReplicas: hpa.primaryScalerReplicas.maxReplicas }
              : {}),
          },
        }
      : {}),
  };
}

/**
 * The extra Service ports of `service.portDiscovery`, derived here from Flagger's rules (pkg/canary/util.go getPorts):
 * each container port except the mesh proxies' (`istio-proxy`, `envoy`) and the one the main port targets; named
 * as the container port, else `tcp-<container>-<index>`; port = targetPort = the container port; by name. A name or
 * number the main port has already is left out.
 */
function containerPorts(
  containers: readonly k8s.V1Container[],
  svc: OracleSpec['service'],
): Array<{ name: string; port: number; targetPort: number; protocol: string }> {
  const found: Record<string, number> = {};
  for (const c of containers) {
    if (c.name === 'istio-proxy' || c.name === 'envoy') continue;
    (c.ports ?? []).forEach((p, i) => {
      const targeted =
        typeof svc.targetPort === 'number' ? p.containerPort === svc.targetPort : p.name === svc.targetPort;
      if (!targeted) found[p.name ? p.name : `tcp-${c.name}-${i}`] = p.containerPort;
    });
  }
  return Object.keys(found)
    .sort()
    .filter((name) => name !== svc.portName && found[name] !== svc.port)
    .map((name) => ({ name, port: found[name] ?? 0, targetPort: found[name] ?? 0, protocol: 'TCP' }));
}
