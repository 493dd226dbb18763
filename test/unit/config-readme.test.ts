// The README's worker section lists every setting the worker's configuration reads (src/config.ts's schema and the
// identity settings it loads), marks exactly the required ones, and lists nothing else.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema, requiredWorkerSettings } from '../../src/config.js';
import { projectRoot } from '../../src/dev/stack/config.js';

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');

/** The table of the `## Running a worker` section: variable names per row, and whether the row says required. */
function workerTable(): { names: string[]; required: boolean }[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Running a worker\n'));
  if (!section) throw new Error('README has no "## Running a worker" section');
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  return rows.map((row) => {
    const [vars = '', required = ''] = row.split(' | ').map((c) => c.replace(/^\| /, ''));
    return {
      names: [...vars.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] ?? ''),
      required: required.startsWith('yes'),
    };
  });
}

/** The identity settings src/config.ts loads (identitySettingsFromEnv): the keys of that module's schema. */
function identityVars(): string[] {
  const src = readFileSync(join(projectRoot, 'src/integrations/identity/settings.ts'), 'utf8');
  const schema = /const envSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(src)?.[1] ?? '';
  return [...schema.matchAll(/^ {2}(FLEDGE_[A-Z0-9_]+):/gm)].map((m) => m[1] ?? '');
}

describe('README: the worker’s settings table', () => {
  const table = workerTable();
  const documented = table.flatMap((r) => r.names);

  it('lists every environment variable of the configuration schema', () => {
    const schemaVars = Object.keys(envSchema.shape);
    expect(schemaVars.length).toBeGreaterThan(10);
    expect(schemaVars.filter((v) => !documented.includes(v))).toEqual([]);
  });

  it('lists the identity settings the configuration loads', () => {
    const ids = identityVars();
    expect(ids.length).toBeGreaterThan(3);
    expect(ids.filter((v) => !documented.includes(v))).toEqual([]);
  });

  it('lists nothing the configuration does not read, each once', () => {
    const known = new Set([...Object.keys(envSchema.shape), ...identityVars()]);
    expect(documented.filter((v) => !known.has(v))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('marks exactly the settings a worker cannot start without as required', () => {
    const required = table.filter((r) => r.required).flatMap((r) => r.names);
    expect(required.sort()).toEqual(Object.keys(requiredWorkerSettings).sort());
  });
});
