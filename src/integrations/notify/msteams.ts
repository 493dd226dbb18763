// Microsoft Teams notifier: posts an Adaptive Card to a Teams incoming webhook (a "Workflows" webhook URL, the
// successor of the retired Office 365 connectors). Teams webhooks cannot edit or thread messages, so each
// notification is one card with the release's current facts. Best-effort: never throws.
import { callWebhook } from '../hooks/webhook.js';
import { failingMetricText, headline, pendingGateText, releaseFacts, severityEmoji } from './format.js';
import type { Notifier, NotifyResult, ReleaseNotification } from './notifier.js';

export interface TeamsOptions {
  /** The incoming webhook URL. */
  url: string;
  timeoutMs?: number;
  retries?: number;
}

type CardElement = Record<string, unknown>;

/** The Teams message: {type: message, attachments: [Adaptive Card 1.4]}. */
export function teamsMessage(n: ReleaseNotification): Record<string, unknown> {
  const s = n.status;
  const body: CardElement[] = [
    { type: 'TextBlock', text: headline(n), weight: 'Bolder', size: 'Medium', wrap: true },
    {
      type: 'TextBlock',
      text: `${severityEmoji[n.severity]} ${n.message}`,
      wrap: true,
      color: n.severity === 'error' ? 'Attention' : n.severity === 'warn' ? 'Warning' : 'Default',
    },
    { type: 'FactSet', facts: releaseFacts(n).map((f) => ({ title: f.title, value: f.value })) },
  ];
  const gate = pendingGateText(n);
  if (s.outcome === null && gate) body.push({ type: 'TextBlock', text: `Waiting: ${gate}`, wrap: true });
  const failing = failingMetricText(n);
  if (failing) {
    body.push({ type: 'TextBlock', text: `Failing check: ${failing.line}`, wrap: true, color: 'Attention' });
    if (failing.query)
      body.push({ type: 'TextBlock', text: failing.query, wrap: true, fontType: 'Monospace', size: 'Small' });
  }
  const actions: CardElement[] = [{ type: 'Action.OpenUrl', title: 'Temporal Web UI', url: n.release.link }];
  if (n.release.dashboardLink)
    actions.push({ type: 'Action.OpenUrl', title: 'Grafana', url: n.release.dashboardLink });
  return {
    type: 'message',
    summary: `${headline(n)} — ${n.message}`.slice(0, 250),
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions,
        },
      },
    ],
  };
}

export function createTeamsNotifier(opts: TeamsOptions): Notifier {
  return {
    name: 'msteams',
    key: `msteams:${opts.url}`,
    async notify(n): Promise<NotifyResult> {
      const r = await callWebhook({
        url: opts.url,
        timeoutMs: opts.timeoutMs ?? 10_000,
        retries: opts.retries ?? 2,
        payload: teamsMessage(n),
      });
      return r.ok ? { delivered: true } : { delivered: false, error: r.message };
    },
  };
}
