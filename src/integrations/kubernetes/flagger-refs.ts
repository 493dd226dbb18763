// Reads the MetricTemplates and AlertProviders a Canary references from the cluster (Flagger's CRDs,
// flagger.app/v1beta1), for the release input's front step (src/domain/manifest/normalize.ts decides what to look
// up and what a result means; this adapter only reads). One GET per reference, only when the file lacks it.
import * as k8s from '@kubernetes/client-node';
import { readCustomObject } from './client.js';
import type { FlaggerReference, ReferenceLookup } from '../../domain/manifest/normalize.js';

/** Looks up references; never throws for a missing object or a refused read (each is an outcome). */
export type FlaggerRefLookup = (refs: readonly FlaggerReference[]) => Promise<ReferenceLookup[]>;

// Flagger's CRDs, as the object refs the lookup reads (one GET each).
const resources = {
  MetricTemplate: { group: 'flagger.app', version: 'v1beta1', plural: 'metrictemplates' },
  AlertProvider: { group: 'flagger.app', version: 'v1beta1', plural: 'alertproviders' },
} as const;

function statusOf(e: unknown): number | undefined {
  if (e instanceof k8s.ApiException) return e.code;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function reasonOf(e: unknown, ref: FlaggerReference): string {
  const code = statusOf(e);
  if (code === 403)
    return `forbidden (HTTP 403): the caller may not get ${resources[ref.kind].plural}.flagger.app in namespace \`${ref.namespace}\``;
  const message = e instanceof Error ? e.message : String(e);
  return `${code !== undefined ? `HTTP ${code}: ` : ''}${message.split('\n')[0]?.slice(0, 300) ?? ''}`;
}

/**
 * A lookup through the given Kubernetes client configuration; each read gives up after `timeoutMs`. A 404 is "not
 * found" (also when Flagger's CRDs are not installed: the apiserver then serves no such resource).
 */
export function createFlaggerRefLookup(
  kc: k8s.KubeConfig,
  opts: { timeoutMs?: number } = {},
): FlaggerRefLookup {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const one = async (ref: FlaggerReference): Promise<ReferenceLookup> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const object = await Promise.race([
        readCustomObject<object>(custom, {
          ...resources[ref.kind],
          namespace: ref.namespace,
          name: ref.name,
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer from the apiserver within ${timeoutMs / 1000} s`)),
            timeoutMs,
          );
        }),
      ]);
      return object === undefined ? { ...ref, outcome: 'not-found' } : { ...ref, outcome: 'found', object };
    } catch (e) {
      return { ...ref, outcome: 'error', reason: reasonOf(e, ref) };
    } finally {
      if (timer) clearTimeout(timer);
    }
  };
  return (refs) => Promise.all(refs.map(one));
}
