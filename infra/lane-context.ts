/**
 * The lane of the code running now (domain/lanes.ts): an activity's lane comes from the task queue it runs
 * on; code outside any activity (the API process: connect flows, admin commands) is interactive, since a
 * person is waiting for it. The governor reads it to order permits and heartbeats through it while an
 * activity waits for budget (waiting is not failure: issue 12).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Context } from '@temporalio/activity';
import { LANES, laneOfTaskQueue, type Lane } from '../domain/lanes';
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
  /**
   * Inside raisable work (withRaisableLane): hears the lane being raised while the work runs, so a permit
   * already waited for moves up with it. Returns its removal.
   */
  onRaise?: (listener: (lane: Lane) => void) => () => void;
}

const rank = (lane: Lane) => LANES.indexOf(lane);

/** Work whose lane a more urgent caller waiting for it may raise (priority inheritance, issue 12). */
class Raise {
  lane: Lane | null = null;
  private readonly listeners = new Set<(lane: Lane) => void>();

  raise(lane: Lane): void {
    if (this.lane !== null && rank(lane) >= rank(this.lane)) return;
    this.lane = lane;
    for (const fn of [...this.listeners]) fn(lane);
  }

  listen(fn: (lane: Lane) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

const raises = new AsyncLocalStorage<Raise>();

/**
 * Runs `fn` as work that may be raised: `raise(lane)` makes everything it does from then on (permits already
 * waited for included) count as `lane` when that is more urgent than its own.
 */
export async function withRaisableLane<T>(fn: (raise: (lane: Lane) => void) => Promise<T>): Promise<T> {
  const r = new Raise();
  // Nested raisable work (an item's turn inside a customer's) is raised with the work around it too.
  const parent = raises.getStore();
  if (parent?.lane) r.raise(parent.lane);
  const unlisten = parent?.listen((lane) => r.raise(lane));
  try {
    return await raises.run(r, () => fn((lane) => r.raise(lane)));
  } finally {
    unlisten?.();
  }
}

/** The more urgent of two lanes. */
function higher(a: Lane, b: Lane | null): Lane {
  return b !== null && rank(b) < rank(a) ? b : a;
}

export function currentLaneContext(): LaneContext {
  const raised = raises.getStore();
  const onRaise = raised ? (fn: (lane: Lane) => void) => raised.listen(fn) : undefined;
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return { lane: 'interactive', onRaise };
  }
  return {
    lane: higher(laneOfTaskQueue(ctx.info.taskQueue) ?? BASE_QUEUE_LANE, raised?.lane ?? null),
    heartbeat: (details?: unknown) => recordHeartbeat(ctx, details),
    signal: ctx.cancellationSignal,
    workflowType: ctx.info.workflowType,
    onRaise,
  };
}
