// CLI exit codes: distinct per outcome so CI can branch on them. Stable: documented in the README.
export const exitCodes = {
  promoted: 0,
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
