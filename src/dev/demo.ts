// The README's main job: a local end-to-end demo on the embedded stack. It starts the stack (idempotent), runs a
// Fledge worker in this process, resets a demo namespace with podinfo 6.5.0, then releases a good tag (promoted)
// and a bad tag (rolled back by the success-rate check), printing progress, results and Web UI links.
// The stack keeps running afterwards for inspection (`npx fledge dev down` stops it).
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { FledgeConfig } from '../config.js';
import type { ReleaseResult } from '../domain/result.js';
import type { ReleaseStatus } from '../domain/status.js';
import { describeResult } from '../cli/start.js';
import { connectClient, submitRelease } from '../starter.js';
import { statusQuery } from '../workflows/messages.js';
import { projectRoot } from './stack/config.js';
import { createDevWorker, devWorkerConfig } from './worker.js';
import { stackUp } from './stack/stack.js';
import { FakeSlackClient } from './fake-slack/client.js';
import {
  captureBaseline,
  formatVerdict,
  oracleSpecFromYaml,
  verifyEndState,
  watchPrimaryCapacity,
  type Verdict,
} from './oracle.js';

// A fresh namespace per run: releases (and their IDs) of earlier runs never mix with this one's.
const namespace = `fledge-demo-${Date.now().toString(36)}`;

async function resetNamespace(kc: k8s.KubeConfig): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  // Earlier demo runs' namespaces are removed (their releases stay in Temporal's history).
  const old = await core.listNamespace();
  for (const ns of old.items) {
    const name = ns.metadata?.name ?? '';
    if (name.startsWith('fledge-demo')) await core.deleteNamespace({ name }).catch(() => undefined);
  }
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const labels = { app: 'podinfo' };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'podinfo', namespace, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'podinfod',
                image: 'ghcr.io/stefanprodan/podinfo:6.5.0',
                ports: [{ name: 'http', containerPort: 9898 }],
              },
            ],
          },
        },
      },
    },
  });
}

async function watchRelease(
  client: Client,
  cfg: FledgeConfig,
  yaml: string,
  image: string,
): Promise<ReleaseResult> {
  const sub = await submitRelease(client, cfg, {
    yaml,
    fileName: 'examples/podinfo-canary.yaml',
    images: { podinfod: image },
    initiator: 'demo',
    retry: true,
  });
  console.log(`\n▶ release ${sub.workflowId}\n  ${sub.link}`);
  const handle = client.workflow.getHandle(sub.workflowId);
  let last = '';
  let stopped = false; // a query still in flight when the release ends must not print under the next one
  const poll = setInterval(() => {
    handle
      .query(statusQuery)
      .then((raw) => {
        if (stopped) return;
        const st = raw as ReleaseStatus;
        const metric = st.lastAnalysis?.metrics.map((m) => m.text).join('; ') ?? '';
        const line = `  ${st.phase.padEnd(16)} canary ${String(st.weights.canary).padStart(3)}%  checks ${st.failedChecks}/${st.threshold}  ${metric}`;
        if (line !== last) console.log(line);
        last = line;
      })
      .catch(() => undefined);
  }, 1000);
  try {
    return (await handle.result()) as ReleaseResult;
  } finally {
    stopped = true;
    clearInterval(poll);
  }
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const stackCfg = await stackUp();
  // The demo's alerts go to the local fake Slack.
  process.env.FLEDGE_SLACK_TOKEN ??= 'xoxb-fledge-demo';
  process.env.FLEDGE_SLACK_API_URL ??= `${stackCfg.urls.fakeSlack}/api/`;
  const cfg = devWorkerConfig(); // the embedded stack's settings for whatever the environment leaves unset
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(stackCfg.kubeconfig);
  await resetNamespace(kc);
  const yaml = readFileSync(`${projectRoot}/examples/podinfo-canary.yaml`, 'utf8')
    .replaceAll('http://127.0.0.1:29103', stackCfg.urls.webhook)
    .replaceAll('fledge-demo', namespace);
  const { worker, connection } = await createDevWorker(cfg);
  const client = await connectClient(cfg);
  console.log(`\nDemo: podinfo in namespace ${namespace} (6.5.0) gets two releases on the local stack.`);
  console.log(`Temporal Web UI: ${cfg.webUiUrl}   Prometheus: ${stackCfg.urls.prometheus}`);
  // Each release ends with the end-state oracle: every object it touched read back and compared with the model.
  const verdicts: Verdict[] = [];
  const checked = async (image: string): Promise<ReleaseResult> => {
    const baseline = await captureBaseline(kc, oracleSpecFromYaml(yaml));
    const capacity = watchPrimaryCapacity(kc, namespace, 'podinfo');
    const result = await watchRelease(client, cfg, yaml, image);
    console.log(describeResult(result).replace(/^/gm, '  '));
    const seen = await capacity.stop();
    const verdict = await verifyEndState(kc, baseline, result, { podinfod: image });
    verdict.findings.push(...seen.violations);
    verdict.ok = verdict.findings.length === 0;
    verdicts.push(verdict);
    console.log(
      `  oracle: ${formatVerdict(verdict)}; primary ready replicas never below ${seen.minReady ?? '?'}`,
    );
    return result;
  };
  const results = await worker.runUntil(async () => [
    await checked('ghcr.io/stefanprodan/podinfo:6.5.1'),
    await checked('ghcr.io/stefanprodan/podinfo:6.5.2-bad'),
  ]);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const primary = await apps.readNamespacedDeployment({ name: 'podinfo-primary', namespace });
  const threads = (await new FakeSlackClient(stackCfg.urls.fakeSlack).messages('releases')).filter((m) =>
    JSON.stringify(m.extra.metadata ?? '').includes(`fledge/${namespace}/`),
  );
  console.log(
    `\nPrimary now runs ${primary.spec?.template.spec?.containers[0]?.image}; outcomes: ${results.map((r) => r.outcome).join(', ')}.`,
  );
  console.log(
    `Slack (fake) #releases: ${threads.length} threads, one per release (${stackCfg.urls.fakeSlack}/_messages)`,
  );
  for (const t of threads) {
    console.log(
      `  ${(t.text ?? '').split(' — ')[0]} — parent updated ${t.updates.length}×, ${t.replies.length} replies`,
    );
    for (const r of t.replies) console.log(`    ↳ ${r.text ?? ''}`);
  }
  console.log(
    `Find the releases in the Web UI with: FledgeTarget = "${namespace}/podinfo"   ·   stop the stack: npx fledge dev down`,
  );
  await client.connection.close();
  await connection.close();
  console.log(
    verdicts.every((v) => v.ok)
      ? `End state verified: ${verdicts.map((v) => v.checked).join(' + ')} checks, all as the model requires.`
      : 'End state WRONG: see the oracle findings above.',
  );
  if (results[0]?.outcome !== 'Promoted' || results[1]?.outcome !== 'RolledBack') process.exitCode = 1;
  if (!verdicts.every((v) => v.ok)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
