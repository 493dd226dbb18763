// The fault matrix: every scenario runs one real release (podinfo 6.5.0 → 6.5.1 on the local stack) through a
// fault and states what a correct Fledge does. The runner (matrix.ts) adds the end-state oracle to each.
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { kubeStatus, type SeenRequest } from './fault-layer.js';
import { bindWorker, ownTemporal, revokeWorker, workerEnv, workerProcess } from './harness.js';
import {
  analyses,
  canaryWeight,
  canaryWeightInBody,
  deferred,
  newImage,
  sleep,
  summariseAnalyses,
  waitFor,
  workflowTaskProblems,
  type SpecOptions,
} from './kit.js';
import {
  expectSlackThread,
  expectOutcome,
  expectWrites,
  promotedWrites,
  type RunCtx,
  type Scenario,
} from './matrix.js';

// ── triggers ────────────────────────────────────────────────────────────────────────────────────────────────

const nsPath = (ctx: RunCtx, rest: string): RegExp =>
  new RegExp(`^/apis/${rest.replace('{ns}', ctx.space.namespace)}(\\?|$)`);
const vsPath = (ctx: RunCtx): RegExp =>
  nsPath(ctx, 'networking.istio.io/v1/namespaces/{ns}/virtualservices/podinfo');
const primaryPath = (ctx: RunCtx): RegExp =>
  nsPath(ctx, 'apps/v1/namespaces/{ns}/deployments/podinfo-primary');
const scalePath = (ctx: RunCtx): RegExp => nsPath(ctx, 'apps/v1/namespaces/{ns}/deployments/podinfo/scale');

/** Waits until the live VirtualService sends `weight` % to the canary. */
async function atWeight(ctx: RunCtx, weight: number, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `canary weight ${weight}`,
    async () => ((await canaryWeight(ctx.env.admin, ctx.space.namespace)) === weight ? true : undefined),
    { timeoutMs, intervalMs: 100 },
  );
}

const bodyHasImage = (req: SeenRequest, image: string): boolean =>
  JSON.stringify(req.body ?? '').includes(image);
const scaleTo = (req: SeenRequest): number | undefined =>
  (req.body as { spec?: { replicas?: number } } | null)?.spec?.replicas;

// ── worker SIGKILL at a point × restart delay ───────────────────────────────────────────────────────────────

type KillPoint = 'initialise' | 'route-write' | 'analysis-step' | 'gate' | 'promotion' | 'finalise';

const killPoints: Record<KillPoint, string> = {
  initialise: 'while its apply creating the primary is on the wire (the write lands)',
  'route-write': 'while its first weight write (25%) is on the wire (the write lands)',
  'analysis-step': 'after an analysis passed, its step write (50%) on the wire is dropped (never lands)',
  gate: 'while waiting at a confirm-promotion gate (gate opened while it is down)',
  promotion: 'while its apply of the new template to the primary is on the wire (the write lands)',
  finalise: 'while its scale-to-zero of the canary is on the wire (the write lands)',
};

/** Holds the first matching apiserver request until the worker is dead; forwards or drops it then. */
function holdAndKill(
  ctx: RunCtx,
  rule: { method: string; path: RegExp; when?: (r: SeenRequest) => boolean },
): { hit: Promise<void>; released: (d: 'forward' | 'drop') => void } {
  const hit = deferred<void>();
  const release = deferred<'forward' | 'drop'>();
  ctx.env.kubeLayer.add({
    name: 'hold-for-kill',
    ...rule,
    times: 1,
    action: {
      kind: 'hold',
      release: () => {
        hit.resolve();
        return release.promise;
      },
    },
  });
  return { hit: hit.promise, released: release.resolve };
}

function killScenario(point: KillPoint, delayIntervals: 0 | 1 | 5, subset = false): Scenario {
  const spec: SpecOptions = point === 'gate' ? { promotionGate: true } : {};
  const label = delayIntervals === 0 ? '0 s' : delayIntervals === 1 ? '1 interval' : '5 intervals';
  return {
    id: `kill-${point}-${delayIntervals}i`,
    group: 'worker SIGKILL',
    fault: `worker SIGKILLed ${killPoints[point]}; restarted after ${label}`,
    expected: 'Promoted; each weight once in history; 1 Slack parent',
    spec,
    subset,
    run: async (ctx) => {
      const forward = point === 'analysis-step' ? 'drop' : 'forward';
      let held: ReturnType<typeof holdAndKill> | undefined;
      if (point === 'initialise') held = holdAndKill(ctx, { method: 'PATCH', path: primaryPath(ctx) });
      else if (point === 'route-write')
        held = holdAndKill(ctx, {
          method: 'PATCH',
          path: vsPath(ctx),
          when: (r) => canaryWeightInBody(r.body) === 25,
        });
      else if (point === 'analysis-step')
        held = holdAndKill(ctx, {
          method: 'PATCH',
          path: vsPath(ctx),
          when: (r) => canaryWeightInBody(r.body) === 50,
        });
      else if (point === 'promotion')
        held = holdAndKill(ctx, {
          method: 'PATCH',
          path: primaryPath(ctx),
          when: (r) => bodyHasImage(r, newImage),
        });
      else if (point === 'finalise')
        held = holdAndKill(ctx, { method: 'PATCH', path: scalePath(ctx), when: (r) => scaleTo(r) === 0 });
      await ctx.submit();
      if (held) {
        await Promise.race([
          held.hit,
          sleep(150_000).then(() => Promise.reject(new Error('kill point never reached'))),
        ]);
        await ctx.worker.kill();
        held.released(forward);
        ctx.note(
          `killed at ${point}; held request ${forward === 'drop' ? 'dropped' : 'forwarded after the kill'}`,
        );
      } else {
        // gate: the confirm-promotion webhook is polled (gate closed) → the release waits at the gate.
        await waitFor(
          'gate poll of this release',
          async () =>
            (await ctx.env.hooks.calls('/gate/check')).some(
              (c) => c.payload?.namespace === ctx.space.namespace,
            )
              ? true
              : undefined,
          { timeoutMs: 150_000, intervalMs: 250 },
        );
        await ctx.worker.kill();
        await ctx.env.hooks.openGate('podinfo', ctx.space.namespace);
        ctx.note('killed while waiting at the confirm-promotion gate; gate opened while down');
      }
      await sleep(delayIntervals * ctx.intervalMs);
      await ctx.worker.start();
      ctx.lifted();
      const r = await ctx.result();
      expectOutcome(ctx, r, 'Promoted');
      await expectWrites(ctx, promotedWrites(ctx.spec));
      await expectSlackThread(ctx, r);
      ctx.check('worker restarted', ctx.worker.starts() === 2, `${ctx.worker.starts()} worker processes`);
      ctx.note(
        `${workflowTaskProblems(await ctx.history())} workflow task(s) timed out or failed in history`,
      );
      return r;
    },
  };
}

// ── Prometheus down ─────────────────────────────────────────────────────────────────────────────────────────

type Policy = 'count-as-failed-check' | 'hold' | 'rollback';

function prometheusDown(policy: Policy, intervals: 2 | 6, subset = false): Scenario {
  // threshold 5: 2 intervals down cost at most 3 failed ticks, 6 intervals at least 5.
  const spec: SpecOptions = { onInfrastructureError: policy, threshold: 5 };
  const expected =
    policy === 'rollback'
      ? 'RolledBack (infrastructure-error) at the first tick without Prometheus'
      : policy === 'hold'
        ? 'Promoted; ticks without Prometheus neither count nor advance'
        : intervals === 2
          ? 'Promoted with the down ticks counted (< threshold 5)'
          : 'RolledBack (infrastructure-threshold), kind infrastructure';
  return {
    id: `prometheus-down-${intervals}i-${policy}`,
    group: 'Prometheus down',
    fault: `Prometheus link cut for ${intervals} intervals at 25% (onInfrastructureError: ${policy})`,
    expected,
    spec,
    subset,
    run: async (ctx) => {
      await ctx.submit();
      await atWeight(ctx, 25);
      await ctx.env.toxi.setEnabled('prometheus', false);
      const downAt = Date.now();
      await sleep(intervals * ctx.intervalMs);
      await ctx.env.toxi.setEnabled('prometheus', true);
      ctx.lifted();
      ctx.note(`Prometheus unreachable for ${((Date.now() - downAt) / 1000).toFixed(1)} s`);
      const r = await ctx.result();
      const ticks = analyses(await ctx.history());
      ctx.note(summariseAnalyses(ticks));
      ctx.check(
        'a tick ran without Prometheus',
        ticks.some((a) => a.metrics.some((m) => m.error === 'infrastructure')),
        summariseAnalyses(ticks),
      );
      const infraChecks = r.failingCheck?.kind === 'infrastructure';
      if (policy === 'rollback') {
        expectOutcome(ctx, r, 'RolledBack', 'infrastructure-error');
        ctx.check('failing check is infrastructure', infraChecks, JSON.stringify(r.failingCheck ?? null));
        await expectWrites(ctx, [25, 0]);
      } else if (policy === 'hold') {
        expectOutcome(ctx, r, 'Promoted');
        ctx.check(
          'down ticks not counted',
          r.failedChecks <= 1,
          `${r.failedChecks} failed checks (≤ 1 allowed: first tick may see no traffic)`,
        );
        await expectWrites(ctx, promotedWrites(spec));
      } else if (intervals === 2) {
        expectOutcome(ctx, r, 'Promoted');
        ctx.check(
          'down ticks counted',
          r.failedChecks >= 1 && r.failedChecks < 5,
          `${r.failedChecks} failed checks`,
        );
        await expectWrites(ctx, promotedWrites(spec));
      } else {
        expectOutcome(ctx, r, 'RolledBack', 'infrastructure-threshold');
        ctx.check('failing check is infrastructure', infraChecks, JSON.stringify(r.failingCheck ?? null));
        await expectWrites(ctx, [25, 0]);
      }
      await expectSlackThread(ctx, r);
      return r;
    },
  };
}

// ── Slack storms ────────────────────────────────────────────────────────────────────────────────────────────

function slackStorm(kind: '500-ambiguous' | '500' | '429', subset = false): Scenario {
  const fault =
    kind === '500-ambiguous'
      ? 'Slack answers 500 AFTER posting (ambiguous) to the first 3 chat.postMessage calls'
      : kind === '500'
        ? 'Slack answers 500 (nothing posted) to every call for 4 intervals from the start'
        : 'Slack answers 429 Retry-After: 1 to the first 8 calls';
  return {
    id: `slack-${kind}`,
    group: 'Slack',
    fault,
    expected: 'Promoted; exactly 1 Slack parent (no duplicate)',
    subset,
    run: async (ctx) => {
      const layer = ctx.env.slackLayer;
      const mine = (r: SeenRequest): boolean => JSON.stringify(r.body ?? '').includes(ctx.space.channel);
      let stop = (): void => undefined;
      if (kind === '500-ambiguous')
        stop = layer.add({
          name: 'slack-500-after-commit',
          method: 'POST',
          path: /chat\.postMessage/,
          when: mine,
          times: 3,
          action: { kind: 'respond-after-commit', status: 500, body: 'upstream error' },
        });
      else if (kind === '500')
        stop = layer.add({
          name: 'slack-500',
          method: 'POST',
          path: /^\/api\//,
          when: mine,
          action: { kind: 'respond', status: 500, body: 'internal error' },
        });
      else
        stop = layer.add({
          name: 'slack-429',
          method: 'POST',
          path: /^\/api\//,
          when: mine,
          times: 8,
          action: {
            kind: 'respond',
            status: 429,
            headers: { 'retry-after': '1' },
            body: { ok: false, error: 'ratelimited' },
          },
        });
      await ctx.submit();
      if (kind === '500') {
        await sleep(4 * ctx.intervalMs);
        stop();
        ctx.lifted();
      }
      const r = await ctx.result();
      const injectedCalls = layer.log.filter((e) => e.rule?.startsWith('slack-'));
      ctx.note(`${injectedCalls.length} Slack calls answered with an injected error`);
      const first = injectedCalls[0];
      if (first && kind !== '500') {
        const ok = layer.log.find((e) => e.at > first.at && !e.rule && e.status === 200);
        if (ok) ctx.recovered(ok.at + ok.durationMs - first.at);
      }
      expectOutcome(ctx, r, 'Promoted');
      await expectWrites(ctx, promotedWrites(ctx.spec));
      await expectSlackThread(ctx, r);
      return r;
    },
  };
}

// ── Kubernetes API faults ───────────────────────────────────────────────────────────────────────────────────

const forbiddenWrite = (ctx: RunCtx): number =>
  ctx.env.kubeLayer.log.filter(
    (e) => e.path.includes(`/namespaces/${ctx.space.namespace}/`) && e.status === 403,
  ).length;

function kubeFault(
  kind: 'latency-2s' | 'reset' | '500' | '500-storm' | '429' | '409' | '403-transient' | '403-permanent',
  subset = false,
): Scenario {
  const faults: Record<typeof kind, string> = {
    'latency-2s': 'every apiserver response delayed 2 s (toxiproxy latency) for the whole release',
    reset: 'every apiserver connection reset (toxiproxy reset_peer) for 2 intervals from 25%',
    '500': 'the 50% VirtualService write answered 500 three times',
    '500-storm': 'every apiserver write answered 500 for 5 intervals from the 50% write',
    '429': 'the 50% VirtualService write answered 429 Retry-After: 2, twice',
    '409': 'the 50% VirtualService write answered 409 Conflict, twice',
    '403-transient': "the worker's RoleBinding deleted at 25% and restored 1 interval after its first 403",
    '403-permanent': "the worker's RoleBinding deleted at 25% for good",
  };
  const expected: Record<typeof kind, string> = {
    'latency-2s': 'Promoted (slower); each weight once',
    reset: 'Promoted; each weight once',
    '500': 'Promoted; retried; each weight once',
    '500-storm': 'Promoted after infra retries; each weight once',
    '429': 'Promoted; each retry waits ≥ Retry-After',
    '409': 'Promoted; retried; each weight once',
    '403-transient': 'Promoted after infra retries',
    '403-permanent': 'Failed (infrastructure-failure) naming 403; routes cannot be restored (no rights)',
  };
  return {
    id: `kube-${kind}`,
    group: 'kube-apiserver',
    fault: faults[kind],
    expected: expected[kind],
    subset,
    ...(kind === '403-permanent'
      ? {
          oracleExpect: {
            violated: /traffic not restored/,
            why: 'without RBAC nothing can move traffic back; the oracle must report it',
          },
        }
      : {}),
    run: async (ctx) => {
      const layer = ctx.env.kubeLayer;
      const vs = vsPath(ctx);
      const at50 = (r: SeenRequest): boolean => canaryWeightInBody(r.body) === 50;
      const inNs = (r: SeenRequest): boolean => r.path.includes(`/namespaces/${ctx.space.namespace}/`);
      if (kind === 'latency-2s')
        await ctx.env.toxi.addToxic('kube', {
          name: 'latency',
          type: 'latency',
          attributes: { latency: 2000, jitter: 0 },
        });
      if (kind === '500')
        layer.add({
          name: 'kube-500',
          method: 'PATCH',
          path: vs,
          when: at50,
          times: 3,
          action: {
            kind: 'respond',
            status: 500,
            body: kubeStatus(500, 'InternalError', 'injected: etcdserver: request timed out'),
          },
        });
      if (kind === '429')
        layer.add({
          name: 'kube-429',
          method: 'PATCH',
          path: vs,
          when: at50,
          times: 2,
          action: {
            kind: 'respond',
            status: 429,
            headers: { 'retry-after': '2' },
            body: kubeStatus(429, 'TooManyRequests', 'injected: too many requests, please try again later'),
          },
        });
      if (kind === '409')
        layer.add({
          name: 'kube-409',
          method: 'PATCH',
          path: vs,
          when: at50,
          times: 2,
          action: {
            kind: 'respond',
            status: 409,
            body: kubeStatus(
              409,
              'Conflict',
              'injected: Operation cannot be fulfilled: the object has been modified',
            ),
          },
        });
      let storm: (() => void) | undefined;
      if (kind === '500-storm') {
        const started = deferred<void>();
        let stormOn = false;
        storm = layer.add({
          name: 'kube-500-storm',
          method: 'PATCH',
          when: (r) => inNs(r) && (at50(r) || stormOn),
          action: () => {
            if (!stormOn) {
              stormOn = true;
              started.resolve();
            }
            return {
              kind: 'respond',
              status: 500,
              body: kubeStatus(500, 'InternalError', 'injected: storm'),
            };
          },
        });
        await ctx.submit();
        await started.promise;
        await sleep(5 * ctx.intervalMs);
        storm();
        ctx.lifted();
      } else {
        await ctx.submit();
      }
      if (kind === 'reset' || kind.startsWith('403')) {
        await atWeight(ctx, 25);
        if (kind === 'reset') {
          await ctx.env.toxi.addToxic('kube', {
            name: 'reset',
            type: 'reset_peer',
            attributes: { timeout: 0 },
          });
          await sleep(2 * ctx.intervalMs);
          await ctx.env.toxi.removeToxic('kube', 'reset');
          ctx.lifted();
        } else {
          await revokeWorker(ctx.env, ctx.space.namespace);
          ctx.note('RoleBinding deleted at 25%');
          if (kind === '403-transient') {
            await waitFor('a 403', async () => (forbiddenWrite(ctx) > 0 ? true : undefined), {
              timeoutMs: 60_000,
            });
            await sleep(ctx.intervalMs);
            await bindWorker(ctx.env, ctx.space.namespace);
            ctx.lifted();
          }
        }
      }
      const r = await ctx.result();
      const mine = layer.log.filter((e) => e.path.includes(`/namespaces/${ctx.space.namespace}/`));
      const injected = mine.filter((e) => e.rule?.startsWith('kube-'));
      const firstInjected = injected[0];
      if (firstInjected && (kind === '500' || kind === '429' || kind === '409')) {
        const ok = mine.find(
          (e) => e.at > firstInjected.at && e.path === firstInjected.path && e.status < 300,
        );
        if (ok) ctx.recovered(ok.at + ok.durationMs - firstInjected.at);
      }
      if (injected.length > 0)
        ctx.note(
          `${injected.length} apiserver answers injected (${[...new Set(injected.map((e) => e.status))].join(', ')})`,
        );
      ctx.note(`${mine.length} apiserver requests over ${new Set(mine.map((e) => e.conn)).size} connections`);
      if (kind.startsWith('403')) ctx.note(`${forbiddenWrite(ctx)} requests answered 403 by the apiserver`);
      if (kind === '429') {
        const vsCalls = mine.filter((e) => vs.test(e.path) && e.method === 'PATCH');
        const gaps: number[] = [];
        vsCalls.forEach((e, i) => {
          const next = vsCalls[i + 1];
          if (e.status === 429 && next) gaps.push(next.at - (e.at + e.durationMs));
        });
        ctx.check(
          'waited Retry-After',
          gaps.length === 2 && gaps.every((g) => g >= 1900),
          `gaps after 429: ${gaps.map((g) => `${g} ms`).join(', ')}`,
        );
      }
      if (kind === '403-permanent') {
        expectOutcome(ctx, r, 'Failed', 'infrastructure-failure');
        ctx.check('names the 403', /403|forbidden/i.test(r.reason.message), r.reason.message.slice(0, 200));
      } else {
        expectOutcome(ctx, r, 'Promoted');
        await expectWrites(ctx, promotedWrites(ctx.spec));
      }
      await expectSlackThread(ctx, r);
      return r;
    },
  };
}

// ── Temporal ────────────────────────────────────────────────────────────────────────────────────────────────

function temporalLinkCut(intervals: number): Scenario {
  return {
    id: `temporal-link-cut-${intervals}i`,
    group: 'Temporal',
    fault: `the worker's link to the Temporal frontend cut for ${intervals} intervals at 25%`,
    expected: 'Promoted; each weight once; 1 Slack parent',
    run: async (ctx) => {
      await ctx.submit();
      await atWeight(ctx, 25);
      await ctx.env.toxi.setEnabled('temporal', false);
      await sleep(intervals * ctx.intervalMs);
      await ctx.env.toxi.setEnabled('temporal', true);
      ctx.lifted();
      const r = await ctx.result();
      expectOutcome(ctx, r, 'Promoted');
      await expectWrites(ctx, promotedWrites(ctx.spec));
      await expectSlackThread(ctx, r);
      return r;
    },
  };
}

function temporalRestart(): Scenario {
  return {
    id: 'temporal-server-restart',
    group: 'Temporal',
    fault:
      'the Temporal server (own dev server, SQLite file) stopped at 25% and restarted 2 intervals later on the same file',
    expected: 'Promoted; each weight once; 1 Slack parent',
    manualWorker: true,
    run: async (ctx) => {
      const server = await ownTemporal(ctx.env, `${ctx.space.namespace}/temporal`);
      const proxy = await ctx.env.addProxy(`temporal-${ctx.space.namespace}`, server.address);
      const connection = await Connection.connect({ address: server.address });
      try {
        ctx.useClient(new Client({ connection, namespace: ctx.env.stack.temporalNamespace }));
        ctx.useWorker(workerProcess(ctx.env, ctx.space, workerEnv(ctx.env, ctx.space, proxy)));
        await ctx.worker.start();
        await ctx.submit();
        await atWeight(ctx, 25);
        await server.stop();
        const stoppedAt = Date.now();
        await sleep(2 * ctx.intervalMs);
        await server.start();
        ctx.note(`server down ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s (restart included)`);
        ctx.lifted();
        const r = await ctx.result();
        expectOutcome(ctx, r, 'Promoted');
        await expectWrites(ctx, promotedWrites(ctx.spec));
        await expectSlackThread(ctx, r);
        ctx.check(
          'worker survived',
          ctx.worker.starts() === 1 && ctx.worker.running(),
          `${ctx.worker.starts()} start(s), running ${ctx.worker.running()}`,
        );
        return r;
      } finally {
        // History is read after the scenario; keep the server until the runner is done with it.
        ctx.onCleanup(async () => {
          await ctx.worker.stop();
          await connection.close();
          await server.stop();
        });
      }
    },
  };
}

// ── webhooks ────────────────────────────────────────────────────────────────────────────────────────────────

function webhookHang(duration: 'one-tick' | 'until-end'): Scenario {
  const forGood = duration === 'until-end';
  return {
    id: forGood ? 'webhook-hang' : 'webhook-hang-one-tick',
    group: 'webhooks',
    fault: `webhook service answers 10 s late (hook timeout 2 s) ${forGood ? 'from 25% on' : 'for one analysis tick at 25%'}`,
    expected: forGood
      ? 'RolledBack (failed-checks-threshold): load-test timed out; each tick ≈ timeout, not longer'
      : 'Promoted with the hung tick counted as a failed check',
    run: async (ctx) => {
      await ctx.submit();
      await atWeight(ctx, 25);
      await ctx.env.toxi.addToxic('webhook', {
        name: 'hang',
        type: 'latency',
        attributes: { latency: 10_000, jitter: 0 },
      });
      if (!forGood) {
        await waitFor(
          'a tick with a timed-out webhook',
          async () =>
            analyses(await ctx.history()).some((a) => a.hooks.some((h) => !h.ok)) ? true : undefined,
          { timeoutMs: 60_000, intervalMs: 250 },
        );
        await ctx.env.toxi.removeToxic('webhook', 'hang');
        ctx.lifted();
      }
      const r = await ctx.result();
      const ticks = analyses(await ctx.history());
      ctx.note(summariseAnalyses(ticks));
      const spans = ticks.slice(1).map((a, i) => a.at - (ticks[i]?.at ?? a.at));
      if (spans.length > 0)
        ctx.note(`analysis completions ${spans.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} apart`);
      if (forGood) {
        expectOutcome(ctx, r, 'RolledBack', 'failed-checks-threshold');
        ctx.check(
          'failing check: hook timeout',
          r.failingCheck?.kind === 'webhook' && /timeout/i.test(r.failingCheck.message),
          JSON.stringify(r.failingCheck ?? null),
        );
        await expectWrites(ctx, [25, 0]);
      } else {
        expectOutcome(ctx, r, 'Promoted');
        ctx.check('hung tick counted', r.failedChecks >= 1, `${r.failedChecks} failed checks`);
        await expectWrites(ctx, promotedWrites(ctx.spec));
      }
      await expectSlackThread(ctx, r);
      return r;
    },
  };
}

// ── out-of-band edits ───────────────────────────────────────────────────────────────────────────────────────

type Edit =
  | 'vs-weights'
  | 'primary-scaled'
  | 'primary-image'
  | 'canary-deleted'
  | 'primary-deleted'
  | 'target-deleted-at-start';

function outOfBand(edit: Edit): Scenario {
  const faults: Record<Edit, string> = {
    'vs-weights': 'VirtualService hand-edited to 0/100 (all to canary) at 25%',
    'primary-scaled': 'primary Deployment scaled 2 → 4 by hand at 25%',
    'primary-image': 'primary Deployment image hand-edited to 6.4.0 at 25%',
    'canary-deleted': 'canary slot (targetRef Deployment podinfo) deleted at 25%',
    'primary-deleted': 'primary Deployment podinfo-primary deleted at 25%',
    'target-deleted-at-start': 'target Deployment deleted right after submission (before initialise)',
  };
  const expected: Record<Edit, string> = {
    'vs-weights': 'Promoted; Fledge re-asserts its weights at the next write',
    'primary-scaled':
      "Promoted; primary back to the target's 2 replicas at promotion (target is the source of truth)",
    'primary-image': 'Promoted; primary ends on 6.5.1',
    'canary-deleted': 'RolledBack (canary gone: no metrics); 100% primary; outcome announced',
    'primary-deleted': 'ends naming the missing primary, traffic on a Deployment that exists (no outage)',
    'target-deleted-at-start': 'Failed at initialise: target not found; nothing created',
  };
  return {
    id: `oob-${edit}`,
    group: 'out-of-band edits',
    fault: faults[edit],
    expected: expected[edit],
    ...(edit === 'canary-deleted'
      ? {
          oracleExpect: {
            violated: /the target was removed/,
            why: "the scenario deletes the user's target Deployment (the canary slot) by hand; Fledge never re-creates it",
          },
        }
      : {}),
    run: async (ctx) => {
      const { apps, custom } = ctx.env.admin;
      const ns = ctx.space.namespace;
      await ctx.submit();
      if (edit === 'target-deleted-at-start') {
        await apps.deleteNamespacedDeployment({ name: 'podinfo', namespace: ns });
      } else {
        await atWeight(ctx, 25);
        const at = Date.now();
        if (edit === 'vs-weights') {
          await custom.patchNamespacedCustomObject(
            {
              group: 'networking.istio.io',
              version: 'v1',
              plural: 'virtualservices',
              namespace: ns,
              name: 'podinfo',
              body: [
                { op: 'replace', path: '/spec/http/0/route/0/weight', value: 0 },
                { op: 'replace', path: '/spec/http/0/route/1/weight', value: 100 },
              ],
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
          );
          const w = await canaryWeight(ctx.env.admin, ns);
          ctx.note(`hand edit applied: canary ${w}%`);
          await waitFor(
            'Fledge to rewrite the routes',
            async () => ((await canaryWeight(ctx.env.admin, ns)) !== 100 ? true : undefined),
            { timeoutMs: 120_000, intervalMs: 100 },
          );
          ctx.note(
            `hand-edited weights stayed live ${((Date.now() - at) / 1000).toFixed(1)} s (until Fledge's next route write)`,
          );
        } else if (edit === 'primary-scaled') {
          await apps.patchNamespacedDeploymentScale(
            { name: 'podinfo-primary', namespace: ns, body: { spec: { replicas: 4 } } },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          );
        } else if (edit === 'primary-image') {
          await apps.patchNamespacedDeployment(
            {
              name: 'podinfo-primary',
              namespace: ns,
              body: {
                spec: {
                  template: {
                    spec: { containers: [{ name: 'app', image: 'ghcr.io/stefanprodan/podinfo:6.4.0' }] },
                  },
                },
              },
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
          );
        } else if (edit === 'canary-deleted') {
          await apps.deleteNamespacedDeployment({ name: 'podinfo', namespace: ns });
        } else {
          await apps.deleteNamespacedDeployment({ name: 'podinfo-primary', namespace: ns });
        }
      }
      const r = await ctx.result();
      const primary = await apps
        .readNamespacedDeployment({ name: 'podinfo-primary', namespace: ns })
        .catch(() => undefined);
      ctx.note(
        `primary after: ${primary ? `${primary.spec?.replicas} replicas, ${primary.spec?.template.spec?.containers[0]?.image}` : 'absent'}`,
      );
      if (edit === 'vs-weights' || edit === 'primary-image') {
        expectOutcome(ctx, r, 'Promoted');
        await expectWrites(ctx, promotedWrites(ctx.spec));
      } else if (edit === 'primary-scaled') {
        expectOutcome(ctx, r, 'Promoted');
        ctx.check(
          "primary follows the target's replicas",
          primary?.spec?.replicas === 2,
          `primary replicas ${primary?.spec?.replicas}`,
        );
      } else if (edit === 'target-deleted-at-start') {
        expectOutcome(ctx, r, 'Failed');
        ctx.check('names the target', /not found/i.test(r.reason.message), r.reason.message.slice(0, 200));
        ctx.check('nothing created', primary === undefined, primary ? 'primary was created' : 'no primary');
      } else if (edit === 'canary-deleted') {
        expectOutcome(ctx, r, 'RolledBack');
        ctx.check('not promoted', !r.primaryPromoted, `primaryPromoted ${r.primaryPromoted}`);
      } else {
        expectOutcome(ctx, r, 'Failed');
        ctx.check('ends as primary-missing', r.reason.code === 'primary-missing', r.reason.code);
        ctx.check('not promoted', !r.primaryPromoted, `${r.outcome} (${r.reason.code})`);
        ctx.check(
          'names what is missing',
          /not found/i.test(r.reason.message + (r.failingCheck?.message ?? '')),
          r.reason.message.slice(0, 200),
        );
      }
      await expectSlackThread(ctx, r);
      return r;
    },
  };
}

// ── a canary that never becomes ready ───────────────────────────────────────────────────────────────────────

function canaryNeverReady(): Scenario {
  return {
    id: 'canary-never-ready',
    group: 'workload',
    fault: 'ResourceQuota pods=4: the canary rollout cannot create a pod, so it never becomes ready',
    expected: 'RolledBack (progress-deadline) after progressDeadlineSeconds 15',
    spec: { progressDeadlineS: 15 },
    run: async (ctx) => {
      const ns = ctx.space.namespace;
      // target 2 + primary 2 = 4 pods: the canary's first new pod is over quota.
      await ctx.env.admin.core.createNamespacedResourceQuota({
        namespace: ns,
        body: { metadata: { name: 'pods' }, spec: { hard: { pods: '4' } } },
      });
      await ctx.submit();
      const r = await ctx.result();
      expectOutcome(ctx, r, 'RolledBack', 'progress-deadline');
      await expectWrites(ctx, [0]);
      await expectSlackThread(ctx, r);
      return r;
    },
  };
}

const killPointOrder: KillPoint[] = [
  'initialise',
  'route-write',
  'analysis-step',
  'gate',
  'promotion',
  'finalise',
];

export const scenarios: Scenario[] = [
  ...killPointOrder.flatMap((p) =>
    ([0, 1, 5] as const).map((d) => killScenario(p, d, p === 'route-write' && d === 0)),
  ),
  temporalLinkCut(2),
  temporalRestart(),
  kubeFault('latency-2s'),
  kubeFault('reset'),
  kubeFault('500'),
  kubeFault('500-storm'),
  kubeFault('429', true),
  kubeFault('409'),
  kubeFault('403-transient'),
  kubeFault('403-permanent'),
  ...(['count-as-failed-check', 'hold', 'rollback'] as const).flatMap((p) =>
    ([2, 6] as const).map((i) => prometheusDown(p, i, p === 'hold' && i === 2)),
  ),
  webhookHang('one-tick'),
  webhookHang('until-end'),
  slackStorm('500-ambiguous', true),
  slackStorm('500'),
  slackStorm('429'),
  outOfBand('vs-weights'),
  outOfBand('primary-scaled'),
  outOfBand('primary-image'),
  outOfBand('canary-deleted'),
  outOfBand('primary-deleted'),
  outOfBand('target-deleted-at-start'),
  canaryNeverReady(),
];
