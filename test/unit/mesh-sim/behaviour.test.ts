import { describe, expect, it } from 'vitest';
import {
  behaviourFor,
  defaultSimConfig,
  globMatch,
  parseSimConfig,
  simConfigSchema,
} from '../../../src/dev/mesh-sim/config.js';
import { drawLogNormal, logNormalParams, SeededRng } from '../../../src/dev/mesh-sim/prng.js';
import { config, flaggerCluster, simulator, virtualService, weighted } from './fixtures.js';

const fast = { p50: 20, p99: 80 };
const slow = { p50: 300, p99: 1500 };

describe('built-in behaviour by image tag', () => {
  it.each([
    ['ghcr.io/stefanprodan/podinfo:6.0.0', 0, fast],
    ['ghcr.io/stefanprodan/podinfo:6.0.1-bad', 0.2, fast],
    ['podinfo:faulty', 0.2, fast],
    ['podinfo:slow-1', 0, slow],
    ['podinfo:bad-and-slow', 0.2, slow],
    ['registry.bad.io:5000/podinfo:1.0', 0, fast], // only the tag counts for the built-ins
    ['podinfo', 0, fast],
  ])('%s → errorRate %d', (image, errorRate, latencyMs) => {
    expect(behaviourFor(image, defaultSimConfig)).toEqual({ errorRate, errorCode: 500, latencyMs });
  });
});

describe('configured rules', () => {
  const cfg = config({
    rules: [
      { image: '*:canary-*', errorRate: 0.5, errorCode: 503 },
      { imageRegex: '^ghcr\\.io/acme/.*:2\\.', latencyMs: { p50: 100, p99: 400 } },
      { tag: '*bad*', errorRate: 0.9 },
    ],
    default: { latencyMs: { p50: 5, p99: 10 } },
  });

  it.each([
    ['x:canary-1', { errorRate: 0.5, errorCode: 503, latencyMs: { p50: 5, p99: 10 } }],
    ['ghcr.io/acme/api:2.1', { errorRate: 0, errorCode: 500, latencyMs: { p50: 100, p99: 400 } }],
    ['ghcr.io/acme/api:2.1-bad', { errorRate: 0.9, errorCode: 500, latencyMs: { p50: 100, p99: 400 } }],
    ['ghcr.io/acme/api:2.1-slow', { errorRate: 0, errorCode: 500, latencyMs: { p50: 100, p99: 400 } }],
    ['ghcr.io/acme/api:3.0-slow', { errorRate: 0, errorCode: 500, latencyMs: slow }],
    ['x:canary-bad', { errorRate: 0.5, errorCode: 503, latencyMs: { p50: 5, p99: 10 } }],
  ])('%s: each field from the first matching rule that sets it', (image, want) => {
    expect(behaviourFor(image, cfg)).toEqual(want);
  });

  it('builtinRules: false drops the built-in rules', () => {
    expect(behaviourFor('podinfo:bad', config({ builtinRules: false })).errorRate).toBe(0);
  });

  it.each([
    ['*:bad*', 'podinfo:bad-1', true],
    ['*:bad*', 'podinfo:1-bad', false],
    ['ghcr.io/*/podinfo:?.0', 'ghcr.io/acme/podinfo:6.0', true],
    ['podinfo.*', 'podinfoX1', false],
  ])('glob %s vs %s → %s', (glob, value, want) => {
    expect(globMatch(glob, value)).toBe(want);
  });
});

describe('parseSimConfig (ConfigMap data)', () => {
  it('defaults when the ConfigMap or its key is absent', () => {
    expect(parseSimConfig(undefined)).toEqual({ ok: true, config: defaultSimConfig, source: 'defaults' });
    expect(parseSimConfig({ other: 'x' })).toMatchObject({ ok: true, source: 'defaults' });
    expect(defaultSimConfig).toMatchObject({
      requestsPerSecond: 20,
      matchShare: 0.1,
      sampling: 'smooth',
      default: { errorRate: 0, latencyMs: fast },
    });
  });

  it('reads config.yaml and config.json', () => {
    const yaml = parseSimConfig({
      'config.yaml': 'requestsPerSecond: 50\nrules:\n  - tag: "*-broken"\n    errorRate: 1\n',
    });
    expect(yaml.ok && yaml.config.requestsPerSecond).toBe(50);
    expect(yaml.ok && behaviourFor('a:1-broken', yaml.config).errorRate).toBe(1);
    const json = parseSimConfig({
      'config.json': JSON.stringify({
        matchShare: 0.3,
        routes: { 'demo/podinfo': { requestsPerSecond: 5 } },
      }),
    });
    expect(json.ok && json.config).toMatchObject({
      matchShare: 0.3,
      routes: { 'demo/podinfo': { requestsPerSecond: 5 } },
      requestsPerSecond: 20,
    });
  });

  it.each([
    [{ 'config.yaml': 'requestsPerSecond: -1' }, 'requestsPerSecond'],
    [{ 'config.yaml': 'rules:\n  - errorRate: 0.5' }, 'one of image, tag, imageRegex'],
    [{ 'config.yaml': 'rules:\n  - imageRegex: "(" ' }, 'invalid regular expression'],
    [{ 'config.yaml': 'default:\n  latencyMs: { p50: 100, p99: 10 }' }, 'p99 must be >= p50'],
    [{ 'config.yaml': 'requestPerSecond: 5' }, 'requestPerSecond'],
    [{ 'config.json': '{' }, 'config.json'],
  ])('rejects %j with a message naming the problem', (data, needle) => {
    const r = parseSimConfig(data);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(needle);
  });

  it('schema accepts partial latency defaults', () => {
    expect(simConfigSchema.parse({ default: { errorRate: 0.01 } }).default).toEqual({
      errorRate: 0.01,
      errorCode: 500,
      latencyMs: fast,
    });
  });
});

describe('behaviour in the simulation', () => {
  it('a bad canary returns 500 for 20 % of its requests; the primary none', () => {
    const sim = simulator(
      flaggerCluster(
        { virtualServices: [virtualService('demo', 'podinfo', [weighted(50, 50)])] },
        { canaryImage: 'ghcr.io/stefanprodan/podinfo:6.0.1-bad' },
      ),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 2000, 0);
    expect(sim.workload('demo', 'podinfo')?.byCode).toEqual({ '200': 800, '500': 200 });
    expect(sim.workload('demo', 'podinfo-primary')?.byCode).toEqual({ '200': 1000 });
  });

  it('random sampling: error rate 0.2 ± 0.02 over 10,000 requests', () => {
    const sim = simulator(
      flaggerCluster(
        { virtualServices: [virtualService('demo', 'podinfo', [weighted(0, 100)])] },
        { canaryImage: 'podinfo:bad' },
      ),
      config({ sampling: 'random' }),
      11,
    );
    sim.simulate(sim.currentWorld().flows[0]!, 10_000, 0);
    const rate = (sim.workload('demo', 'podinfo')?.byCode['500'] ?? 0) / 10_000;
    expect(rate).toBeGreaterThan(0.18);
    expect(rate).toBeLessThan(0.22);
  });

  it('a ConfigMap change applies to the running simulation', () => {
    const snap = flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(0, 100)])] });
    const sim = simulator(snap);
    sim.simulate(sim.currentWorld().flows[0]!, 100, 0);
    sim.update(sim.currentWorld(), config({ rules: [{ tag: '6.0.1', errorRate: 1, errorCode: 502 }] }));
    sim.simulate(sim.currentWorld().flows[0]!, 100, 0);
    expect(sim.workload('demo', 'podinfo')?.byCode).toEqual({ '200': 100, '502': 100 });
  });
});

describe('latency distribution (log-normal fitted to p50/p99)', () => {
  it.each([
    [20, 80],
    [300, 1500],
    [50, 50],
  ])('p50 %i / p99 %i are reproduced by 20,000 draws (±10 %%)', (p50, p99) => {
    const rng = new SeededRng(5);
    const draws = Array.from({ length: 20_000 }, () => drawLogNormal(rng, p50, p99)).sort((a, b) => a - b);
    expect(Math.abs(draws[10_000]! / p50 - 1)).toBeLessThan(0.1);
    expect(Math.abs(draws[19_800]! / p99 - 1)).toBeLessThan(0.1);
  });

  it('sigma is 0 when p99 <= p50', () => {
    expect(logNormalParams(10, 5).sigma).toBe(0);
  });

  it('the PRNG is deterministic per seed', () => {
    const a = new SeededRng(123);
    const b = new SeededRng(123);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new SeededRng(124).next()).not.toBe(xs[0]);
  });
});
