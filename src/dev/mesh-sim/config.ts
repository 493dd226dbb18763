// Simulator configuration: traffic volume, the share of users that carry A/B match headers, and the
// per-version behaviour keyed by the image the pods run. Read from ConfigMap fledge-system/fledge-mesh-sim
// (key config.yaml or config.json). Pure: parsing and lookup only.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { imageTag } from './hosts.js';

export const configMapName = 'fledge-mesh-sim';
export const configMapNamespace = 'fledge-system';

const latencySchema = z
  .strictObject({ p50: z.number().positive(), p99: z.number().positive() })
  .refine((l) => l.p99 >= l.p50, { message: 'p99 must be >= p50' });

const behaviourFields = {
  errorRate: z.number().min(0).max(1).optional(),
  errorCode: z.number().int().min(400).max(599).optional(),
  latencyMs: latencySchema.optional(),
};

const validRegex = (s: string): boolean => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
};

const ruleSchema = z
  .strictObject({
    /** Glob on the whole image reference (`*` any run of characters, `?` one character). */
    image: z.string().min(1).optional(),
    /** Glob on the tag only (`ghcr.io/acme/app:1.0-bad` → `1.0-bad`). */
    tag: z.string().min(1).optional(),
    /** JavaScript regex searched in the whole image reference (unanchored unless you anchor it). */
    imageRegex: z.string().min(1).refine(validRegex, { message: 'invalid regular expression' }).optional(),
    ...behaviourFields,
  })
  .refine((r) => r.image !== undefined || r.tag !== undefined || r.imageRegex !== undefined, {
    message: 'a rule needs one of image, tag, imageRegex',
  });

const routeOverrideSchema = z.strictObject({
  requestsPerSecond: z.number().min(0).max(10_000).optional(),
  matchShare: z.number().min(0).max(1).optional(),
});

export const simConfigSchema = z.strictObject({
  /** Simulated requests per second for every routed service (VirtualService / HTTPRoute). */
  requestsPerSecond: z.number().min(0).max(10_000).default(20),
  /** Share of simulated users that carry the headers/cookie of the route's match rules. */
  matchShare: z.number().min(0).max(1).default(0.1),
  /**
   * `smooth`: weighted choices are interleaved deterministically (smooth weighted round-robin, error
   * diffusion for percentages), so 90/10 gives exactly 9 of every 10 requests and metrics are low-noise.
   * `random`: every choice is an independent draw, as Envoy does.
   */
  sampling: z.enum(['smooth', 'random']).default('smooth'),
  sourceNamespace: z.string().min(1).default('fledge-system'),
  clusterDomain: z.string().min(1).default('cluster.local'),
  /** Apply the built-in rules (tag contains bad/faulty → 20 % errors, slow → p50 300 ms / p99 1500 ms) after `rules`. */
  builtinRules: z.boolean().default(true),
  /** Behaviour by image; each field is taken from the first matching rule that sets it. */
  rules: z.array(ruleSchema).default([]),
  /** Behaviour of images no rule sets a field for. */
  default: z
    .strictObject({
      errorRate: z.number().min(0).max(1).default(0),
      errorCode: z.number().int().min(400).max(599).default(500),
      latencyMs: latencySchema.prefault({ p50: 20, p99: 80 }),
    })
    .prefault({}),
  /** Per-route overrides keyed by `<namespace>/<name>` of the VirtualService or HTTPRoute. */
  routes: z.record(z.string(), routeOverrideSchema).default({}),
  /** Series not updated for this long are dropped from /metrics (deleted namespaces). 0 keeps them. */
  seriesTtlSeconds: z.number().min(0).default(900),
});

export type SimConfig = z.infer<typeof simConfigSchema>;
export type BehaviourRule = z.infer<typeof ruleSchema>;

export interface Behaviour {
  errorRate: number;
  errorCode: number;
  latencyMs: { p50: number; p99: number };
}

export const builtinRules: readonly BehaviourRule[] = [
  { tag: '*bad*', errorRate: 0.2 },
  { tag: '*faulty*', errorRate: 0.2 },
  { tag: '*slow*', latencyMs: { p50: 300, p99: 1500 } },
];

export const defaultSimConfig: SimConfig = simConfigSchema.parse({});

export type ConfigParseResult =
  { ok: true; config: SimConfig; source: string } | { ok: false; error: string; source: string };

/** The config from a ConfigMap's data (`config.yaml`, `config.yml` or `config.json`); absent → defaults. */
export function parseSimConfig(data: Record<string, string> | undefined): ConfigParseResult {
  const key = ['config.yaml', 'config.yml', 'config.json'].find((k) => data?.[k] !== undefined);
  if (!data || key === undefined) return { ok: true, config: defaultSimConfig, source: 'defaults' };
  const text = data[key] ?? '';
  let raw: unknown;
  try {
    raw = key === 'config.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    return { ok: false, error: `${key}: ${e instanceof Error ? e.message : String(e)}`, source: key };
  }
  const parsed = simConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) return { ok: false, error: `${key}: ${z.prettifyError(parsed.error)}`, source: key };
  return { ok: true, config: parsed.data, source: key };
}

const globCache = new Map<string, RegExp>();

/** Full-match glob: `*` any run of characters (including `/` and `:`), `?` exactly one. */
export function globMatch(glob: string, value: string): boolean {
  let re = globCache.get(glob);
  if (!re) {
    const src = glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${src}$`);
    globCache.set(glob, re);
  }
  return re.test(value);
}

export function ruleMatches(rule: BehaviourRule, image: string): boolean {
  if (rule.image !== undefined && !globMatch(rule.image, image)) return false;
  if (rule.tag !== undefined && !globMatch(rule.tag, imageTag(image))) return false;
  if (rule.imageRegex !== undefined && !new RegExp(rule.imageRegex).test(image)) return false;
  return true;
}

/** Behaviour of an image: each field from the first matching rule that sets it, else the default. */
export function behaviourFor(image: string, config: SimConfig): Behaviour {
  const rules = config.builtinRules ? [...config.rules, ...builtinRules] : config.rules;
  const matching = rules.filter((r) => ruleMatches(r, image));
  return {
    errorRate: matching.find((r) => r.errorRate !== undefined)?.errorRate ?? config.default.errorRate,
    errorCode: matching.find((r) => r.errorCode !== undefined)?.errorCode ?? config.default.errorCode,
    latencyMs: matching.find((r) => r.latencyMs !== undefined)?.latencyMs ?? config.default.latencyMs,
  };
}
