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
     ON CONFLICT (turn_key) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until, wanted_rank = NULL
       WHERE creation_turns.until < clock_timestamp()
     RETURNING holder`,
    [key, holder, LEASE_MS],
  );
  return (r.rowCount ?? 0) > 0;
}

/** A waiter says how urgent it is: the holder of the turn then works at that rank (lower is more urgent). */
async function markWanted(pool: Pool, key: string, rank: number): Promise<void> {
  await pool.query(
    `UPDATE creation_turns SET wanted_rank = $2
      WHERE turn_key = $1 AND (wanted_rank IS NULL OR wanted_rank > $2)`,
    [key, rank],
  );
}

async function wantedRank(pool: Pool, key: string, holder: string): Promise<number | null> {
  const r = await pool.query<{ wanted_rank: number | null }>(
    'SELECT wanted_rank FROM creation_turns WHERE turn_key = $1 AND holder = $2',
    [key, holder],
  );
  return r.rows[0]?.wanted_rank ?? null;
}

/**
 * Priority inheritance (issue 12): the caller's rank (0 most urgent), and what to do when a more urgent
 * caller waits for the turn it holds (work at that rank: the holder's lane is raised).
 */
export interface TurnPriority {
  rank: number;
  onWanted: (rank: number) => void;
}

/** How often a holder looks whether a more urgent caller waits for its turn. */
const WANTED_CHECK_MS = 200;

/**
 * Runs fn while holding the turn `key`, alone among all workers. While another holds it, `waitBeforeRetry`
 * is awaited between tries (e.g. heartbeat and sleep; it may throw to give up). With `priority`, a waiter
 * marks the turn with its rank, and a holder told of a more urgent waiter calls `onWanted` (once per rank).
 */
export async function withCreationTurn<T>(
  pool: Pool,
  key: string,
  waitBeforeRetry: () => Promise<void>,
  fn: () => Promise<T>,
  priority?: TurnPriority,
): Promise<T> {
  const holder = randomUUID();
  while (!(await tryTake(pool, key, holder))) {
    // Every try: a new holder starts without the mark. At worst (an error) there is no inheritance.
    if (priority) await markWanted(pool, key, priority.rank).catch(() => undefined);
    await waitBeforeRetry();
  }
  let rank = priority?.rank ?? 0;
  const watch = priority
    ? setInterval(() => {
        void wantedRank(pool, key, holder)
          .then((wanted) => {
            if (wanted === null || wanted >= rank) return;
            rank = wanted;
            priority.onWanted(wanted);
          })
          .catch(() => undefined); // a missed look only delays the raise until the next one
      }, WANTED_CHECK_MS)
    : undefined;
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
    if (watch) clearInterval(watch);
    await pool
      .query('DELETE FROM creation_turns WHERE turn_key = $1 AND holder = $2', [key, holder])
      .catch(() => undefined); // left behind, the row frees itself when its lease runs out
  }
}
