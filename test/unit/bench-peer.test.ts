// The pure parts of the peer benchmark (scripts/bench-peer/measure.ts): request classes, /proc parsing, report
// formatting.
import { describe, expect, it } from 'vitest';
import {
  classifyRequest,
  countClasses,
  formatRange,
  parseProcStatTicks,
  parseProcStatusMemory,
  ratio,
  replaceDocSection,
  requestKind,
  type CountedRequest,
} from '../../scripts/bench-peer/measure.js';

describe('classifyRequest', () => {
  it.each([
    ['GET', '/apis/apps/v1/namespaces/a/deployments/podinfo', 'read'],
    ['GET', '/apis/apps/v1/namespaces/a/deployments?limit=500&resourceVersion=0', 'read'],
    ['HEAD', '/api/v1/namespaces/a/pods', 'read'],
    ['GET', '/apis', 'read'],
    ['GET', '/apis/flagger.app/v1beta1/namespaces/a/canaries?watch=true&resourceVersion=12', 'watch'],
    ['GET', '/api/v1/namespaces/a/services?allowWatchBookmarks=true&watch=1', 'watch'],
    ['GET', '/api/v1/watch/namespaces/a/pods', 'watch'],
    ['GET', '/api/v1/namespaces/a/pods?watch=false', 'read'],
    ['POST', '/api/v1/namespaces/a/events', 'write'],
    [
      'PATCH',
      '/apis/networking.istio.io/v1/namespaces/a/virtualservices/podinfo?fieldManager=fledge',
      'write',
    ],
    ['PUT', '/apis/flagger.app/v1beta1/namespaces/a/canaries/podinfo/status', 'write'],
    ['DELETE', '/api/v1/namespaces/a/pods/x', 'write'],
    ['patch', '/apis/apps/v1/namespaces/a/deployments/podinfo/scale', 'write'],
  ])('%s %s → %s', (method, url, cls) => {
    expect(classifyRequest(method, url)).toBe(cls);
  });
});

describe('requestKind', () => {
  it.each([
    ['GET', '/apis/apps/v1/namespaces/a/deployments/podinfo', 'GET deployments'],
    ['PATCH', '/apis/apps/v1/namespaces/a/deployments/podinfo/scale', 'PATCH deployments/scale'],
    ['PUT', '/apis/flagger.app/v1beta1/namespaces/a/canaries/x/status', 'PUT canaries/status'],
    ['GET', '/api/v1/namespaces/a/services?watch=true', 'GET services'],
    ['GET', '/api/v1/watch/namespaces/a/pods', 'GET pods'],
    ['GET', '/apis/apps/v1/deployments', 'GET deployments'],
    ['GET', '/api/v1/namespaces/a', 'GET namespaces'],
    ['GET', '/apis', 'GET (discovery)'],
    ['GET', '/version', 'GET (discovery)'],
  ])('%s %s → %s', (method, url, kind) => {
    expect(requestKind(method, url)).toBe(kind);
  });
});

it('countClasses counts each class and the total', () => {
  const r = (cls: CountedRequest['cls']): CountedRequest => ({ at: 0, method: 'GET', path: '/', cls });
  expect(countClasses([r('read'), r('watch'), r('read'), r('write')])).toEqual({
    total: 4,
    read: 2,
    write: 1,
    watch: 1,
  });
});

describe('/proc parsing', () => {
  it('takes utime + stime after the command name, even one with spaces and parentheses', () => {
    const stat =
      '4242 (node (MainThread) x) S 1 4242 4242 0 -1 4194560 9147 0 0 0 1234 567 0 0 20 0 11 0 12345 1000000 20000';
    expect(parseProcStatTicks(stat)).toBe(1234 + 567);
  });
  it('rejects what is not a stat line', () => {
    expect(() => parseProcStatTicks('no parentheses here')).toThrow();
  });
  it('reads VmRSS and VmHWM in KiB', () => {
    const status =
      'Name:\tflagger\nVmPeak:\t 900000 kB\nVmHWM:\t   70000 kB\nVmRSS:\t   65536 kB\nThreads:\t12\n';
    expect(parseProcStatusMemory(status)).toEqual({ rssKiB: 65536, peakKiB: 70000 });
    expect(() => parseProcStatusMemory('Name:\tx\n')).toThrow(/VmRSS/);
  });
});

describe('report formatting', () => {
  it('formats a range over runs, a single value, or no data', () => {
    expect(formatRange([0.37, 0.04, 0.2], 2)).toBe('0.04–0.37');
    expect(formatRange([10.1], 1)).toBe('10.1');
    expect(formatRange([10.04, 10.01], 1)).toBe('10.0');
    expect(formatRange([], 1)).toBe('-');
    expect(formatRange([NaN], 1)).toBe('-');
  });
  it('gives Fledge ÷ Flagger of the means', () => {
    expect(ratio([1, 3], [4])).toBe('0.50×');
    expect(ratio([20], [2])).toBe('10×');
    expect(ratio([3], [2])).toBe('1.5×');
    expect(ratio([0], [0])).toBe('1×');
    expect(ratio([1], [0])).toBe('∞');
    expect(ratio([], [1])).toBe('-');
  });
});

describe('replaceDocSection', () => {
  const doc = '# Benchmarks\n\n## A\n\nold a\n\n## B\n\nb stays\n';
  it('replaces only its section and keeps the others', () => {
    expect(replaceDocSection(doc, '## A', '## A\n\nnew a\n')).toBe(
      '# Benchmarks\n\n## A\n\nnew a\n\n## B\n\nb stays\n',
    );
  });
  it('appends a section that is not there yet', () => {
    expect(replaceDocSection(doc, '## C', '## C\n\nc')).toBe(`${doc}\n## C\n\nc\n`);
  });
});
