// The Notifier port. A notification is best-effort: an outage of the receiver never fails a release.
export type Severity = 'info' | 'warn' | 'error';

export interface ReleaseNotification {
  severity: Severity;
  /** Stable kind, e.g. 'started', 'waiting-approval', 'threshold-reached', 'promoted', 'rolled-back'. */
  kind: string;
  target: { namespace: string; name: string };
  message: string;
  fields?: Array<{ title: string; value: string }>;
  /** Link to the release in the Temporal Web UI. */
  link?: string;
}

export interface NotifyResult {
  delivered: boolean;
  /** Provider reference for later updates/threading (e.g. Slack channel + ts). */
  ref?: { channel: string; ts: string };
  error?: string;
}

export interface Notifier {
  readonly name: string;
  notify(n: ReleaseNotification, opts?: { threadTs?: string }): Promise<NotifyResult>;
}

/** Flagger's alert routing: an `info` provider gets everything, `warn` gets warn+error, `error` only errors. */
export function severityAllows(providerSeverity: Severity, event: Severity): boolean {
  const rank: Record<Severity, number> = { info: 0, warn: 1, error: 2 };
  return rank[event] >= rank[providerSeverity];
}
