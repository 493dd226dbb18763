import { describe, expect, it } from 'vitest';
import { fullMatch, sampleRegex } from '../../../src/dev/mesh-sim/regex.js';
import {
  condMatches,
  matchRequests,
  parseHttpRoute,
  parseVirtualService,
  plainRequest,
  selectRule,
  type Flow,
  type SimRequest,
  type StringCond,
} from '../../../src/dev/mesh-sim/routes.js';
import {
  config,
  flaggerCluster,
  httpRoute,
  served,
  simulator,
  virtualService,
  weighted,
} from './fixtures.js';

const flaggerCookie = '^(.*?;)?(canary=always)(;.*)?$';

function vsFlow(http: object[]): Flow {
  const r = parseVirtualService(virtualService('demo', 'podinfo', http as never));
  if (!r.ok) throw new Error(r.error);
  return r.flow;
}

const req = (headers: Record<string, string>, extra: Partial<SimRequest> = {}): SimRequest => ({
  method: 'GET',
  path: '/',
  authority: 'podinfo',
  headers,
  query: {},
  ...extra,
});

describe('condMatches', () => {
  it.each<[StringCond, string | undefined, boolean]>([
    [{ type: 'exact', value: 'insider' }, 'insider', true],
    [{ type: 'exact', value: 'insider' }, 'Insider', false],
    [{ type: 'exact', value: 'insider', ignoreCase: true }, 'Insider', true],
    [{ type: 'exact', value: 'insider' }, undefined, false],
    [{ type: 'prefix', value: 'Mozilla/5.0 (Android' }, 'Mozilla/5.0 (Android 10)', true],
    [{ type: 'prefix', value: 'Mozilla' }, 'curl/8', false],
    [{ type: 'regex', value: '.*Firefox.*' }, 'Mozilla/5.0 Firefox/120', true],
    [{ type: 'regex', value: 'Firefox' }, 'Mozilla Firefox', false], // full match, as Envoy does
    [{ type: 'regex', value: flaggerCookie }, 'canary=always', true],
    [{ type: 'regex', value: flaggerCookie }, 'session=1;canary=always;theme=dark', true],
    // Flagger's regex does not allow the space browsers put after `;`: with spaces only a leading canary cookie matches.
    [{ type: 'regex', value: flaggerCookie }, 'session=1; canary=always', false],
    [{ type: 'regex', value: flaggerCookie }, 'canary=always; session=1', true],
    [{ type: 'regex', value: flaggerCookie }, 'canary=never', false],
    [{ type: 'regex', value: '(?i)BETA' }, 'beta', true],
    [{ type: 'regex', value: '([' }, 'x', false], // invalid regex never matches
    [{ type: 'present' }, '', true],
    [{ type: 'present' }, undefined, false],
  ])('%j vs %j → %s', (cond, value, want) => {
    expect(condMatches(cond, value)).toBe(want);
  });
});

describe('sampleRegex finds a string the regex fully matches', () => {
  it.each([
    [flaggerCookie, 'canary=always'],
    ['^(.*?;)?(user=beta)(;.*)?$', 'user=beta'],
    ['.*Firefox.*', 'Firefox'],
    ['^(insider|beta)$', 'insider'],
    ['v[0-9]+\\.[0-9]+', 'v0.0'],
    ['[^a-z]+', 'A'],
    ['\\d{3}-\\w+', '000-a'],
    ['(?i)canary', 'canary'],
    ['(?=.*x)x', 'x'],
    ['(?<group>ab)+c?', 'ab'],
  ])('%s → %s', (pattern, want) => {
    const got = sampleRegex(pattern);
    expect(got).toBe(want);
    expect(fullMatch(pattern, got ?? '')).toBe(true);
  });

  it('returns null for an invalid or unsatisfiable pattern', () => {
    expect(sampleRegex('([')).toBeNull();
    expect(sampleRegex('a(?!a)a(?<=b)')).toBeNull();
  });
});

describe('Istio http route order and matches', () => {
  const headerRoute = (match: object): object => ({
    match: [match],
    route: [{ destination: { host: 'podinfo-canary' } }],
  });

  it.each([
    [
      'exact',
      { headers: { 'x-canary': { exact: 'insider' } } },
      { 'x-canary': 'insider' },
      { 'x-canary': 'insider2' },
    ],
    [
      'prefix',
      { headers: { 'user-agent': { prefix: 'Mozilla/5.0 (Android' } } },
      { 'user-agent': 'Mozilla/5.0 (Android 14)' },
      { 'user-agent': 'Mozilla/5.0 (iPhone)' },
    ],
    [
      'regex',
      { headers: { 'user-agent': { regex: '.*Firefox.*' } } },
      { 'user-agent': 'Mozilla Firefox/120' },
      { 'user-agent': 'Chrome' },
    ],
    [
      'cookie',
      { headers: { cookie: { regex: flaggerCookie } } },
      { cookie: 'a=1;canary=always' },
      { cookie: 'canary=sometimes' },
    ],
    [
      'header name case-insensitive',
      { headers: { 'X-Canary': { exact: 'insider' } } },
      { 'x-canary': 'insider' },
      {},
    ],
    ['presence', { headers: { 'x-debug': {} } }, { 'x-debug': 'anything' }, {}],
  ])('%s: matching request → canary route, others → weighted route', (_name, match, yes, no) => {
    const flow = vsFlow([headerRoute(match), weighted(100, 0)]);
    expect(selectRule(flow, req(yes))).toBe(0);
    expect(selectRule(flow, req(no))).toBe(1);
  });

  it('first matching route wins even when a later one matches too; a route without match matches all', () => {
    const flow = vsFlow([weighted(100, 0), headerRoute({ headers: { 'x-canary': { exact: 'insider' } } })]);
    expect(selectRule(flow, req({ 'x-canary': 'insider' }))).toBe(0);
  });

  it('match blocks are ORed, conditions inside a block ANDed; withoutHeaders negates', () => {
    const flow = vsFlow([
      {
        match: [{ headers: { a: { exact: '1' }, b: { exact: '2' } } }, { uri: { prefix: '/api' } }],
        route: [{ destination: { host: 'podinfo-canary' } }],
      },
      {
        match: [{ withoutHeaders: { 'x-skip': { exact: 'yes' } } }],
        route: [{ destination: { host: 'podinfo-primary' } }],
      },
    ]);
    expect(selectRule(flow, req({ a: '1', b: '2' }))).toBe(0);
    expect(selectRule(flow, req({ a: '1' }))).toBe(1);
    expect(selectRule(flow, req({}, { path: '/api/v1' }))).toBe(0);
    expect(selectRule(flow, req({ 'x-skip': 'yes' }))).toBe(-1);
  });

  it('generates one request per A/B match block, each routed to that block', () => {
    const flow = vsFlow([
      headerRoute({ headers: { cookie: { regex: flaggerCookie } } }),
      headerRoute({ headers: { 'x-canary': { exact: 'insider' } } }),
      headerRoute({ headers: { 'user-agent': { prefix: 'Mozilla' } }, uri: { exact: '/beta' } }),
      weighted(100, 0),
    ]);
    const reqs = matchRequests(flow);
    expect(reqs.map((r) => r.headers)).toEqual([
      { cookie: 'canary=always' },
      { 'x-canary': 'insider' },
      { 'user-agent': 'Mozilla' },
    ]);
    expect(reqs[2]?.path).toBe('/beta');
    expect(reqs.map((r) => selectRule(flow, r))).toEqual([0, 1, 2]);
    expect(selectRule(flow, plainRequest(flow))).toBe(3);
  });
});

describe('match share in the simulation', () => {
  const abVs = (match: Record<string, unknown>): object =>
    virtualService('demo', 'podinfo', [
      { match: [match], route: [{ destination: { host: 'podinfo-canary' } }] },
      weighted(100, 0),
    ]);

  it.each([
    ['header exact', { headers: { 'x-canary': { exact: 'insider' } } }],
    ['header prefix', { headers: { 'x-user': { prefix: 'beta-' } } }],
    ['header regex', { headers: { 'user-agent': { regex: '^.*(Firefox).*$' } } }],
    ['cookie', { headers: { cookie: { regex: flaggerCookie } } }],
  ])('%s: the default 10 %% of users reach the canary, nobody else', (_name, match) => {
    const sim = simulator(flaggerCluster({ virtualServices: [abVs(match)] }));
    sim.simulate(sim.currentWorld().flows[0]!, 1000, 0);
    expect(served(sim, 'demo', 'podinfo')).toBe(100);
    expect(served(sim, 'demo', 'podinfo-primary')).toBe(900);
  });

  it('random sampling and a configured share of 25 %', () => {
    const sim = simulator(
      flaggerCluster({ virtualServices: [abVs({ headers: { cookie: { regex: flaggerCookie } } })] }),
      config({ sampling: 'random', matchShare: 0.25 }),
      7,
    );
    sim.simulate(sim.currentWorld().flows[0]!, 10_000, 0);
    expect(served(sim, 'demo', 'podinfo') / 10_000).toBeCloseTo(0.25, 1);
  });

  it('with no match routes every user gets the weighted route', () => {
    const sim = simulator(
      flaggerCluster({ virtualServices: [virtualService('demo', 'podinfo', [weighted(100, 0)])] }),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 100, 0);
    expect(sim.flowStatsOf('VirtualService/demo/podinfo')?.matched).toBe(0);
    expect(served(sim, 'demo', 'podinfo-primary')).toBe(100);
  });
});

describe('Gateway API matches', () => {
  function gwFlow(rules: object[]): Flow {
    const r = parseHttpRoute(httpRoute('demo', 'podinfo', rules));
    if (!r.ok) throw new Error(r.error);
    return r.flow;
  }

  it('the most specific match wins regardless of rule order (headers beat the catch-all)', () => {
    const flow = gwFlow([
      { backendRefs: [{ name: 'podinfo-primary' }] },
      {
        matches: [{ headers: [{ name: 'X-Canary', value: 'insider' }] }],
        backendRefs: [{ name: 'podinfo-canary' }],
      },
      {
        matches: [{ headers: [{ type: 'RegularExpression', name: 'cookie', value: flaggerCookie }] }],
        backendRefs: [{ name: 'podinfo-canary' }],
      },
      { matches: [{ path: { type: 'Exact', value: '/x' } }], backendRefs: [{ name: 'podinfo-canary' }] },
    ]);
    expect(selectRule(flow, req({}))).toBe(0);
    expect(selectRule(flow, req({ 'x-canary': 'insider' }))).toBe(1);
    expect(selectRule(flow, req({ cookie: 'canary=always' }))).toBe(2);
    expect(selectRule(flow, req({ 'x-canary': 'insider' }, { path: '/x' }))).toBe(3);
  });

  it('PathPrefix is element-wise', () => {
    const flow = gwFlow([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
        backendRefs: [{ name: 'podinfo-canary' }],
      },
    ]);
    expect(selectRule(flow, req({}, { path: '/api' }))).toBe(0);
    expect(selectRule(flow, req({}, { path: '/api/v1' }))).toBe(0);
    expect(selectRule(flow, req({}, { path: '/apiv1' }))).toBe(-1);
  });

  it('header-matching users reach the canary rule in the simulation', () => {
    const sim = simulator(
      flaggerCluster({
        httpRoutes: [
          httpRoute('demo', 'podinfo', [
            {
              matches: [{ headers: [{ name: 'x-canary', value: 'insider' }] }],
              backendRefs: [{ name: 'podinfo-canary' }],
            },
            {
              backendRefs: [
                { name: 'podinfo-primary', weight: 100 },
                { name: 'podinfo-canary', weight: 0 },
              ],
            },
          ]),
        ],
      }),
    );
    sim.simulate(sim.currentWorld().flows[0]!, 1000, 0);
    expect(served(sim, 'demo', 'podinfo')).toBe(100);
  });
});
