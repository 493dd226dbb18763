// The Canary's `.status` as Flagger writes it (pkg/canary/status.go, facts only): phase, canaryWeight, failedChecks,
// iterations, lastAppliedSpec, lastPromotedSpec, lastTransitionTime and one condition of type `Promoted` whose
// status/reason follow the phase. `kubectl get canaries`, `kubectl wait --for=condition=promoted` and Flux's health
// checks read these fields. PURE: the caller passes the time.
import type { ReleaseStatus } from '../domain/status.js';
import type { Outcome } from '../domain/result.js';
import type { Phase } from '../domain/state.js';

/** Phases of Flagger's CRD (`status.phase` enum): the release's phases (the same names), or none yet. */
export type CanaryPhase = '' | Phase;

export interface CanaryCondition {
  type: 'Promoted';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
}

export interface CanaryStatus {
  phase?: CanaryPhase;
  canaryWeight?: number;
  failedChecks?: number;
  iterations?: number;
  lastAppliedSpec?: string;
  lastPromotedSpec?: string;
  lastTransitionTime?: string;
  conditions?: CanaryCondition[];
  trackedConfigs?: Record<string, string>;
}

/** What a status write sets; the rest of the status is kept. */
export interface StatusChange {
  phase: CanaryPhase;
  canaryWeight?: number;
  failedChecks?: number;
  iterations?: number;
  lastAppliedSpec?: string;
  lastPromotedSpec?: string;
  /** The tracked ConfigMaps/Secrets of the applied revision (replaces the recorded map; Flagger's SyncStatus). */
  trackedConfigs?: Record<string, string>;
  /** Overrides the condition's message (e.g. why a release failed). */
  message?: string;
}

/** Phases in which a release is under way (Flagger: the canary job keeps advancing). */
export const activePhases: ReadonlySet<CanaryPhase> = new Set<CanaryPhase>([
  'Progressing',
  'Waiting',
  'WaitingPromotion',
  'Promoting',
  'Finalising',
]);

/** The Promoted condition's status and message for a phase (Flagger's MakeStatusConditions). */
export function promotedCondition(
  phase: CanaryPhase,
  targetKind: string,
): { status: CanaryCondition['status']; message: string } {
  switch (phase) {
    case 'Initialized':
      return { status: 'True', message: `${targetKind} initialization completed.` };
    case 'Waiting':
    case 'WaitingPromotion':
      return { status: 'Unknown', message: 'Waiting for approval.' };
    case 'Progressing':
      return { status: 'Unknown', message: 'New revision detected, progressing canary analysis.' };
    case 'Promoting':
      return { status: 'Unknown', message: 'Canary analysis completed, starting primary rolling update.' };
    case 'Finalising':
      return { status: 'Unknown', message: 'Canary analysis completed, routing all traffic to primary.' };
    case 'Succeeded':
      return { status: 'True', message: 'Canary analysis completed successfully, promotion finished.' };
    case 'Failed':
      return { status: 'False', message: `Canary analysis failed, ${targetKind} scaled to zero.` };
    default:
      return { status: 'Unknown', message: `New ${targetKind} detected, starting initialization.` };
  }
}

/**
 * The next status, or null when the change would write nothing new (status writes are sparse: only on change).
 * The Promoted condition is replaced when its status or reason changes; its lastTransitionTime is kept while the
 * status stays the same (Flagger's rule). lastTransitionTime of the Canary moves with every write.
 */
export function nextStatus(
  prev: CanaryStatus | undefined,
  change: StatusChange,
  now: Date,
  targetKind = 'Deployment',
): CanaryStatus | null {
  const before = prev ?? {};
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const base = promotedCondition(change.phase, targetKind);
  const message = change.message ?? base.message;
  const reason = change.phase || 'Initializing';
  const current = before.conditions?.find((c) => c.type === 'Promoted');
  const conditionChanged =
    current === undefined ||
    current.status !== base.status ||
    current.reason !== reason ||
    current.message !== message;
  const condition: CanaryCondition = conditionChanged
    ? {
        type: 'Promoted',
        status: base.status,
        reason,
        message,
        lastUpdateTime: at,
        lastTransitionTime:
          current !== undefined && current.status === base.status ? current.lastTransitionTime : at,
      }
    : current;
  const next: CanaryStatus = {
    ...before,
    phase: change.phase,
    canaryWeight: change.canaryWeight ?? before.canaryWeight ?? 0,
    failedChecks: change.failedChecks ?? before.failedChecks ?? 0,
    iterations: change.iterations ?? before.iterations ?? 0,
    ...(change.lastAppliedSpec !== undefined ? { lastAppliedSpec: change.lastAppliedSpec } : {}),
    ...(change.lastPromotedSpec !== undefined ? { lastPromotedSpec: change.lastPromotedSpec } : {}),
    ...(change.trackedConfigs !== undefined ? { trackedConfigs: { ...change.trackedConfigs } } : {}),
    conditions: [...(before.conditions ?? []).filter((c) => c.type !== 'Promoted'), condition],
  };
  const same =
    !conditionChanged &&
    before.phase === next.phase &&
    before.canaryWeight === next.canaryWeight &&
    before.failedChecks === next.failedChecks &&
    before.iterations === next.iterations &&
    before.lastAppliedSpec === next.lastAppliedSpec &&
    before.lastPromotedSpec === next.lastPromotedSpec &&
    sameMap(before.trackedConfigs, next.trackedConfigs);
  if (same) return null;
  return { ...next, lastTransitionTime: at };
}

const sameMap = (a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    Object.keys(a).length === Object.keys(b).length &&
    Object.entries(a).every(([k, v]) => b[k] === v));

/** The status change a running release's status (its `status` query) maps to. */
export function changeFromRelease(st: ReleaseStatus): StatusChange {
  return {
    phase: st.phase as CanaryPhase,
    canaryWeight: st.weights.canary,
    failedChecks: st.failedChecks,
    // Flagger counts iterations only for A/B and blue/green; canary (weights) releases keep 0.
    iterations: st.progress.unit === 'iteration' ? st.progress.current : 0,
  };
}

/** The status change of what the search attributes say (no worker needed): phase and canary weight. */
export function changeFromSearchAttributes(
  phase: string | undefined,
  weight: number | undefined,
): StatusChange | null {
  if (!phase) return null;
  return { phase: phase as CanaryPhase, ...(weight !== undefined ? { canaryWeight: weight } : {}) };
}

/**
 * The final status of a release that ended: Promoted → Succeeded (the applied spec is now the promoted one);
 * RolledBack, Aborted and Failed → Failed, weight 0 (Flagger: `lastAppliedSpec` keeps the failed spec, so it is not
 * retried). Superseded: null — the release that superseded it owns the status.
 */
export function changeFromOutcome(
  outcome: Outcome,
  appliedSpec: string | undefined,
  failedChecks: number,
  message?: string,
): StatusChange | null {
  switch (outcome) {
    case 'Promoted':
      return {
        phase: 'Succeeded',
        canaryWeight: 0,
        iterations: 0,
        failedChecks,
        ...(appliedSpec !== undefined ? { lastPromotedSpec: appliedSpec } : {}),
      };
    case 'Superseded':
      return null;
    default:
      return {
        phase: 'Failed',
        canaryWeight: 0,
        iterations: 0,
        failedChecks,
        ...(message !== undefined ? { message } : {}),
      };
  }
}

/** What a Canary needs, from its status and its target's template hash (Flagger's rules; see controller.ts). */
export type Trigger =
  /** No primary made by a controller yet (`lastPromotedSpec` unset): create it, no release. */
  | { kind: 'initialise' }
  /** The template is new, or (same template) a tracked ConfigMap/Secret changed: release it. */
  | { kind: 'release'; reason: 'template' | 'config' }
  /** New, but `spec.suspend` holds it back. */
  | { kind: 'suspended' }
  /** A release of the applied template is recorded as under way but nobody follows it (a restart): find it. */
  | { kind: 'resume' }
  | { kind: 'none' };

export function triggerFor(
  st: CanaryStatus,
  hash: string,
  opts: {
    suspended: boolean;
    followedHash?: string | undefined;
    /** The tracked configs differ from `status.trackedConfigs` (configs.ts `configsChanged`). */
    configsChanged?: boolean;
    /** The followed release was started for the current configs (so their change is already under way). */
    followingCurrentConfigs?: boolean;
  },
): Trigger {
  if (!st.lastPromotedSpec) return { kind: 'initialise' };
  // Flagger's hasSpecChanged: new unless it is the applied one, or the promoted one (a manual rollback).
  if (hash !== st.lastAppliedSpec && hash !== st.lastPromotedSpec) {
    if (opts.suspended) return { kind: 'suspended' };
    return opts.followedHash === hash ? { kind: 'none' } : { kind: 'release', reason: 'template' };
  }
  // Flagger's HaveDependenciesChanged: a tracked ConfigMap/Secret changed — a new revision of the same template.
  if (opts.configsChanged) {
    if (opts.suspended) return { kind: 'suspended' };
    if (opts.followedHash === hash && opts.followingCurrentConfigs) return { kind: 'none' };
    return { kind: 'release', reason: 'config' };
  }
  if (activePhases.has(st.phase ?? '') && opts.followedHash === undefined && hash === st.lastAppliedSpec)
    return { kind: 'resume' };
  return { kind: 'none' };
}
