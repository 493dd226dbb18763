// The analysis loop: a tick every interval (a ticker's cadence: next tick = tick start + interval). A tick runs the
// rollback webhooks (the first 2xx rolls back), then — first tick — the pre-rollout hooks only, later ticks the
// analysis (rollout webhooks and metrics) unless the strategy has nothing to measure. A passing tick advances the
// strategy (./strategies); a failing one counts a failed check and rolls back in the SAME tick the threshold is
// reached; infrastructure errors follow `plan.onInfrastructureError` (count, hold up to the progress deadline,
// roll back). Post-rollout hook results are handled here too (they end the release). PURE.
import type { Next } from '../effects.js';
import type { HookResult, MetricResult } from '../events.js';
import {
  evaluateAnalysis,
  hookFailingCheck,
  hooksOfType,
  summariseHooks,
  type AnalysisVerdict,
} from '../evaluate.js';
import type { FailingCheck } from '../result.js';
import { describeFailingCheck } from '../result.js';
import type { HookSummary, RunnableHookType } from '../state.js';
import { intervalOf, label, notify, recordEvent, runHooks, thresholdOf, type Ctx } from './context.js';
import { timer } from './cursor.js';
import { gate, gateClosed, gateOpened, gateWebhooksPassed } from './gates.js';
import { startPromotion } from './lifecycle.js';
import { complete, rollback } from './outcomes.js';
import { strategyOf, type Move } from './strategies/index.js';

export function beginTick(c: Ctx): Next {
  c.s.tick += 1;
  c.s.tickStartedAt = c.now;
  if (hooksOfType(c.plan, 'rollback').length > 0) return runHooks(c, 'rollback', c.s.phase);
  return analysisStep(c);
}

export function analysisStep(c: Ctx): Next {
  if (!c.s.preRolloutDone) {
    if (hooksOfType(c.plan, 'pre-rollout').length > 0) return runHooks(c, 'pre-rollout', c.s.phase);
    return preRolloutPassed(c, []);
  }
  // Nothing to measure (a canary held at weight 0 by confirm-traffic-increase): the tick passes as is.
  if (!strategyOf(c.plan).measures(c.s)) {
    c.s.lastTickOk = true;
    return advance(c);
  }
  c.s.cursor = { kind: 'analysis' };
  return { type: 'runAnalysis', phase: c.s.phase };
}

function preRolloutPassed(c: Ctx, hooks: HookSummary[]): Next {
  c.s.preRolloutDone = true;
  c.s.lastTickOk = true;
  if (hooks.length > 0) {
    c.s.lastAnalysis = {
      at: c.now,
      tick: c.s.tick,
      source: 'pre-rollout',
      ok: true,
      verdict: 'pass',
      hooks,
      metrics: [],
    };
  }
  recordEvent(
    c,
    'Normal',
    'PreRolloutPassed',
    `Starting canary analysis for ${label(c)}${hooks.length > 0 ? ' (pre-rollout hooks passed)' : ''}`,
  );
  return advance(c);
}

export function onHooks(c: Ctx, hookType: RunnableHookType, results: readonly HookResult[]): Next {
  const summaries = summariseHooks(hooksOfType(c.plan, hookType), results);
  switch (hookType) {
    case 'confirm-rollout':
    case 'confirm-traffic-increase':
    case 'confirm-promotion': {
      const failing = summaries.filter((h) => !h.ok).map((h) => h.name);
      if (failing.length > 0) return gateClosed(c, hookType, failing);
      gateWebhooksPassed(c, hookType, summaries);
      return gateOpened(c, hookType);
    }
    case 'pre-rollout': {
      const failed = summaries.find((h) => !h.ok);
      if (failed === undefined) return preRolloutPassed(c, summaries);
      alertHookFailures(c, hookType, summaries);
      const check = hookFailingCheck(failed);
      c.s.lastAnalysis = {
        at: c.now,
        tick: c.s.tick,
        source: 'pre-rollout',
        ok: false,
        verdict: 'failed',
        hooks: summaries,
        metrics: [],
        failingCheck: check,
      };
      return failedCheck(c, check);
    }
    case 'rollback': {
      const trigger = summaries.find((h) => h.ok);
      if (trigger === undefined) return analysisStep(c);
      return rollback(
        c,
        {
          outcome: 'RolledBack',
          code: 'manual-rollback-webhook',
          message: `Rolling back: manual rollback webhook ${trigger.name} invoked`,
          failingCheck: {
            kind: 'webhook',
            name: trigger.name,
            message: `manual rollback requested (${trigger.message})`,
          },
          finalPhase: 'Failed',
        },
        'manual-rollback',
        'ManualRollback',
      );
    }
    case 'post-rollout': {
      alertHookFailures(c, hookType, summaries);
      for (const hook of summaries.filter((h) => !h.ok)) {
        recordEvent(
          c,
          'Warning',
          'PostRolloutHookFailed',
          `post-rollout webhook ${hook.name} failed: ${hook.message}`,
        );
      }
      return complete(c);
    }
  }
}

export function onAnalysis(c: Ctx, hooks: readonly HookResult[], metrics: readonly MetricResult[]): Next {
  const evaluation = evaluateAnalysis(c.plan, hooks, metrics);
  const verdict = evaluation.verdict;
  c.s.lastAnalysis = {
    at: c.now,
    tick: c.s.tick,
    source: 'analysis',
    ok: verdict.kind === 'pass',
    verdict: verdict.kind,
    hooks: evaluation.hooks,
    metrics: evaluation.metrics,
  };
  if (verdict.kind !== 'pass') c.s.lastAnalysis.failingCheck = verdict.check;
  alertHookFailures(c, 'rollout', evaluation.hooks);
  return applyVerdict(c, verdict);
}

/** Flagger alerts on every failed rollout/pre-/post-rollout webhook unless the webhook sets `muteAlert`. */
function alertHookFailures(
  c: Ctx,
  hookType: RunnableHookType | 'rollout',
  summaries: readonly HookSummary[],
): void {
  for (const h of summaries) {
    if (h.ok) continue;
    const hook = hooksOfType(c.plan, hookType).find((p) => p.name === h.name);
    if (hook === undefined || hook.muteAlert) continue;
    const detail = `${h.status !== undefined ? `HTTP ${h.status}: ` : ''}${h.message}`;
    notify(c, 'warn', 'webhook-failed', `${label(c)}: ${hookType} webhook ${h.name} failed: ${detail}`);
  }
}

export function applyVerdict(c: Ctx, verdict: AnalysisVerdict): Next {
  switch (verdict.kind) {
    case 'pass':
      c.s.lastTickOk = true;
      c.s.holdingSince = null;
      return advance(c);
    case 'failed':
      c.s.holdingSince = null;
      return failedCheck(c, verdict.check);
    case 'hold': {
      c.s.lastTickOk = false;
      const since = c.s.holdingSince ?? c.now;
      c.s.holdingSince = since;
      if (c.now - since > c.plan.progressDeadlineMs) {
        return rollback(
          c,
          {
            outcome: 'RolledBack',
            code: 'infrastructure-hold-deadline',
            message: `Analysis held on infrastructure errors for longer than the progress deadline: ${describeFailingCheck(verdict.check)}`,
            failingCheck: verdict.check,
            finalPhase: 'Failed',
          },
          'infrastructure-error',
          'InfrastructureError',
        );
      }
      recordEvent(
        c,
        'Warning',
        'AnalysisHeld',
        `Holding ${label(c)} (infrastructure error, policy hold): ${describeFailingCheck(verdict.check)}`,
      );
      return endTick(c);
    }
    case 'rollback':
      return rollback(
        c,
        {
          outcome: 'RolledBack',
          code: 'infrastructure-error',
          message: `Infrastructure error (policy rollback): ${describeFailingCheck(verdict.check)}`,
          failingCheck: verdict.check,
          finalPhase: 'Failed',
        },
        'infrastructure-error',
        'InfrastructureError',
      );
  }
}

/** One failed check; roll back in the same tick the threshold is reached (Flagger waits one more interval). */
function failedCheck(c: Ctx, check: FailingCheck): Next {
  c.s.failedChecks += 1;
  c.s.lastTickOk = false;
  c.s.lastFailure = check;
  const threshold = thresholdOf(c.plan);
  const n = c.s.failedChecks;
  recordEvent(
    c,
    'Warning',
    'AnalysisFailed',
    `Halt ${label(c)} advancement: ${describeFailingCheck(check)} (failed checks ${n}/${threshold})`,
  );
  if (n < threshold) return endTick(c);
  const infra = check.kind === 'infrastructure';
  return rollback(
    c,
    {
      outcome: 'RolledBack',
      code: infra ? 'infrastructure-threshold' : 'failed-checks-threshold',
      message: `Failed checks threshold reached ${n}: ${describeFailingCheck(check)}`,
      failingCheck: check,
      finalPhase: 'Failed',
    },
    infra ? 'infrastructure-error' : 'threshold-reached',
    'RolledBack',
  );
}

/** A passing tick (or an approval acting between ticks): the strategy's next step. */
export function advance(c: Ctx): Next {
  return perform(c, strategyOf(c.plan).advance(c));
}

/** Carry out what a strategy step asked for. */
export function perform(c: Ctx, move: Move): Next {
  switch (move.to) {
    case 'gate':
      return gate(c, move.gate);
    case 'next-tick':
      return endTick(c);
    case 'promote':
      return startPromotion(c, { by: 'analysis', at: c.now });
  }
}

/** Schedule the next tick one interval after this tick began (a ticker's cadence). */
export function endTick(c: Ctx): Next {
  const began = c.s.tickStartedAt ?? c.now;
  return timer(c, began + intervalOf(c.plan), 'analysis-interval', 'tick');
}
