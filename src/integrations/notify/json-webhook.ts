// Generic JSON webhook notifier (AlertProvider `type: webhook`, a Fledge extension): POSTs a stable, versioned
// JSON document per notification, for chat-ops bots, incident tools or audit sinks. The `Idempotency-Key`
// header lets a receiver drop a retried delivery. Best-effort: never throws.
import { callWebhook } from '../hooks/webhook.js';
import { failingMetricText, headline, releaseFacts } from './format.js';
import type { Notifier, NotifyResult, ReleaseNotification } from './notifier.js';

export interface JsonWebhookOptions {
  url: string;
  timeoutMs?: number;
  retries?: number;
}

/** Schema `fledge.notification/v1`: additive changes only; a breaking change gets a new `schema`. */
export function jsonNotification(n: ReleaseNotification): Record<string, unknown> {
  const failing = failingMetricText(n);
  return {
    schema: 'fledge.notification/v1',
    kind: n.kind,
    severity: n.severity,
    message: n.message,
    at: new Date(n.at).toISOString(),
    headline: headline(n),
    release: {
      workflowId: n.release.workflowId,
      target: n.release.target,
      previousImages: n.release.previousImages,
      newImages: n.release.newImages,
      startedAt: new Date(n.release.startedAt).toISOString(),
      ...(n.release.initiator ? { initiator: n.release.initiator } : {}),
      links: {
        temporal: n.release.link,
        ...(n.release.dashboardLink ? { dashboard: n.release.dashboardLink } : {}),
      },
    },
    facts: releaseFacts(n),
    ...(n.failingMetric ? { failingMetric: { ...n.failingMetric, text: failing?.line } } : {}),
    status: n.status,
  };
}

export function createJsonWebhookNotifier(opts: JsonWebhookOptions): Notifier {
  return {
    name: 'webhook',
    key: `webhook:${opts.url}`,
    async notify(n): Promise<NotifyResult> {
      const r = await callWebhook({
        url: opts.url,
        timeoutMs: opts.timeoutMs ?? 10_000,
        retries: opts.retries ?? 2,
        payload: jsonNotification(n),
        headers: { 'Idempotency-Key': `${n.release.workflowId}/${n.kind}/${n.at}` },
      });
      return r.ok ? { delivered: true } : { delivered: false, error: r.message };
    },
  };
}
