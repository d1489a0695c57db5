/**
 * The one loop of every owner workflow (invoice, payments, customer/item, tax): events only mark the owner
 * dirty; while something is pending it runs one pass at a time (a burst of events costs one pass); with
 * nothing pending it waits for an event and ends when idle too long (PostgreSQL keeps the durable state, the
 * next event starts a new run); after `maxPassesPerRun` passes, or when Temporal suggests it, it hands over
 * to a new run (continue-as-new) so histories stay small.
 *
 * The order of timers, activities and conditions is that of the loops this replaced, command by command:
 * committed histories (test/histories) replay unchanged.
 */
import type { Duration } from '@temporalio/common';
import { allHandlersFinished, condition, workflowInfo } from '@temporalio/workflow';

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
      for (;;) {
        if (spec.overBeforeWait?.()) break;
        if (!spec.pending()) {
          const wait = spec.waitFor();
          const woke = await condition(() => spec.pending(), wait.timeout);
          if (!woke) {
            if (wait.onTimeout === 'end') break; // idle: end; the next event starts a new run
            wait.onTimeout();
          }
        }
        busy = true;
        try {
          await spec.pass();
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
