// `fledge cluster-mode`: its input is checked before anything connects (exit 5).
import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../src/cli/program.js';

describe('fledge cluster-mode', () => {
  it('refuses a namespace that is not a DNS-1123 label, before connecting', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await runCli(['node', 'fledge', 'cluster-mode', '-n', 'Bad_NS'])).toBe(5);
      expect(errors.mock.calls.flat().join('\n')).toContain('--namespace: not a namespace name: Bad_NS');
    } finally {
      errors.mockRestore();
    }
  });
});
