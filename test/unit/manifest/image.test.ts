import { describe, expect, it } from 'vitest';
import {
  imageTagOrDigest,
  parseImageArgs,
  parseImageRef,
  validateImages,
} from '../../../src/domain/manifest/image.js';

const digest = `sha256:${'a1b2c3d4e5f6'.repeat(5)}abcd`;

describe('parseImageRef (Docker reference grammar)', () => {
  it.each<[string, { domain?: string; path: string; tag?: string; digest?: string }]>([
    ['ghcr.io/acme/podinfo:6.5.1', { domain: 'ghcr.io', path: 'acme/podinfo', tag: '6.5.1' }],
    [`localhost:5000/a/b@${digest}`, { domain: 'localhost:5000', path: 'a/b', digest }],
    ['nginx:1.27', { path: 'nginx', tag: '1.27' }],
    ['library/nginx:1.27-alpine', { path: 'library/nginx', tag: '1.27-alpine' }],
    [
      `registry.example.com:443/team/app:v2@${digest}`,
      { domain: 'registry.example.com:443', path: 'team/app', tag: 'v2', digest },
    ],
    [
      'docker.io/stefanprodan/podinfo:6.0.1',
      { domain: 'docker.io', path: 'stefanprodan/podinfo', tag: '6.0.1' },
    ],
    ['registry.local/a__b/c-d.e_f:TAG_1', { domain: 'registry.local', path: 'a__b/c-d.e_f', tag: 'TAG_1' }],
    ['[::1]:5000/app:1', { domain: '[::1]:5000', path: 'app', tag: '1' }],
    [`app:${'t'.repeat(128)}`, { path: 'app', tag: 't'.repeat(128) }],
  ])('valid: %s', (ref, expected) => {
    expect(parseImageRef(ref)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, string]>([
    ['podinfo', 'a tag (:1.2.3) or a digest (@sha256:…) is required'],
    ['ghcr.io/acme/podinfo', 'a tag (:1.2.3) or a digest (@sha256:…) is required'],
    ['Ghcr.io/UPPER:tag', 'repository name must be lowercase ("UPPER")'],
    ['Podinfo:1.0', 'repository name must be lowercase ("Podinfo")'],
    ['a:b:c', 'tag "b:c" must match'],
    [`app:${'t'.repeat(129)}`, 'tag is 129 characters long (at most 128)'],
    ['app:-bad', 'tag "-bad" must match'],
    ['app@sha256:1234', 'digest must be sha256:<64 lowercase hex>'],
    ['ghcr.io//app:1', 'empty path component'],
    ['ghcr.io/a..b:1', 'invalid path component "a..b"'],
    ['', 'empty or surrounded by whitespace'],
    [' nginx:1', 'empty or surrounded by whitespace'],
    ['-bad.io:5000/app:1', 'registry host "-bad.io:5000" is not a valid host[:port]'],
    ['my_registry.local/app:1', 'registry host "my_registry.local" is not a valid host[:port]'],
  ])('invalid: %j (%s)', (ref, why) => {
    const result = parseImageRef(ref);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(why);
  });
});

describe('parseImageArgs (--image <container>=<ref>)', () => {
  it('maps containers to references', () => {
    expect(
      parseImageArgs(['podinfod=ghcr.io/acme/podinfo:6.5.1', `sidecar=localhost:5000/a/b@${digest}`]),
    ).toEqual({
      ok: true,
      value: { podinfod: 'ghcr.io/acme/podinfo:6.5.1', sidecar: `localhost:5000/a/b@${digest}` },
    });
  });

  it('reports every bad argument at once', () => {
    const result = parseImageArgs(['podinfod', 'web=podinfo', 'Bad_Name=nginx:1', 'web=nginx:1', '=nginx:1']);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      { path: '--image[0]', message: 'expected <container>=<image reference>, got "podinfod"' },
      { path: 'images.web', message: 'container "web" is given more than once' },
      { path: '--image[4]', message: 'expected <container>=<image reference>, got "=nginx:1"' },
      {
        path: 'images.web',
        message: 'invalid image reference "podinfo": a tag (:1.2.3) or a digest (@sha256:…) is required',
      },
      {
        path: 'images.Bad_Name',
        message: 'container name "Bad_Name" is not a valid Kubernetes container name (RFC 1123 label)',
      },
    ]);
  });

  it('needs at least one image', () => {
    expect(parseImageArgs([])).toEqual({
      ok: false,
      errors: [
        { path: 'images', message: 'at least one image is required (--image <container>=<image:tag>)' },
      ],
    });
  });

  it('validateImages checks workflow input the same way', () => {
    expect(validateImages({ podinfod: 'nginx:1.27' })).toEqual([]);
    expect(validateImages({ podinfod: 42 })).toEqual([
      { path: 'images.podinfod', message: 'expected an image reference string, got number' },
    ]);
    expect(validateImages('nginx')).toEqual([
      { path: 'images', message: 'expected an object mapping container name to image reference' },
    ]);
  });
});

describe('imageTagOrDigest (workflow ID part)', () => {
  it.each<[string, string]>([
    ['ghcr.io/acme/podinfo:6.5.1', '6.5.1'],
    ['nginx:1.27', '1.27'],
    [`localhost:5000/a/b@${digest}`, 'sha256-a1b2c3d4e5f6'],
    [`ghcr.io/acme/podinfo:6.5.1@${digest}`, '6.5.1-sha256-a1b2c3d4e5f6'],
    ['app:v1_rc.2-x', 'v1_rc.2-x'],
  ])('%s → %s', (ref, id) => {
    expect(imageTagOrDigest(ref)).toBe(id);
  });

  it('sanitises an unparseable reference instead of failing', () => {
    expect(imageTagOrDigest('weird/ref with spaces')).toBe('ref-with-spaces');
  });
});
