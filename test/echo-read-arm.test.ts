/**
 * Issue 12, CM-2: the echoes of our own writes wake the connection's bulk read once, not once per echo
 * (store/record-cache.ts armEchoRead, migrations/016). A router that arms it signals; the others do not,
 * until the read disarms before it takes the marks, or an arm is old enough to have lost its signal.
 */
import crypto from 'node:crypto';
import { createPool } from '../infra/database';
import { armEchoRead, disarmEchoRead, ECHO_READ_ARM_STALE_MS } from '../store/record-cache';
import { testEnv } from './helpers/env';

const pool = createPool(testEnv.databaseUrl, 4);
const connection = `echo-arm-${crypto.randomUUID()}`;

beforeAll(async () => {
  await pool.query('INSERT INTO connections (id, name) VALUES ($1, $1)', [connection]);
});
afterAll(async () => {
  await pool.query('DELETE FROM connections WHERE id = $1', [connection]);
  await pool.end();
});

describe('issue 12: one wake of the bulk read for a burst of echoes', () => {
  it('CM-2: of 20 echoes routed at once, one arms the read (and signals); after the read disarms, the next echo arms it again', async () => {
    const armed = await Promise.all(Array.from({ length: 20 }, () => armEchoRead(pool, connection)));
    expect(armed.filter(Boolean)).toHaveLength(1);
    expect(await armEchoRead(pool, connection)).toBe(false);
    await disarmEchoRead(pool, connection);
    expect(await armEchoRead(pool, connection)).toBe(true);
  });

  it('CM-2: an arm whose signal may have been lost (older than the stale limit) is taken again', async () => {
    await pool.query(
      `UPDATE cm_read_armed SET armed_at = clock_timestamp() - make_interval(secs => $2::double precision / 1000 + 1)
        WHERE connection_id = $1`,
      [connection, ECHO_READ_ARM_STALE_MS],
    );
    expect(await armEchoRead(pool, connection)).toBe(true);
    expect(await armEchoRead(pool, connection)).toBe(false);
  });
});
