// Builds the notifiers of a release from its resolved AlertProviders and the worker's environment. Credentials
// never come from the spec: the Slack bot token is the worker's own (FLEDGE_SLACK_TOKEN); MS Teams and JSON
// webhooks use the AlertProvider's `address`, or — with `secretRef: {name: X}` — the worker's own environment
// variable FLEDGE_ALERT_<X>_ADDRESS (mount your Secret there; the worker reads no Secrets in application
// namespaces). One notifier per destination is cached for the process.
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
      } else if (p.type === 'msteams' || p.type === 'webhook') {
        const url = p.address ?? (p.secretName ? env[alertAddressEnv(p.secretName)] : undefined);
        if (!url) {
          notifier = unresolved(
            p.type,
            `no address: set ${alertAddressEnv(p.secretName ?? a.name)} on the worker`,
          );
        } else if (p.type === 'msteams') {
          notifier = cached(`msteams:${url}`, () => createTeamsNotifier({ url }));
        } else {
          notifier = cached(`webhook:${url}`, () => createJsonWebhookNotifier({ url }));
        }
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

/** `secretRef.name` → the worker's environment variable holding the address: `teams-oncall` → FLEDGE_ALERT_TEAMS_ONCALL_ADDRESS. */
export function alertAddressEnv(secretName: string): string {
  return `FLEDGE_ALERT_${secretName.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_ADDRESS`;
}

/** A destination the worker cannot reach for lack of configuration: says so in the worker log on every alert. */
function unresolved(name: string, error: string): Notifier {
  return { name, key: `${name}:unresolved`, notify: () => Promise.resolve({ delivered: false, error }) };
}
