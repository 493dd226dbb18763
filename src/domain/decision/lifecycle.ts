// The release's forward path outside the analysis loop: start → initialise → scale the canary up → canary
// readiness (progress deadline) → confirm-rollout → analysis starts (or, with skipAnalysis, promotion at once);
// promotion → primary readiness → route back (at once, or by the strategy's route-back step per interval) →
// finalise (./outcomes.ts). PURE.
import type { Next } from '../effects.js';
import type { PromotionInfo, TimerThen, Workload } from '../state.js';
import { promotionStep } from '../weights.js';
import {
  atPrimary,
  checkReadiness,
  enterPhase,
  intervalOf,
  label,
  notify,
  readinessPollMs,
  recordEvent,
  scaleCanary,
  setRoutes,
  thresholdOf,
  type Ctx,
} from './context.js';
import { beginTick } from './analysis.js';
import { timer } from './cursor.js';
import { gate } from './gates.js';
import { finalise, promotionFailed, rollback } from './outcomes.js';
import { strategyOf } from './strategies/index.js';

export function start(c: Ctx): Next {
  c.s.cursor = { kind: 'initialize' };
  const images = Object.entries(c.plan.images)
    .map(([container, image]) => `${container}=${image}`)
    .join(', ');
  recordEvent(c, 'Normal', 'ReleaseStarted', `Release of ${label(c)} started${images ? `: ${images}` : ''}`);
  return { type: 'initialize' };
}

export function onInitialized(c: Ctx): Next {
  c.s.infra = null;
  enterPhase(c, 'Initialized');
  recordEvent(
    c,
    'Normal',
    'Initialized',
    `Initialization done: ${c.plan.target.name}-primary serves 100% of traffic`,
  );
  scaleCanary(c, 'up');
  recordEvent(c, 'Normal', 'CanaryScaledUp', `Scaling up ${label(c)} with the new revision`);
  c.s.waitingReadySince = c.now;
  return checkReadiness(c, 'canary');
}

export function onReadiness(c: Ctx, workload: Workload, ready: boolean, message: string): Next {
  c.s.lastReadiness = { workload, ready, message, at: c.now };
  if (ready) {
    c.s.waitingReadySince = null;
    return workload === 'canary' ? canaryReady(c) : primaryReady(c);
  }
  const since = c.s.waitingReadySince ?? c.now;
  c.s.waitingReadySince = since;
  if (c.now - since > c.plan.progressDeadlineMs) {
    if (workload === 'primary') return promotionFailed(c, message);
    const deadline = `${Math.round(c.plan.progressDeadlineMs / 1000)}s`;
    return rollback(
      c,
      {
        outcome: 'RolledBack',
        code: 'progress-deadline',
        message: `Progress deadline exceeded: canary not ready after ${deadline}: ${message}`,
        failingCheck: { kind: 'progress-deadline', name: 'canary', message },
        finalPhase: 'Failed',
      },
      'progress-deadline',
      'ProgressDeadlineExceeded',
    );
  }
  const then: TimerThen = workload === 'canary' ? 'canary-readiness' : 'primary-readiness';
  return timer(c, c.now + Math.min(readinessPollMs, intervalOf(c.plan)), 'readiness-poll', then);
}

function canaryReady(c: Ctx): Next {
  recordEvent(c, 'Normal', 'CanaryReady', `Canary ${label(c)} is ready`);
  return gate(c, 'confirm-rollout');
}

export function startProgressing(c: Ctx): Next {
  if (c.plan.skipAnalysis) {
    recordEvent(c, 'Normal', 'AnalysisSkipped', `Analysis of ${label(c)} skipped (skipAnalysis): promoting`);
    return startPromotion(c, { by: 'skip', at: c.now });
  }
  enterPhase(c, 'Progressing');
  notify(
    c,
    'info',
    'progressing',
    `${label(c)}: New revision detected, progressing canary analysis. ${strategyOf(c.plan).describe(thresholdOf(c.plan))}`,
  );
  recordEvent(c, 'Normal', 'Progressing', `New revision detected! Starting canary analysis for ${label(c)}`);
  return beginTick(c);
}

export function startPromotion(c: Ctx, promotion: PromotionInfo): Next {
  c.s.pendingGate = null;
  c.s.promotion = promotion;
  if (promotion.by === 'skip') {
    if (!atPrimary(c)) setRoutes(c, 100, 0, null, false);
  } else {
    strategyOf(c.plan).routeForPromotion(c);
  }
  enterPhase(c, 'Promoting');
  recordEvent(c, 'Normal', 'Promoting', `Copying ${label(c)} template spec to ${c.plan.target.name}-primary`);
  c.s.cursor = { kind: 'promote' };
  return { type: 'promotePrimary' };
}

export function onPromoted(c: Ctx): Next {
  c.s.primaryPromoted = true;
  c.s.waitingReadySince = c.now;
  recordEvent(
    c,
    'Normal',
    'PrimaryPromoted',
    `${c.plan.target.name}-primary updated; waiting for its rollout`,
  );
  return checkReadiness(c, 'primary');
}

function primaryReady(c: Ctx): Next {
  if (promotionStepWeight(c) > 0 && c.s.primaryWeight < 100) return routeBackStep(c);
  if (!atPrimary(c)) {
    setRoutes(c, 100, 0, null, false);
    recordEvent(c, 'Normal', 'TrafficWeightUpdated', `Route all traffic to ${c.plan.target.name}-primary`);
  }
  return finalise(c);
}

/** Promotion route-back: the strategy's step, except after a skipped analysis (straight back to the primary). */
function promotionStepWeight(c: Ctx): number {
  return c.s.promotion?.by !== 'skip' ? strategyOf(c.plan).routeBackStepWeight() : 0;
}

export function routeBackStep(c: Ctx): Next {
  const split = promotionStep(c.s.primaryWeight, promotionStepWeight(c));
  setRoutes(c, split.primaryWeight, split.canaryWeight, null, false);
  recordEvent(
    c,
    'Normal',
    'TrafficWeightUpdated',
    `Promotion: ${c.plan.target.name}-primary weight ${split.primaryWeight}`,
  );
  if (split.primaryWeight >= 100) return finalise(c);
  return timer(c, c.now + intervalOf(c.plan), 'promotion-step', 'route-back');
}
