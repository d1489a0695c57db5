/**
 * The payments of one job's invoice as last read or written, per side and record (issue 12, tables
 * `payment_views` and `payment_sides`), so a payments owner reads only what changed. A side is `known` after
 * a full read (or when the sync made it: a new invoice has no QuickBooks payments); `dirty` asks for a full
 * read again. Records read by the payment router's look-up, and the answers of our own writes, are put in
 * one by one. A full read never overwrites what was put in or marked after it started, and that includes a
 * record known gone (a QuickBooks payment deleted while a read that still listed it ran): it is kept as a
 * tombstone, a row whose view is JSON `null`, until a full read started after it (the soak found the deleted
 * payment's view put back by such a read, and its ServiceM8 copy was never removed).
 */
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../infra/database';

type Db = Pool | PoolClient;

export type PaymentSide = 'sm8' | 'qbo';

export interface SideState {
  known: boolean;
  dirty: boolean;
}

export async function paymentSideStates(
  db: Db,
  connectionId: string,
  jobUuid: string,
): Promise<Record<PaymentSide, SideState>> {
  const r = await db.query<{ side: PaymentSide; known: boolean; dirty: boolean }>(
    'SELECT side, known, dirty FROM payment_sides WHERE connection_id = $1 AND job_uuid = $2',
    [connectionId, jobUuid],
  );
  const out: Record<PaymentSide, SideState> = {
    sm8: { known: false, dirty: true },
    qbo: { known: false, dirty: true },
  };
  for (const row of r.rows) out[row.side] = { known: row.known, dirty: row.dirty };
  return out;
}

export async function paymentViews<V>(
  db: Db,
  connectionId: string,
  jobUuid: string,
  side: PaymentSide,
): Promise<V[]> {
  const r = await db.query<{ view: V }>(
    `SELECT view FROM payment_views WHERE connection_id = $1 AND job_uuid = $2 AND side = $3
        AND view <> 'null'::jsonb
      ORDER BY updated_at, record_id`,
    [connectionId, jobUuid, side],
  );
  return r.rows.map((row) => row.view);
}

/** One record's views, in every job it was last seen in. */
export async function viewsOfRecord<V>(
  db: Db,
  connectionId: string,
  side: PaymentSide,
  recordId: string,
): Promise<V[]> {
  const r = await db.query<{ view: V }>(
    `SELECT view FROM payment_views
      WHERE connection_id = $1 AND side = $2 AND record_id = $3 AND view <> 'null'::jsonb`,
    [connectionId, side, recordId],
  );
  return r.rows.map((row) => row.view);
}

/** The jobs whose kept views of `side` hold the record (a tombstone holds nothing). */
export async function jobsWithView(
  db: Db,
  connectionId: string,
  side: PaymentSide,
  recordId: string,
): Promise<string[]> {
  const r = await db.query<{ job_uuid: string }>(
    `SELECT DISTINCT job_uuid FROM payment_views
      WHERE connection_id = $1 AND side = $2 AND record_id = $3 AND view <> 'null'::jsonb`,
    [connectionId, side, recordId],
  );
  return r.rows.map((row) => row.job_uuid);
}

/** Asks for a full read of one side (an event the router could not describe). */
export async function markPaymentSideDirty(
  db: Db,
  connectionId: string,
  jobUuid: string,
  side: PaymentSide,
): Promise<void> {
  await db.query(
    `INSERT INTO payment_sides (connection_id, job_uuid, side, known, dirty, marked_at)
       VALUES ($1, $2, $3, false, true, clock_timestamp())
       ON CONFLICT (connection_id, job_uuid, side) DO UPDATE SET dirty = true, marked_at = clock_timestamp()`,
    [connectionId, jobUuid, side],
  );
}

/** One record as just read or written (view null: it no longer belongs to this job's side, a tombstone). */
export async function putPaymentView(
  db: Db,
  connectionId: string,
  jobUuid: string,
  side: PaymentSide,
  recordId: string,
  view: unknown,
): Promise<void> {
  await db.query(
    `INSERT INTO payment_views (connection_id, job_uuid, side, record_id, view, updated_at)
       VALUES ($1, $2, $3, $4, $5, clock_timestamp())
       ON CONFLICT (connection_id, job_uuid, side, record_id) DO UPDATE SET
         view = EXCLUDED.view, updated_at = clock_timestamp()`,
    [connectionId, jobUuid, side, recordId, JSON.stringify(view)],
  );
}

/**
 * A full read of one side, started at `startedAt`: it replaces what was there before it started (rows put
 * in or a dirty mark made after it started stay), and the side is known.
 */
export async function replacePaymentSide(
  pool: Pool,
  connectionId: string,
  jobUuid: string,
  side: PaymentSide,
  records: Array<{ id: string; view: unknown }>,
  startedAt: Date,
): Promise<void> {
  await withTransaction(pool, async (db) => {
    await db.query(
      `DELETE FROM payment_views WHERE connection_id = $1 AND job_uuid = $2 AND side = $3 AND updated_at < $4`,
      [connectionId, jobUuid, side, startedAt],
    );
    for (const r of records)
      await db.query(
        `INSERT INTO payment_views (connection_id, job_uuid, side, record_id, view, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [connectionId, jobUuid, side, r.id, JSON.stringify(r.view), startedAt],
      );
    await db.query(
      `INSERT INTO payment_sides (connection_id, job_uuid, side, known, dirty, marked_at)
         VALUES ($1, $2, $3, true, false, $4)
         ON CONFLICT (connection_id, job_uuid, side) DO UPDATE SET known = true,
           dirty = payment_sides.dirty AND payment_sides.marked_at >= $4`,
      [connectionId, jobUuid, side, startedAt],
    );
  });
}

/** Now the database's clock (full reads compare with its timestamps, not the worker's). */
export async function databaseNow(db: Db): Promise<Date> {
  const r = await db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return r.rows[0]?.now ?? new Date();
}

/**
 * PAY-6 with PAY-8: per job, the unapplied rest (the customer's credit) of the QuickBooks payments the sync
 * sent from that job's ServiceM8 payments and that still apply to its invoice, as last read or written: the
 * nightly check adds it to what the invoice received, so a ServiceM8 overpayment is no drift. From the kept
 * views, no API call; a view gone stale shows as drift and wakes the job's owner, whose read corrects it.
 */
export async function unappliedCreditByJob(db: Db, connectionId: string): Promise<Map<string, number>> {
  const r = await db.query<{ job_uuid: string; cents: string }>(
    `SELECT v.job_uuid, SUM((v.view->>'unappliedCents')::bigint) AS cents
       FROM payment_views v
       JOIN payment_links l ON l.connection_id = v.connection_id AND l.job_uuid = v.job_uuid
        AND l.qbo_payment_id = v.record_id AND l.origin = 'sm8' AND l.state = 'linked'
      WHERE v.connection_id = $1 AND v.side = 'qbo' AND v.view ? 'unappliedCents'
        AND (v.view->>'amountCents')::bigint > 0 AND (v.view->>'unappliedCents')::bigint > 0
      GROUP BY v.job_uuid`,
    [connectionId],
  );
  return new Map(r.rows.map((row) => [row.job_uuid, Number(row.cents)]));
}
