/**
 * Names of the ApplicationFailure types the activities throw (apis/errors.ts) and the workflows
 * match on, and the one way to read them off a failure. Pure, so workflow code can import it.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

export const FailureType = {
  transient: 'ApiTransient',
  rateLimited: 'ApiRateLimited',
  staleObject: 'QboStaleObject',
  validation: 'ApiValidation',
  notFound: 'ApiNotFound',
  forbidden: 'ApiForbidden',
  needsReauth: 'ConnectionNeedsReauth',
  paused: 'ConnectionPaused',
} as const;

export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** Failures that mean "the connection cannot be used now": the workflow waits instead of failing (CON-3). */
export const CONNECTION_BLOCKED_FAILURES: readonly string[] = [FailureType.needsReauth, FailureType.paused];

/**
 * The ApplicationFailure behind err: err itself in an activity, the cause of an ActivityFailure in a
 * workflow; undefined for anything else.
 */
export function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

/** The failure type of err (see applicationFailureOf), or undefined. */
export function failureTypeOf(err: unknown): string | undefined {
  return applicationFailureOf(err)?.type ?? undefined;
}

/** The message of a failure that will not pass with retrying (a refusal), else undefined. */
export function refusalMessageOf(err: unknown): string | undefined {
  const failure = applicationFailureOf(err);
  return failure?.nonRetryable ? failure.message : undefined;
}

/** CON-3: the failure type when err says the connection is blocked (needs reauth, paused), else undefined. */
export function connectionBlockedType(err: unknown): string | undefined {
  const type = failureTypeOf(err);
  return type && CONNECTION_BLOCKED_FAILURES.includes(type) ? type : undefined;
}
