import { describe, expect, it } from 'vitest';
import { durationText, imageChanges } from '../../../src/integrations/notify/format.js';
import { dashboardLinker } from '../../../src/integrations/notify/factory.js';
import type { ReleaseNotification } from '../../../src/integrations/notify/notifier.js';

describe('durationText', () => {
  it.each([
    [0, '0 s'],
    [42_400, '42 s'],
    [60_000, '1 min 00 s'],
    [252_000, '4 min 12 s'],
    [3_780_000, '1 h 03 min'],
    [-5, '0 s'],
  ])('%i ms → %s', (ms, text) => expect(durationText(ms)).toBe(text));
});

describe('imageChanges', () => {
  const n = (previousImages: Record<string, string>, newImages: Record<string, string>) =>
    ({ release: { previousImages, newImages } }) as unknown as ReleaseNotification;
  it.each([
    [{ app: 'r/app:1.0' }, { app: 'r/app:1.1' }, ['app: r/app:1.0 → …:1.1']],
    [{ app: 'r/app:1.0' }, { app: 'other/app:1.1' }, ['app: r/app:1.0 → other/app:1.1']],
    [{ app: 'r/app:1.0' }, { app: 'r/app@sha256:abc1' }, ['app: r/app:1.0 → …@sha256:abc1']],
    [{}, { app: 'r/app:1.1' }, ['app: r/app:1.1']],
    [{ app: 'r/app:1.1' }, { app: 'r/app:1.1' }, ['app: r/app:1.1']],
    [
      { app: 'r/app:1', sidecar: 's:2' },
      { app: 'r/app:2', sidecar: 's:3' },
      ['app: r/app:1 → …:2', 'sidecar: s:2 → …:3'],
    ],
  ])('%j → %j gives %j', (before, after, lines) => expect(imageChanges(n(before, after))).toEqual(lines));
});

describe('dashboardLinker', () => {
  it('fills {namespace} and {name}, URL-encoded', () => {
    expect(
      dashboardLinker('https://g/d/x?var-ns={namespace}&var-t={name}')({ namespace: 'a b', name: 'p&q' }),
    ).toBe('https://g/d/x?var-ns=a%20b&var-t=p%26q');
  });
});
