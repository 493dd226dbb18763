// The CLI's output module: when colours are allowed, tables that ignore escape sequences, in-place redraw.
import { describe, expect, it } from 'vitest';
import {
  LiveRegion,
  clock,
  colourWanted,
  painter,
  stripAnsi,
  table,
  visibleLength,
  type Writable,
} from '../../../src/cli/output.js';

describe('colourWanted', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it.each([
    ['a terminal', tty, {}, true, true],
    ['a pipe', pipe, {}, true, false],
    ['--no-color on a terminal', tty, {}, false, false],
    ['NO_COLOR=1 on a terminal', tty, { NO_COLOR: '1' }, true, false],
    ['NO_COLOR set but empty', tty, { NO_COLOR: '' }, true, false],
    ['TERM=dumb', tty, { TERM: 'dumb' }, true, false],
    ['FORCE_COLOR=1 on a pipe', pipe, { FORCE_COLOR: '1' }, true, true],
    ['FORCE_COLOR=0 on a terminal', tty, { FORCE_COLOR: '0' }, true, true],
    ['FORCE_COLOR=0 on a pipe', pipe, { FORCE_COLOR: '0' }, true, false],
    ['FORCE_COLOR with NO_COLOR', pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, true, false],
    ['FORCE_COLOR with --no-color', pipe, { FORCE_COLOR: '1' }, false, false],
  ])('%s', (_name, stream, env, flag, expected) => {
    expect(colourWanted(stream, env, flag)).toBe(expected);
  });
});

describe('painter and tables', () => {
  it('paints only when enabled; stripAnsi/visibleLength see through it', () => {
    expect(painter(false).red('x')).toBe('x');
    const red = painter(true).red('boom');
    expect(red).toBe('\x1b[31mboom\x1b[39m');
    expect(stripAnsi(red)).toBe('boom');
    expect(visibleLength(`${red} ✓`)).toBe(6);
    expect(painter(true).green('')).toBe('');
  });

  it('pads columns by visible width, right-aligns where asked, leaves the last column unpadded', () => {
    const p = painter(true);
    const text = table(
      [{ header: 'NAME' }, { header: 'N', align: 'right' }, { header: 'NOTE' }],
      [
        [p.green('a'), '1', 'short'],
        ['longer', '100', 'x'],
      ],
      painter(false),
    );
    expect(stripAnsi(text).split('\n')).toEqual([
      'NAME      N  NOTE',
      'a         1  short',
      'longer  100  x',
    ]);
  });

  it('clock: UTC time of day', () => {
    expect(clock(Date.UTC(2026, 10, 22, 10, 7, 12, 345))).toBe('10:07:12');
  });
});

describe('LiveRegion', () => {
  function fake(columns = 80): Writable & { chunks: string[] } {
    const chunks: string[] = [];
    return { chunks, columns, isTTY: true, write: (s: string) => chunks.push(s) > 0 };
  }

  it('draws, redraws in place (cursor up over the previous frame, clear to end), skips identical frames', () => {
    const s = fake();
    const r = new LiveRegion(s);
    r.render('a\nb');
    expect(s.chunks.join('')).toBe('\x1b[?25l\x1b[Ja\nb\n');
    s.chunks.length = 0;
    r.render('a\nb'); // unchanged: nothing written
    expect(s.chunks).toEqual([]);
    r.render('c\nd\ne');
    expect(s.chunks.join('')).toBe('\x1b[2A\r\x1b[Jc\nd\ne\n');
    s.chunks.length = 0;
    r.render('f');
    expect(s.chunks.join('')).toBe('\x1b[3A\r\x1b[Jf\n');
    s.chunks.length = 0;
    r.done();
    expect(s.chunks.join('')).toBe('\x1b[?25h');
  });

  it('counts wrapped lines (by visible width) when moving back up', () => {
    const s = fake(10);
    const r = new LiveRegion(s);
    r.render(`${'x'.repeat(25)}\n${painter(true).red('y'.repeat(10))}`);
    s.chunks.length = 0;
    r.render('z');
    expect(s.chunks.join('')).toBe('\x1b[4A\r\x1b[Jz\n'); // 3 rows for 25 chars + 1 for exactly 10
  });
});
