// CLI exit codes: distinct per outcome so CI can branch on them. Stable: documented in the README.
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
 * Whether `e` is an instance of the Temporal client's error class `name` (or a subclass), told by the marker the SDK
 * puts on those classes' prototypes (what its own `instanceof` checks): so this module, which every command loads,
 * does not load the Temporal client.
 */
function isTemporalError(
  e: unknown,
  name: 'ServiceError' | 'WorkflowUpdateRPCTimeoutOrCancelledError',
): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as Record<symbol, unknown>)[Symbol.for(`__temporal_is${name}`)] === true
  );
}

/** A gRPC error as the Temporal client surfaces it: an error (name, message) with string `details` and `metadata`. */
function isGrpcError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, message, details, metadata } = e as Record<string, unknown>;
  return (
    typeof name === 'string' &&
    typeof message === 'string' &&
    typeof details === 'string' &&
    typeof metadata === 'object' &&
    metadata !== null
  );
}

/**
 * A failure of the infrastructure the CLI talks to (Temporal unreachable or failing, a network error): exit 6, as
 * documented, not the catch-all 1.
 */
export function isInfrastructureError(e: unknown): boolean {
  if (isTemporalError(e, 'ServiceError') || isTemporalError(e, 'WorkflowUpdateRPCTimeoutOrCancelledError'))
    return true;
  if (isGrpcError(e)) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && networkErrorCodes.has(code);
}

/** The exit code for an error that ended a command. */
export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof CliError) return e.exitCode;
  if (isInfrastructureError(e)) return exitCodes.infrastructure;
  return exitCodes.failure;
}
