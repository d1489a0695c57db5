/**
 * OPS-5 for the owners themselves (workflows/support/owner-loop.ts): a pass that failed with an error no step
 * handled is recorded as a stuck step of the workflow (activity type `ownerPass`), stuck at once, with the
 * error; the owner retries on its own schedule and clears it after a pass that succeeds.
 */
import type { Pool } from 'pg';
import { STUCK_AFTER_ATTEMPTS } from '../domain/stuck';
import { connectionOfWorkflowId } from '../domain/workflow-ids';
import { clearStep, recordFailedAttempt } from '../store/stuck-steps';
import type { OnStuck } from './support/stuck-watch';

export const OWNER_PASS = 'ownerPass';

/** `onStuck`: the stuck invoice's job note and the owner's SyncState (activities/support/stuck-listener.ts). */
export function createStuckActivities(deps: { pool: Pool }, onStuck?: OnStuck) {
  return {
    async recordOwnerPassFailure(input: {
      workflowId: string;
      failures: number;
      failureType: string;
      message: string;
    }): Promise<void> {
      const step = {
        connectionId: connectionOfWorkflowId(input.workflowId) ?? '',
        workflowId: input.workflowId,
        activityType: OWNER_PASS,
        activityId: OWNER_PASS,
        // Stuck from the first: nothing will retry it sooner than the owner's own schedule.
        attempt: STUCK_AFTER_ATTEMPTS + input.failures - 1,
        failureType: input.failureType,
        technical: input.message,
      };
      const row = await recordFailedAttempt(deps.pool, step);
      if (onStuck && !row.dismissed) await onStuck.stuck(step).catch(() => undefined);
    },

    async clearOwnerPassFailure(input: { workflowId: string }): Promise<void> {
      if (await clearStep(deps.pool, input.workflowId, OWNER_PASS))
        await onStuck?.cleared(input.workflowId, OWNER_PASS).catch(() => undefined);
    },
  };
}
