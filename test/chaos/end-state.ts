// The one place the end-state oracle plugs into the fault matrix: a baseline of the target's objects before the
// release, and a check of the live objects against the release's outcome afterwards.
import type { ReleaseResult } from '../../src/domain/result.js';
import type { KubeClients } from '../support/stack.js';
import { virtualService } from './kit.js';
import {
  captureBaseline,
  verifyEndState,
  type Baseline as Baseline_,
  type OracleSpec,
} from '../../src/dev/oracle.js';

export interface EndStateCheck {
  ok: boolean;
  problems: string[];
}

export interface EndStateOracle {
  name: string;
  capture(k: KubeClients, namespace: string): Promise<unknown>;
  verify(
    k: KubeClients,
    namespace: string,
    baseline: unknown,
    result: ReleaseResult,
    release: { newImages: Record<string, string> },
  ): Promise<EndStateCheck>;
}

interface Baseline {
  images: Record<string, string>;
  hadRoutes: boolean;
}

async function images(
  k: KubeClients,
  namespace: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  try {
    const d = await k.apps.readNamespacedDeployment({ name, namespace });
    return Object.fromEntries((d.spec?.template.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));
  } catch {
    return undefined;
  }
}

/** Traffic checks: routes, primary image, canary scale per outcome, and no traffic to a missing/unready Deployment. */
export const interimOracle: EndStateOracle = {
  name: 'interim',
  async capture(k, namespace) {
    return {
      images: (await images(k, namespace, 'podinfo')) ?? {},
      hadRoutes: (await virtualService(k, namespace)) !== undefined,
    } satisfies Baseline;
  },
  async verify(k, namespace, baseline, result, release) {
    const problems: string[] = [];
    const base = baseline as Baseline;
    const vs = await virtualService(k, namespace);
    const main = vs?.http.find((r) => !r.match) ?? vs?.http[0];
    const w = Object.fromEntries((main?.route ?? []).map((r) => [r.destination.host, r.weight ?? 0]));
    const primaryImages = await images(k, namespace, 'podinfo-primary');
    let canaryReplicas: number | undefined;
    try {
      canaryReplicas =
        (await k.apps.readNamespacedDeployment({ name: 'podinfo', namespace })).spec?.replicas ?? 0;
    } catch {
      canaryReplicas = undefined;
    }
    // Whatever the outcome: every destination that gets traffic is a Deployment that exists and serves.
    for (const [host, weight] of Object.entries(w)) {
      if (weight <= 0) continue;
      const name =
        host === 'podinfo-primary' ? 'podinfo-primary' : host === 'podinfo-canary' ? 'podinfo' : host;
      const d = await k.apps.readNamespacedDeployment({ name, namespace }).catch(() => undefined);
      if (!d) problems.push(`${weight}% of traffic to ${host}, whose Deployment ${name} does not exist`);
      else if ((d.status?.readyReplicas ?? 0) === 0)
        problems.push(`${weight}% of traffic to ${host}, whose Deployment ${name} has no ready replica`);
    }
    if (result.outcome === 'Promoted' || result.outcome === 'RolledBack' || result.outcome === 'Aborted') {
      if (w['podinfo-primary'] !== 100 || (w['podinfo-canary'] ?? 0) !== 0)
        problems.push(`routes ${JSON.stringify(w)}, want 100% primary`);
      if (vs && vs.http.some((r) => r.mirror || r.match)) problems.push('mirror/match route left behind');
      if (canaryReplicas !== 0) problems.push(`canary replicas ${canaryReplicas ?? 'missing'}, want 0`);
      const want = result.outcome === 'Promoted' ? release.newImages : base.images;
      if (JSON.stringify(primaryImages) !== JSON.stringify(want))
        problems.push(`primary images ${JSON.stringify(primaryImages)}, want ${JSON.stringify(want)}`);
    } else if (result.outcome === 'Failed') {
      // Failed before any route existed (e.g. at initialise): no traffic was ever moved.
      const neverRouted = vs === undefined && !base.hadRoutes;
      if (result.reason.code === 'primary-missing') {
        // The primary vanished: everything on the canary, which keeps serving (the loop above checks it serves).
        if ((w['podinfo-canary'] ?? 0) !== 100)
          problems.push(`routes ${JSON.stringify(w)} after primary-missing, want 100% canary`);
      } else if (!result.primaryPromoted && !neverRouted && w['podinfo-primary'] !== 100)
        problems.push(
          `routes ${JSON.stringify(w)} after Failed (not promoted): traffic not restored to primary`,
        );
    }
    return { ok: problems.length === 0, problems };
  },
};

interface ModelBaseline {
  interim: unknown;
  model: Baseline_;
}

/**
 * The model oracle (src/dev/oracle.ts, field by field, as every e2e test uses it) for releases that end in an outcome
 * the model defines, on top of the traffic checks above. A `Failed` release (infrastructure given up, objects
 * deleted by hand) has no defined end state beyond "no traffic to what does not exist / not restored": the checks
 * above cover it.
 */
export const modelOracle: EndStateOracle = {
  name: 'model',
  async capture(k, namespace) {
    const spec: OracleSpec = {
      namespace,
      target: 'podinfo',
      provider: 'istio',
      service: { name: 'podinfo', port: 9898, portName: 'http', targetPort: 9898 },
    };
    return {
      interim: await interimOracle.capture(k, namespace),
      model: await captureBaseline(k.kc, spec),
    } satisfies ModelBaseline;
  },
  async verify(k, namespace, baseline, result, release) {
    const b = baseline as ModelBaseline;
    const interim = await interimOracle.verify(k, namespace, b.interim, result, release);
    if (result.outcome === 'Failed') return interim;
    const model = await verifyEndState(k.kc, b.model, result, release.newImages);
    const problems = [...interim.problems, ...model.findings];
    return { ok: problems.length === 0, problems };
  },
};

export const endStateOracle: EndStateOracle = modelOracle;
