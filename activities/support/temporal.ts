/**
 * What activities need of Temporal beyond their input: heart-beating, and for those that wake other
 * workflows a client and their own task queue.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { baseOfTaskQueue } from '../../domain/lanes';
import { recordHeartbeat } from '../../infra/activity-heartbeat';
import type { ActivityDeps } from './deps';

/**
 * The workflows' task queue of the running activity's worker: woken workflows run there. Activities run
 * on a lane's queue (`<base>-<lane>`, domain/lanes.ts), so that is its base.
 */
export function taskQueue(): string {
  return baseOfTaskQueue(Context.current().info.taskQueue);
}

/** The worker's Temporal client; a worker built without one fails the activity for good, saying so. */
export function temporalClient(deps: ActivityDeps, purpose: string): Client {
  if (!deps.temporal) {
    throw ApplicationFailure.create({
      type: 'MisconfiguredWorker',
      message: `${purpose} needs a Temporal client in the activity dependencies (workers/sync-worker.ts)`,
      nonRetryable: true,
    });
  }
  return deps.temporal;
}

/** The running activity's attempt (1 outside an activity: direct calls in tests). */
export function attempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/** Heartbeats the running activity; a no-op outside one (direct calls in tests). */
export function heartbeat(details?: unknown): void {
  try {
    recordHeartbeat(Context.current(), details);
  } catch {
    // outside an activity (direct calls in tests)
  }
}
