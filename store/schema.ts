/** The schema's own bookkeeping (table `schema_migrations`, written by infra/migrate.ts). */
import type { Pool, PoolClient } from 'pg';

/** The newest migration applied (0 when none). */
export async function schemaVersion(db: Pool | PoolClient): Promise<number> {
  const version = await db.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
  return Number(version.rows[0]?.v ?? 0);
}
