// docker-compose.yml without a Docker engine. Two layers:
// 1. the Compose Specification JSON schema (compose-spec's compose-spec.json, as shipped in the npm package `dclint`
//    at schemas/compose.schema.json), validated with ajv — when that package is installed, or when
//    FLEDGE_COMPOSE_SCHEMA points at a copy of the schema; otherwise that one test is skipped;
// 2. structural checks that always run: what the schema cannot know (references resolve, one-shot ordering, the
//    Temporal layout without auto-setup, the worker's environment accepted by the worker itself).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadFledgeConfig } from '../../src/config.js';
import { projectRoot } from '../../src/dev/stack/config.js';
import { fledgeSearchAttributes } from '../../src/workflows/search-attributes.js';

type Dict = Record<string, unknown>;
interface Service {
  image?: string;
  build?: string | Dict;
  depends_on?: string[] | Record<string, { condition: string; required?: boolean; restart?: boolean }>;
  environment?: Record<string, string | number | boolean | null> | string[];
  entrypoint?: string | string[];
  command?: string | string[];
  ports?: Array<string | number | Dict>;
  expose?: Array<string | number>;
  volumes?: Array<string | Dict>;
  configs?: Array<string | { source: string; target?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  read_only?: boolean;
  cap_drop?: string[];
}
interface Compose {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string; file?: string }>;
  [k: string]: unknown;
}

const composeFile = join(projectRoot, 'docker-compose.yml');
const raw = parse(readFileSync(composeFile, 'utf8')) as Compose;

/**
 * Compose variable interpolation (compose-spec "Interpolation"): `$$` escapes, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}` and `$VAR`; an unset variable without
 * a default becomes "" (as `docker compose config` does, with a warning) and a required one fails.
 */
function interpolate(value: unknown, env: Record<string, string | undefined>, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (m, braced?: string, op?: string, arg?: string, bare?: string) => {
        if (m === '$$') return '$';
        const name = (braced ?? bare) as string;
        const v = env[name];
        const set = v !== undefined;
        const nonEmpty = set && v !== '';
        const nested = (s: string | undefined): string => interpolate(s ?? '', env, path) as string;
        switch (op) {
          case ':-':
            return nonEmpty ? (v as string) : nested(arg);
          case '-':
            return set ? (v as string) : nested(arg);
          case ':?':
          case '?':
            if (op === ':?' ? nonEmpty : set) return v as string;
            throw new Error(`${path}: required variable ${name} is missing: ${arg ?? ''}`);
          case ':+':
            return nonEmpty ? nested(arg) : '';
          case '+':
            return set ? nested(arg) : '';
          default:
            return v ?? '';
        }
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, `${path}.${k}`)]),
    );
  return value;
}

/** The file as `docker compose config` sees it with no variables set (every default applies). */
const compose = interpolate(raw, {}) as Compose;
const services = Object.entries(compose.services);

function envOf(s: Service): Record<string, string> {
  if (Array.isArray(s.environment))
    return Object.fromEntries(
      s.environment.map((e) => [
        e.split('=')[0] as string,
        e.includes('=') ? e.slice(e.indexOf('=') + 1) : '',
      ]),
    );
  return Object.fromEntries(
    Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]),
  );
}

function dependsOn(s: Service): Record<string, { condition: string }> {
  if (Array.isArray(s.depends_on))
    return Object.fromEntries(s.depends_on.map((d) => [d, { condition: 'service_started' }]));
  return s.depends_on ?? {};
}

function script(s: Service): string {
  return [s.entrypoint, s.command]
    .flat()
    .filter((x) => typeof x === 'string')
    .join('\n');
}

function service(name: string): Service {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

function servicesByImage(repo: string): Array<[string, Service]> {
  return services.filter(([, s]) => s.image?.split(':')[0] === repo);
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The Compose Specification schema, when available.

interface SchemaValidator {
  source: string;
  validate: (doc: unknown) => { ok: boolean; errors: string[] };
}

interface AjvLike {
  compile: (schema: object) => ((data: unknown) => boolean) & {
    errors?: Array<{ instancePath: string; message?: string; params?: unknown }> | null;
  };
}
type AjvCtor = new (opts: object) => AjvLike;

async function loadSchemaValidator(): Promise<SchemaValidator | undefined> {
  const require = createRequire(import.meta.url);
  let schemaPath = process.env.FLEDGE_COMPOSE_SCHEMA;
  let ajvFrom = join(projectRoot, 'package.json');
  if (!schemaPath) {
    try {
      const pkg = require.resolve('dclint/package.json');
      schemaPath = join(dirname(pkg), 'schemas', 'compose.schema.json');
      ajvFrom = pkg; // dclint's own ajv (a dependency of dclint)
    } catch {
      return undefined;
    }
  }
  if (!existsSync(schemaPath)) return undefined;
  let Ajv: AjvCtor;
  try {
    const ajvPath = createRequire(ajvFrom).resolve('ajv');
    const mod = (await import(ajvPath)) as { default?: AjvCtor & { default?: AjvCtor }; Ajv?: AjvCtor };
    const ctor = mod.Ajv ?? mod.default?.default ?? mod.default;
    if (!ctor) return undefined;
    Ajv = ctor;
  } catch {
    return undefined;
  }
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Dict;
  delete schema.$schema; // draft-07 written as an https URL ajv does not know by that name
  const validate = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);
  return {
    source: schemaPath,
    validate: (doc) => {
      const ok = validate(doc);
      return {
        ok,
        errors: (validate.errors ?? []).map(
          (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
        ),
      };
    },
  };
}

const validator = await loadSchemaValidator();

describe('docker-compose.yml: Compose Specification schema', () => {
  it.skipIf(!validator)(
    'validates against compose-spec.json (npm package dclint, schemas/compose.schema.json, or $FLEDGE_COMPOSE_SCHEMA)',
    () => {
      const v = validator as SchemaValidator;
      const result = v.validate(compose);
      expect(result.errors, v.source).toEqual([]);
      expect(result.ok).toBe(true);
      // …and the validator is live: a misspelt key is rejected.
      const broken = structuredClone(compose) as Compose;
      (broken.services['fledge-worker'] as Dict).enviroment = {};
      expect(v.validate(broken).ok).toBe(false);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Structural checks (always).

describe('docker-compose.yml: structure', () => {
  it('interpolates: every variable has a default, and `$$` escapes survive as `$` for the container shell', () => {
    const text = readFileSync(composeFile, 'utf8');
    const vars = [...text.matchAll(/(?<!\$)\$\{([A-Za-z_]\w*)(:?[-?+])?/g)].map(
      (m) => `${m[1]}${m[2] ?? ''}`,
    );
    expect(vars.length).toBeGreaterThan(0);
    expect(vars.filter((v) => !/:?-$/.test(v))).toEqual([]);
    expect(script(service('temporal-admin-tools'))).toContain('--ep "${POSTGRES_SEEDS}"'); // for the container shell
    expect(interpolate('a $$HOME ${X:-d} ${Y-e} ${Z:+f} $W', { Z: '1', W: 'w' })).toBe('a $HOME d e f w');
    expect(() => interpolate('${NEED:?set it}', {})).toThrow(/NEED/);
  });

  it('uses only top-level keys of the Compose Specification', () => {
    const allowed = [
      'version',
      'name',
      'include',
      'services',
      'models',
      'networks',
      'volumes',
      'secrets',
      'configs',
    ];
    expect(Object.keys(compose).filter((k) => !allowed.includes(k) && !k.startsWith('x-'))).toEqual([]);
    expect(compose.version).toBeUndefined(); // obsolete in the Compose Specification
  });

  it('every service has an image or a build, images are pinned, and nothing uses temporalio/auto-setup', () => {
    for (const [name, s] of services) {
      expect(s.image !== undefined || s.build !== undefined, `${name}: image or build`).toBe(true);
      if (s.image) {
        expect(s.image, name).toMatch(/^[a-z0-9./_-]+:[A-Za-z0-9._-]+$/);
        expect(s.image.split(':')[1], name).not.toMatch(/^(latest|stable|edge|nightly)$/);
        expect(s.image, name).not.toMatch(/auto-setup/);
      }
    }
    expect(readFileSync(composeFile, 'utf8')).not.toMatch(/temporalio\/auto-setup/);
  });

  it('depends_on: targets exist, conditions are valid, no cycles, completion waits are on one-shots', () => {
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [name, s] of services) {
      for (const [dep, d] of Object.entries(dependsOn(s))) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(conditions, `${name} → ${dep}`).toContain(d.condition);
        if (d.condition === 'service_healthy')
          expect(service(dep).healthcheck?.test, `${dep} healthcheck`).toBeDefined();
        if (d.condition === 'service_completed_successfully')
          expect(service(dep).restart ?? 'no', `${dep} is a one-shot`).toMatch(/^(no|on-failure(:\d+)?)$/);
      }
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (n: string, trail: string[]): void => {
      if (done.has(n)) return;
      if (visiting.has(n)) throw new Error(`depends_on cycle: ${[...trail, n].join(' → ')}`);
      visiting.add(n);
      for (const d of Object.keys(dependsOn(service(n)))) visit(d, [...trail, n]);
      visiting.delete(n);
      done.add(n);
    };
    for (const [n] of services) visit(n, []);
  });

  it('ports and expose are strings or numbers of valid port syntax; volumes and configs resolve', () => {
    const portRe =
      /^((\d{1,3}\.){3}\d{1,3}:|\[[0-9a-f:]+\]:)?(\d{1,5}(-\d{1,5})?:)?\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/;
    for (const [name, s] of services) {
      for (const p of [...(s.ports ?? []), ...(s.expose ?? [])]) {
        expect(['string', 'number'], `${name}: ${JSON.stringify(p)}`).toContain(typeof p);
        expect(String(p), name).toMatch(portRe);
      }
      for (const v of s.volumes ?? []) {
        if (typeof v !== 'string') continue;
        const src = v.split(':')[0] as string;
        const named = !/^[./~]/.test(src) && !src.startsWith('/') && v.includes(':');
        if (named) expect(compose.volumes?.[src], `${name}: volume ${src}`).toBeDefined();
      }
      for (const c of s.configs ?? []) {
        const src = typeof c === 'string' ? c : c.source;
        expect(compose.configs?.[src], `${name}: config ${src}`).toBeDefined();
      }
    }
  });

  it('PostgreSQL 16 with a health check and a named volume', () => {
    const [[name, pg]] = servicesByImage('postgres') as [[string, Service]];
    expect(pg.image).toMatch(/^postgres:16(\.|-|$)/);
    expect(JSON.stringify(pg.healthcheck?.test)).toContain('pg_isready');
    expect(pg.volumes?.some((v) => typeof v === 'string' && v.endsWith(':/var/lib/postgresql/data'))).toBe(
      true,
    );
    expect(envOf(service('temporal')).POSTGRES_SEEDS).toBe(name);
  });

  it('temporal-admin-tools creates and migrates both databases with temporal-sql-tool (postgres12), once', () => {
    const tools = service('temporal-admin-tools');
    expect(tools.image).toMatch(/^temporalio\/admin-tools:1\.(2\d|3\d)\.\d+$/);
    expect(dependsOn(tools).postgresql?.condition).toBe('service_healthy');
    const sh = script(tools);
    expect(sh).toMatch(/temporal-sql-tool --plugin postgres12/);
    for (const db of ['temporal', 'temporal_visibility']) {
      const dir = db === 'temporal' ? 'temporal' : 'visibility';
      expect(sh).toContain(`--db ${db} create-database`);
      expect(sh).toContain(`--db ${db} setup-schema -v 0.0`);
      expect(sh).toContain(
        `--db ${db} update-schema -d /etc/temporal/schema/postgresql/v12/${dir}/versioned`,
      );
    }
    expect(envOf(tools).SQL_PASSWORD).toBe(envOf(service('temporal')).POSTGRES_PWD);
  });

  it('the Temporal server is temporalio/server 1.2x/1.3x configured by its env template, after the schema', () => {
    const t = service('temporal');
    expect(t.image).toMatch(/^temporalio\/server:1\.(2\d|3\d)\.\d+$/);
    expect(t.image?.split(':')[1]).toBe(service('temporal-admin-tools').image?.split(':')[1]); // schema = server
    expect(dependsOn(t)['temporal-admin-tools']?.condition).toBe('service_completed_successfully');
    const env = envOf(t);
    expect(env).toMatchObject({
      DB: 'postgres12',
      DB_PORT: '5432',
      POSTGRES_SEEDS: 'postgresql',
      DBNAME: 'temporal',
      VISIBILITY_DBNAME: 'temporal_visibility',
      BIND_ON_IP: '0.0.0.0',
    });
    expect(env.POSTGRES_USER).toBe(envOf(service('postgresql')).POSTGRES_USER);
    expect(env.POSTGRES_PWD).toBe(envOf(service('postgresql')).POSTGRES_PASSWORD);
    const dyn = (t.configs ?? []).find(
      (c) => typeof c !== 'string' && c.target === env.DYNAMIC_CONFIG_FILE_PATH,
    );
    expect(dyn, 'DYNAMIC_CONFIG_FILE_PATH is mounted').toBeDefined();
    const dynamic = parse(compose.configs?.[(dyn as { source: string }).source]?.content ?? '') as Dict;
    expect(dynamic['frontend.enableExecuteMultiOperation']).toEqual([{ value: true }]); // update-with-start (lanes)
  });

  it("a one-shot registers exactly Fledge's search attributes (src/workflows/search-attributes.ts) in the namespace", () => {
    const setup = services.filter(([, s]) => script(s).includes('temporal operator search-attribute create'));
    expect(setup.map(([n]) => n)).toEqual(['temporal-setup']);
    const [, s] = setup[0] as [string, Service];
    expect(s.image).toBe(service('temporal-admin-tools').image);
    expect(dependsOn(s).temporal?.condition).toBe('service_healthy');
    const sh = script(s);
    const declared = [...sh.matchAll(/\b(Fledge\w+)=(\w+)/g)].map((m) => `${m[1]}=${m[2]}`).sort();
    const cliType = (t: string): string => t.charAt(0) + t.slice(1).toLowerCase();
    expect(declared).toEqual(fledgeSearchAttributes.map((k) => `${k.name}=${cliType(k.type)}`).sort());
    expect(sh).toMatch(/temporal operator namespace create/); // no auto-setup creates the namespace
    expect(envOf(s).TEMPORAL_NAMESPACE).toBe(envOf(service('fledge-worker')).TEMPORAL_NAMESPACE);
  });

  it('the Temporal UI points at the frontend', () => {
    const [[, ui]] = servicesByImage('temporalio/ui') as [[string, Service]];
    expect(envOf(ui).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('the worker is built from the Dockerfile, starts after the setup, and its environment is valid for the worker', () => {
    const w = service('fledge-worker');
    expect(w.build).toBe('.');
    expect(existsSync(join(projectRoot, 'Dockerfile'))).toBe(true);
    expect(dependsOn(w)['temporal-setup']?.condition).toBe('service_completed_successfully');
    const env = envOf(w);
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    const cfg = loadFledgeConfig(env);
    expect(cfg.temporal.address).toBe('temporal:7233');
    expect(cfg.kubeconfig).toBe('/kube/config');
    expect(w.volumes).toContainEqual(expect.stringMatching(/:\/kube\/config:ro$/));
    expect(w.read_only).toBe(true);
    expect(w.cap_drop).toEqual(['ALL']);
  });

  it('Prometheus scrapes the worker (metrics port 9464, as in the Kubernetes Deployment) and the Temporal server', () => {
    const [[, prom]] = servicesByImage('prom/prometheus') as [[string, Service]];
    const ref = (prom.configs ?? []).find(
      (c) => typeof c !== 'string' && c.target === '/etc/prometheus/prometheus.yml',
    );
    expect(ref).toBeDefined();
    const cfg = parse(compose.configs?.[(ref as { source: string }).source]?.content ?? '') as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = cfg.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    expect(targets).toContain('fledge-worker:9464');
    expect(service('fledge-worker').expose?.map(String)).toContain('9464');
    const temporalMetrics = envOf(service('temporal')).PROMETHEUS_ENDPOINT?.split(':')[1];
    expect(targets).toContain(`temporal:${temporalMetrics}`);
  });
});
