// Secrets stay out of everything a release writes down. A worker (child process, its logs captured) runs with
// payload encryption and a MetricTemplate credential planted as a marker in its environment; a release uses it
// against the real Prometheus. Then: the raw history on the Temporal server holds no plaintext of the spec (its
// payloads are encrypted; decrypting them shows the spec — the positive control) and nowhere the credential; the
// worker's logs, the Slack thread and the CLI's status/history/validate output hold no credential either.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { EncryptionCodec, parseCodecKeys } from '../../src/codec/encryption.js';
import { connectionOptions, loadFledgeConfig } from '../../src/config.js';
import { projectRoot } from '../../src/dev/stack/config.js';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { connectClient, submitRelease } from '../../src/starter.js';
import { FakeSlackClient } from '../../src/dev/fake-slack/client.js';
import { kube, stack } from '../support/stack.js';
import { canaryYaml, endState, targetNamespace, type E2E } from './support.js';

const { temporal } = proto;
const SECRET = `SECRET-MARKER-${randomBytes(6).toString('hex')}`;
const SPEC = `SPEC-MARKER-${randomBytes(6).toString('hex')}`;
const keys = `k1=${randomBytes(32).toString('base64')}`;
const taskQueue = `e2e-secrets-${Date.now().toString(36)}`;
const saved = { FLEDGE_CODEC_KEYS: process.env.FLEDGE_CODEC_KEYS };
let worker: ChildProcess | undefined;
let logs = '';
let client: Client;

function startWorker(env: Record<string, string>): Promise<void> {
  worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: projectRoot,
    env: { ...process.env, ...env, FLEDGE_TASK_QUEUE: taskQueue, FLEDGE_METRICS_PORT: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    worker?.stdout?.on('data', (b: Buffer) => {
      logs += b.toString();
      if (logs.includes('fledge worker: task queue')) resolve();
    });
    worker?.stderr?.on('data', (b: Buffer) => (logs += b.toString()));
    worker?.once('exit', (code) => reject(new Error(`worker exited early with ${code}: ${logs}`)));
  });
}

function cli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin/fledge.js'), ...args], {
      env: { ...process.env, ...env, FLEDGE_TASK_QUEUE: taskQueue, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', () => resolve(out));
  });
}

/** Every Payload object in a decoded history (objects with `data` bytes and a `metadata` map). */
function payloadsIn(v: unknown, out: Payload[] = []): Payload[] {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') out.push(o as Payload);
    else for (const x of Object.values(o)) payloadsIn(x, out);
  }
  return out;
}

beforeAll(async () => {
  process.env.FLEDGE_CODEC_KEYS = keys; // the test's own client encrypts too
  client = await connectClient(loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue }));
});
afterAll(async () => {
  worker?.kill('SIGTERM');
  await client?.connection.close();
  if (saved.FLEDGE_CODEC_KEYS === undefined) delete process.env.FLEDGE_CODEC_KEYS;
  else process.env.FLEDGE_CODEC_KEYS = saved.FLEDGE_CODEC_KEYS;
});

describe('secrets out of history, logs, Slack and CLI output', () => {
  it('a release using a planted credential leaves no trace of it anywhere, and its spec is encrypted at rest', async () => {
    const e = { kube: kube() } as Pick<E2E, 'kube'>;
    const ns = await targetNamespace(e as E2E, 'e2e-secrets', 'ghcr.io/stefanprodan/podinfo:6.5.0');
    const s = stack();
    const secretEnv = `FLEDGE_SECRET_${ns.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}__PROM_AUTH__TOKEN`;
    const env = {
      FLEDGE_CODEC_KEYS: keys,
      [secretEnv]: SECRET,
      FLEDGE_SLACK_TOKEN: 'xoxb-fledge-e2e',
      FLEDGE_SLACK_API_URL: `${s.urls.fakeSlack}/api/`,
    };
    try {
      await startWorker(env);
      const channel = `C-${ns.name}`;
      const yaml =
        canaryYaml(ns.name, {
          analysis: '    interval: 3s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
          extraAnalysis:
            '      - name: authenticated-errors\n        templateRef:\n          name: errors\n        thresholdRange:\n          max: 1\n        interval: 1m\n' +
            '    alerts:\n      - name: releases\n        severity: info\n        providerRef:\n          name: slack\n',
          webhooks: `      - name: marker-hook\n        url: ${s.urls.webhook}/\n        timeout: 5s\n        metadata:\n          note: "${SPEC}"\n`,
        }) +
        `---\napiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata:\n  name: errors\n  namespace: ${ns.name}\nspec:\n  provider:\n    type: prometheus\n    address: ${s.urls.prometheus}\n    secretRef:\n      name: prom-auth\n  query: vector(0)\n` +
        `---\napiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: slack\n  namespace: ${ns.name}\nspec:\n  type: slack\n  channel: ${channel}\n`;
      const cfg = loadFledgeConfig({ ...process.env, FLEDGE_TASK_QUEUE: taskQueue });
      const oracle = await endState(e, yaml);
      const sub = await submitRelease(client, cfg, {
        yaml,
        images: { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' },
        initiator: 'e2e',
      });
      const handle = client.workflow.getHandle(sub.workflowId);
      const result = (await handle.result()) as ReleaseResult;
      expect(result.outcome, result.reason.message).toBe('Promoted');
      await oracle.verify(result, { app: 'ghcr.io/stefanprodan/podinfo:6.5.1' });
      // The credential was resolved and used: the authenticated metric has a value (a missing Secret would be an
      // infrastructure error with no value).
      const st = (await handle.query(statusQuery)) as ReleaseStatus;
      expect(st.lastAnalysis?.metrics.find((m) => m.name === 'authenticated-errors')).toMatchObject({
        value: 0,
        ok: true,
      });

      // Raw history as the server stores it (a client without the codec).
      const plainClient = new Client({
        connection: await Connection.connect(connectionOptions(cfg)),
        namespace: cfg.temporal.namespace,
      });
      const history = await plainClient.workflow.getHandle(sub.workflowId).fetchHistory();
      await plainClient.connection.close();
      const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
      expect(raw).not.toContain(SPEC);
      expect(raw).not.toContain(SECRET);
      // Positive control: decrypting the payloads shows the spec (so the scan above can find a marker).
      const codec = new EncryptionCodec(parseCodecKeys(keys));
      const decoded = (await codec.decode(payloadsIn(history)))
        .map((p) => Buffer.from(p.data ?? []).toString('utf8'))
        .join('\n');
      expect(decoded).toContain(SPEC);
      expect(decoded).not.toContain(SECRET);

      // Worker logs, Slack, CLI output.
      expect(logs).not.toContain(SECRET);
      const slack = JSON.stringify(await new FakeSlackClient(s.urls.fakeSlack).messages(channel));
      expect(slack).toContain('podinfo'); // the thread exists
      expect(slack).not.toContain(SECRET);
      const dir = mkdtempSync(join(tmpdir(), 'fledge-secrets-'));
      const file = join(dir, 'canary.yaml');
      writeFileSync(file, yaml);
      const outputs = await Promise.all([
        cli(['status', `${ns.name}/podinfo`, '-o', 'json'], env),
        cli(['history', sub.workflowId, '-o', 'json', '--verbose'], env),
        cli(['validate', '-f', file, '-o', 'json'], env),
      ]);
      expect(outputs[0]).toMatch(/Promoted/);
      for (const out of outputs) expect(out).not.toContain(SECRET);
    } finally {
      worker?.kill('SIGTERM');
      await ns.cleanup();
    }
  });
});
