/**
 * The activity options of the workflows, in one place, and the lane each activity runs in.
 *
 * Lanes (domain/lanes.ts, issue 12): every activity is scheduled on its lane's task queue,
 * `<the workflow's queue>-<lane>`, served by workers with slots of their own, so a bulk activity waiting for
 * budget never holds a slot that an export needs. Interactive: what a person waits for (an approval's export,
 * a payment, a resync someone asked for); live: linked records (customers, items, tax codes); bulk:
 * onboarding, polls, reconciliation, verification, health.
 *
 * A wait for budget can be long (the governor waits instead of failing), so activities may run for hours
 * (start-to-close 2 hours) and are watched by a 30-second heartbeat timeout instead: a dead worker's
 * activities are retried elsewhere within 30 seconds (the worker beats for its running activities,
 * infra/activity-heartbeat.ts; with 2 minutes, a worker killed under the soak held approvals for 2 minutes). A step that fails for a passing reason (a network error, a 5xx) is retried
 * with backoff, two seconds doubling up to two minutes, without end: the owner keeps its record's work until
 * it succeeds or fails for good (a non-retryable failure). Connection-blocked failures are handled by the
 * connection gate.
 */
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { laneTaskQueue, type Lane } from '../../domain/lanes';

export const OWNER_RETRY: NonNullable<ActivityOptions['retry']> = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '2 minutes',
};

/** How long an activity may run, waits for budget included, and how soon a dead worker's activity is retried. */
export const LONG_RUNNING: Pick<ActivityOptions, 'startToCloseTimeout' | 'heartbeatTimeout'> = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
};

/** One read or write of one record (invoice, payments, customer/item owners). */
export const OWNER_ACTIVITY: ActivityOptions = { ...LONG_RUNNING, retry: OWNER_RETRY };

/** A whole tax sync pass. */
export const TAX_PASS_ACTIVITY: ActivityOptions = { ...LONG_RUNNING, retry: OWNER_RETRY };

/** One onboarding page (up to 1000 records). */
export const ONBOARDING_ACTIVITY: ActivityOptions = { ...LONG_RUNNING, retry: OWNER_RETRY };

/**
 * The activities, scheduled on `lane`'s task queue next to the running workflow's queue. The queue is read
 * when an activity is called (workflowInfo() exists only inside a workflow), so module-level proxies work.
 */
export function laneActivities<A extends object = Activities>(lane: Lane, options: ActivityOptions): A {
  return new Proxy({} as A, {
    get(_, name) {
      if (typeof name !== 'string') return undefined;
      return (...args: unknown[]) => {
        const taskQueue = laneTaskQueue(workflowInfo().taskQueue, lane);
        const acts = proxyActivities<Record<string, (...a: unknown[]) => Promise<unknown>>>({
          ...options,
          taskQueue,
        });
        return (acts[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      };
    },
  });
}
