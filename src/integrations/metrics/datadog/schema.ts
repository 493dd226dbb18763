// The zod rules for a MetricTemplate `spec.provider` block of type `datadog`, for the metrics provider registry.
// Flagger's MetricTemplateProvider fields, as its Datadog provider uses them:
//   - `type: datadog`;
//   - `address`: the Datadog API site, http(s) URL; omitted → https://api.datadoghq.com (other sites:
//     https://api.datadoghq.eu, https://api.us3.datadoghq.com, …);
//   - `secretRef: {name}`: REQUIRED — a Secret of the template's namespace with `datadog_api_key` and
//     `datadog_application_key` (Flagger fails every check of a datadog template without it);
//   - `headers`: refused — Flagger's Datadog provider sends no template headers (only its two key headers), so a
//     value would be silently ignored; `region`: CloudWatch only; `insecureSkipVerify`: not supported yet.
// Zero values of the refused fields (`headers: {}`, `insecureSkipVerify: false`, `region: ""`) pass, as elsewhere
// in the manifest schemas. PURE.
import { z } from 'zod';
import { httpUrl, notYet, objectName } from '../../../domain/manifest/schema-common.js';

/** A field Flagger's Datadog provider does not read: any non-zero value is an error saying so. */
function notUsed(why: string) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      const off =
        value === null ||
        value === false ||
        value === '' ||
        (Array.isArray(value) && value.length === 0) ||
        (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
      if (!off) ctx.addIssue({ code: 'custom', message: `not used by the datadog provider (${why})` });
    })
    .optional();
}

export const datadogProviderSchema = z.strictObject({
  type: z.literal('datadog'),
  /** Datadog API base URL; omitted → https://api.datadoghq.com. */
  address: httpUrl.optional(),
  /** The Secret with `datadog_api_key` and `datadog_application_key` (resolved by the worker, never in history). */
  secretRef: z.strictObject(
    { name: objectName },
    {
      error: (issue) =>
        issue.input === undefined
          ? 'missing required field: the datadog provider needs a Secret with datadog_api_key and datadog_application_key (secretRef: {name: …})'
          : undefined,
    },
  ),
  headers: notUsed('it sends only the DD-API-KEY and DD-APPLICATION-KEY headers, from secretRef'),
  region: notUsed('region is only used by CloudWatch'),
  insecureSkipVerify: notYet(),
});

export type DatadogProviderBlock = z.infer<typeof datadogProviderSchema>;
