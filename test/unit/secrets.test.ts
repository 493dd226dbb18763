// Worker-held credentials: a MetricTemplate secretRef resolves to the worker's mounted Secret (or env) of the
// template's namespace only, becomes request headers, and never appears in the metric outcome.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSecretSource, credentialHeaders } from '../../src/integrations/secrets.js';
import { createPrometheusProvider } from '../../src/integrations/metrics/prometheus/provider.js';
import type { MetricPlan } from '../../src/domain/plan.js';

function mounted(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fledge-secrets-'));
  mkdirSync(join(dir, 'team-a', 'prom-auth'), { recursive: true });
  writeFileSync(join(dir, 'team-a', 'prom-auth', 'token'), 'TOKEN-MARKER-1\n');
  return dir;
}

describe('secret source', () => {
  it('reads a mounted Secret of the namespace, else the env form, and nothing across namespaces', () => {
    const s = createSecretSource({
      FLEDGE_SECRETS_DIR: mounted(),
      FLEDGE_SECRET_TEAM_B__PROM_AUTH__USERNAME: 'u',
      FLEDGE_SECRET_TEAM_B__PROM_AUTH__PASSWORD: 'p',
    });
    expect(s.read('team-a', 'prom-auth')).toEqual({ token: 'TOKEN-MARKER-1' });
    expect(s.read('team-b', 'prom-auth')).toEqual({ username: 'u', password: 'p' });
    expect(s.read('team-c', 'prom-auth')).toBeUndefined();
    expect(s.read('..', 'team-a')).toBeUndefined(); // no path traversal
    expect(s.read('team-a/prom-auth', 'x')).toBeUndefined();
  });

  it('maps Flagger secret keys to an Authorization header', () => {
    expect(credentialHeaders({ token: 't' })).toEqual({ Authorization: 'Bearer t' });
    expect(credentialHeaders({ username: 'u', password: 'p' })).toEqual({
      Authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
    });
    expect(credentialHeaders({ other: 'x' })).toEqual({ error: expect.stringMatching(/neither/) });
  });
});

describe('Prometheus provider with provider.secretRef', () => {
  const plan: MetricPlan = {
    name: 'errors',
    interval: '1m',
    thresholdRange: { max: 1 },
    templateVariables: {},
    source: { kind: 'template', templateName: 'errors', templateNamespace: 'team-a' },
  } as unknown as MetricPlan;

  it('sends the credentials as a header and keeps them out of the outcome; a missing Secret is an infrastructure error naming it', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [1, '0.5'] }] },
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const template = (ns: string) => ({
        name: 'errors',
        namespace: ns,
        provider: { type: 'prometheus', address: url, secretRef: { name: 'prom-auth' } },
        query: 'sum(up)',
      });
      const p = createPrometheusProvider(url, {
        secrets: createSecretSource({ FLEDGE_SECRETS_DIR: mounted() }),
      });
      const out = await p.evaluate(plan, { namespace: 'team-a', target: 'x', service: 'x' }, [
        template('team-a'),
      ]);
      expect(out.value).toBe(0.5);
      expect(seen).toEqual(['Bearer TOKEN-MARKER-1']);
      expect(JSON.stringify(out)).not.toContain('TOKEN-MARKER-1');
      const other = { ...plan, source: { ...plan.source, templateNamespace: 'team-b' } } as MetricPlan;
      const missing = await p.evaluate(other, { namespace: 'team-b', target: 'x', service: 'x' }, [
        template('team-b'),
      ]);
      expect(missing).toMatchObject({
        error: 'infrastructure',
        message: expect.stringMatching(/no Secret team-b\/prom-auth/),
      });
      expect(seen).toHaveLength(1); // nothing sent without the Secret
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
