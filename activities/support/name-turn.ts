/**
 * Turns per QuickBooks name (issue 13): everything that finds, creates or links a QuickBooks customer or item
 * by name — an invoice export (INV-5) and an import into ServiceM8 (CM-1, CM-2, CM-7) — runs alone among all
 * workers for (connection, kind, name as QuickBooks compares names). The second to come finds what the first
 * made or linked, instead of making a duplicate or colliding on the links' unique keys.
 */
import { normaliseName } from '../../domain/names';
import { currentLaneContext } from '../../infra/lane-context';
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
  return withCreationTurn(
    pool,
    `${connectionId}/${kind}/${normaliseName(name)}`,
    async () => {
      const ctx = currentLaneContext();
      ctx.heartbeat?.('waiting for another worker to find or create the same QuickBooks record');
      await new Promise((resolve) => setTimeout(resolve, TURN_RETRY_MS));
      ctx.signal?.throwIfAborted();
    },
    fn,
  );
}
