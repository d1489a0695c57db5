/**
 * A PostgreSQL restart or a killed server session never crashes the worker (found by the soak: the
 * process died when the server ended a session that a transaction or an advisory lock had checked out: every
 * checked-out client goes through the same pool, so one transaction stands for all).
 * The holder's query fails with an error its caller handles, and the pool serves the next query.
 */
import { Client } from 'pg';
import { createPool, withTransaction } from '../infra/database';
import { testEnv } from './helpers/env';

const url = () => testEnv.databaseUrl;

async function terminate(pid: number): Promise<void> {
  const admin = new Client({ connectionString: url() });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

/** Kills the session of `db` from outside and resolves once `db` has seen its connection end. */
async function killSession(db: { query: Client['query']; once: Client['once'] }): Promise<void> {
  const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const ended = new Promise((resolve) => db.once('end', resolve));
  await terminate(rows[0]!.pid);
  await ended;
}

describe('a lost database session is an error, not a crash (never stuck silently)', () => {
  it('a transaction whose session the server kills fails, and the pool goes on', async () => {
    const pool = createPool(url(), 2);
    try {
      await expect(
        withTransaction(pool, async (db) => {
          await killSession(db);
          await db.query('SELECT 1');
        }),
      ).rejects.toThrow();
      await expect(pool.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      await pool.end();
    }
  });
});
