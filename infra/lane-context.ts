/**
 * The lane of the code running now (domain/lanes.ts): an activity's lane comes from the task queue it runs
 * on; code outside any activity (the API process: connect flows, admin commands) is interactive, since a
 * person is waiting for it. The governor reads it to order permits and heartbeats through it while an
 * activity waits for budget (waiting is not failure: issue 12).
 */
import { Context } from '@temporalio/activity';
import { laneOfTaskQueue, type Lane } from '../domain/lanes';
import { recordHeartbeat } from './activity-heartbeat';

/** Activities on the base task queue (before lanes were split out) count as live work. */
const BASE_QUEUE_LANE: Lane = 'live';

export interface LaneContext {
  lane: Lane;
  /** The activity's heartbeat, when running inside one. */
  heartbeat?: (details?: unknown) => void;
  /** The activity's cancellation, when running inside one. */
  signal?: AbortSignal;
  /** The workflow type of the activity, when running inside one (metrics label). */
  workflowType?: string;
}

export function currentLaneContext(): LaneContext {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return { lane: 'interactive' };
  }
  return {
    lane: laneOfTaskQueue(ctx.info.taskQueue) ?? BASE_QUEUE_LANE,
    heartbeat: (details?: unknown) => recordHeartbeat(ctx, details),
    signal: ctx.cancellationSignal,
    workflowType: ctx.info.workflowType,
  };
}
