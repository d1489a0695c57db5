/**
 * CON-3: when a connection loses its authorisation (or is paused), a workflow's step fails with
 * ConnectionNeedsReauth / ConnectionPaused. Instead of failing the workflow (or retrying into an error
 * storm), the gate parks the workflow until the connection is usable again, then runs the same step
 * again. Reconnecting signals `connectionRestored` to every workflow of the connection; a periodic
 * status check covers a lost signal.
 */
import { condition, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { connectionBlockedType } from '../../domain/failures';
import { connectionRestoredSignal } from '../messages';
import { laneActivities } from './activity-options';

// A PostgreSQL read that never waits for budget: on the interactive lane, so a parked export resumes at
// once even while the bulk lane's slots are all taken.
const { getConnectionStatus } = laneActivities<Activities>('interactive', {
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '1 minute' },
});

/** Re-checks the connection this often while parked, in case the restore signal was lost. */
const RECHECK_INTERVAL = '10 minutes';
const SHORT_RETRY = '5 seconds';

export interface ConnectionGate {
  /** Runs `step`; while the connection is blocked, waits and then runs it again. */
  run<T>(step: () => Promise<T>): Promise<T>;
  /** True while parked. */
  readonly waiting: boolean;
}

export function createConnectionGate(
  connectionId: string,
  hooks: { onBlocked?(failureType: string): void | Promise<void>; onResumed?(): void | Promise<void> } = {},
): ConnectionGate {
  let restored = 0;
  let waiting = false;
  setHandler(connectionRestoredSignal, () => {
    restored += 1;
  });
  return {
    get waiting() {
      return waiting;
    },
    async run<T>(step: () => Promise<T>): Promise<T> {
      for (;;) {
        const seen = restored;
        try {
          return await step();
        } catch (err) {
          const reason = connectionBlockedType(err);
          if (!reason) throw err;
          waiting = true;
          await hooks.onBlocked?.(reason);
          // A refusal can be momentary (a token rotated in between): if the connection is still active,
          // try again shortly; otherwise wait for the reconnect signal, re-checking now and then.
          for (;;) {
            if ((await getConnectionStatus({ connectionId })) === 'active') {
              await sleep(SHORT_RETRY);
              break;
            }
            if (await condition(() => restored > seen, RECHECK_INTERVAL)) break;
          }
          waiting = false;
          await hooks.onResumed?.();
        }
      }
    },
  };
}
