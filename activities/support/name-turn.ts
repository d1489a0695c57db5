/**
 * Turns per QuickBooks name (issue 13): everything that finds, creates or links a QuickBooks customer or item
 * by name — an invoice export (INV-5) and an import into ServiceM8 (CM-1, CM-2, CM-7) — runs alone among all
 * workers for (connection, kind, name as QuickBooks compares names). The second to come finds what the first
 * made or linked, instead of making a duplicate or colliding on the links' unique keys.
 *
 * Priority inheritance (issue 12): a waiter marks the turn with its lane, and a holder of a lower lane then
 * works in the waiter's lane (its permits, those already waited for included). An approval's export waiting
 * for the name a poll-found export (live) or onboarding's import (bulk) holds waits for the holder's few calls,
 * not for the holder's whole lane.
 */
import { LANES } from '../../domain/lanes';
import { normaliseName } from '../../domain/names';
import { currentLaneContext, withRaisableLane } from '../../infra/lane-context';
import { nameTurnWait } from '../../infra/metrics';
import { withCreationTurn } from '../../store/creation-turns';
import type { Pool } from 'pg';

/** How long a worker waiting for a turn sleeps between tries (it heartbeats meanwhile). */
const TURN_RETRY_MS = 50;

export function inNameTurn<T>(
  pool: Pool,
  connectionId: string,
  kind: 'customer' | 'item',
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  const { lane, workflowType } = currentLaneContext();
  const asked = performance.now();
  const held = () => {
    nameTurnWait.observe(
      { kind, lane, workflow: workflowType ?? 'none' },
      (performance.now() - asked) / 1000,
    );
    return fn();
  };
  return withRaisableLane((raise) =>
    withCreationTurn(
      pool,
      `${connectionId}/${kind}/${normaliseName(name)}`,
      async () => {
        const ctx = currentLaneContext();
        ctx.heartbeat?.('waiting for another worker to find or create the same QuickBooks record');
        await new Promise((resolve) => setTimeout(resolve, TURN_RETRY_MS));
        ctx.signal?.throwIfAborted();
      },
      held,
      {
        rank: LANES.indexOf(lane),
        onWanted: (rank) => raise(LANES[rank] ?? 'interactive'),
      },
    ),
  );
}
