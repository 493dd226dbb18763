// The Notifier port. A notification is best-effort: an outage of the receiver never fails a release.
// Every notification carries the release's full status snapshot, so a receiver can render one message per
// release that it keeps current (Slack: a thread whose parent is updated) instead of a stream of one-liners.
import type { ReleaseStatus } from '../../domain/status.js';

export type Severity = 'info' | 'warn' | 'error';

/** Where a notifier keeps a release's conversation (Slack: channel + parent ts). Stored by the workflow. */
export interface ThreadRef {
  channel: string;
  ts: string;
}

export interface ReleaseNotification {
  severity: Severity;
  /** Stable kind (NotifyKind), e.g. 'progressing', 'waiting-approval', 'threshold-reached', 'promoted'. */
  kind: string;
  message: string;
  /** When it happened (workflow time, unix ms). */
  at: number;
  release: {
    workflowId: string;
    target: { namespace: string; name: string };
    /** Container → image before the release (the primary's), when known. */
    previousImages: Record<string, string>;
    newImages: Record<string, string>;
    initiator?: string;
    startedAt: number;
    /** The release in the Temporal Web UI. */
    link: string;
    /** Dashboard of the target (FLEDGE_GRAFANA_URL), when configured. */
    dashboardLink?: string;
  };
  status: ReleaseStatus;
  /** The check that failed last (metric with its value, threshold and rendered query), if any. */
  failingMetric?: { name: string; value: number | null; threshold: string; query?: string };
}

export interface NotifyResult {
  delivered: boolean;
  /** The conversation this release lives in, to pass back with the next notification. */
  thread?: ThreadRef;
  error?: string;
}

export interface Notifier {
  /** Provider kind for logs: 'slack', 'msteams', 'webhook'. */
  readonly name: string;
  /** Stable identity of this destination (thread refs are stored under it). */
  readonly key: string;
  notify(n: ReleaseNotification, thread?: ThreadRef): Promise<NotifyResult>;
}

/** Flagger's alert routing: an `info` provider gets everything, `warn` gets warn+error, `error` only errors. */
export function severityAllows(providerSeverity: Severity, event: Severity): boolean {
  const rank: Record<Severity, number> = { info: 0, warn: 1, error: 2 };
  return rank[event] >= rank[providerSeverity];
}
