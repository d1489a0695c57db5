/**
 * PostgreSQL session advisory locks, keyed by (lock class, text key). Each module that locks has its own
 * class (7_283_0xx). A session lock belongs to the client that took it, so the lock is taken and released
 * on one client of its own, held for the whole of fn.
 */
import type { Pool, PoolClient } from 'pg';

/** Takes the lock if free; false when another session holds it. */
async function tryAdvisoryLock(client: PoolClient, lockClass: number, key: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [
    lockClass,
    key,
  ]);
  return Boolean(r.rows[0]?.ok);
}

/**
 * Runs fn while holding the lock (lockClass, key). While another session holds it, `waitBeforeRetry` is
 * awaited between tries (e.g. heartbeat and sleep). If the unlock fails, the client is discarded: ending
 * the session releases the lock.
 */
export async function withAdvisoryLock<T>(
  pool: Pool,
  lockClass: number,
  key: string,
  waitBeforeRetry: () => Promise<void>,
  fn: () => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    while (!(await tryAdvisoryLock(client, lockClass, key))) await waitBeforeRetry();
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [lockClass, key]).catch(() => {
        broken = true; // ending the session releases the lock
      });
    }
  } finally {
    client.release(broken ? new Error('advisory unlock failed') : undefined);
  }
}
