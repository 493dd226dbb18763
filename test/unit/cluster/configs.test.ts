// Config tracking as a release trigger: Flagger's checksum (reference values computed with Go's encoding/json and
// crypto/sha256, as Flagger's ConfigTracker does), which references of a pod template are tracked, and when the
// tracked configs count as changed.
import { describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import {
  configChecksum,
  configsChanged,
  digestOf,
  sameConfigs,
  trackedConfigsOf,
  type ConfigDigest,
} from '../../../src/cluster/configs.js';
import { triggerFor } from '../../../src/cluster/status.js';

describe("configChecksum (Flagger's checksum of data)", () => {
  it('equals Go: json.Marshal (sorted keys, HTML-safe escapes) → sha256 → first 8 bytes in hex', () => {
    // go: checksum(map[string]string{"b": "2", "a": "<x&y>", "c": "ünï\u2028"})
    expect(configChecksum({ b: '2', a: '<x&y>', c: 'ünï\u2028' })).toBe('19cadfba568e833f');
    // go: a nil map marshals to null; an empty one to {}
    expect(configChecksum(undefined)).toBe('74234e98afe7498f');
    expect(configChecksum({})).toBe('44136fa355b3678a');
    // go: map[string][]byte marshals each value as base64 — what the apiserver serves as a Secret's data
    expect(
      configChecksum({
        password: Buffer.from('s3cret').toString('base64'),
        user: Buffer.from('admin').toString('base64'),
      }),
    ).toBe('c69117cd8ded48b2');
  });

  it('changes with any value and not with key order', () => {
    expect(configChecksum({ a: '1', b: '2' })).toBe(configChecksum({ b: '2', a: '1' }));
    expect(configChecksum({ a: '1', b: '2' })).not.toBe(configChecksum({ a: '1', b: '3' }));
  });
});

const template = (spec: k8s.V1PodSpec): k8s.V1PodTemplateSpec => ({ spec });

describe('trackedConfigsOf (Flagger GetConfigRefs)', () => {
  const objects: Record<string, ConfigDigest> = {
    'ConfigMap/env': digestOf({ data: { A: '1' } }, 'ConfigMap'),
    'ConfigMap/vol': digestOf({ data: { f: 'x' } }, 'ConfigMap'),
    'ConfigMap/off': digestOf(
      { metadata: { annotations: { 'flagger.app/config-tracking': 'disabled' } }, data: { a: 'b' } },
      'ConfigMap',
    ),
    'Secret/creds': digestOf({ type: 'Opaque', data: { p: 'cA==' } }, 'Secret'),
    'Secret/pull': digestOf({ type: 'kubernetes.io/dockerconfigjson', data: { x: 'eA==' } }, 'Secret'),
    'Secret/proj': digestOf({ type: 'kubernetes.io/tls', data: { 'tls.crt': 'Yw==' } }, 'Secret'),
  };
  const lookup = (kind: 'ConfigMap' | 'Secret', name: string) => objects[`${kind}/${name}`];
  const tpl = template({
    containers: [
      {
        name: 'app',
        envFrom: [{ configMapRef: { name: 'env' } }, { secretRef: { name: 'creds' } }],
        env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'off', key: 'a' } } }],
      },
    ],
    volumes: [
      { name: 'v', configMap: { name: 'vol' } },
      { name: 'p', projected: { sources: [{ secret: { name: 'proj' } }, { secret: { name: 'pull' } }] } },
    ],
  });

  it("keeps Flagger's keys and checksums; skips opted-out objects and untracked Secret types", () => {
    expect(trackedConfigsOf(tpl, lookup, { secrets: true })).toEqual({
      'configmap/env': configChecksum({ A: '1' }),
      'configmap/vol': configChecksum({ f: 'x' }),
      'secret/creds': configChecksum({ p: 'cA==' }),
      'secret/proj': configChecksum({ 'tls.crt': 'Yw==' }),
    });
  });

  it('a referenced object that does not exist: undefined (Flagger: an error, not a change)', () => {
    const withMissing = structuredClone(tpl);
    withMissing.spec?.volumes?.push({ name: 'm', configMap: { name: 'missing' } });
    expect(trackedConfigsOf(withMissing, lookup, { secrets: true })).toBeUndefined();
  });

  it('without Secrets (not granted): ConfigMaps only', () => {
    expect(Object.keys(trackedConfigsOf(tpl, lookup, { secrets: false }) ?? {}).sort()).toEqual([
      'configmap/env',
      'configmap/vol',
    ]);
  });
});

describe('configsChanged (Flagger HasConfigChanged)', () => {
  const on = { secrets: true };
  it('a different checksum, an added or a removed config is a change; the same set is not', () => {
    expect(configsChanged({ 'configmap/a': '1' }, { 'configmap/a': '1' }, on)).toBe(false);
    expect(configsChanged({ 'configmap/a': '2' }, { 'configmap/a': '1' }, on)).toBe(true);
    expect(configsChanged({ 'configmap/a': '1', 'configmap/b': '1' }, { 'configmap/a': '1' }, on)).toBe(true);
    expect(configsChanged({}, { 'configmap/a': '1' }, on)).toBe(true);
  });
  it('nothing recorded (a status from before config tracking) is not a change', () => {
    expect(configsChanged({ 'configmap/a': '1' }, undefined, on)).toBe(false);
  });
  it('Secrets not watched: recorded Secrets (e.g. Flagger’s) are not compared', () => {
    const recorded = { 'configmap/a': '1', 'secret/s': '9' };
    expect(configsChanged({ 'configmap/a': '1' }, recorded, { secrets: false })).toBe(false);
    expect(configsChanged({ 'configmap/a': '1' }, recorded, { secrets: true })).toBe(true);
  });
  it('sameConfigs ignores key order', () => {
    expect(sameConfigs({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameConfigs({ a: '1' }, { a: '2' })).toBe(false);
  });
});

describe('triggerFor with config changes', () => {
  const settled = { phase: 'Succeeded' as const, lastAppliedSpec: 'B', lastPromotedSpec: 'B' };
  it('same template, changed configs → a release (reason config); suspended holds it', () => {
    expect(triggerFor(settled, 'B', { suspended: false, configsChanged: true })).toEqual({
      kind: 'release',
      reason: 'config',
    });
    expect(triggerFor(settled, 'B', { suspended: true, configsChanged: true }).kind).toBe('suspended');
    expect(triggerFor(settled, 'B', { suspended: false, configsChanged: false }).kind).toBe('none');
  });
  it('after a failed release too (Flagger syncs the failed revision; a newer config change is released)', () => {
    const failed = { phase: 'Failed' as const, lastAppliedSpec: 'C', lastPromotedSpec: 'B' };
    expect(triggerFor(failed, 'C', { suspended: false, configsChanged: true }).kind).toBe('release');
    expect(triggerFor(failed, 'C', { suspended: false, configsChanged: false }).kind).toBe('none');
  });
  it('a release already followed for these configs is not started again', () => {
    const opts = { suspended: false, configsChanged: true, followedHash: 'B' };
    expect(triggerFor(settled, 'B', { ...opts, followingCurrentConfigs: true }).kind).toBe('none');
    expect(triggerFor(settled, 'B', { ...opts, followingCurrentConfigs: false }).kind).toBe('release');
  });
  it('a template change wins over a config change (reason template)', () => {
    expect(triggerFor(settled, 'D', { suspended: false, configsChanged: true })).toEqual({
      kind: 'release',
      reason: 'template',
    });
  });
});
