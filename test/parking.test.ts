/**
 * Issue 12, "Parking": owners on a paused connection park (CON-3) without taking an API permit. Before,
 * each owner took a ServiceM8 permit before finding the connection paused, so 1,000 owners parked at the
 * pace of the budget (320 after 126 s). Here the budget is cut to 10 calls a minute: 40 owners taking a
 * permit each would need four minutes; refused before the permit, they park in seconds.
 */
import crypto from 'node:crypto';
import { signalInvoice } from '../routing/routes';
import { startWorld, type World } from './helpers/world';
import { waitFor } from './helpers/wait';

const CONN = 'parking';
const OWNERS = 40;
let w: World;

beforeAll(async () => {
  w = await startWorld({ governorLimits: { sm8: { perMinute: 10 } } });
  await w.connect(CONN);
});
afterAll(async () => {
  await w.close();
});

const permits = async () =>
  Number(
    (
      await w.h.pool.query<{ n: string }>('SELECT count(*) AS n FROM rate_permits WHERE connection_id = $1', [
        CONN,
      ])
    ).rows[0]?.n,
  );

describe('CON-3 / issue 12: parking on a paused connection', () => {
  it('CON-3: many owners on a paused connection park within seconds and take no API permit', async () => {
    await w.h.deps.store.setStatus(CONN, 'paused', 'paused by the bookkeeper');
    const before = await permits();
    const jobs = Array.from({ length: OWNERS }, () => crypto.randomUUID());
    const started = Date.now();
    await Promise.all(
      jobs.map((job) => signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged')),
    );
    await waitFor(
      `all ${OWNERS} owners to park`,
      async () => {
        const { rows } = await w.h.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM invoice_exports
            WHERE connection_id = $1 AND job_uuid = ANY ($2) AND state = 'WAITING_FOR_REAUTH'`,
          [CONN, jobs],
        );
        return Number(rows[0]?.n) === OWNERS;
      },
      30_000,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(30);
    expect(await permits()).toBe(before);
    console.log(
      `${OWNERS} owners parked in ${seconds.toFixed(1)} s, ${(await permits()) - before} permits taken`,
    );
  }, 90_000);
});
