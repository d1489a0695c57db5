/**
 * The one loop of every owner workflow (invoice, payments, customer/item, tax): events only mark the owner
 * dirty; while something is pending it runs one pass at a time (a burst of events costs one pass); with
 * nothing pending it waits for an event and ends when idle too long (PostgreSQL keeps the durable state, the
 * next event starts a new run); after `maxPassesPerRun` passes, or when Temporal suggests it, it hands over
 * to a new run (continue-as-new) so histories stay small.
 *
 * No owner ever fails (OPS-5): a pass that throws what no step handled is logged, recorded as a stuck step with
 * its error (activities/stuck.ts), and tried again after 1, 5 and 15 minutes, then hourly, or at the next event;
 * the first pass that succeeds clears it. Only cancellation ends the run early.
 *
 * The order of timers, activities and conditions is that of the loops this replaced, command by command:
 * committed histories (test/histories) replay unchanged (the guard adds commands only after a failure).
 */
import { ActivityFailure, type Duration } from '@temporalio/common';
import { allHandlersFinished, condition, isCancellation, log, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { laneActivities, OWNER_ACTIVITY } from './activity-options';

// PostgreSQL writes that never wait for budget: on the interactive lane, like the connection gate's check.
const guardActs = laneActivities<Activities>('interactive', OWNER_ACTIVITY);

/** After an unexpected failure: the waits before the next tries (then hourly), as INV-3 retries a hold. */
export const GUARD_RETRY_DELAYS: Duration[] = ['1 minute', '5 minutes', '15 minutes', '1 hour'];

function describe(err: unknown): { failureType: string; message: string } {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  const failureType =
    (cause as { type?: unknown }).type && typeof (cause as { type?: unknown }).type === 'string'
      ? String((cause as { type: string }).type)
      : cause instanceof Error
        ? cause.name
        : 'Error';
  return { failureType, message: cause instanceof Error ? cause.message : String(cause) };
}

/** How long to wait for an event, and what the end of that wait means. */
export type OwnerWait =
  /** The run ends (idle end). */
  | { timeout: Duration; onTimeout: 'end' }
  /** A pass runs anyway (a retry on a schedule, e.g. a blocked invoice, INV-3), after this callback. */
  | { timeout: Duration; onTimeout: () => void };

export interface OwnerLoopSpec<Result> {
  /** An event arrived since the last pass took the pending work. */
  pending(): boolean;
  /** Asked each time the loop is about to wait (nothing pending). */
  waitFor(): OwnerWait;
  /** One pass: takes the pending work (clears the dirty flags) and converges. */
  pass(): Promise<void>;
  /** Checked before each wait: nothing is left to watch, the run ends. */
  overBeforeWait?(): boolean;
  /** Checked right after each pass: nothing is left to watch, the run ends. */
  overAfterPass?(): boolean;
  maxPassesPerRun: number;
  /** Hands the state over to a new run (calls Temporal's continueAsNew, which does not return). */
  continueAsNew(): Promise<never>;
  /** The workflow's result when the run ends. */
  result(): Result;
}

export interface OwnerLoop<Result> {
  /** A pass is running. */
  readonly busy: boolean;
  run(): Promise<Result>;
}

export function ownerLoop<Result>(spec: OwnerLoopSpec<Result>): OwnerLoop<Result> {
  let busy = false;
  return {
    get busy() {
      return busy;
    },
    async run(): Promise<Result> {
      let passesThisRun = 0;
      /** Passes failed in a row with an error no step handled (the guard above). */
      let failures = 0;
      for (;;) {
        if (spec.overBeforeWait?.()) break;
        if (!spec.pending()) {
          const guarded = failures > 0;
          const wait = guarded
            ? { timeout: GUARD_RETRY_DELAYS[Math.min(failures, GUARD_RETRY_DELAYS.length) - 1] as Duration }
            : spec.waitFor();
          const woke = await condition(() => spec.pending(), wait.timeout);
          if (!woke && !guarded) {
            const onTimeout = (wait as OwnerWait).onTimeout;
            if (onTimeout === 'end') break; // idle: end; the next event starts a new run
            onTimeout();
          }
        }
        busy = true;
        try {
          await spec.pass();
          if (failures > 0) {
            failures = 0;
            await guardActs.clearOwnerPassFailure({ workflowId: workflowInfo().workflowId });
          }
        } catch (err) {
          if (isCancellation(err)) throw err;
          failures += 1;
          const { failureType, message } = describe(err);
          log.error('owner pass failed with an error no step handled; held and retried', {
            failureType,
            message,
          });
          await guardActs.recordOwnerPassFailure({
            workflowId: workflowInfo().workflowId,
            failures,
            failureType,
            message,
          });
          continue;
        } finally {
          busy = false;
        }
        if (spec.overAfterPass?.()) break;
        passesThisRun += 1;
        if (workflowInfo().continueAsNewSuggested || passesThisRun >= spec.maxPassesPerRun) {
          await condition(allHandlersFinished);
          await spec.continueAsNew();
        }
      }
      return spec.result();
    },
  };
}
