/**
 * PostgreSQL session advisory locks, keyed by (lock class, text key). Each module that locks has its own
 * class (7_283_0xx). Session locks belong to the client that took them: take and release on the same one.
 */
import type { PoolClient } from 'pg';

/** Takes the lock if free; false when another session holds it. */
export async function tryAdvisoryLock(client: PoolClient, lockClass: number, key: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [
    lockClass,
    key,
  ]);
  return Boolean(r.rows[0]?.ok);
}

export async function advisoryUnlock(client: PoolClient, lockClass: number, key: string): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [lockClass, key]);
}
