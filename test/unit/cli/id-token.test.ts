// `--id-token` / FLEDGE_ID_TOKEN of the operator commands: only its shape is checked by the CLI (the worker verifies
// it), before anything connects; a malformed one is invalid input (exit 5).
import { describe, expect, it } from 'vitest';
import { CliError, exitCodes } from '../../../src/cli/errors.js';
import { parseIdToken } from '../../../src/cli/operate.js';

describe('parseIdToken', () => {
  it('takes --id-token, else FLEDGE_ID_TOKEN, else none', () => {
    expect(parseIdToken('aaa.bbb.ccc', {})).toBe('aaa.bbb.ccc');
    expect(parseIdToken(undefined, { FLEDGE_ID_TOKEN: ' ddd.eee.fff\n' })).toBe('ddd.eee.fff');
    expect(parseIdToken('aaa.bbb.ccc', { FLEDGE_ID_TOKEN: 'ddd.eee.fff' })).toBe('aaa.bbb.ccc');
    expect(parseIdToken(undefined, {})).toBeUndefined();
  });

  it('refuses what is not a JWT with exit 5, naming where it came from', () => {
    const fail = (f: () => unknown): CliError => {
      try {
        f();
      } catch (e) {
        if (e instanceof CliError) return e;
      }
      throw new Error('no CliError');
    };
    const a = fail(() => parseIdToken('not a token', {}));
    expect(a.message).toMatch(/^--id-token: idToken is not a JWT/);
    expect(a.exitCode).toBe(exitCodes.invalidInput);
    expect(fail(() => parseIdToken(undefined, { FLEDGE_ID_TOKEN: 'x' })).message).toMatch(
      /^FLEDGE_ID_TOKEN:/,
    );
  });
});
