// Runtime configuration of the worker and the CLI, from the environment (zod-validated).
// Unset values fall back to the embedded local stack (`fledge dev up`), so the quick start needs no setup.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadStackConfig } from './dev/stack/config.js';

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
}

export function loadFledgeConfig(env: NodeJS.ProcessEnv = process.env): FledgeConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${issues}`);
  }
  const e = parsed.data;
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
