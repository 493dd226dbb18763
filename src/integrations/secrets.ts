// Credentials the worker holds, never the spec: a `secretRef: {name}` (MetricTemplate provider) resolves to the
// Secret `<name>` of the template's namespace, as the worker sees it — mounted files
// `$FLEDGE_SECRETS_DIR/<namespace>/<name>/<key>` (a Secret volume per namespace/name, the production way), else
// environment variables `FLEDGE_SECRET_<NAMESPACE>__<NAME>__<KEY>` (upper-cased, non-alphanumerics as `_`; the
// double underscores keep `a-b`/`c` and `a`/`b-c` apart, so names containing `--` have no env form).
// Scoped by namespace: a template can only use its own namespace's Secrets. Values never leave the activity:
// they become request headers and are not returned, logged or put into any result.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type SecretData = Readonly<Record<string, string>>;

export interface SecretSource {
  /** The Secret's keys and values, or undefined when the worker has no such Secret. */
  read(namespace: string, name: string): SecretData | undefined;
}

/** The keys Fledge reads from a provider Secret (Flagger's; the datadog_* ones are its Datadog provider's). */
export const secretKeys = [
  'token',
  'username',
  'password',
  'datadog_api_key',
  'datadog_application_key',
] as const;

const envPart = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
const safeSegment = (s: string): boolean => /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(s) && !s.includes('..');

export function createSecretSource(env: NodeJS.ProcessEnv = process.env): SecretSource {
  const dir = env.FLEDGE_SECRETS_DIR ?? '/var/run/fledge/secrets';
  return {
    read(namespace, name) {
      // Names are Kubernetes object names (validated in the spec); refuse anything else before touching the disk.
      if (!safeSegment(namespace) || !safeSegment(name)) return undefined;
      const path = join(dir, namespace, name);
      const out: Record<string, string> = {};
      try {
        if (statSync(path).isDirectory())
          for (const key of readdirSync(path)) {
            if (key.startsWith('.')) continue; // the kubelet's ..data symlinks
            const file = join(path, key);
            if (statSync(file).isFile()) out[key] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
          }
      } catch {
        // not mounted: fall through to the environment
      }
      if (!namespace.includes('--') && !name.includes('--')) {
        const prefix = `FLEDGE_SECRET_${envPart(namespace)}__${envPart(name)}__`;
        for (const key of secretKeys) {
          const v = env[`${prefix}${key.toUpperCase()}`];
          if (v !== undefined && out[key] === undefined) out[key] = v;
        }
      }
      return Object.keys(out).length > 0 ? out : undefined;
    },
  };
}

/**
 * Request headers from a provider Secret (Flagger's keys): `token` → `Authorization: Bearer`, `username` +
 * `password` → Basic. Anything else in the Secret is ignored.
 */
export function credentialHeaders(data: SecretData): Record<string, string> | { error: string } {
  if (data.token) return { Authorization: `Bearer ${data.token}` };
  if (data.username !== undefined && data.password !== undefined)
    return { Authorization: `Basic ${Buffer.from(`${data.username}:${data.password}`).toString('base64')}` };
  return { error: 'the Secret has neither `token` nor `username` + `password`' };
}
