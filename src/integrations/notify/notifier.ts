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
  /**
   * Re-renders the release's message in `thread` (Slack: the parent) from `n.status`, posting nothing new. For
   * receivers that keep one message per release current; the others have no such message to refresh.
   */
  refresh?(n: ReleaseNotification, thread: ThreadRef): Promise<NotifyResult>;
}

/**
 * The kind of the notification a release sends once it has ended, so every release message shows the final
 * state (the last notification may have gone out before the post-rollout hooks ran, or been filtered out by a
 * provider's severity). It refreshes existing messages only: no reply, no new message, no event webhook.
 */
export const finalStateKind = 'final-state';

/**
 * Delivers `n` to one notifier of a release under its provider's severity: a notification the severity lets
 * through is sent (`notify`); otherwise — and always for `finalStateKind` — the release's existing message is
 * refreshed, so its parent never lags behind the release whatever the filter drops. Returns undefined when there is
 * nothing to do (filtered, and no message yet or a receiver without one).
 */
export async function deliver(
  target: { notifier: Notifier; severity: Severity },
  n: ReleaseNotification,
  thread: ThreadRef | undefined,
): Promise<NotifyResult | undefined> {
  if (n.kind !== finalStateKind && severityAllows(target.severity, n.severity))
    return target.notifier.notify(n, thread);
  if (thread && target.notifier.refresh) return target.notifier.refresh(n, thread);
  return undefined;
}

/** Flagger's alert routing: an `info` provider gets everything, `warn` gets warn+error, `error` only errors. */
export function severityAllows(providerSeverity: Severity, event: Severity): boolean {
  const rank: Record<Severity, number> = { info: 0, warn: 1, error: 2 };
  return rank[event] >= rank[providerSeverity];
}
