// spec.fledge.gatePollInterval → plan.gatePollMs: how often a closed confirm-* gate's webhooks are polled while the
// release waits at it (default 2s, at least 1s, never above the analysis interval).
import { describe, expect, it } from 'vitest';
import { compileRelease, parseCanaryYaml } from '../../../src/domain/manifest/index.js';

function canary(interval: string | undefined, gatePollInterval?: string): string {
  return `apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: podinfo, namespace: test }
spec:
  targetRef: { apiVersion: apps/v1, kind: Deployment, name: podinfo }
  service: { port: 9898 }
  analysis:
${interval === undefined ? '' : `    interval: ${interval}\n`}    threshold: 2
    stepWeight: 50
    webhooks:
      - name: gate
        type: confirm-promotion
        url: http://flagger-loadtester.test/gate/check
${gatePollInterval === undefined ? '' : `  fledge:\n    gatePollInterval: ${gatePollInterval}\n`}`;
}

function planOf(yaml: string) {
  const parsed = parseCanaryYaml(yaml, 'canary.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return compileRelease(parsed.value, { podinfod: 'ghcr.io/acme/podinfo:6.5.1' }).plan;
}

describe('spec.fledge.gatePollInterval', () => {
  it.each([
    { interval: '10s', poll: undefined, gatePollMs: 2_000, why: 'default 2s' },
    { interval: undefined, poll: undefined, gatePollMs: 2_000, why: 'default with the default 60s interval' },
    { interval: '30s', poll: '5s', gatePollMs: 5_000, why: 'as written' },
    { interval: '1m', poll: '1500ms', gatePollMs: 1_500, why: 'sub-second precision' },
    { interval: '1s', poll: undefined, gatePollMs: 1_000, why: 'the default, capped at a 1s interval' },
    { interval: '10s', poll: '1m', gatePollMs: 10_000, why: 'above the interval: the interval' },
  ])(
    '$why: interval $interval, gatePollInterval $poll → $gatePollMs ms',
    ({ interval, poll, gatePollMs }) => {
      expect(planOf(canary(interval, poll)).gatePollMs).toBe(gatePollMs);
    },
  );

  it.each(['500ms', '0s', 'soon', '-2s'])('rejects %s with its path', (poll) => {
    const parsed = parseCanaryYaml(canary('10s', poll), 'canary.yaml');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path)).toEqual(['spec.fledge.gatePollInterval']);
  });
});
