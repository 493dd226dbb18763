// Prometheus, the pure half (see ../metric-provider-manifest.ts): MetricTemplates with `provider.type: prometheus`
// (Flagger's default type). The fields of Flagger's MetricTemplateProvider as Prometheus reads them are the common
// shape of every provider block (the manifest schema checks each block against it, then the type's own rules):
// `address` (omitted → the worker's Prometheus), `headers` (never credentials: the spec is kept in workflow history),
// `secretRef` (token or username/password, resolved by the worker). Queries are PromQL (src/domain/promql.ts). PURE.
import { z } from 'zod';
import { httpUrl, notYet, objectName } from '../../../domain/manifest/schema-common.js';
import { renderQuery } from '../../../domain/promql.js';
import type { MetricProviderManifest } from '../metric-provider-manifest.js';

/** Header names that carry credentials (refused in MetricTemplate headers: use secretRef). */
export function credentialHeader(name: string): boolean {
  const n = name.toLowerCase();
  return (
    n === 'authorization' ||
    n === 'proxy-authorization' ||
    n === 'cookie' ||
    /token|secret|password|passwd|api[-_]?key|credential|session|auth/.test(n)
  );
}

/** Flagger's MetricTemplateProvider fields except `type` (the registry checks that one). */
export const providerFields = {
  /** Prometheus base URL; omitted → the worker's Prometheus. */
  address: httpUrl.optional(),
  /**
   * HTTP headers sent with each query (Go http.Header: name → values). Not for credentials: the spec travels
   * in workflow history, so credential-like headers are refused here (use secretRef).
   */
  headers: z
    .record(z.string(), z.array(z.string()))
    .superRefine((headers, ctx) => {
      for (const name of Object.keys(headers))
        if (credentialHeader(name))
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `header ${JSON.stringify(name.slice(0, 64))} looks like a credential: credentials never go in the spec (it is kept in workflow history); put them in a Secret and use provider.secretRef`,
          });
    })
    .optional(),
  /** Credentials resolved by the worker (mounted Secret or env), never in the spec or history. */
  secretRef: z.strictObject({ name: objectName }).optional(),
  region: notYet('only used by CloudWatch'),
  insecureSkipVerify: notYet(),
};

export const prometheusManifest = {
  type: 'prometheus',
  render: renderQuery,
} as const satisfies MetricProviderManifest;
