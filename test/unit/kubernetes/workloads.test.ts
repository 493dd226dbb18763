// The pure parts of the Deployment WorkloadController: readiness rules, the primary's desired replicas and the
// whole primary object a promotion applies (server-side apply removes whatever an apply leaves out).
import { describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import {
  deploymentReadiness,
  desiredPrimaryReplicas,
  primaryDeployment,
} from '../../../src/integrations/kubernetes/workloads.js';

const dep = (
  replicas: number | undefined,
  status: k8s.V1DeploymentStatus = {},
  generation = 1,
): k8s.V1Deployment => ({
  metadata: { name: 'podinfo', namespace: 'ns', generation },
  spec: {
    ...(replicas !== undefined ? { replicas } : {}),
    selector: { matchLabels: { app: 'podinfo' } },
    template: {
      metadata: { labels: { app: 'podinfo' } },
      spec: { containers: [{ name: 'app', image: 'a:1' }] },
    },
  },
  status: { observedGeneration: generation, ...status },
});

describe('deploymentReadiness', () => {
  const cases: Array<[string, k8s.V1Deployment, number, boolean, RegExp]> = [
    [
      'all new pods available',
      dep(3, { replicas: 3, updatedReplicas: 3, availableReplicas: 3, readyReplicas: 3 }),
      100,
      true,
      /3\/3/,
    ],
    [
      // The case that routed traffic back too early: old pods still count as available mid-rollout.
      'old pods still running (surge), available counts them',
      dep(3, { replicas: 4, updatedReplicas: 3, availableReplicas: 3 }),
      100,
      false,
      /1 old replicas are pending termination/,
    ],
    [
      'not all replicas updated',
      dep(3, { replicas: 3, updatedReplicas: 2, availableReplicas: 3 }),
      100,
      false,
      /2 of 3 new/,
    ],
    [
      'generation not observed',
      dep(3, { replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 1 }, 2),
      100,
      false,
      /observed generation/,
    ],
    [
      'below the threshold',
      dep(4, { replicas: 4, updatedReplicas: 4, availableReplicas: 1 }),
      50,
      false,
      /1 of 4 updated replicas available \(need 50%\)/,
    ],
    ['at the threshold', dep(4, { replicas: 4, updatedReplicas: 4, availableReplicas: 2 }), 50, true, /2\/4/],
    ['scaled to zero', dep(0, {}), 100, false, /no replicas requested/],
  ];
  it.each(cases)('%s', (_name, d, threshold, ready, message) => {
    const r = deploymentReadiness(d, threshold);
    expect(r.ready).toBe(ready);
    expect(r.message).toMatch(message);
  });

  it('reports Kubernetes ProgressDeadlineExceeded', () => {
    const d = dep(2, {
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    });
    expect(deploymentReadiness(d, 100)).toMatchObject({ ready: false, deadlineExceeded: true });
  });
});

describe('desiredPrimaryReplicas', () => {
  const cases: Array<[string, number | undefined, number | undefined, boolean, number]> = [
    ['first release: the target asks for 3', 3, undefined, false, 3],
    ['target at zero between releases: keep the primary', 0, 3, false, 3],
    ['GitOps re-applied the target with more', 5, 3, false, 5],
    ['nothing known', 0, undefined, false, 1],
    ['target without replicas (defaults)', undefined, 2, false, 2],
    ['autoscaled: the HPA-set primary count wins', 2, 7, true, 7],
    ['autoscaled, primary not created yet', 2, undefined, true, 2],
  ];
  it.each(cases)('%s', (_n, target, primary, autoscaled, want) => {
    expect(
      desiredPrimaryReplicas(dep(target), primary === undefined ? undefined : dep(primary), { autoscaled }),
    ).toBe(want);
  });
});

describe('primaryDeployment', () => {
  it('carries every field Fledge owns, so an apply never drops one', () => {
    const t = dep(3);
    t.metadata = {
      ...t.metadata,
      labels: { app: 'podinfo', team: 'x' },
      annotations: {
        owner: 'sre',
        'deployment.kubernetes.io/revision': '4',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
        'fledge.dev/primary-of': 'ignored',
      },
    };
    t.spec = {
      ...t.spec!,
      strategy: { type: 'Recreate' },
      minReadySeconds: 5,
      progressDeadlineSeconds: 90,
      revisionHistoryLimit: 2,
    };
    const p = primaryDeployment(t, 3);
    expect(p.metadata).toEqual({
      name: 'podinfo-primary',
      namespace: 'ns',
      labels: { app: 'podinfo-primary', team: 'x' },
      annotations: { owner: 'sre', 'fledge.dev/primary-of': 'podinfo' },
    });
    expect(p.spec).toEqual({
      replicas: 3,
      selector: { matchLabels: { app: 'podinfo-primary' } },
      template: {
        metadata: { labels: { app: 'podinfo-primary' } },
        spec: { containers: [{ name: 'app', image: 'a:1' }] },
      },
      strategy: { type: 'Recreate' },
      minReadySeconds: 5,
      progressDeadlineSeconds: 90,
      revisionHistoryLimit: 2,
    });
  });
});
