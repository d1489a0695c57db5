/**
 * The Temporal Schedules of one connection (TRG-2, TAX-2, reconciliation). Each is created once and
 * updated in place afterwards, so calling `ensureConnectionSchedules` again (every connect, reconnect or
 * start-up) is safe and applies new intervals. Overlap policy SKIP: a pass still running when the next is
 * due makes that next one skip, never pile up; an explicit catch-up window says what happens after an
 * outage of the Temporal server (one catch-up pass; passes read since their watermark anyway).
 *
 *  - `poll/<connection>`      every POLL_INTERVAL (10 min) -> pollConnectionWorkflow, which follows a pass that
 *                             suspects a gap in the webhooks with passes every POLL_FAST_INTERVAL (1 min) until
 *                             quiet (adaptive polling, domain/poll-cadence.ts); `pollNow` runs one at once
 *  - `tax-poll/<connection>`  every TAX_POLL_INTERVAL (15 min, at most 20) -> taxPollWorkflow
 *  - `reconcile/<connection>` RECONCILE_CRON (02:30 UTC)   -> reconcileInvoicesWorkflow
 *
 * Workflows started by a schedule get the schedule's workflow id plus the scheduled time
 * (`poll/<connection>-2026-01-01T00:00:00Z`), and the ConnectionId / EntityType search attributes.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';
import { msToNumber, type Duration } from '@temporalio/common/lib/time';
import type { Config } from '../infra/config';
import { WorkflowType, type PollInput } from '../workflows/messages';
import { fastPolling } from '../domain/poll-cadence';
import { ConnectionId, EntityType } from '../domain/search-attributes';

export const DEFAULT_POLL_EVERY = '10m';
export const DEFAULT_POLL_FAST_EVERY = '1m';
export const DEFAULT_TAX_POLL_EVERY = '15m';
export const DEFAULT_RECONCILE_CRON = '30 2 * * *';
/** TAX-2: tax codes are polled at least this often. */
export const MAX_TAX_POLL_EVERY_MS = 20 * 60_000;

export type ConnectionScheduleKind = 'poll' | 'taxPoll' | 'reconcile';

export const scheduleIds = (connectionId: string): Record<ConnectionScheduleKind, string> => ({
  poll: `poll/${connectionId}`,
  taxPoll: `tax-poll/${connectionId}`,
  reconcile: `reconcile/${connectionId}`,
});

export interface ConnectionScheduleOptions {
  connectionId: string;
  /** The sync worker's task queue. */
  taskQueue: string;
  /** TRG-2 poll interval while webhooks bring every change (default 10 minutes). */
  pollEvery?: Duration;
  /** TRG-2 poll interval while a gap in the webhooks is suspected (default 1 minute; never above pollEvery). */
  pollFastEvery?: Duration;
  /** TAX-2 tax poll interval (default 15 minutes, at most 20). */
  taxEvery?: Duration;
  /** Nightly reconciliation, a cron expression (default "30 2 * * *", UTC unless `CRON_TZ=<zone> …`). */
  reconcileCron?: string;
}

/** The schedule settings from configuration (POLL_INTERVAL, POLL_FAST_INTERVAL, TAX_POLL_INTERVAL, RECONCILE_CRON). */
export function scheduleOptionsFromConfig(config: Config): Omit<ConnectionScheduleOptions, 'connectionId'> {
  return {
    taskQueue: config.temporal.taskQueue,
    pollEvery: config.polling.intervalMs,
    pollFastEvery: config.polling.fastIntervalMs,
    taxEvery: config.polling.taxIntervalMs,
    reconcileCron: config.polling.reconcileCron,
  };
}

interface Definition {
  kind: ConnectionScheduleKind;
  scheduleId: string;
  spec: ScheduleSpec;
  action: ScheduleOptionsAction;
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: Duration };
}

function definitions(opts: ConnectionScheduleOptions): Definition[] {
  const { connectionId, taskQueue } = opts;
  const ids = scheduleIds(connectionId);
  const pollMs = msToNumber(opts.pollEvery ?? DEFAULT_POLL_EVERY);
  const fast = fastPolling(pollMs, msToNumber(opts.pollFastEvery ?? DEFAULT_POLL_FAST_EVERY));
  const pollInput: PollInput = { connectionId, fast };
  const taxMs = msToNumber(opts.taxEvery ?? DEFAULT_TAX_POLL_EVERY);
  if (taxMs > MAX_TAX_POLL_EVERY_MS) {
    throw new RangeError(`TAX-2: tax codes must be polled at least every 20 minutes, not every ${taxMs} ms`);
  }
  const attrs = (entityType: string) => [
    { key: ConnectionId, value: connectionId },
    { key: EntityType, value: entityType },
  ];
  // The server refuses catch-up windows under 10 s; one interval is enough: a pass reads since its watermark.
  const catchup = (everyMs: number) => Math.max(everyMs, 10_000);
  return [
    {
      kind: 'poll',
      scheduleId: ids.poll,
      spec: { intervals: [{ every: pollMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.poll,
        workflowId: ids.poll,
        taskQueue,
        args: [pollInput],
        typedSearchAttributes: attrs('poll'),
        // A chain of fast passes continues as new within this timeout.
        workflowExecutionTimeout: 30 * 60_000 + fast.maxPasses * fast.everyMs,
        staticSummary: `TRG-2 poll of ServiceM8 and QuickBooks for ${connectionId}`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: catchup(pollMs) },
    },
    {
      kind: 'taxPoll',
      scheduleId: ids.taxPoll,
      spec: { intervals: [{ every: taxMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.taxPoll,
        workflowId: ids.taxPoll,
        taskQueue,
        args: [{ connectionId }],
        typedSearchAttributes: attrs('tax-poll'),
        workflowExecutionTimeout: '30 minutes',
        staticSummary: `TAX-2 tax code poll for ${connectionId} (pending the tax issue)`,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: catchup(taxMs) },
    },
    {
      kind: 'reconcile',
      scheduleId: ids.reconcile,
      // Connections spread over a quarter of an hour rather than all hitting the APIs at 02:30 sharp.
      spec: { cronExpressions: [opts.reconcileCron ?? DEFAULT_RECONCILE_CRON], jitter: '15 minutes' },
      action: {
        type: 'startWorkflow',
        workflowType: WorkflowType.reconcile,
        workflowId: ids.reconcile,
        taskQueue,
        args: [{ connectionId }],
        typedSearchAttributes: attrs('reconcile'),
        workflowExecutionTimeout: '6 hours',
        staticSummary: `Nightly invoice reconciliation for ${connectionId}`,
      },
      // A night missed while the server was down still runs when it is back within 6 hours.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '6 hours' },
    },
  ];
}

export interface EnsuredSchedule {
  kind: ConnectionScheduleKind;
  scheduleId: string;
  /** False when it existed and was updated in place. */
  created: boolean;
}

/**
 * Creates the connection's schedules, or updates them in place when they exist (idempotent; a paused
 * schedule stays paused). Call it whenever a connection is made or its settings change.
 */
export async function ensureConnectionSchedules(
  temporal: Client,
  opts: ConnectionScheduleOptions,
): Promise<EnsuredSchedule[]> {
  const out: EnsuredSchedule[] = [];
  for (const def of definitions(opts)) {
    try {
      await temporal.schedule.create({
        scheduleId: def.scheduleId,
        spec: def.spec,
        action: def.action,
        policies: def.policies,
        state: { note: 'created by ensureConnectionSchedules' },
      });
      out.push({ kind: def.kind, scheduleId: def.scheduleId, created: true });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await temporal.schedule.getHandle(def.scheduleId).update((prev: ScheduleDescription) => ({
        spec: def.spec,
        action: def.action,
        policies: def.policies,
        state: {
          paused: prev.state.paused,
          note: prev.state.note,
          remainingActions: prev.state.remainingActions,
        },
      }));
      out.push({ kind: def.kind, scheduleId: def.scheduleId, created: false });
    }
  }
  return out;
}

/**
 * Runs a poll pass of the connection now (adaptive polling: at connect and when the product starts, since
 * webhooks may have been lost meanwhile), or right after the pass that is running (which may have read before
 * the second side was connected). False when the schedule does not exist.
 */
export async function pollNow(temporal: Client, connectionId: string): Promise<boolean> {
  try {
    await temporal.schedule
      .getHandle(scheduleIds(connectionId).poll)
      .trigger(ScheduleOverlapPolicy.BUFFER_ONE);
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
}

/**
 * When the product starts: every connection's schedules exist with the current settings (an upgrade applies
 * new intervals), and each connection polls at once (webhooks may have been lost while it was down).
 */
export async function startConnectionPolling(
  temporal: Client,
  connectionIds: readonly string[],
  opts: Omit<ConnectionScheduleOptions, 'connectionId'>,
): Promise<void> {
  for (const connectionId of connectionIds) {
    await ensureConnectionSchedules(temporal, { ...opts, connectionId });
    await pollNow(temporal, connectionId);
  }
}

/** Removes the connection's schedules (disconnect). Missing ones are fine. Returns the ids deleted. */
export async function deleteConnectionSchedules(temporal: Client, connectionId: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const scheduleId of Object.values(scheduleIds(connectionId))) {
    try {
      await temporal.schedule.getHandle(scheduleId).delete();
      deleted.push(scheduleId);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return deleted;
}

/** The connection's schedules as Temporal describes them (missing ones are left out). */
export async function describeConnectionSchedules(
  temporal: Client,
  connectionId: string,
): Promise<Partial<Record<ConnectionScheduleKind, ScheduleDescription>>> {
  const out: Partial<Record<ConnectionScheduleKind, ScheduleDescription>> = {};
  for (const [kind, scheduleId] of Object.entries(scheduleIds(connectionId)) as Array<
    [ConnectionScheduleKind, string]
  >) {
    try {
      out[kind] = await temporal.schedule.getHandle(scheduleId).describe();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return out;
}
