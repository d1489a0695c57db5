/**
 * PAY-3 with issue 12's kept views (store/payment-views.ts), on the real PostgreSQL: a full read of a side
 * never puts back what was learnt after it started. The short soak found a QuickBooks payment deleted while
 * its job's owner was reading QuickBooks' side: the read, which still listed it, put its view back, the owner
 * then saw it as applied, and its ServiceM8 copy was never removed.
 */
import crypto from 'node:crypto';
import { createPool } from '../../infra/database';
import {
  databaseNow,
  paymentSideStates,
  paymentViews,
  putPaymentView,
  replacePaymentSide,
  viewsOfRecord,
} from '../../store/payment-views';
import { testEnv } from '../helpers/env';

const pool = createPool(testEnv.databaseUrl, 2);
const CONN = `views-${crypto.randomBytes(3).toString('hex')}`;
const JOB = crypto.randomUUID();

beforeAll(async () => {
  await pool.query('INSERT INTO connections (id, name) VALUES ($1, $1)', [CONN]);
});
afterAll(async () => {
  await pool.query('DELETE FROM connections WHERE id = $1', [CONN]);
  await pool.end();
});

describe('payment views: a full read and what was learnt meanwhile', () => {
  it('PAY-3: a payment deleted while a full read that still listed it ran stays gone', async () => {
    await replacePaymentSide(
      pool,
      CONN,
      JOB,
      'qbo',
      [{ id: '11', view: { id: '11', amountCents: 733 } }],
      await databaseNow(pool),
    );
    expect(await paymentViews(pool, CONN, JOB, 'qbo')).toHaveLength(1);

    // The owner's read starts and lists payment 11; the bookkeeper deletes it; the router records that.
    const readStarted = await databaseNow(pool);
    const listed = [
      { id: '11', view: { id: '11', amountCents: 733 } },
      { id: '18', view: { id: '18', amountCents: 905 } },
    ];
    await putPaymentView(pool, CONN, JOB, 'qbo', '11', null);
    await replacePaymentSide(pool, CONN, JOB, 'qbo', listed, readStarted);

    expect(await paymentViews(pool, CONN, JOB, 'qbo')).toEqual([{ id: '18', amountCents: 905 }]);
    expect(await viewsOfRecord(pool, CONN, 'qbo', '11')).toEqual([]);
    expect((await paymentSideStates(pool, CONN, JOB)).qbo).toEqual({ known: true, dirty: false });

    // A read started after the deletion no longer lists it, and leaves no trace of it.
    await replacePaymentSide(
      pool,
      CONN,
      JOB,
      'qbo',
      [listed[1] as (typeof listed)[number]],
      await databaseNow(pool),
    );
    const rows = await pool.query(
      'SELECT record_id FROM payment_views WHERE connection_id = $1 AND job_uuid = $2',
      [CONN, JOB],
    );
    expect(rows.rows.map((r) => r.record_id)).toEqual(['18']);
  });

  it('a record put back after it was gone (moved back to this invoice) is seen again', async () => {
    const job = crypto.randomUUID();
    await putPaymentView(pool, CONN, job, 'qbo', '30', null);
    expect(await paymentViews(pool, CONN, job, 'qbo')).toEqual([]);
    await putPaymentView(pool, CONN, job, 'qbo', '30', { id: '30', amountCents: 100 });
    expect(await paymentViews(pool, CONN, job, 'qbo')).toEqual([{ id: '30', amountCents: 100 }]);
    expect(await viewsOfRecord(pool, CONN, 'qbo', '30')).toEqual([{ id: '30', amountCents: 100 }]);
  });
});
