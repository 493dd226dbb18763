// Infrastructure errors (contract item 2 in ../decide.ts): a failed effect or `next` after its activity's own
// retries. Traffic/scale/initialise/promote are retried after a delay (`maxInfraRetries` times, or — transient
// errors with `plan.infraRetry` until-deadline — while the progress deadline allows), then the release ends Failed
// while trying once more to restore 100% primary; a failed analysis or pre-rollout run follows
// `plan.onInfrastructureError`; a failed gate poll keeps the gate closed. PURE.
import type { Next } from '../effects.js';
import type { InfraStep } from '../events.js';
import { hooksOfType, infrastructureVerdict } from '../evaluate.js';
import type { FailingCheck } from '../result.js';
import type { Finishing, RunnableHookType } from '../state.js';
import {
  awaitingResult,
  infraRetryDelayMs,
  intervalOf,
  label,
  maxInfraRetries,
  notify,
  recordEvent,
  scaleCanary,
  setRoutes,
  type Ctx,
} from './context.js';
import { analysisStep, applyVerdict } from './analysis.js';
import { reissue } from './cursor.js';
import { gateClosed } from './gates.js';
import { onReadiness } from './lifecycle.js';
import { complete } from './outcomes.js';

export function onInfraError(c: Ctx, step: InfraStep, message: string): Next {
  if (!awaitingResult(c)) return reissue(c);
  const cur = c.s.cursor;
  switch (step) {
    case 'notify':
    case 'recordEvent':
      return reissue(c);
    case 'setRoutes':
    case 'scaleCanary':
      return retryLater(c, step, message);
    case 'initialize':
      return cur.kind === 'initialize' ? retryLater(c, step, message) : reissue(c);
    case 'promotePrimary':
      return cur.kind === 'promote' ? retryLater(c, step, message) : reissue(c);
    case 'checkReadiness':
      if (cur.kind !== 'readiness') return reissue(c);
      return onReadiness(c, cur.workload, false, `readiness check failed: ${message}`);
    case 'runHooks':
      if (cur.kind !== 'hooks') return reissue(c);
      return hooksFailedToRun(c, cur.hookType, message);
    case 'runAnalysis': {
      if (cur.kind !== 'analysis') return reissue(c);
      const check: FailingCheck = { kind: 'infrastructure', name: 'runAnalysis', value: null, message };
      const verdict = infrastructureVerdict(c.plan, check);
      c.s.lastAnalysis = {
        at: c.now,
        tick: c.s.tick,
        source: 'analysis',
        ok: false,
        verdict: verdict.kind,
        hooks: [],
        metrics: [],
        failingCheck: check,
      };
      return applyVerdict(c, verdict);
    }
  }
}

/** The hook runner itself failed (not a webhook answering an error). */
function hooksFailedToRun(c: Ctx, hookType: RunnableHookType, message: string): Next {
  switch (hookType) {
    case 'confirm-rollout':
    case 'confirm-traffic-increase':
    case 'confirm-promotion':
      return gateClosed(
        c,
        hookType,
        hooksOfType(c.plan, hookType).map((h) => h.name),
      );
    case 'pre-rollout': {
      const check: FailingCheck = { kind: 'infrastructure', name: 'pre-rollout hooks', message };
      const verdict = infrastructureVerdict(c.plan, check);
      c.s.lastAnalysis = {
        at: c.now,
        tick: c.s.tick,
        source: 'pre-rollout',
        ok: false,
        verdict: verdict.kind,
        hooks: [],
        metrics: [],
        failingCheck: check,
      };
      return applyVerdict(c, verdict);
    }
    case 'rollback':
      return analysisStep(c);
    case 'post-rollout':
      recordEvent(
        c,
        'Warning',
        'PostRolloutHookFailed',
        `post-rollout webhooks could not be run: ${message}`,
      );
      return complete(c);
  }
}

export function retryLater(c: Ctx, step: string, message: string): Next {
  const attempts = (c.s.infra?.attempts ?? 0) + 1;
  const since = c.s.infra?.since ?? c.now;
  // Slow is not failed: a transient error (timeout, 5xx, 429, connection) is retried while the progress deadline
  // allows; only then, or for a permanent error after maxInfraRetries, does the release give up.
  const patient = c.plan.infraRetry === 'until-deadline' && c.transient === true;
  const left = since + c.plan.progressDeadlineMs - c.now;
  const giveUp = attempts > maxInfraRetries && (!patient || left <= 0);
  if (giveUp) return infrastructureFailure(c, step, message, attempts - 1);
  const retryAt = c.now + Math.min(infraRetryDelayMs, intervalOf(c.plan));
  c.s.infra = { attempts, step, message, retryAt, since };
  recordEvent(
    c,
    'Warning',
    'InfrastructureError',
    patient
      ? `${step} failed: ${message}; retry ${attempts} (transient: retried for up to ${Math.ceil(Math.max(0, left) / 1000)} s more, the progress deadline)`
      : `${step} failed: ${message}; retry ${attempts}/${maxInfraRetries}`,
  );
  return { type: 'wait', ms: retryAt - c.now, until: retryAt, reason: 'infra-retry' };
}

export function retryNow(c: Ctx): Next {
  const infra = c.s.infra;
  if (infra === null) return reissue(c);
  infra.retryAt = null;
  if (infra.step === 'setRoutes' || infra.step === 'scaleCanary') reapplyDesired(c, infra.step);
  return reissue(c);
}

/**
 * Re-emit the desired routes and canary scale (idempotent ensures) after a failed batch. Scale-up is only
 * re-emitted when it is what failed: it sets this release's images, which must never happen after a supersede.
 */
export function reapplyDesired(c: Ctx, failedStep: 'setRoutes' | 'scaleCanary'): void {
  setRoutes(c, c.s.primaryWeight, c.s.canaryWeight, c.s.mirror, c.s.abMatchActive);
  if (c.s.canaryScale === 'zero' || failedStep === 'scaleCanary') scaleCanary(c, c.s.canaryScale);
}

function infrastructureFailure(c: Ctx, step: string, message: string, retries = maxInfraRetries): Next {
  const previous = c.s.finishing;
  const text = `${step} kept failing after ${retries} retries: ${message}`;
  if (previous === null) {
    // Give up on the release: try once more to put traffic on the primary and free the canary.
    if (c.s.phase !== 'Initializing') setRoutes(c, 100, 0, null, false);
    if (c.s.canaryScale === 'up' || step === 'scaleCanary') scaleCanary(c, 'zero');
  } else {
    // The outcome was decided (rollback, promotion, supersede…): one last attempt at its desired routes/scale.
    setRoutes(c, c.s.primaryWeight, c.s.canaryWeight, c.s.mirror, c.s.abMatchActive);
    if (c.s.canaryScale === 'zero') scaleCanary(c, 'zero');
  }
  notify(c, 'error', 'infrastructure-error', `${label(c)}: ${text}; restoring 100% primary (best effort)`);
  recordEvent(c, 'Warning', 'InfrastructureError', text);
  if (previous !== null && previous.outcome === 'Promoted') {
    c.s.finishing = { ...previous, message: `${previous.message} Warning: ${text}`, gaveUp: true };
  } else {
    const finishing: Finishing = {
      outcome: 'Failed',
      code: 'infrastructure-failure',
      message: previous !== null ? `${text} (while finishing: ${previous.message})` : text,
      finalPhase: 'Failed',
      gaveUp: true,
    };
    const check = previous?.failingCheck ?? { kind: 'infrastructure', name: step, message };
    finishing.failingCheck = check;
    c.s.finishing = finishing;
  }
  return complete(c);
}
