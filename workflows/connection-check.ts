/**
 * Checks that a connection's credentials work on both sides (used after connecting and by `doctor`).
 * While the connection needs re-authorisation it waits (CON-3) rather than failing.
 */
import { setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { connectionCheckStateQuery, type ConnectionCheckResult, type ConnectionCheckState } from './messages';
import { LONG_RUNNING, laneActivities } from './support/activity-options';
import { createConnectionGate } from './support/connection-gate';

// Verification: bulk lane (domain/lanes.ts).
const { checkConnection } = laneActivities<Activities>('bulk', {
  ...LONG_RUNNING,
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function connectionCheckWorkflow(input: {
  connectionId: string;
}): Promise<ConnectionCheckResult> {
  let state: ConnectionCheckState = 'checking';
  setHandler(connectionCheckStateQuery, () => state);
  const gate = createConnectionGate(input.connectionId, {
    onBlocked: () => {
      state = 'waiting_for_reauth';
    },
    onResumed: () => {
      state = 'checking';
    },
  });
  const result = await gate.run(() => checkConnection({ connectionId: input.connectionId }));
  state = 'done';
  return result;
}
