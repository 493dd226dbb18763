// Runtime configuration of the worker and the CLI, from the environment (zod-validated).
// Unset values fall back to the embedded local stack (`fledge dev up`), so the quick start needs no setup.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadStackConfig } from './dev/stack/config.js';
import {
  defaultReleasePolicy,
  parsePatternList,
  validatePolicyPatterns,
  type ReleasePolicy,
} from './policy.js';
import { parseOutboundAllow, type OutboundSettings } from './integrations/outbound.js';
import { identitySettingsFromEnv, type IdentitySettings } from './integrations/identity/settings.js';

const patternList = (setting: string) =>
  z
    .string()
    .refine((v) => parsePatternList(v).length > 0, {
      message: `${setting} is empty: list at least one pattern, or unset it for the default`,
    })
    .optional();

const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  FLEDGE_TASK_QUEUE: z.string().min(1).default('fledge'),
  FLEDGE_PROMETHEUS_URL: z.string().url().optional(),
  FLEDGE_WEB_UI_URL: z.string().url().optional(),
  KUBECONFIG: z.string().min(1).optional(),
  // Bounded authority (src/policy.ts, docs/security.md).
  FLEDGE_ALLOWED_NAMESPACES: patternList('FLEDGE_ALLOWED_NAMESPACES'),
  FLEDGE_ALLOWED_IMAGES: patternList('FLEDGE_ALLOWED_IMAGES'),
  FLEDGE_WORKER_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a namespace name')
    .optional(),
  // Outbound requests (src/integrations/outbound.ts, docs/security.md).
  FLEDGE_OUTBOUND_ALLOW: z.string().optional(),
  FLEDGE_WEBHOOK_SIGNING_KEY: z.string().min(16, 'use a key of at least 16 characters').optional(),
  FLEDGE_ALERT_UNSCOPED_SECRETS: z.enum(['true', 'false']).optional(),
});

export interface TlsSettings {
  clientCertPair?: { crt: Buffer; key: Buffer };
  serverRootCACertificate?: Buffer;
  serverNameOverride?: string;
}

export interface FledgeConfig {
  temporal: { address: string; namespace: string; apiKey?: string; tls?: TlsSettings | true };
  taskQueue: string;
  prometheusUrl: string;
  webUiUrl: string;
  kubeconfig?: string;
  /**
   * Which namespaces and image repositories a release may use (checked by the starter and the worker). Absent (a
   * hand-built config): the defaults, `defaultReleasePolicy`.
   */
  policy?: ReleasePolicy;
  /** Where the worker may send HTTP requests, and the webhook signing key. */
  outbound?: OutboundSettings;
  /**
   * FLEDGE_ALERT_UNSCOPED_SECRETS=true: an AlertProvider `secretRef` may also resolve to the unscoped
   * FLEDGE_ALERT_<NAME>_ADDRESS (any namespace's Canary can use it). Default: only FLEDGE_ALERT_<NS>__<NAME>_ADDRESS.
   */
  unscopedAlertSecrets?: boolean;
  /**
   * Verified approvers (docs/security.md): trusted OIDC issuers, the Slack signing secret (interactive buttons and
   * their endpoint), Slack user map, approver groups. Absent (a hand-built config): none — actors are self-declared.
   */
  identity?: IdentitySettings;
}

export function loadFledgeConfig(env: NodeJS.ProcessEnv = process.env): FledgeConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${issues}`);
  }
  const e = parsed.data;
  const policy: ReleasePolicy = {
    namespaces: e.FLEDGE_ALLOWED_NAMESPACES
      ? parsePatternList(e.FLEDGE_ALLOWED_NAMESPACES)
      : defaultReleasePolicy.namespaces,
    images: e.FLEDGE_ALLOWED_IMAGES ? parsePatternList(e.FLEDGE_ALLOWED_IMAGES) : defaultReleasePolicy.images,
    ...(e.FLEDGE_WORKER_NAMESPACE ? { workerNamespace: e.FLEDGE_WORKER_NAMESPACE } : {}),
  };
  const problems = validatePolicyPatterns(policy);
  let outbound: OutboundSettings;
  try {
    outbound = {
      allow: parseOutboundAllow(e.FLEDGE_OUTBOUND_ALLOW),
      ...(e.FLEDGE_WEBHOOK_SIGNING_KEY ? { webhookSigningKey: e.FLEDGE_WEBHOOK_SIGNING_KEY } : {}),
    };
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
    outbound = { allow: { any: false, hosts: [], cidrs: [] } };
  }
  let identity: IdentitySettings | undefined;
  try {
    identity = identitySettingsFromEnv(env);
  } catch (err) {
    problems.push((err instanceof Error ? err.message : String(err)).replace(/^invalid environment: /, ''));
  }
  if (problems.length > 0) throw new Error(`invalid environment: ${problems.join('; ')}`);
  const local = loadStackConfig(env);
  let tls: TlsSettings | true | undefined;
  if (e.TEMPORAL_TLS_CLIENT_CERT_PATH || e.TEMPORAL_TLS_SERVER_CA_CERT_PATH) {
    tls = {
      ...(e.TEMPORAL_TLS_CLIENT_CERT_PATH && e.TEMPORAL_TLS_CLIENT_KEY_PATH
        ? {
            clientCertPair: {
              crt: readFileSync(e.TEMPORAL_TLS_CLIENT_CERT_PATH),
              key: readFileSync(e.TEMPORAL_TLS_CLIENT_KEY_PATH),
            },
          }
        : {}),
      ...(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH
        ? { serverRootCACertificate: readFileSync(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH) }
        : {}),
      ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: e.TEMPORAL_TLS_SERVER_NAME } : {}),
    };
  } else if (e.TEMPORAL_TLS === 'true' || e.TEMPORAL_API_KEY) {
    tls = true; // API keys (Temporal Cloud) require TLS
  }
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? local.urls.temporal,
      namespace: e.TEMPORAL_NAMESPACE ?? local.temporalNamespace,
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
      ...(tls ? { tls } : {}),
    },
    taskQueue: e.FLEDGE_TASK_QUEUE,
    prometheusUrl: e.FLEDGE_PROMETHEUS_URL ?? local.urls.prometheus,
    webUiUrl: e.FLEDGE_WEB_UI_URL ?? local.urls.temporalUi,
    kubeconfig: e.KUBECONFIG ?? (e.TEMPORAL_ADDRESS ? undefined : local.kubeconfig),
    policy,
    outbound,
    unscopedAlertSecrets: e.FLEDGE_ALERT_UNSCOPED_SECRETS === 'true',
    ...(identity ? { identity } : {}),
  };
}

export function connectionOptions(cfg: FledgeConfig): {
  address: string;
  apiKey?: string;
  tls?: TlsSettings | true;
} {
  return {
    address: cfg.temporal.address,
    ...(cfg.temporal.apiKey ? { apiKey: cfg.temporal.apiKey } : {}),
    ...(cfg.temporal.tls ? { tls: cfg.temporal.tls } : {}),
  };
}
