// Message definitions shared by the release workflow and its clients (CLI, starter, tests).
// Names are wire contracts (Web UI users type them into "send signal"): never rename.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export type OperatorActionName = 'approve' | 'pause' | 'resume' | 'promote' | 'abort';
export const operatorActionNames: readonly OperatorActionName[] = [
  'approve',
  'pause',
  'resume',
  'promote',
  'abort',
];

/** Who acts and why; both are recorded in the release's audit log and result. */
export interface OperatorRequest {
  actor: string;
  reason: string;
  /** approve: which gate (optional; defaults to the pending one). */
  gate?: string;
  /**
   * Proof of who acts (optional): an OIDC ID token from an issuer the worker trusts (`--id-token`), or the token
   * the worker's Slack interactions endpoint issued for a signed button press. The worker verifies it before the
   * message acts; the verified identity replaces `actor` (docs/security.md, "Verified approvers").
   */
  idToken?: string;
}

// Updates: the CLI's path. The validator rejects invalid requests before anything is written to history,
// and the caller gets the resulting release status back.
export const approveUpdate = defineUpdate<unknown, [OperatorRequest]>('approve');
export const pauseUpdate = defineUpdate<unknown, [OperatorRequest]>('pause');
export const resumeUpdate = defineUpdate<unknown, [OperatorRequest]>('resume');
export const promoteUpdate = defineUpdate<unknown, [OperatorRequest]>('promote');
export const abortUpdate = defineUpdate<unknown, [OperatorRequest]>('abort');

// Signals: the Web UI's "send signal" and `temporal workflow signal` (work even with no worker polling).
// An invalid signal is recorded in the operator log with the rejection reason and otherwise ignored.
export const approveSignal = defineSignal<[OperatorRequest]>('approve');
export const pauseSignal = defineSignal<[OperatorRequest]>('pause');
export const resumeSignal = defineSignal<[OperatorRequest]>('resume');
export const promoteSignal = defineSignal<[OperatorRequest]>('promote');
export const abortSignal = defineSignal<[OperatorRequest]>('abort');

export const statusQuery = defineQuery<unknown>('status');

/** Sent by the target's lane when a newer release takes over: traffic goes back to primary, outcome Superseded. */
export const supersedeSignal = defineSignal<[{ by: string }]>('supersede');
