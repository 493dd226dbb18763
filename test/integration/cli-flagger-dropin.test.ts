// `fledge validate` on Canary files as Flagger users keep them (a child process, the local stack's apiserver as the
// cluster): other kinds skipped with `note:` lines on stderr; MetricTemplates read from the cluster (in the
// templateRef's namespace) with a note; `--no-cluster` and a missing template name the reference and where Fledge
// looked; `--provider` and FLEDGE_DEFAULT_PROVIDER for Canaries without spec.provider.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../../src/dev/stack/config.js';
import { kube, withNamespace, type KubeClients } from '../support/stack.js';

const corpus = fileURLToPath(new URL('../fixtures/flagger-compat/', import.meta.url));
let c: KubeClients;
let ns: { name: string; cleanup: () => Promise<void> };
let shared: { name: string; cleanup: () => Promise<void> };
let dir: string;

function file(name: string): string {
  const text = readFileSync(join(corpus, name), 'utf8')
    .replaceAll('{{NS}}', ns.name)
    .replaceAll('flagger-system', shared.name);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function fledge(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const merged: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...env };
    delete merged.FLEDGE_DEFAULT_PROVIDER;
    if (env.FLEDGE_DEFAULT_PROVIDER) merged.FLEDGE_DEFAULT_PROVIDER = env.FLEDGE_DEFAULT_PROVIDER;
    const child = spawn(process.execPath, [join(projectRoot, 'bin/fledge.js'), ...args], { env: merged });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

beforeAll(async () => {
  c = kube();
  ns = await withNamespace(c, 'it-cli-dropin');
  shared = await withNamespace(c, 'it-cli-shared');
  dir = mkdtempSync(join(tmpdir(), 'fledge-dropin-'));
  const text = readFileSync(join(corpus, 'cluster/templates.yaml'), 'utf8')
    .replaceAll('{{NS}}', ns.name)
    .replaceAll('flagger-system', shared.name);
  for (const d of parseAllDocuments(text)) {
    const doc = d.toJS() as { kind: string; metadata: { namespace: string } };
    await c.custom.createNamespacedCustomObject({
      group: 'flagger.app',
      version: 'v1beta1',
      namespace: doc.metadata.namespace,
      plural: doc.kind === 'MetricTemplate' ? 'metrictemplates' : 'alertproviders',
      body: doc,
    });
  }
});
afterAll(async () => {
  await ns?.cleanup();
  await shared?.cleanup();
});

describe('fledge validate on Flagger files as they are', () => {
  it('skips other kinds with a note per document', async () => {
    const f = file('istio-other-kinds.yaml');
    const r = await fledge(['validate', '-f', f]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`target     ${ns.name}/podinfo via istio`);
    const notes = r.err.split('\n').filter((l) => l.startsWith('note: '));
    expect(notes).toEqual([
      `note: ${f}:2:1 doc[0]: skipped Deployment \`podinfo\` (apps/v1): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual`,
      `note: ${f}:30:1 doc[1]: skipped HorizontalPodAutoscaler \`podinfo\` (autoscaling/v2): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual`,
      `note: ${f}:43:1 doc[2]: skipped Service \`podinfo-external\` (v1): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual`,
      `note: ${f}:84:1 doc[4]: skipped VirtualService \`root\` (networking.istio.io/v1beta1): not part of a release bundle (Canary, MetricTemplate, AlertProvider); apply it as usual`,
    ]);
  });

  it('reads the shared MetricTemplates from the cluster and infers gatewayapi:v1 from gatewayRefs', async () => {
    const f = file('gatewayapi-canary.yaml');
    const r = await fledge(['validate', '-f', f]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('via gatewayapi:v1');
    expect(r.out).toContain('metrics    error-rate, latency');
    expect(r.err).toContain(
      `note: ${f}: MetricTemplate \`${shared.name}/error-rate\` read from the cluster (metrictemplates.flagger.app); pinned into this release`,
    );
    expect(r.err).toMatch(
      /note: .*spec\.provider: not set: `gatewayapi:v1` inferred from service\.gatewayRefs/,
    );
  });

  it('--no-cluster, or a template the cluster does not have: the error names it and where Fledge looked', async () => {
    const f = file('gatewayapi-canary.yaml');
    const offline = await fledge(['validate', '-f', f, '--no-cluster']);
    expect(offline.code).toBe(5);
    // The front step's notes come first, also when the input is invalid.
    expect(offline.err.split('\n')[0]).toMatch(/^note: .*spec\.provider: not set: `gatewayapi:v1` inferred/);
    expect(offline.err).toContain(
      `spec.analysis.metrics[0].templateRef.name: MetricTemplate \`${shared.name}/error-rate\` not found: not in the file, and the cluster was not searched (--no-cluster)`,
    );
    const other = file('istio-templates-other-namespace.yaml');
    writeFileSync(other, readFileSync(other, 'utf8').replaceAll(shared.name, `${shared.name}-nope`));
    const missing = await fledge(['validate', '-f', other]);
    expect(missing.code).toBe(5);
    expect(missing.err).toContain(
      `MetricTemplate \`${shared.name}-nope/latency\` not found: neither in the file nor in the cluster (looked for metrictemplates.flagger.app \`latency\` in namespace \`${shared.name}-nope\`)`,
    );
  });

  it('--provider and FLEDGE_DEFAULT_PROVIDER apply to a Canary without spec.provider (the flag wins)', async () => {
    const f = file('gatewayapi-blue-green.yaml');
    const env = await fledge(['validate', '-f', f], { FLEDGE_DEFAULT_PROVIDER: 'gatewayapi:v1' });
    expect(env.code, env.err).toBe(0);
    expect(env.err).toContain(
      "spec.provider: not set: using the default provider `gatewayapi:v1` (FLEDGE_DEFAULT_PROVIDER), as Flagger's -mesh-provider",
    );
    const flag = await fledge(['validate', '-f', f, '--provider', 'istio'], {
      FLEDGE_DEFAULT_PROVIDER: 'gatewayapi:v1',
    });
    // The flag wins: with istio, gatewayRefs is a field Flagger's Istio router ignores (a notice, not an error).
    expect(flag.code, flag.err).toBe(0);
    expect(flag.err).toContain('spec.service.gatewayRefs: ignored with provider istio, as Flagger does');
    expect(flag.out).toMatch(/via istio/);
    const bad = await fledge(['validate', '-f', f, '--provider', 'linkerd']);
    expect(bad.code).toBe(5);
    expect(bad.err).toContain(
      '--provider: unknown provider "linkerd"; supported: istio, gatewayapi:v1, kubernetes',
    );
  });
});
