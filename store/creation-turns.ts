/**
 * Turns for finding or creating one record in an outside system (issue 13: the product's own records are
 * created once). A turn is a lease row in `creation_turns` (migrations/011): the holder renews it while it
 * works, so a slow holder keeps it, and a crashed holder's turn frees itself when the lease runs out.
 * Waiters hold no database connection between their tries.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

/**
 * A turn not renewed for this long is free again (its holder crashed, or its release was lost to a database
 * restart). Renewed every third of it. It was 60 s: under the soak, a worker killed inside a turn held every
 * export of that name for up to a minute after its activities were already retried elsewhere.
 */
const LEASE_MS = 15_000;

async function tryTake(pool: Pool, key: string, holder: string): Promise<boolean> {
  const r = await pool.query(
    `INSERT INTO creation_turns (turn_key, holder, until)
     VALUES ($1, $2, clock_timestamp() + $3::int * interval '1 millisecond')
     ON CONFLICT (turn_key) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
       WHERE creation_turns.until < clock_timestamp()
     RETURNING holder`,
    [key, holder, LEASE_MS],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * Runs fn while holding the turn `key`, alone among all workers. While another holds it, `waitBeforeRetry`
 * is awaited between tries (e.g. heartbeat and sleep; it may throw to give up).
 */
export async function withCreationTurn<T>(
  pool: Pool,
  key: string,
  waitBeforeRetry: () => Promise<void>,
  fn: () => Promise<T>,
): Promise<T> {
  const holder = randomUUID();
  while (!(await tryTake(pool, key, holder))) await waitBeforeRetry();
  const renew = setInterval(() => {
    void pool
      .query(
        `UPDATE creation_turns SET until = clock_timestamp() + $3::int * interval '1 millisecond'
          WHERE turn_key = $1 AND holder = $2`,
        [key, holder, LEASE_MS],
      )
      .catch(() => undefined); // a missed renewal only shortens the lease; the next one catches up
  }, LEASE_MS / 3);
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await pool
      .query('DELETE FROM creation_turns WHERE turn_key = $1 AND holder = $2', [key, holder])
      .catch(() => undefined); // left behind, the row frees itself when its lease runs out
  }
}
