// What starts a cluster-mode release: the pod-template hash, the release's images, and the release input.
import { describe, expect, it } from 'vitest';
import {
  referencedObjects,
  releaseImages,
  releaseYaml,
  templateHash,
  type CanaryObject,
} from '../../../src/cluster/canary.js';
import { checkRelease } from '../../../src/starter.js';

const template = (image: string, extra: Record<string, unknown> = {}) => ({
  metadata: { labels: { app: 'podinfo' }, creationTimestamp: null },
  spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 9898 }] }], ...extra },
});
const dep = (image: string, replicas = 2, sidecar?: string) => ({
  metadata: { name: 'podinfo', namespace: 'ns' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'podinfo' } },
    template: {
      metadata: { labels: { app: 'podinfo' } },
      spec: {
        containers: [{ name: 'app', image }, ...(sidecar ? [{ name: 'proxy', image: sidecar }] : [])],
      },
    },
  },
});

describe('templateHash', () => {
  it('changes with the image or any other template field, not with key order or creationTimestamp', () => {
    const a = templateHash(template('x:1'));
    expect(templateHash(template('x:2'))).not.toBe(a);
    expect(templateHash(template('x:1', { terminationGracePeriodSeconds: 5 }))).not.toBe(a);
    const reordered = { spec: template('x:1').spec, metadata: { labels: { app: 'podinfo' } } };
    expect(templateHash(reordered)).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });
  it('a scale is not a template change', () => {
    expect(templateHash(dep('x:1', 0).spec.template)).toBe(templateHash(dep('x:1', 5).spec.template));
  });
});

describe('releaseImages', () => {
  it('the containers whose image differs from the primary', () => {
    expect(releaseImages(dep('x:2', 0, 'p:1'), dep('x:1', 2, 'p:1'))).toEqual({ app: 'x:2' });
  });
  it('every image when only other fields changed (or no primary yet)', () => {
    expect(releaseImages(dep('x:1', 0, 'p:1'), dep('x:1', 2, 'p:1'))).toEqual({ app: 'x:1', proxy: 'p:1' });
    expect(releaseImages(dep('x:1'), undefined)).toEqual({ app: 'x:1' });
  });
});

describe('the release input from cluster objects', () => {
  const cd: CanaryObject = {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: {
      name: 'podinfo',
      namespace: 'ns',
      uid: 'u',
      resourceVersion: '7',
      generation: 2,
      finalizers: ['x'],
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    },
    spec: {
      provider: 'istio',
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
      service: { port: 9898 },
      analysis: {
        interval: '10s',
        threshold: 2,
        stepWeight: 25,
        maxWeight: 50,
        metrics: [{ name: 'latency', templateRef: { name: 'latency' }, thresholdRange: { max: 500 } }],
      },
    },
    status: { phase: 'Succeeded', lastAppliedSpec: 'h' },
  };
  const template = {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'MetricTemplate',
    metadata: { name: 'latency', namespace: 'ns', uid: 'v' },
    spec: { provider: { type: 'prometheus', address: 'http://prometheus:9090' }, query: 'vector(1)' },
  };
  it('names the referenced MetricTemplates (default: the Canary namespace)', () => {
    expect(referencedObjects(cd)).toEqual({
      templates: [{ namespace: 'ns', name: 'latency' }],
      providers: [],
    });
  });
  it('validates as `fledge start` input: status and server metadata dropped', () => {
    const yaml = releaseYaml(cd, [template], []);
    expect(yaml).not.toContain('status');
    expect(yaml).not.toContain('resourceVersion');
    const checked = checkRelease({ yaml, images: { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' } });
    expect(checked.compiled.plan.target).toMatchObject({ namespace: 'ns', name: 'podinfo' });
    expect(checked.compiled.plan.metrics.map((m) => m.name)).toEqual(['latency']);
  });
});
