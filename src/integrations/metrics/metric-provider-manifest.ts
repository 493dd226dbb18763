// The pure half of a metrics provider plugin: what the manifest layer needs to know about a MetricTemplate
// `spec.provider.type`, without client code. Each provider folder has a `manifest.ts` exporting one
// MetricProviderManifest (importable by domain code) and its runtime half (the MetricsProvider factory, worker
// only). Registries: `manifests.ts` (pure) and `providers.ts` (runtime), keyed by the same type names.
//
// Built-in checks (`request-success-rate`, `request-duration`) are not a metrics provider's: as in Flagger (its
// observers, pkg/metrics/observers), they are the ROUTER's queries on the worker's Prometheus — see
// ../traffic/router-manifest.ts `builtins`. PURE.
import type { z } from 'zod';
import type { RenderResult, TemplateContext } from '../../domain/promql.js';

export interface MetricProviderManifest {
  /** The MetricTemplate `spec.provider.type`. */
  readonly type: string;
  /**
   * The provider's own rules for the `spec.provider` block, beyond the shape of Flagger's fields (type, address,
   * headers, secretRef, region, insecureSkipVerify — prometheus/manifest.ts): run on the block, its issues reported
   * at their path inside it. Unknown keys are the common shape's to report, so this may be a loose object.
   */
  readonly rules?: z.ZodType;
  /** Renders a template's query in the provider's query language (validation dry-runs it; the provider sends it). */
  render(template: string, ctx: TemplateContext): RenderResult;
}
