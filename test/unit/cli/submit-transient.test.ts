// Which lane-submission failures are retried (src/starter.ts isTransientSubmitError): a loaded or briefly unavailable
// Temporal server must not fail `fledge start` (issue 12: slow is not failed); a real refusal must not be retried.
import { describe, expect, it } from 'vitest';
import { ServiceError } from '@temporalio/client';
import { isTransientSubmitError } from '../../../src/starter.js';

const grpc = (code: number, details: string) =>
  Object.assign(new Error(`${code} ${details}`), { code, details });

describe('isTransientSubmitError', () => {
  it.each([
    ['FAILED_PRECONDITION (update-with-start while the lane completes)', grpc(9, 'workflow is closing')],
    ['RESOURCE_EXHAUSTED (server rate limit)', grpc(8, 'namespace rate limit exceeded')],
    ['UNAVAILABLE', grpc(14, 'connection reset')],
    ['DEADLINE_EXCEEDED', grpc(4, 'context deadline exceeded')],
    ['ABORTED', grpc(10, 'aborted')],
  ])('retries %s, also wrapped in the client’s ServiceError', (_name, err) => {
    expect(isTransientSubmitError(err)).toBe(true);
    expect(
      isTransientSubmitError(new ServiceError('Failed to execute update-with-start', { cause: err })),
    ).toBe(true);
  });

  it('retries a lane whose workflow task is failing (worker restart)', () => {
    expect(isTransientSubmitError(new Error('Workflow Task in failed state'))).toBe(true);
  });

  it.each([
    ['INVALID_ARGUMENT', grpc(3, 'bad request')],
    ['NOT_FOUND', grpc(5, 'namespace not found')],
    ['PERMISSION_DENIED', grpc(7, 'denied')],
    ['ALREADY_EXISTS', grpc(6, 'exists')],
  ])('does not retry %s', (_name, err) => {
    expect(isTransientSubmitError(err)).toBe(false);
    expect(isTransientSubmitError(new ServiceError('Failed', { cause: err }))).toBe(false);
  });

  it('does not retry a validator rejection or a non-error', () => {
    expect(isTransientSubmitError(new Error('releaseId must start with fledge/'))).toBe(false);
    expect(isTransientSubmitError('9')).toBe(false);
    expect(isTransientSubmitError({ code: 9 })).toBe(false);
  });
});
