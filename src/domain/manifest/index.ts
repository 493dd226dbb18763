// The spec layer: Flagger `Canary` / `MetricTemplate` / `AlertProvider` manifests (plus Fledge's `spec.fledge`
// extension) → validated bundle → ReleasePlan and router/metrics/alert settings. PURE: no Node built-ins, no I/O,
// no clock; it runs in the CLI and again at workflow start (the Web UI can start workflows too).
export { formatPath, formatSpecErrors, type PathSegment, type SpecError, type SpecResult } from './errors.js';
export { formatDuration, parseGoDuration, type DurationResult } from './duration.js';
export { imageTagOrDigest, parseImageArgs, parseImageRef, validateImages, type ImageRef } from './image.js';
export {
  defaultYamlLimits,
  describeBytes,
  parseCanaryYaml,
  parseReleaseYaml,
  yamlDocuments,
  type YamlLimits,
} from './yaml.js';
export {
  canaryReferences,
  missingReferences,
  normalizeDocuments,
  type ClusterReferences,
  type FlaggerReference,
  type NormalizeOptions,
  type ReferenceLookup,
  type SpecNotice,
} from './normalize.js';
export { validateCanaryBundle, type ParsedCanaryBundle } from './validate.js';
export {
  compileAlerts,
  compileAutoscaler,
  compileMetricTemplates,
  compileRelease,
  compileReleasePlan,
  compileRouterSpec,
  compileServiceSpec,
  flaggerDefaults,
  mergeMatchConditions,
} from './compile.js';
export {
  builtinMetricNames,
  flaggerApiVersion,
  flaggerOnlyRouters,
  manualGateNames,
  supportedProviders,
  type AlertProviderManifest,
  type AnalysisSpec,
  type CanaryManifest,
  type CanarySpec,
  type FledgeExtension,
  type MetricTemplateManifest,
} from './schema.js';
export type * from './types.js';
