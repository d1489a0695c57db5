/**
 * Versioned SQL migrations from migrations/NNN_name.sql, applied in order, each in its own transaction,
 * under an advisory lock so that a worker and an API server starting together do not race.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');
const LOCK_KEY = 7_283_001; // arbitrary, fixed: identifies "schema migration" among advisory locks

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((file) => {
      const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
      if (!match) throw new Error(`Migration file name must look like 001_name.sql: ${file}`);
      return {
        version: Number(match[1]),
        name: match[2] ?? file,
        sql: fs.readFileSync(path.join(dir, file), 'utf8'),
      };
    })
    .sort((a, b) => a.version - b.version);
  // Numbers are handed out to parallel branches in advance (006, 007, …), so a branch may have a gap that
  // the merge fills; what must never happen is two files with one number.
  migrations.forEach((m, i) => {
    if (m.version < 1 || (i > 0 && m.version === migrations[i - 1]?.version))
      throw new Error(`Migration numbers must be unique and positive; found ${m.version} twice or invalid`);
  });
  return migrations;
}

/** Applies pending migrations; returns the versions applied by this call. */
export async function migrate(pool: Pool, dir = MIGRATIONS_DIR): Promise<number[]> {
  const migrations = readMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ]);
        await client.query('COMMIT');
        applied.push(m.version);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${m.version}_${m.name} failed: ${(err as Error).message}`);
      }
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
