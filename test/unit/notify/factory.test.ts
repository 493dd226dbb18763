// From the spec's AlertProviders to notifiers: compile → prepared release context → the worker's factory.
import { describe, expect, it } from 'vitest';
import { parseCanaryYaml } from '../../../src/domain/manifest/yaml.js';
import { prepareRelease } from '../../../src/workflows/prepare.js';
import {
  alertAddressEnv,
  createNotifierFactory,
  unscopedAlertAddressEnv,
} from '../../../src/integrations/notify/factory.js';
import { readFixture } from '../manifest/fixtures.js';

/** The podinfo fixture with its two AlertProviders replaced by `providers` (referenced as on-call, dev-slack). */
function contextWith(providers: { onCall: string; dev: string }) {
  const yaml = readFixture('podinfo-istio.yaml')
    .replace(
      /spec:\n {2}type: slack\n {2}channel: on-call-alerts\n {2}username: flagger\n/,
      `spec:\n${providers.onCall}`,
    )
    .replace(
      /spec:\n {2}type: slack\n {2}channel: dev-alerts\n {2}secretRef:\n {4}name: slack-url\n/,
      `spec:\n${providers.dev}`,
    );
  const parsed = parseCanaryYaml(yaml);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const prepared = prepareRelease(
    { documents: parsed.value.documents, images: { podinfod: 'ghcr.io/acme/podinfo:6.5.1' }, initiator: 't' },
    'fledge/test/podinfo/6.5.1',
  );
  if (!prepared.ok) throw new Error(prepared.message);
  return prepared.ctx;
}

const base = { FLEDGE_SLACK_TOKEN: 'xoxb-1', FLEDGE_SLACK_API_URL: 'http://127.0.0.1:9/api/' };

describe('notifier factory', () => {
  it('builds one notifier per alert with its severity: Slack by the worker token, Teams and webhook by address', () => {
    const ctx = contextWith({
      onCall: '  type: msteams\n  address: https://teams.example.com/hook/1\n',
      dev: '  type: webhook\n  address: https://audit.example.com/in\n',
    });
    const got = createNotifierFactory(base)(ctx).map((n) => [n.notifier.name, n.notifier.key, n.severity]);
    expect(got).toEqual([
      ['msteams', 'msteams:https://teams.example.com/hook/1', 'error'],
      ['webhook', 'webhook:https://audit.example.com/in', 'info'],
    ]);
  });

  it('secretRef: the address comes from the worker env FLEDGE_ALERT_<NAMESPACE>__<NAME>_ADDRESS of the Canary namespace; missing → says which variable', async () => {
    const ctx = contextWith({
      onCall: '  type: msteams\n  secretRef:\n    name: teams-oncall\n',
      dev: '  type: webhook\n  secretRef:\n    name: audit.sink\n',
    });
    expect(ctx.target.namespace).toBe('test');
    expect(alertAddressEnv('test', 'teams-oncall')).toBe('FLEDGE_ALERT_TEST__TEAMS_ONCALL_ADDRESS');
    const env = { ...base, FLEDGE_ALERT_TEST__TEAMS_ONCALL_ADDRESS: 'https://teams.example.com/hook/2' };
    const [teams, audit] = createNotifierFactory(env)(ctx);
    expect(teams?.notifier.key).toBe('msteams:https://teams.example.com/hook/2');
    expect(audit?.notifier.key).toBe('webhook:unresolved');
    const r = await audit?.notifier.notify({} as never);
    expect(r).toEqual({
      delivered: false,
      error: 'no address: set FLEDGE_ALERT_TEST__AUDIT_SINK_ADDRESS on the worker',
    });
  });

  it("secretRef is scoped: another namespace's variable and the unscoped form are not used (unscoped only on opt-in)", async () => {
    const ctx = contextWith({
      onCall: '  type: msteams\n  secretRef:\n    name: teams-oncall\n',
      dev: '  type: webhook\n  address: https://audit.example.com/in\n',
    });
    const env = {
      ...base,
      // Another team's channel (namespace `payments`) and the old unscoped form.
      FLEDGE_ALERT_PAYMENTS__TEAMS_ONCALL_ADDRESS: 'https://teams.example.com/payments',
      FLEDGE_ALERT_TEAMS_ONCALL_ADDRESS: 'https://teams.example.com/unscoped',
    };
    const [teams] = createNotifierFactory(env)(ctx);
    expect(teams?.notifier.key).toBe('msteams:unresolved');
    expect((await teams?.notifier.notify({} as never))?.error).toBe(
      'no address: set FLEDGE_ALERT_TEST__TEAMS_ONCALL_ADDRESS on the worker (FLEDGE_ALERT_TEAMS_ONCALL_ADDRESS is set but unscoped; it is read only with FLEDGE_ALERT_UNSCOPED_SECRETS=true)',
    );
    const [optIn] = createNotifierFactory(env, { unscopedSecrets: true })(ctx);
    expect(optIn?.notifier.key).toBe('msteams:https://teams.example.com/unscoped');
    // The scoped variable wins over the unscoped one.
    const [scoped] = createNotifierFactory(
      { ...env, FLEDGE_ALERT_TEST__TEAMS_ONCALL_ADDRESS: 'https://teams.example.com/test' },
      { unscopedSecrets: true },
    )(ctx);
    expect(scoped?.notifier.key).toBe('msteams:https://teams.example.com/test');
    expect(unscopedAlertAddressEnv('teams-oncall')).toBe('FLEDGE_ALERT_TEAMS_ONCALL_ADDRESS');
  });

  it('scoped variable names cannot collide across namespaces', () => {
    // With a single `_` these two would share FLEDGE_ALERT_A_B_C_ADDRESS.
    expect(alertAddressEnv('a-b', 'c')).toBe('FLEDGE_ALERT_A_B__C_ADDRESS');
    expect(alertAddressEnv('a', 'b-c')).toBe('FLEDGE_ALERT_A__B_C_ADDRESS');
    // A namespace with `--` would put a `__` of its own into the name: it gets no variable.
    expect(alertAddressEnv('a--b', 'c')).toBeUndefined();
  });

  it('Slack needs the worker token: without it no Slack notifier is built; destinations are cached', () => {
    const ctx = contextWith({
      onCall: '  type: slack\n  channel: C-oncall\n',
      dev: '  type: slack\n  channel: C-oncall\n',
    });
    expect(createNotifierFactory({})(ctx)).toEqual([]);
    const factory = createNotifierFactory(base);
    const [a, b] = factory(ctx);
    expect(a?.notifier.key).toBe('slack:C-oncall');
    expect(a?.notifier).toBe(b?.notifier);
    expect(factory(ctx)[0]?.notifier).toBe(a?.notifier);
  });
});
