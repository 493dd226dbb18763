// Host names → Services, FQDNs, image tags. Pure.

export interface ServiceRef {
  name: string;
  namespace: string;
}

export const serviceKey = (ref: ServiceRef): string => `${ref.namespace}/${ref.name}`;

export function serviceFqdn(ref: ServiceRef, clusterDomain = 'cluster.local'): string {
  return `${ref.name}.${ref.namespace}.svc.${clusterDomain}`;
}

/**
 * Resolves a route destination host to a Service the way Istio reads it: `svc` is relative to the
 * route's namespace; `svc.ns`, `svc.ns.svc` and `svc.ns.svc.<clusterDomain>` name a Service in `ns`.
 * Anything else (external names, wildcards) resolves to null.
 */
export function resolveHost(
  host: string,
  defaultNamespace: string,
  clusterDomain = 'cluster.local',
): ServiceRef | null {
  let h = host.trim().toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h === '' || h.includes('*') || h.includes('/')) return null;
  const fq = `.svc.${clusterDomain.toLowerCase()}`;
  let explicitNs = false;
  if (h.endsWith(fq)) {
    h = h.slice(0, -fq.length);
    explicitNs = true;
  } else if (h.endsWith('.svc')) {
    h = h.slice(0, -'.svc'.length);
    explicitNs = true;
  }
  const parts = h.split('.');
  if (parts.some((p) => p === '')) return null;
  if (parts.length === 1 && !explicitNs) return { name: parts[0] as string, namespace: defaultNamespace };
  if (parts.length === 2) return { name: parts[0] as string, namespace: parts[1] as string };
  return null;
}

/**
 * The version label of an image: its tag (`ghcr.io/acme/app:1.2.3` → `1.2.3`), else its digest,
 * else `latest`. A registry port (`localhost:5000/app`) is not a tag.
 */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : '';
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) return name.slice(colon + 1);
  return digest !== '' ? digest : 'latest';
}
