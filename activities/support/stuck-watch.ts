/**
 * Issue 13, "nothing retries silently, by construction": every activity is wrapped so that each failed
 * attempt Temporal will retry is counted in stuck_steps (store/stuck-steps.ts) with its failure, and a
 * success clears it. A step that keeps failing then shows as stuck, in words, wherever the bookkeeper looks
 * (CLI, admin API, status page, show), while Temporal keeps retrying it with backoff.
 * Not counted: refusals (non-retryable: the workflow turns them into a held reason), a blocked connection
 * (the connection gate says why), and cancellation (a stopping worker, a cancelled workflow).
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { applicationFailureOf, connectionBlockedType } from '../../domain/failures';
import { isStuck } from '../../domain/stuck';
import { connectionOfWorkflowId } from '../../domain/workflow-ids';
import { clearStep, recordFailedAttempt, type FailedAttempt } from '../../store/stuck-steps';

type AnyActivity = (...args: never[]) => Promise<unknown>;

/**
 * Told of each failed attempt of a step that counts as stuck (OPS-5: the invoice's job note, the owner's
 * SyncState in the Web UI), and of a step that failed before and has now succeeded.
 */
export interface OnStuck {
  stuck(step: FailedAttempt): Promise<void>;
  cleared(workflowId: string, activityType: string): Promise<void>;
}

function counted(err: unknown): boolean {
  if (err instanceof CancelledFailure) return false;
  if (connectionBlockedType(err)) return false;
  return !applicationFailureOf(err)?.nonRetryable;
}

function connectionOf(workflowId: string, args: unknown[]): string {
  const input = args[0] as { connectionId?: unknown } | undefined;
  if (input && typeof input.connectionId === 'string') return input.connectionId;
  return connectionOfWorkflowId(workflowId) ?? '';
}

function watch<F extends AnyActivity>(pool: Pool, activityType: string, fn: F, onStuck?: OnStuck): F {
  const watched = async (...args: Parameters<F>) => {
    let ctx: Context | undefined;
    try {
      ctx = Context.current();
    } catch {
      return fn(...args); // called outside an activity (a test, a script): nothing to watch
    }
    const { attempt, activityId, workflowExecution } = ctx.info;
    const workflowId = workflowExecution?.workflowId;
    if (!workflowId) return fn(...args); // a standalone activity: no owner to show it on
    try {
      const result = await fn(...args);
      // Also at attempt 1: "retry now" (resetActivity) starts the attempts from 1 again.
      if (await clearStep(pool, workflowId, activityType).catch(() => false))
        await onStuck?.cleared(workflowId, activityType).catch(() => undefined);
      return result;
    } catch (err) {
      if (counted(err)) {
        const failure = applicationFailureOf(err);
        const step: FailedAttempt = {
          connectionId: connectionOf(workflowId, args),
          workflowId,
          activityType,
          activityId,
          attempt,
          failureType: failure?.type ?? (err instanceof Error ? err.name : 'Error'),
          technical: err instanceof Error ? err.message : String(err),
        };
        // Counting (and noting) must never change the outcome of the attempt itself.
        const row = await recordFailedAttempt(pool, step).catch(() => null);
        if (row && onStuck && !row.dismissed && isStuck(row, new Date()))
          await onStuck.stuck(step).catch(() => undefined);
      }
      throw err;
    }
  };
  return watched as F;
}

/** The same activities, each counting its failed attempts (see above); `onStuck` hears of stuck ones. */
export function watchStuckSteps<A extends Record<string, AnyActivity>>(
  { pool, onStuck }: { pool: Pool; onStuck?: OnStuck },
  activities: A,
): A {
  const out: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) out[name] = watch(pool, name, fn, onStuck);
  return out as A;
}
