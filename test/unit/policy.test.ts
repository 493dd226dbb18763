// The release policy (src/policy.ts): which namespaces and image repositories a release may use, as the starter
// checks it (pure) and as the worker's activities enforce it (typed, non-retryable PolicyViolation).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadFledgeConfig } from '../../src/config.js';
import { enforceReleasePolicy } from '../../src/activities/release-policy.js';
import type { ReleaseContext } from '../../src/domain/context.js';
import {
  checkReleasePolicy,
  defaultReleasePolicy,
  formatPolicyViolations,
  imageGlob,
  imageRepository,
  namespaceGlob,
  policyViolationType,
  type ReleasePolicy,
} from '../../src/policy.js';
import { serviceAccountNamespace, workerReleasePolicy } from '../../src/worker.js';

const img = { app: 'ghcr.io/acme/shop:1.2.3' };
const check = (policy: ReleasePolicy, namespace: string, images: Record<string, string> = img) =>
  checkReleasePolicy(policy, { namespace, images });

describe('release policy: namespaces', () => {
  it('the default allows any namespace but kube-system, kube-public, kube-node-lease', () => {
    expect(check(defaultReleasePolicy, 'shop')).toEqual([]);
    expect(check(defaultReleasePolicy, 'default')).toEqual([]);
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease']) {
      const [v, ...more] = check(defaultReleasePolicy, ns);
      expect(more).toEqual([]);
      expect(v).toMatchObject({ setting: 'FLEDGE_ALLOWED_NAMESPACES', path: 'namespace' });
      expect(v?.message).toContain(`"${ns}" is a system namespace`);
    }
  });

  it("the worker's own namespace is refused by default", () => {
    const p = { ...defaultReleasePolicy, workerNamespace: 'fledge-system' };
    expect(check(p, 'fledge-system')[0]?.message).toContain("the worker's own namespace");
    expect(check(p, 'shop')).toEqual([]);
  });

  it('a reserved namespace is allowed only when named literally, never through a glob', () => {
    const globbed: ReleasePolicy = { ...defaultReleasePolicy, namespaces: ['*', 'kube-*'] };
    expect(check(globbed, 'kube-system')).toHaveLength(1);
    const literal: ReleasePolicy = {
      ...defaultReleasePolicy,
      namespaces: ['kube-system', 'fledge-system'],
      workerNamespace: 'fledge-system',
    };
    expect(check(literal, 'kube-system')).toEqual([]);
    expect(check(literal, 'fledge-system')).toEqual([]);
    expect(check(literal, 'kube-public')).toHaveLength(1);
  });

  it('globs: `*` is any run of characters, everything else literal', () => {
    const p: ReleasePolicy = { ...defaultReleasePolicy, namespaces: ['team-*', 'shop'] };
    expect(check(p, 'team-a')).toEqual([]);
    expect(check(p, 'team-')).toEqual([]);
    expect(check(p, 'shop')).toEqual([]);
    const [v] = check(p, 'shopping');
    expect(v?.message).toBe('namespace "shopping" is not allowed by FLEDGE_ALLOWED_NAMESPACES="team-*,shop"');
    expect(namespaceGlob('a.b').test('axb')).toBe(false); // `.` is literal
  });
});

describe('release policy: images', () => {
  it('matches the repository (registry/path, no tag or digest), normalised like a registry', () => {
    expect(imageRepository('ghcr.io/acme/shop:1.2.3')).toBe('ghcr.io/acme/shop');
    expect(imageRepository(`ghcr.io/acme/shop@sha256:${'a'.repeat(64)}`)).toBe('ghcr.io/acme/shop');
    expect(imageRepository('nginx:1.27')).toBe('docker.io/library/nginx');
    expect(imageRepository('acme/app:1')).toBe('docker.io/acme/app');
    expect(imageRepository('localhost:5000/app:1')).toBe('localhost:5000/app');
    expect(imageRepository('not a ref')).toBeUndefined();
  });

  it('`*` stays within one path segment, `**` crosses segments', () => {
    expect(imageGlob('ghcr.io/acme/*').test('ghcr.io/acme/shop')).toBe(true);
    expect(imageGlob('ghcr.io/acme/*').test('ghcr.io/acme/team/shop')).toBe(false);
    expect(imageGlob('ghcr.io/acme/**').test('ghcr.io/acme/team/shop')).toBe(true);
    expect(imageGlob('ghcr.io/acme/*').test('ghcr.io/acme-evil/shop')).toBe(false);
    expect(imageGlob('ghcr.io/acme/*').test('ghcr.io/acme/')).toBe(true);
  });

  it('refuses every image outside FLEDGE_ALLOWED_IMAGES, each with its container, and says which setting', () => {
    const p: ReleasePolicy = { ...defaultReleasePolicy, images: ['ghcr.io/acme/*'] };
    expect(check(p, 'shop', { app: 'ghcr.io/acme/shop:1', sidecar: 'ghcr.io/acme/proxy:2' })).toEqual([]);
    const v = check(p, 'shop', { app: 'ghcr.io/acme/shop:1', sidecar: 'docker.io/evil/miner:1' });
    expect(v).toEqual([
      {
        setting: 'FLEDGE_ALLOWED_IMAGES',
        path: 'images.sidecar',
        message:
          'image "docker.io/evil/miner:1" (repository docker.io/evil/miner) is not allowed by FLEDGE_ALLOWED_IMAGES="ghcr.io/acme/*"',
      },
    ]);
    expect(formatPolicyViolations(v)).toBe(
      `release refused by policy:\n  images.sidecar: ${v[0]?.message ?? ''}`,
    );
  });

  it('namespace and image violations are reported together', () => {
    const p: ReleasePolicy = { namespaces: ['shop'], images: ['ghcr.io/acme/*'] };
    expect(check(p, 'kube-system', { app: 'evil.io/x:1' }).map((v) => v.setting)).toEqual([
      'FLEDGE_ALLOWED_NAMESPACES',
      'FLEDGE_ALLOWED_IMAGES',
    ]);
  });
});

describe('release policy: settings (src/config.ts)', () => {
  it('reads FLEDGE_ALLOWED_NAMESPACES, FLEDGE_ALLOWED_IMAGES, FLEDGE_WORKER_NAMESPACE (comma/space separated)', () => {
    const cfg = loadFledgeConfig({
      FLEDGE_ALLOWED_NAMESPACES: 'shop, team-* payments',
      FLEDGE_ALLOWED_IMAGES: 'ghcr.io/acme/*,docker.io/library/nginx',
      FLEDGE_WORKER_NAMESPACE: 'fledge-system',
    });
    expect(cfg.policy).toEqual({
      namespaces: ['shop', 'team-*', 'payments'],
      images: ['ghcr.io/acme/*', 'docker.io/library/nginx'],
      workerNamespace: 'fledge-system',
    });
    expect(loadFledgeConfig({}).policy).toEqual(defaultReleasePolicy);
  });

  it('refuses unreadable settings at start-up, naming them', () => {
    expect(() => loadFledgeConfig({ FLEDGE_ALLOWED_NAMESPACES: ' , ' })).toThrow(/FLEDGE_ALLOWED_NAMESPACES/);
    expect(() => loadFledgeConfig({ FLEDGE_ALLOWED_NAMESPACES: 'Shop_1' })).toThrow(
      /FLEDGE_ALLOWED_NAMESPACES: "Shop_1" is not a namespace/,
    );
    expect(() => loadFledgeConfig({ FLEDGE_ALLOWED_IMAGES: 'ghcr.io/acme/app@sha256:1' })).toThrow(
      /FLEDGE_ALLOWED_IMAGES/,
    );
    expect(() => loadFledgeConfig({ FLEDGE_WORKER_NAMESPACE: 'Not A Namespace' })).toThrow(
      /FLEDGE_WORKER_NAMESPACE/,
    );
  });

  it("the worker reserves its own namespace: FLEDGE_WORKER_NAMESPACE, else the pod's service-account namespace file", () => {
    const dir = mkdtempSync(join(tmpdir(), 'fledge-ns-'));
    const file = join(dir, 'namespace');
    writeFileSync(file, 'fledge-system\n');
    expect(serviceAccountNamespace(file)).toBe('fledge-system');
    expect(serviceAccountNamespace(join(dir, 'missing'))).toBeUndefined();
    expect(workerReleasePolicy(loadFledgeConfig({}), file).workerNamespace).toBe('fledge-system');
    expect(
      workerReleasePolicy(loadFledgeConfig({ FLEDGE_WORKER_NAMESPACE: 'ops' }), file).workerNamespace,
    ).toBe('ops');
    expect(workerReleasePolicy(loadFledgeConfig({}), join(dir, 'missing')).workerNamespace).toBeUndefined();
  });
});

describe('release policy in the worker (activities)', () => {
  const ctx = (namespace: string, images: Record<string, string> = img): ReleaseContext =>
    ({
      target: { namespace, name: 'podinfo' },
      newImages: images,
      workflowId: 'fledge/x/podinfo/1',
    }) as unknown as ReleaseContext;

  it('every activity checks the policy before it runs: a violation is a non-retryable PolicyViolation', async () => {
    const calls: string[] = [];
    const acts = enforceReleasePolicy(
      { namespaces: ['shop'], images: ['ghcr.io/acme/*'] },
      {
        write: async (c: ReleaseContext, w: number) => {
          calls.push(`write ${c.target.namespace} ${w}`);
          return w;
        },
      },
    );
    expect(await acts.write(ctx('shop'), 7)).toBe(7);
    const refused = await acts.write(ctx('kube-system'), 1).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect(refused).toMatchObject({ type: policyViolationType, nonRetryable: true });
    expect((refused as ApplicationFailure).message).toMatch(/FLEDGE_ALLOWED_NAMESPACES/);
    const badImage = await acts.write(ctx('shop', { app: 'evil.io/x:1' }), 2).catch((e: unknown) => e);
    expect(badImage).toMatchObject({ type: policyViolationType, nonRetryable: true });
    expect(calls).toEqual(['write shop 7']); // the refused calls did nothing
  });

  it('without a policy the activities are unchanged', () => {
    const acts = { a: async (_c: ReleaseContext) => 1 };
    expect(enforceReleasePolicy(undefined, acts)).toBe(acts);
  });
});
