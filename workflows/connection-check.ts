/**
 * Checks that a connection's credentials work on both sides (used after connecting and by `doctor`).
 * While the connection needs re-authorisation it waits (CON-3) rather than failing.
 */
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { connectionCheckStateQuery, type ConnectionCheckResult, type ConnectionCheckState } from './messages';
import { createConnectionGate } from './support/connection-gate';

const { checkConnection } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
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
