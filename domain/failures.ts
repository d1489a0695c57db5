/**
 * Names of the ApplicationFailure types the activities throw (apis/errors.ts) and the workflows
 * match on. Pure, so workflow code can import it.
 */
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
