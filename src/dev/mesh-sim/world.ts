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
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  const rs = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet');
  if (rs && hash && rs.name.endsWith(`-${hash}`)) {
    const name = rs.name.slice(0, -(hash.length + 1));
    if (inNs.some((d) => d.metadata?.name === name)) return name;
  }
  const bySelector = inNs.find((d) => selectorMatches(d.spec?.selector, pod.metadata?.labels));
  return bySelector?.metadata?.name ?? pod.metadata?.name ?? 'unknown';
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
  for (const svc of snap.services) {
    const name = svc.metadata?.name;
    const namespace = svc.metadata?.namespace;
    if (!name || !namespace) continue;
    const ref = { name, namespace };
    const selector = { matchLabels: svc.spec?.selector ?? {} };
    const endpoints: Endpoint[] = snap.pods
      .filter(
        (p) =>
          p.metadata?.namespace === namespace && podReady(p) && selectorMatches(selector, p.metadata?.labels),
      )
      .map((p) => {
        const image = firstImage(p.spec?.containers);
        return {
          pod: p.metadata?.name ?? '',
          workload: podWorkload(p, snap.deployments),
          namespace,
          image,
          version: imageTag(image),
        };
      })
      .sort((a, b) => a.pod.localeCompare(b.pod));
    const dep = snap.deployments
      .filter(
        (d) =>
          d.metadata?.namespace === namespace &&
          selectorMatches(selector, d.spec?.template?.metadata?.labels),
      )
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
