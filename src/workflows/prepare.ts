// From the workflow input (the spec documents as JSON + images) to the plan and the activities' context.
// Pure and deterministic: the same validation as the CLI runs here again, because the Web UI (or
// `temporal workflow start`) can start a release with any input.
import { fnv1a, type ReleaseContext } from '../domain/context.js';
import type { ReleasePlan } from '../domain/plan.js';
import type { ReleaseState } from '../domain/state.js';
// Imported module by module (not through manifest/index.ts) so the YAML parser stays out of the workflow bundle.
import { compileRelease } from '../domain/manifest/compile.js';
import { formatSpecErrors, type SpecError } from '../domain/manifest/errors.js';
import { validateImages } from '../domain/manifest/image.js';
import type { CompiledRelease } from '../domain/manifest/types.js';
import { validateCanaryBundle } from '../domain/manifest/validate.js';

export interface ReleaseInput {
  /** The Canary, MetricTemplate and AlertProvider documents, as JSON (e.g. a parsed multi-document YAML). */
  documents: unknown[];
  /** container name → new image reference. */
  images: Record<string, string>;
  /** Who started the release (CI job, user). */
  initiator: string;
  /** Set by continue-as-new only. */
  carried?: {
    state: ReleaseState;
    /** The primary's images before this release (for notifications). */
    previousImages?: Record<string, string>;
    /** Notifier key → the conversation this release lives in (Slack thread). */
    threads?: Record<string, { channel: string; ts: string }>;
  };
}

export type Prepared =
  | { ok: true; plan: ReleasePlan; ctx: ReleaseContext; compiled: CompiledRelease }
  | { ok: false; message: string; errors: SpecError[] };

export function prepareRelease(input: ReleaseInput, workflowId: string): Prepared {
  if (!input || typeof input !== 'object' || !Array.isArray(input.documents)) {
    const errors: SpecError[] = [
      {
        path: 'input.documents',
        message: 'expected an array of Canary/MetricTemplate/AlertProvider documents',
      },
    ];
    return { ok: false, message: formatSpecErrors(errors), errors };
  }
  const bundle = validateCanaryBundle(input.documents);
  const imageErrors = validateImages(input.images);
  if (!bundle.ok || imageErrors.length > 0) {
    const errors = [...(bundle.ok ? [] : bundle.errors), ...imageErrors];
    return { ok: false, message: `invalid release input:\n${formatSpecErrors(errors)}`, errors };
  }
  const compiled = compileRelease(bundle.value, input.images);
  const svc = compiled.router.service;
  const gateways =
    compiled.router.provider === 'istio'
      ? svc.gateways
      : svc.gatewayRefs.map((g) => (g.namespace ? `${g.namespace}/${g.name}` : g.name));
  const ctx: ReleaseContext = {
    target: { namespace: compiled.plan.target.namespace, name: compiled.plan.target.name },
    provider: compiled.plan.provider,
    service: {
      name: svc.name,
      port: svc.port,
      targetPort: svc.targetPort,
      portName: svc.portName,
      ...(svc.appProtocol ? { appProtocol: svc.appProtocol } : {}),
      hosts: svc.hosts,
      gateways,
      match: compiled.router.abMatch as ReleaseContext['service']['match'],
      options: {
        ...(svc.match.length > 0 ? { match: svc.match as Array<Record<string, unknown>> } : {}),
        ...(svc.timeout ? { timeout: svc.timeout } : {}),
        ...(svc.retries ? { retries: svc.retries } : {}),
        ...(svc.headers ? { headers: svc.headers } : {}),
        ...(svc.corsPolicy ? { corsPolicy: svc.corsPolicy } : {}),
        ...(svc.rewrite ? { rewrite: svc.rewrite } : {}),
        ...(svc.trafficPolicy ? { trafficPolicy: svc.trafficPolicy } : {}),
        ...(svc.gatewayRefs.length > 0 ? { gatewayRefs: svc.gatewayRefs } : {}),
        ...(svc.mirror.length > 0 ? { mirrors: svc.mirror } : {}),
      },
      metadata: { apex: svc.apex, primary: svc.primary, canary: svc.canary },
    },
    ...(compiled.autoscaler
      ? {
          autoscalerRef: {
            name: compiled.autoscaler.name,
            ...(compiled.autoscaler.primaryScalerReplicas
              ? { primaryScalerReplicas: compiled.autoscaler.primaryScalerReplicas }
              : {}),
          },
        }
      : {}),
    templates: compiled.metricTemplates,
    alerts: compiled.alerts.map((a) => ({
      name: a.name,
      severity: a.severity,
      provider: {
        type: a.provider.type,
        ...(a.provider.channel ? { channel: a.provider.channel } : {}),
        ...(a.provider.username ? { username: a.provider.username } : {}),
        ...(a.provider.address ? { address: a.provider.address } : {}),
        ...(a.provider.secretRef ? { secretName: a.provider.secretRef.name } : {}),
      },
    })),
    eventHooks: compiled.plan.hooks
      .filter((h) => h.type === 'event')
      .map((h) => ({
        name: h.name,
        url: h.url,
        timeoutMs: h.timeoutMs,
        retries: h.retries,
        metadata: h.metadata,
      })),
    checksum: fnv1a(JSON.stringify({ spec: bundle.value.canary.spec, images: input.images })),
    workflowId,
    newImages: { ...input.images },
  };
  return { ok: true, plan: compiled.plan, ctx, compiled };
}
