// The mesh simulator's list + watch cache: applying a list and watch events, splitting a watch stream into lines.
import { describe, expect, it } from 'vitest';
import { ObjectStore, splitLines } from '../../../src/dev/mesh-sim/watch-cache.js';

const obj = (ns: string, name: string, rv: string, extra: Record<string, unknown> = {}) => ({
  metadata: { namespace: ns, name, resourceVersion: rv },
  ...extra,
});

describe('ObjectStore', () => {
  it('takes a list, then adds, modifies and deletes by namespace/name, tracking the resourceVersion', () => {
    const s = new ObjectStore();
    s.reset({ metadata: { resourceVersion: '10' }, items: [obj('a', 'x', '5'), obj('b', 'x', '7')] });
    expect(s.resourceVersion).toBe('10');
    expect(s.values()).toHaveLength(2);
    expect(s.apply({ type: 'ADDED', object: obj('a', 'y', '11') })).toBe('ok');
    expect(s.apply({ type: 'MODIFIED', object: obj('a', 'x', '12', { spec: { v: 2 } }) })).toBe('ok');
    expect(s.apply({ type: 'DELETED', object: obj('b', 'x', '13') })).toBe('ok');
    expect(s.apply({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } })).toBe('ok');
    expect(s.resourceVersion).toBe('20');
    expect(s.values()).toEqual([obj('a', 'x', '12', { spec: { v: 2 } }), obj('a', 'y', '11')]);
  });
  it('asks for a relist on an ERROR event (410 Gone) and replaces everything on reset', () => {
    const s = new ObjectStore();
    s.reset({ metadata: { resourceVersion: '1' }, items: [obj('a', 'x', '1')] });
    expect(s.apply({ type: 'ERROR', object: { kind: 'Status', code: 410 } })).toBe('relist');
    expect(s.resourceVersion).toBe('1');
    s.reset({ metadata: { resourceVersion: '30' }, items: [obj('c', 'z', '29')] });
    expect(s.values()).toEqual([obj('c', 'z', '29')]);
    s.reset({});
    expect(s.values()).toEqual([]);
    expect(s.resourceVersion).toBe('');
  });
});

describe('splitLines', () => {
  it('returns complete lines and keeps the partial last one for the next chunk', () => {
    const a = splitLines('', '{"a":1}\n{"b":');
    expect(a).toEqual({ lines: ['{"a":1}'], rest: '{"b":' });
    const b = splitLines(a.rest, '2}\n\n{"c":3}\n');
    expect(b).toEqual({ lines: ['{"b":2}', '{"c":3}'], rest: '' });
  });
});
