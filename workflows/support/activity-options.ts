/**
 * The activity options of the owner workflows, in one place: a step that fails for a passing reason (a
 * network error, a 5xx, a 429 after the governor's wait) is retried with backoff, two seconds doubling up to
 * two minutes, without end: the owner keeps its record's work until it succeeds or fails for good (a
 * non-retryable failure). Connection-blocked failures are handled by the connection gate.
 */
import type { ActivityOptions } from '@temporalio/workflow';

export const OWNER_RETRY: NonNullable<ActivityOptions['retry']> = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '2 minutes',
};

/** One read or write of one record (invoice, payments, customer/item owners). */
export const OWNER_ACTIVITY: ActivityOptions = { startToCloseTimeout: '5 minutes', retry: OWNER_RETRY };

/** A whole tax sync pass (it heartbeats while it works). */
export const TAX_PASS_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: OWNER_RETRY,
};

/** One onboarding page (up to 1000 records). */
export const ONBOARDING_ACTIVITY: ActivityOptions = { startToCloseTimeout: '15 minutes', retry: OWNER_RETRY };
