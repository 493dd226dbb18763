// Builds the notifiers of a release from its resolved AlertProviders and the worker's environment. Credentials
// never come from the spec: the Slack bot token is the worker's own (FLEDGE_SLACK_TOKEN); MS Teams and JSON
// webhooks use the AlertProvider's `address`, or — with `secretRef: {name: X}` — the worker's own environment
// variable FLEDGE_ALERT_<NAMESPACE>__<X>_ADDRESS, scoped to the Canary's namespace so one team's Canary cannot post
// to another team's channel (mount your Secret there; the worker reads no Secrets in application namespaces). The
// unscoped FLEDGE_ALERT_<X>_ADDRESS (any namespace may use it) is read only with FLEDGE_ALERT_UNSCOPED_SECRETS=true.
// Every request goes through the outbound guard (src/integrations/outbound.ts). One notifier per destination is
// cached for the process.
import type { ReleaseContext } from '../../domain/context.js';
import { outboundFetch, type OutboundFetch } from '../outbound.js';
import { createJsonWebhookNotifier } from './json-webhook.js';
import { createTeamsNotifier } from './msteams.js';
import type { Notifier, Severity } from './notifier.js';
import { createSlackNotifier } from './slack.js';

export type NotifierFactory = (ctx: ReleaseContext) => Array<{ notifier: Notifier; severity: Severity }>;

export interface NotifierFactoryOptions {
  /** FLEDGE_ALERT_UNSCOPED_SECRETS=true: also read the unscoped FLEDGE_ALERT_<NAME>_ADDRESS. */
  unscopedSecrets?: boolean;
  /** The guarded transport for Slack (default: the worker's outbound guard). */
  fetch?: OutboundFetch;
  /** Slack parents carry Approve / Pause / Abort buttons (the worker's interactions endpoint is on). */
  slackInteractive?: boolean;
}

export function createNotifierFactory(
  env: NodeJS.ProcessEnv,
  opts: NotifierFactoryOptions = {},
): NotifierFactory {
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
            fetch: opts.fetch ?? outboundFetch,
            ...(opts.slackInteractive ? { interactive: true } : {}),
          }),
        );
      } else if (p.type === 'msteams' || p.type === 'webhook') {
        const ns = ctx.target.namespace;
        const secret = p.secretName;
        const scopedVar = alertAddressEnv(ns, secret ?? a.name);
        const unscopedVar = unscopedAlertAddressEnv(secret ?? a.name);
        const url =
          p.address ??
          (secret
            ? ((scopedVar ? env[scopedVar] : undefined) ??
              (opts.unscopedSecrets ? env[unscopedVar] : undefined))
            : undefined);
        if (!url) {
          notifier = unresolved(
            p.type,
            (scopedVar
              ? `no address: set ${scopedVar} on the worker`
              : `no address: namespace ${ns} has "--" in its name, so secretRef has no scoped variable; use address`) +
              (secret && !opts.unscopedSecrets && env[unscopedVar]
                ? ` (${unscopedVar} is set but unscoped; it is read only with FLEDGE_ALERT_UNSCOPED_SECRETS=true)`
                : ''),
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

const envName = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/**
 * The Canary's namespace and `secretRef.name` → the worker's environment variable holding the address:
 * (`shop`, `teams-oncall`) → FLEDGE_ALERT_SHOP__TEAMS_ONCALL_ADDRESS. The double underscore keeps namespaces apart
 * (with a single one, namespace `a-b` + secret `c` and namespace `a` + secret `b-c` would share a variable); a
 * namespace with `--` in its name, whose part would contain `__` itself, gets no variable (its `__` could fake the
 * separator).
 */
export function alertAddressEnv(namespace: string, secretName: string): string | undefined {
  if (namespace.includes('--')) return undefined;
  return `FLEDGE_ALERT_${envName(namespace)}__${envName(secretName)}_ADDRESS`;
}

/** The unscoped form (any namespace's Canary may use it): only with FLEDGE_ALERT_UNSCOPED_SECRETS=true. */
export function unscopedAlertAddressEnv(secretName: string): string {
  return `FLEDGE_ALERT_${secretName.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_ADDRESS`;
}

/** A destination the worker cannot reach for lack of configuration: says so in the worker log on every alert. */
function unresolved(name: string, error: string): Notifier {
  return { name, key: `${name}:unresolved`, notify: () => Promise.resolve({ delivered: false, error }) };
}
