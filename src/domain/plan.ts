// The normalised release plan: what a validated Canary spec means, with every default applied.
// The spec parser (src/domain/manifest/) compiles Flagger YAML into this; the decision core (src/domain/decide.ts)
// reads only this. Plain JSON (it travels in workflow inputs and continue-as-new arguments).
import type { RouterProvider } from '../integrations/traffic/manifests.js';
import type { ApproversPlan } from './approvers.js';

export type HookType =
  | 'confirm-rollout'
  | 'pre-rollout'
  | 'rollout'
  | 'confirm-traffic-increase'
  | 'confirm-promotion'
  | 'post-rollout'
  | 'rollback'
  | 'event';

export const hookTypes: readonly HookType[] = [
  'confirm-rollout',
  'pre-rollout',
  'rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'post-rollout',
  'rollback',
  'event',
];

export interface HookPlan {
  name: string;
  type: HookType;
  url: string;
  timeoutMs: number; // Flagger default 10s
  retries: number; // Flagger default 0
  muteAlert: boolean;
  metadata: Record<string, string>;
}

export interface ThresholdRange {
  min?: number;
  max?: number;
}

/** A metric check. Built-ins are expanded to their PromQL template by the metrics layer. */
export interface MetricPlan {
  name: string;
  /** 'request-success-rate' | 'request-duration' | a template reference | an inline query. */
  source:
    | { kind: 'builtin'; builtin: 'request-success-rate' | 'request-duration' }
    | { kind: 'template'; templateName: string; templateNamespace: string }
    | { kind: 'inline'; query: string };
  interval: string; // PromQL range, e.g. "1m"
  thresholdRange: ThresholdRange;
  templateVariables: Record<string, string>;
}

export interface MatchCondition {
  /** Istio HTTPMatchRequest subset: headers/queryParams with exact|prefix|regex; cookies map to a `cookie` header regex. */
  headers?: Record<string, { exact?: string; prefix?: string; regex?: string }>;
  queryParams?: Record<string, { exact?: string; prefix?: string; regex?: string }>;
  uri?: { exact?: string; prefix?: string; regex?: string };
  method?: { exact?: string; prefix?: string; regex?: string };
  sourceLabels?: Record<string, string>;
}

/** Strategy, derived exactly as Flagger's DeploymentStrategy(): A/B if match+iterations, B/G if iterations, else canary. */
export type StrategyPlan =
  | {
      kind: 'canary';
      /** Canary weight after each successful step, ascending, last = maxWeight (from stepWeight/maxWeight or stepWeights). */
      weights: number[];
      /** 0 = switch to 100% primary in one go after promotion; else step primary back up by this much per tick. */
      stepWeightPromotion: number;
      mirror: boolean; // one interval of mirroring before the first weight step
      mirrorWeight?: number; // mirrorPercentage, 0..100; undefined = 100
    }
  | { kind: 'ab-testing'; iterations: number; match: MatchCondition[] }
  | { kind: 'blue-green'; iterations: number; mirror: boolean; mirrorWeight?: number };

export interface ReleasePlan {
  /** Target workload (the canary slot). */
  target: { kind: 'Deployment'; name: string; namespace: string };
  /** New image(s) for containers in the target's pod template: container name -> image reference. */
  images: Record<string, string>;
  /** The traffic router: a name of the router registry (src/integrations/traffic/manifests.ts). */
  provider: RouterProvider;
  intervalMs: number; // Flagger default 60s (Fledge allows shorter for tests)
  interval: string; // same, as a PromQL duration ("1m", "5s")
  threshold: number; // failed checks before rollback, default 1
  progressDeadlineMs: number; // default 600s
  skipAnalysis: boolean;
  primaryReadyThreshold: number; // percent, default 100
  canaryReadyThreshold: number; // percent, default 100
  strategy: StrategyPlan;
  metrics: MetricPlan[];
  hooks: HookPlan[];
  /** Fledge extension: gates that need an operator approval (in addition to any confirm-* webhooks). */
  manualGates: Array<'confirm-rollout' | 'confirm-traffic-increase' | 'confirm-promotion'>;
  /**
   * Fledge extension (`spec.fledge.gatePollInterval`): while a `confirm-*` gate whose webhooks said no waits (for its
   * next poll, or for the next tick), its webhooks are polled this often inside one activity, and the gate acts
   * when they pass instead of at the next interval. Set by every compile since it came (default 2 s, never above
   * the interval); absent in plans compiled before (and in legacy inputs): gates are re-polled once per interval.
   */
  gatePollMs?: number;
  /**
   * How long a transient infrastructure error of a traffic/scale/initialise/promote step is retried: 'count' (the
   * first version: `maxInfraRetries` times) or 'until-deadline' (for as long as the progress deadline allows — a
   * slow or throttled apiserver is waited out; permanent errors such as 403/422 still end after `maxInfraRetries`).
   * Set by the workflow (patched), not by the spec; absent = 'count'.
   */
  infraRetry?: 'count' | 'until-deadline';
  /** Fledge extension: what an infrastructure error in analysis (metrics provider unreachable after retries) does. */
  onInfrastructureError: 'count-as-failed-check' | 'hold' | 'rollback';
  /**
   * Fledge extension (`spec.fledge.supersede`): what a newer release of the same target does while this one runs —
   * 'supersede' (default: traffic back to primary, outcome Superseded) or 'queue' (it waits for this one to end).
   * Read by the per-target lane, not by the decision core. Optional for hand-built plans; absent = 'supersede'.
   */
  supersedePolicy?: 'supersede' | 'queue';
  /**
   * Fledge extension (`spec.fledge.approvers`): who may open which gate, pause, promote or abort. Absent: anyone
   * who may send the workflow messages (as before approvers existed).
   */
  approvers?: ApproversPlan;
  /**
   * 'strict': operator messages are checked for text limits (actor ≤ 200, reason ≤ 1000 characters, no control
   * characters, a reason for abort/promote) by the validator and by decide() for signals. Set by the workflow
   * (patched `verified-approvers`), not by the spec; absent in histories from before it.
   */
  operatorChecks?: 'strict';
}
