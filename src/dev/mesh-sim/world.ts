// The simulator's view of the cluster: route flows plus, per Service, the ready endpoints (pods) with their
// workload (Deployment) and image. Built from plain lists of objects; pure.
import { imageTag, serviceFqdn, serviceKey, type ServiceRef } from './hosts.js';
import { describeMatch, parseHttpRoute, parseVirtualService, type Flow } from './routes.js';

// Minimal shapes of the Kubernetes objects read (the @kubernetes/client-node types are assignable to these).
export interface ObjectMetaLike {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  deletionTimestamp?: Date | string;
  ownerReferences?: Array<{ kind: string; name: string }>;
}
export interface LabelSelectorLike {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
export interface ContainerLike {
  image?: string;
}
export interface ServiceLike {
  metadata?: ObjectMetaLike;
  spec?: { selector?: Record<string, string> };
}
export interface DeploymentLike {
  metadata?: ObjectMetaLike;
  spec?: {
    selector?: LabelSelectorLike;
    template?: { metadata?: ObjectMetaLike; spec?: { containers?: ContainerLike[] } };
  };
}
export interface PodLike {
  metadata?: ObjectMetaLike;
  spec?: { containers?: ContainerLike[] };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export interface ClusterSnapshot {
  virtualServices: unknown[];
  httpRoutes: unknown[];
  services: ServiceLike[];
  deployments: DeploymentLike[];
  pods: PodLike[];
}

export interface WorkloadRef {
  workload: string;
  namespace: string;
  image: string;
  /** destination_version: the image tag */
  version: string;
}

export interface Endpoint extends WorkloadRef {
  pod: string;
}

export interface ServiceInfo {
  ref: ServiceRef;
  fqdn: string;
  /** Ready pods selected by the Service. */
  endpoints: Endpoint[];
  /**
   * Where requests are recorded when there is no ready endpoint: the Deployment whose pod template the
   * selector matches (first by name), else Istio's `unknown`.
   */
  fallback: WorkloadRef;
}

export interface World {
  flows: Flow[];
  services: Map<string, ServiceInfo>;
  /** Route objects the simulator could not read, with the reason. */
  problems: string[];
}

export const emptyWorld = (): World => ({ flows: [], services: new Map(), problems: [] });

export function selectorMatches(
  selector: LabelSelectorLike | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  const ml = Object.entries(selector.matchLabels ?? {});
  const me = selector.matchExpressions ?? [];
  if (ml.length === 0 && me.length === 0) return false; // an empty selector selects nothing here
  if (!ml.every(([k, v]) => l[k] === v)) return false;
  return me.every((e) => {
    const v = l[e.key];
    switch (e.operator) {
      case 'In':
        return v !== undefined && (e.values ?? []).includes(v);
      case 'NotIn':
        return v === undefined || !(e.values ?? []).includes(v);
      case 'Exists':
        return v !== undefined;
      case 'DoesNotExist':
        return v === undefined;
      default:
        return false;
    }
  });
}

export function podReady(pod: PodLike): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The Deployment a pod belongs to: via its ReplicaSet owner (`<deployment>-<pod-template-hash>`), else by selector. */
export function podWorkload(pod: PodLike, deployments: DeploymentLike[]): string {
  const ns = pod.metadata?.namespace;
  const inNs = deployments.filter((d) => d.metadata?.namespace === ns);
  return workloadIn(pod, inNs, new Set(inNs.map((d) => d.metadata?.name ?? '')));
}

/** podWorkload with the pod's namespace's Deployments (and their names) already at hand. */
function workloadIn(pod: PodLike, inNs: DeploymentLike[], names: ReadonlySet<string>): string {
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  const rs = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet');
  if (rs && hash && rs.name.endsWith(`-${hash}`)) {
    const name = rs.name.slice(0, -(hash.length + 1));
    if (names.has(name)) return name;
  }
  const bySelector = inNs.find((d) => selectorMatches(d.spec?.selector, pod.metadata?.labels));
  return bySelector?.metadata?.name ?? pod.metadata?.name ?? 'unknown';
}

/**
 * The objects of one namespace, indexed by each `key=value` label (pods by their labels, Deployments by their
 * template's): a Service's candidates are the objects carrying one of its selector's pairs, then checked in full.
 * Keeps buildWorld linear in the cluster's size (it was services × pods: seconds per poll at a thousand targets).
 */
interface NamespaceIndex {
  pods: PodLike[];
  deployments: DeploymentLike[];
  names: Set<string>;
  podsByLabel: Map<string, PodLike[]>;
  deploymentsByLabel: Map<string, DeploymentLike[]>;
  workloads: Map<PodLike, string>;
}

const emptyIndex = (): NamespaceIndex => ({
  pods: [],
  deployments: [],
  names: new Set(),
  podsByLabel: new Map(),
  deploymentsByLabel: new Map(),
  workloads: new Map(),
});

function indexNamespaces(snap: ClusterSnapshot): Map<string, NamespaceIndex> {
  const m = new Map<string, NamespaceIndex>();
  const of = (ns: string | undefined): NamespaceIndex => {
    const k = ns ?? '';
    let x = m.get(k);
    if (!x) m.set(k, (x = emptyIndex()));
    return x;
  };
  const add = <T>(idx: Map<string, T[]>, labels: Record<string, string> | undefined, o: T): void => {
    for (const [k, v] of Object.entries(labels ?? {})) {
      const key = `${k}=${v}`;
      const l = idx.get(key);
      if (l) l.push(o);
      else idx.set(key, [o]);
    }
  };
  for (const p of snap.pods) {
    const x = of(p.metadata?.namespace);
    x.pods.push(p);
    add(x.podsByLabel, p.metadata?.labels, p);
  }
  for (const d of snap.deployments) {
    const x = of(d.metadata?.namespace);
    x.deployments.push(d);
    x.names.add(d.metadata?.name ?? '');
    add(x.deploymentsByLabel, d.spec?.template?.metadata?.labels, d);
  }
  return m;
}

/** The objects that may match `selector`: those with its first pair, or all of them for an empty selector. */
function candidates<T>(all: T[], byLabel: Map<string, T[]>, selector: Record<string, string>): T[] {
  const first = Object.entries(selector)[0];
  return first ? (byLabel.get(`${first[0]}=${first[1]}`) ?? []) : all;
}

const firstImage = (containers: ContainerLike[] | undefined): string => containers?.[0]?.image ?? '';

export function buildWorld(snap: ClusterSnapshot, clusterDomain = 'cluster.local'): World {
  const problems: string[] = [];
  const flows: Flow[] = [];
  const nameOf = (o: unknown): string => {
    const m = (o as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
    return `${String(m?.namespace)}/${String(m?.name)}`;
  };
  for (const vs of snap.virtualServices) {
    const r = parseVirtualService(vs, clusterDomain);
    if (r.ok) flows.push(r.flow);
    else problems.push(`VirtualService ${nameOf(vs)}: ${r.error}`);
  }
  for (const hr of snap.httpRoutes) {
    const r = parseHttpRoute(hr);
    if (r.ok) flows.push(r.flow);
    else problems.push(`HTTPRoute ${nameOf(hr)}: ${r.error}`);
  }
  flows.sort((a, b) => a.key.localeCompare(b.key));

  const services = new Map<string, ServiceInfo>();
  const namespaces = indexNamespaces(snap);
  for (const svc of snap.services) {
    const name = svc.metadata?.name;
    const namespace = svc.metadata?.namespace;
    if (!name || !namespace) continue;
    const ref = { name, namespace };
    const selector = { matchLabels: svc.spec?.selector ?? {} };
    const x = namespaces.get(namespace) ?? emptyIndex();
    const endpoints: Endpoint[] = candidates(x.pods, x.podsByLabel, selector.matchLabels)
      .filter((p) => podReady(p) && selectorMatches(selector, p.metadata?.labels))
      .map((p) => {
        const image = firstImage(p.spec?.containers);
        let workload = x.workloads.get(p);
        if (workload === undefined) x.workloads.set(p, (workload = workloadIn(p, x.deployments, x.names)));
        return {
          pod: p.metadata?.name ?? '',
          workload,
          namespace,
          image,
          version: imageTag(image),
        };
      })
      .sort((a, b) => a.pod.localeCompare(b.pod));
    const dep = candidates(x.deployments, x.deploymentsByLabel, selector.matchLabels)
      .filter((d) => selectorMatches(selector, d.spec?.template?.metadata?.labels))
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))[0];
    const depImage = firstImage(dep?.spec?.template?.spec?.containers);
    const fallback: WorkloadRef = dep?.metadata?.name
      ? { workload: dep.metadata.name, namespace, image: depImage, version: imageTag(depImage) }
      : { workload: 'unknown', namespace, image: '', version: 'unknown' };
    services.set(serviceKey(ref), { ref, fqdn: serviceFqdn(ref, clusterDomain), endpoints, fallback });
  }
  return { flows, services, problems };
}

function describeTarget(host: string, ref: ServiceRef | null, world: World): string {
  if (!ref) return `${host}(external)`;
  const info = world.services.get(serviceKey(ref));
  if (!info) return `${host}(no such service)`;
  const byWorkload = new Map<string, { n: number; versions: Set<string> }>();
  for (const e of info.endpoints) {
    const w = byWorkload.get(e.workload) ?? { n: 0, versions: new Set<string>() };
    w.n++;
    w.versions.add(e.version);
    byWorkload.set(e.workload, w);
  }
  if (byWorkload.size === 0) return `${host}(${info.fallback.workload} 0 ready → 503)`;
  const ws = [...byWorkload.entries()].map(([w, s]) => `${w} ${s.n} ready ${[...s.versions].join('/')}`);
  return `${host}(${ws.join(', ')})`;
}

/** One line describing the effective routing of a flow (what it matches, where it sends, who serves). */
export function describeFlow(flow: Flow, world: World): string {
  const rules = flow.rules.map((r, i) => {
    const match = r.matches.length === 0 ? '*' : r.matches.map(describeMatch).join(' | ');
    const dests = r.destinations
      .map((d) => `${describeTarget(d.host, d.service, world)} ${d.weight}`)
      .join(', ');
    const mirrors = r.mirrors
      .map((m) => ` mirror ${describeTarget(m.host, m.service, world)} ${m.percent}%`)
      .join('');
    return `[${i}] ${match} → ${dests || 'no destination'}${mirrors}`;
  });
  return `${flow.kind} ${flow.namespace}/${flow.name}: ${rules.length > 0 ? rules.join('; ') : 'no http routes'}`;
}
