/**
 * Priority lanes of API work (issue 12, docs/api-budget-plan.md). Highest first: interactive work a person
 * waits for (an approval's export, a payment, a resync someone asked for), then live sync of linked records,
 * then bulk work (onboarding, polls, reconciliation, verification). Each lane's activities run on their own
 * task queue, so a bulk activity waiting for budget never holds a slot that interactive work needs, and the
 * governor serves waiting permits in lane order and keeps a reserve of every budget for the higher lanes.
 */
export const LANES = ['interactive', 'live', 'bulk'] as const;
export type Lane = (typeof LANES)[number];

/** The task queue of a lane's activities: `<base>-<lane>` (the base queue runs the workflows). */
export function laneTaskQueue(baseTaskQueue: string, lane: Lane): string {
  return `${baseTaskQueue}-${lane}`;
}

/** The lane of an activity from the task queue it runs on; undefined for the base queue or a foreign one. */
export function laneOfTaskQueue(taskQueue: string): Lane | undefined {
  return LANES.find((lane) => taskQueue.endsWith(`-${lane}`));
}

/**
 * The base queue (the workflows') of a lane's queue; a queue without a lane suffix is its own base. An
 * activity that starts or signals a workflow puts it on the base queue, never on its own lane's.
 */
export function baseOfTaskQueue(taskQueue: string): string {
  const lane = laneOfTaskQueue(taskQueue);
  return lane ? taskQueue.slice(0, -(lane.length + 1)) : taskQueue;
}

/** Activity slots per lane on each worker: activities mostly wait (on I/O and on permits), so slots are cheap. */
export const LANE_SLOTS: Record<Lane, number> = { interactive: 100, live: 50, bulk: 20 };

/** Use of one budget by one lane. */
export interface LaneUsage {
  lane: Lane;
  /** Permits granted in the last 24 hours (a sliding window, as the governor counts the daily limit). */
  today: number;
  lastMinute: number;
}

/** One API's budget for one connection, as the admin API, the CLI and the status page show it. */
export interface BudgetUsage {
  api: 'sm8' | 'qbo';
  perMinuteLimit: number;
  perDayLimit: number | null;
  lastMinute: number;
  today: number;
  byLane: LaneUsage[];
  /** 1 = full speed; below 1 after a 429 (additive increase, multiplicative decrease). */
  slowdown: number;
  cooldownUntil: string | null;
  /** Set while bulk work waits because the daily plan keeps the rest for interactive and live work. */
  bulkPaused: null | { reason: string; until: string };
}
