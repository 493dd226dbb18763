// CLI exit codes: distinct per outcome so CI can branch on them. Stable: documented in the README.
import {
  isGrpcServiceError,
  ServiceError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
export const exitCodes = {
  promoted: 0,
  /** An unexpected error (a bug); also `dev status` when a part of the local stack is not running. */
  failure: 1,
  rolledBack: 2,
  aborted: 3,
  superseded: 4,
  invalidInput: 5,
  infrastructure: 6,
  timeout: 7,
  notFound: 8,
  rejected: 9,
  /** Ctrl-C while following a release (the release itself goes on). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const networkErrorCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * A failure of the infrastructure the CLI talks to (Temporal unreachable or failing, a network error): exit 6, as
 * documented, not the catch-all 1.
 */
export function isInfrastructureError(e: unknown): boolean {
  if (e instanceof ServiceError || e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  if (isGrpcServiceError(e)) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && networkErrorCodes.has(code);
}

/** The exit code for an error that ended a command. */
export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof CliError) return e.exitCode;
  if (isInfrastructureError(e)) return exitCodes.infrastructure;
  return exitCodes.failure;
}
