import { describe, expect, it } from 'vitest';
import { formatDuration, parseGoDuration } from '../../../src/domain/manifest/duration.js';

describe('parseGoDuration (Go time.ParseDuration grammar)', () => {
  it.each<[string, number]>([
    ['1m', 60_000],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2s', 2000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['1.s', 1000],
    ['0', 0],
    ['-1s', -1000],
    ['+10s', 10_000],
    ['1000us', 1],
    ['1000µs', 1],
    ['1000000ns', 1],
    ['10s500ms', 10_500],
  ])('%s → %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toEqual({ ok: true, ms });
  });

  it.each<[string, string]>([
    ['', 'empty string'],
    ['10', 'missing unit after "10"'],
    ['1x', 'unknown unit "x"'],
    ['1 m', 'unknown unit " m"'],
    ['m', 'expected a number at "m"'],
    ['.s', 'expected a number at ".s"'],
    ['-', 'missing number'],
    ['1d', 'unknown unit "d"'],
    ['5m10', 'missing unit after "10"'],
  ])('%j is rejected (%s)', (text, why) => {
    const result = parseGoDuration(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toContain(`invalid duration ${JSON.stringify(text)}`);
      expect(result.error).toContain(why);
    }
  });
});

describe('formatDuration (PromQL/Go duration with integer parts)', () => {
  it.each<[number, string]>([
    [60_000, '1m'],
    [90_000, '1m30s'],
    [500, '500ms'],
    [2000, '2s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [10_500, '10s500ms'],
    [0, '0s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
