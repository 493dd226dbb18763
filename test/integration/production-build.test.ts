// The production artefact — what the Dockerfile ships — against the real local stack: the compiled `dist/`
// (tsc -p tsconfig.build.json) and the prebuilt workflow bundle, run by plain `node` with no TypeScript loader.
// The worker carries no demo code (bundle, module graph, activity set) and refuses to start without its settings.
// The built CLI validates and starts a release, the built worker (configured only through the environment, as in
// a container) runs it to Promoted from the bundle and serves its metrics, and SIGTERM stops it cleanly.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as SourceWorker from '../../src/worker.js';
import type * as SourceDevWorker from '../../src/dev/worker.js';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/dev/stack/config.js';
import { canaryYaml } from '../e2e/support.js';
import { deployment, eventually, kube, stack, withNamespace } from '../support/stack.js';

const run = promisify(execFile);
const dist = join(projectRoot, 'dist');
const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';
const taskQueue = `prod-build-${Date.now().toString(36)}`;
let dir: string;
/** The image's /app: package.json, bin/, dist/ and node_modules/ (linked from the checkout), and no src/. */
let app: string;

/** The container's environment: everything explicit, nothing taken from the checkout's local-stack defaults. */
function containerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const s = stack();
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    NO_COLOR: '1',
    TEMPORAL_ADDRESS: s.urls.temporal,
    TEMPORAL_NAMESPACE: 'default',
    KUBECONFIG: s.kubeconfig,
    FLEDGE_PROMETHEUS_URL: s.urls.prometheus,
    FLEDGE_TASK_QUEUE: taskQueue,
    FLEDGE_ACTOR: 'prod-build-test',
    ...extra,
  };
}

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Runs a built entry point asynchronously (this file hosts no worker, but the built one must keep polling). */
function node(
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; done: Promise<Done>; output: () => string } {
  const child = spawn(process.execPath, [join(app, entry), ...args], { env, cwd: dir });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const done = new Promise<Done>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
  return { child, done, output: () => out + err };
}

/** The demo's workflow and activities: the embedded dev stack's worker registers them, production never. */
const demoNames = ['demoTrafficShift', 'ensureDemoApp', 'setDemoWeights', 'observeSplit'];

/** Every dist/ module a program loads from `entry` (static and dynamic relative imports), relative to dist/. */
function distModules(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g))
      visit(resolve(dirname(file), m[1] ?? ''));
  };
  visit(join(dist, entry));
  return [...seen].map((f) => relative(dist, f)).sort();
}

// The image's `fledge` command: bin/fledge.js, which runs dist/ when there is no src/ beside it.
const cli = (args: string[]): Promise<Done> => node('bin/fledge.js', args, containerEnv()).done;
const show = (d: Done): string => `exit ${d.code}\n--- stdout\n${d.out}\n--- stderr\n${d.err}`;

beforeAll(async () => {
  // The Dockerfile's build stage: compile, then bundle the workflows (the bundle step fails on forbidden imports).
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: projectRoot });
  await run('npx', ['tsx', 'scripts/bundle-workflows.ts'], { cwd: projectRoot });
  dir = mkdtempSync(join(tmpdir(), 'fledge-prod-'));
  app = join(dir, 'app');
  cpSync(join(projectRoot, 'bin'), join(app, 'bin'), { recursive: true });
  copyFileSync(join(projectRoot, 'package.json'), join(app, 'package.json'));
  symlinkSync(dist, join(app, 'dist'));
  symlinkSync(join(projectRoot, 'node_modules'), join(app, 'node_modules'));
}, 240_000);

let worker: ReturnType<typeof node> | undefined;
afterAll(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGKILL');
    await worker.done;
  }
});

describe('production build (dist/ + prebuilt workflow bundle, plain node)', () => {
  it('has the entry points the image runs', () => {
    for (const f of ['worker.js', 'cli/main.js', 'workflow-bundle.js'])
      expect(existsSync(join(dist, f)), f).toBe(true);
  });

  it('the prebuilt workflow bundle holds the release and lane workflows and no demo code', () => {
    const bundle = readFileSync(join(dist, 'workflow-bundle.js'), 'utf8');
    expect(bundle).toContain('releaseWorkflow');
    expect(bundle).toContain('fledgeLane');
    for (const name of demoNames) expect(bundle, name).not.toContain(name);
  });

  it('the built worker loads no demo or dev-stack module, and registers no demo activity', async () => {
    const loaded = distModules('worker.js');
    expect(loaded).toContain('activities/release.js');
    expect(loaded).toContain('config.js');
    expect(loaded.filter((m) => /(^|\/)demo\.js$|^dev\//.test(m))).toEqual([]);
    // Its activity set, as the built worker composes it from the container's environment.
    const built = (await import(pathToFileURL(join(dist, 'worker.js')).href)) as typeof SourceWorker;
    const cfg = built.productionWorkerConfig(containerEnv());
    const names = Object.keys(built.createActivities(cfg));
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => demoNames.includes(n))).toEqual([]);
    // The dev stack's worker is what adds them (and it is not part of the worker's module graph above).
    const dev = (await import(pathToFileURL(join(dist, 'dev', 'worker.js')).href)) as typeof SourceDevWorker;
    const demo = Object.keys(dev.demoExtension(cfg).activities(kube().kc));
    expect(demo.sort()).toEqual(demoNames.slice(1).sort());
  });

  it('the built worker without TEMPORAL_ADDRESS, FLEDGE_PROMETHEUS_URL and Kubernetes access exits 5, naming each', async () => {
    const home = mkdtempSync(join(tmpdir(), 'fledge-prod-home-')); // no ~/.kube/config; not in a pod
    const bare = { PATH: process.env.PATH, HOME: home, NODE_ENV: 'production', NO_COLOR: '1' };
    const r = await node('dist/worker.js', [], bare).done;
    expect(r.code, show(r)).toBe(5);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(
      /^fledge worker: missing settings: TEMPORAL_ADDRESS \(.*\); FLEDGE_PROMETHEUS_URL \(.*\); KUBECONFIG \(/,
    );
    expect(r.out).toBe('');
    // The image's `fledge worker` says the same.
    const viaCli = await node('bin/fledge.js', ['worker'], bare).done;
    expect(viaCli.code, show(viaCli)).toBe(5);
    expect(viaCli.err).toMatch(
      /^fledge: the worker cannot start: missing settings: TEMPORAL_ADDRESS .*KUBECONFIG \(/,
    );
  });

  it("the image's fledge command (bin → dist, no src) answers --help, validates, and rejects a bad spec with exit 5", async () => {
    const help = await cli(['--help']);
    expect(help.code, show(help)).toBe(0);
    expect(help.out).toMatch(/Usage: fledge/);
    // As the image's /usr/local/bin/fledge, a symlink to bin/fledge.js.
    symlinkSync(join(app, 'bin', 'fledge.js'), join(dir, 'fledge'));
    const linked = await node('../fledge', ['--version'], containerEnv()).done;
    expect(linked.code, show(linked)).toBe(0);
    expect(linked.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, canaryYaml('prod-build'));
    const valid = await cli(['validate', '-f', good, '--image', `app=${v2}`]);
    expect(valid.code, show(valid)).toBe(0);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, canaryYaml('prod-build').replace('stepWeight: 25', 'stepWeight: 250'));
    const invalid = await cli(['validate', '-f', bad]);
    expect(invalid.code, show(invalid)).toBe(5);
    expect(invalid.err).toMatch(/bad\.yaml:\d+:\d+ spec\.analysis\.stepWeight/);
  });

  it('the built worker runs a release from the prebuilt bundle to Promoted, serves metrics, and stops on SIGTERM', async () => {
    worker = node(
      'dist/worker.js',
      [],
      containerEnv({ FLEDGE_METRICS_PORT: '0', FLEDGE_METRICS_HOST: '127.0.0.1' }),
    );
    const metricsUrl = await eventually(
      'the built worker listening',
      async () => {
        if (worker?.child.exitCode !== null) throw new Error(`worker exited:\n${worker?.output()}`);
        return /metrics on (http:\/\/\S+)/.exec(worker.output())?.[1];
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(worker.output()).toContain(`task queue "${taskQueue}"`);

    const k = kube();
    const ns = await withNamespace(k, 'prod-build');
    try {
      await k.apps.createNamespacedDeployment({
        namespace: ns.name,
        body: deployment('podinfo', ns.name, v1, { app: 'podinfo' }, 2),
      });
      const spec = join(dir, `${ns.name}.yaml`);
      writeFileSync(
        spec,
        canaryYaml(ns.name, {
          analysis: '    interval: 4s\n    threshold: 2\n    stepWeight: 50\n    maxWeight: 50',
        }),
      );
      const started = await cli(['start', '-f', spec, '--image', `app=${v2}`, '--wait']);
      expect(started.code, show(started)).toBe(0);
      expect(started.out).toMatch(/Promoted/);

      const metrics = await (await fetch(metricsUrl)).text();
      expect(metrics).toMatch(/^fledge_releases_total\{outcome="Promoted"\} 1$/m);
      expect(metrics).toMatch(
        new RegExp(
          `^flagger_canary_successes_total\\{[^}]*name="podinfo"[^}]*namespace="${ns.name}"[^}]*\\} 1$`,
          'm',
        ),
      );
    } finally {
      await ns.cleanup();
    }

    // The image's runtime path: workflows from the prebuilt bundle, never bundled at start-up.
    expect(worker.output()).not.toMatch(/Workflow bundle created|webpack/i);
    worker.child.kill('SIGTERM');
    const ended = await worker.done;
    expect(ended.code, ended.out + ended.err).toBe(0);
  });
});
