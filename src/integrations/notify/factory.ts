// Builds the notifiers of a release from its resolved AlertProviders and the worker's environment. Credentials
// never come from the spec: the Slack bot token is the worker's own (FLEDGE_SLACK_TOKEN); MS Teams and JSON
// webhooks use the AlertProvider's `address`. One notifier per destination is cached for the process.
import type { ReleaseContext } from '../../domain/context.js';
import { createJsonWebhookNotifier } from './json-webhook.js';
import { createTeamsNotifier } from './msteams.js';
import type { Notifier, Severity } from './notifier.js';
import { createSlackNotifier } from './slack.js';

export type NotifierFactory = (ctx: ReleaseContext) => Array<{ notifier: Notifier; severity: Severity }>;

export function createNotifierFactory(env: NodeJS.ProcessEnv): NotifierFactory {
  const slackToken = env.FLEDGE_SLACK_TOKEN ?? env.SLACK_TOKEN;
  const slackApiUrl = env.FLEDGE_SLACK_API_URL;
  const cache = new Map<string, Notifier>();
  const cached = (key: string, make: () => Notifier): Notifier => {
    let n = cache.get(key);
    if (!n) {
      n = make();
      cache.set(key, n);
    }
    return n;
  };
  return (ctx) =>
    ctx.alerts.flatMap((a) => {
      const p = a.provider;
      let notifier: Notifier | undefined;
      if (p.type === 'slack' && slackToken && p.channel) {
        const channel = p.channel;
        notifier = cached(`slack:${channel}`, () =>
          createSlackNotifier({
            token: slackToken,
            channel,
            ...(slackApiUrl ? { apiUrl: slackApiUrl } : {}),
          }),
        );
      } else if (p.type === 'msteams' && p.address) {
        const url = p.address;
        notifier = cached(`msteams:${url}`, () => createTeamsNotifier({ url }));
      } else if (p.type === 'webhook' && p.address) {
        const url = p.address;
        notifier = cached(`webhook:${url}`, () => createJsonWebhookNotifier({ url }));
      }
      return notifier ? [{ notifier, severity: a.severity }] : [];
    });
}

/** FLEDGE_GRAFANA_URL with `{namespace}` and `{name}` placeholders (URL-encoded) → a link per target. */
export function dashboardLinker(template: string): (t: { namespace: string; name: string }) => string {
  return (t) =>
    template
      .replaceAll('{namespace}', encodeURIComponent(t.namespace))
      .replaceAll('{name}', encodeURIComponent(t.name));
}
