// `fledge start --batch`: the batch file's shape (every problem with its path) and how several outcomes map to one
// exit code.
import { describe, expect, it } from 'vitest';
import { batchExitCode, maxBatchEntries, parseBatch } from '../../../src/cli/batch.js';
import { exitCodes } from '../../../src/cli/errors.js';

describe('parseBatch', () => {
  it('reads a YAML or JSON list of {file, images}', () => {
    const yaml = parseBatch(
      '- file: a.yaml\n  images: {app: ghcr.io/acme/a:1}\n- file: b.yaml\n  images:\n    app: x:2\n',
      {},
    );
    expect(yaml).toEqual({
      ok: true,
      entries: [
        { file: 'a.yaml', images: { app: 'ghcr.io/acme/a:1' } },
        { file: 'b.yaml', images: { app: 'x:2' } },
      ],
    });
    const json = parseBatch(
      JSON.stringify([{ file: '/abs/c.yaml', images: { app: 'c:3', side: 'd:4' } }]),
      {},
    );
    expect(json).toEqual({
      ok: true,
      entries: [{ file: '/abs/c.yaml', images: { app: 'c:3', side: 'd:4' } }],
    });
  });

  it('lists every problem with its path', () => {
    const r = parseBatch(
      '- file: a.yaml\n  images: [app=x:1]\n- images: {app: 7}\n  extra: 1\n- just text\n',
      {},
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([
      '[0].images: expected a map of <container>: <image reference>',
      '[1].extra: unknown field (expected file, images)',
      '[1].file: expected the path of a spec file',
      '[1].images.app: expected an image reference (a string)',
      '[2]: expected {file, images}',
    ]);
  });

  it('refuses an empty list, a non-list, too many entries and YAML errors', () => {
    expect(parseBatch('[]', {}).ok).toBe(false);
    expect(parseBatch('file: a.yaml', {}).ok).toBe(false);
    const many = JSON.stringify(
      Array.from({ length: maxBatchEntries + 1 }, () => ({ file: 'a', images: {} })),
    );
    const r = parseBatch(many, {});
    expect(r.ok ? [] : r.errors).toEqual([
      `${maxBatchEntries + 1} entries; at most ${maxBatchEntries} in one batch`,
    ]);
    const bad = parseBatch('- file: a\n  file: b\n', {});
    expect(bad.ok ? [] : bad.errors.join('\n')).toMatch(/^2:\d+ /);
  });
});

describe('batchExitCode', () => {
  it('0 only when every release promoted (or was submitted, without --wait)', () => {
    expect(batchExitCode([0, 0, 0])).toBe(exitCodes.promoted);
    expect(batchExitCode([])).toBe(exitCodes.promoted);
  });
  it('a decision (rolled back, aborted) before infrastructure and timeouts, superseded last', () => {
    expect(batchExitCode([0, 4, 7, 6, 2])).toBe(exitCodes.rolledBack);
    expect(batchExitCode([0, 4, 3, 7])).toBe(exitCodes.aborted);
    expect(batchExitCode([4, 7, 6])).toBe(exitCodes.infrastructure);
    expect(batchExitCode([4, 7, 0])).toBe(exitCodes.timeout);
    expect(batchExitCode([0, 4])).toBe(exitCodes.superseded);
    expect(batchExitCode([2, 1])).toBe(exitCodes.failure);
  });
});
