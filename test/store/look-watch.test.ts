/**
 * Issue 12, a job's look raised by its approval wherever it is (activities/support/look-watch.ts), on the real
 * PostgreSQL: one timer per worker takes the marks of every watched look, raises each look whose job was
 * marked exactly once, and asks the database nothing when no look is watched.
 */
import crypto from 'node:crypto';
import type { Pool } from 'pg';
import { createPool } from '../../infra/database';
import { createLookWatch } from '../../activities/support/look-watch';
import { markLookWanted } from '../../store/invoice-look-wanted';
import { testEnv } from '../helpers/env';
import { waitFor } from '../helpers/wait';

const pool = createPool(testEnv.databaseUrl, 2);
const CONN = `look-watch-${crypto.randomBytes(3).toString('hex')}`;

/** The pool, counting the statements made through it. */
function counted(): { pool: Pool; statements: () => number } {
  let n = 0;
  const query = ((...args: Parameters<Pool['query']>) => {
    n += 1;
    return (pool.query as (...a: unknown[]) => unknown)(...args);
  }) as Pool['query'];
  return { pool: Object.assign(Object.create(pool) as Pool, { query }), statements: () => n };
}

beforeAll(async () => {
  await pool.query('INSERT INTO connections (id, name) VALUES ($1, $1)', [CONN]);
});
afterAll(async () => {
  await pool.query('DELETE FROM connections WHERE id = $1', [CONN]);
  await pool.end();
});

describe('look watch', () => {
  it('raises the watched look whose job is marked, once, and leaves the others', async () => {
    const c = counted();
    const watch = createLookWatch(c.pool, 20);
    const raised: string[] = [];
    const jobs = [crypto.randomUUID(), crypto.randomUUID()];
    const stops = jobs.map((job) => watch.watch(CONN, job, () => raised.push(job)));
    await waitFor('a tick', async () => c.statements() >= 2);
    expect(raised).toEqual([]);
    await markLookWanted(pool, CONN, jobs[1] as string);
    await waitFor('the marked look raised', async () => raised.length > 0);
    await markLookWanted(pool, CONN, jobs[1] as string);
    const seen = c.statements();
    await waitFor('two more ticks', async () => c.statements() >= seen + 2);
    // Raised once: a raised look is no longer watched, so its second mark stays for its next look.
    expect(raised).toEqual([jobs[1]]);
    const left = await pool.query(
      'SELECT 1 FROM invoice_look_wanted WHERE connection_id = $1 AND job_uuid = $2',
      [CONN, jobs[1]],
    );
    expect(left.rowCount).toBe(1);
    for (const stop of stops) stop();
  });

  it('asks nothing while no look is watched', async () => {
    const c = counted();
    const watch = createLookWatch(c.pool, 10);
    const stop = watch.watch(CONN, crypto.randomUUID(), () => undefined);
    await waitFor('a tick', async () => c.statements() >= 1);
    stop();
    const after = c.statements();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(c.statements()).toBeLessThanOrEqual(after + 1);
  });
});
