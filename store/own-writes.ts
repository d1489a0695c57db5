/**
 * Our own writes (issue 12): what the sync wrote and what the write answered, so that the echo of our own
 * write is known without reading the record back. One concept, two kinds, two tables:
 *
 * - **Own writes** to a job, an invoice or a payment (`OwnWrite`, table `own_writes`): the names of the
 *   fields we set and the answer (QuickBooks returns the whole object with SyncToken and LastUpdatedTime;
 *   ServiceM8 answers a create with the record's uuid). The owners then know the record without a
 *   read-back, and the router drops an event that only reports such a write (routing/echoes.ts): the echo
 *   is judged by the field names and QuickBooks' time and SyncToken. An `intent` row (answer null) is
 *   written before a create: a retry that finds one knows a create may already have happened and looks for
 *   its marker before creating again (INV-9, PAY-1).
 * - **Own record writes** to a customer or an item on either side (`OwnRecordWrite`, table
 *   `cm_written_state`, migrations/014; CM-2): the whole body we sent and the answer (ServiceM8: the uuid
 *   from x-record-uuid; QuickBooks: the object, with its SyncToken and LastUpdatedTime). The router asks
 *   whether an event is the echo of our write (routing/clients-materials.ts); the bulk read confirms it by
 *   comparing the whole body we sent with what it reads (activities/clients-materials/bulk-read.ts).
 *
 * The two tables stay apart because the two echoes are judged differently (field names and time versus the
 * whole body); the table `cm_written_state` keeps its old name (migrations are history).
 */
import type { Pool, PoolClient } from 'pg';
import type { RecordRef, RecordSide } from './record-cache';

type Db = Pool | PoolClient;

export type OwnWriteSide = 'sm8' | 'qbo';

export interface OwnWrite {
  side: OwnWriteSide;
  entity: string;
  recordId: string;
  /** The fields we sent (ServiceM8 names, or QuickBooks' top-level names). */
  fields: string[];
  /** What the write answered (QuickBooks: the object; ServiceM8: the values sent); null for an intent. */
  answer: Record<string, unknown> | null;
  syncToken: string | null;
  lastUpdated: string | null;
  writtenAt: Date;
}

interface OwnWriteRow {
  side: OwnWriteSide;
  entity: string;
  record_id: string;
  fields: string[];
  answer: Record<string, unknown> | null;
  sync_token: string | null;
  last_updated: string | null;
  written_at: Date;
}

const toOwnWrite = (r: OwnWriteRow): OwnWrite => ({
  side: r.side,
  entity: r.entity,
  recordId: r.record_id,
  fields: r.fields,
  answer: r.answer,
  syncToken: r.sync_token,
  lastUpdated: r.last_updated,
  writtenAt: r.written_at,
});

export async function recordOwnWrite(
  db: Db,
  connectionId: string,
  w: Omit<OwnWrite, 'writtenAt'>,
): Promise<void> {
  await db.query(
    `INSERT INTO own_writes (connection_id, side, entity, record_id, fields, answer, sync_token, last_updated)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (connection_id, side, entity, record_id) DO UPDATE SET
         fields = EXCLUDED.fields, answer = EXCLUDED.answer, sync_token = EXCLUDED.sync_token,
         last_updated = EXCLUDED.last_updated, written_at = now()`,
    [
      connectionId,
      w.side,
      w.entity,
      w.recordId,
      w.fields,
      w.answer === null ? null : JSON.stringify(w.answer),
      w.syncToken,
      w.lastUpdated,
    ],
  );
}

export async function ownWrite(
  db: Db,
  connectionId: string,
  side: OwnWriteSide,
  entity: string,
  recordId: string,
): Promise<OwnWrite | null> {
  const r = await db.query<OwnWriteRow>(
    `SELECT side, entity, record_id, fields, answer, sync_token, last_updated, written_at FROM own_writes
      WHERE connection_id = $1 AND side = $2 AND entity = $3 AND record_id = $4`,
    [connectionId, side, entity, recordId],
  );
  return r.rows[0] ? toOwnWrite(r.rows[0]) : null;
}

/**
 * Records that a create is about to be sent (`entity` suffixed `:intent`, keyed by our own key for the
 * record). Returns true when an earlier attempt had already recorded it: that create may have happened.
 */
export async function recordCreateIntent(
  db: Db,
  connectionId: string,
  side: OwnWriteSide,
  entity: string,
  key: string,
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO own_writes (connection_id, side, entity, record_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
    [connectionId, side, `${entity}:intent`, key],
  );
  return r.rowCount === 0;
}

// Own record writes: customers and items (table cm_written_state).

export interface OwnRecordWrite {
  side: RecordSide;
  object: string;
  recordId: string;
  /** The fields we sent (ServiceM8 body, QuickBooks sparse body). */
  sent: Record<string, unknown>;
  /** What the write answered (QuickBooks' object; ServiceM8 `{ uuid }`). */
  answer: Record<string, unknown> | null;
  syncToken: string | null;
  lastUpdated: string | null;
  writtenAt: Date;
}

interface OwnRecordWriteRow {
  side: RecordSide;
  object: string;
  record_id: string;
  sent: Record<string, unknown>;
  answer: Record<string, unknown> | null;
  sync_token: string | null;
  last_updated: string | null;
  written_at: Date;
}

const toOwnRecordWrite = (r: OwnRecordWriteRow): OwnRecordWrite => ({
  side: r.side,
  object: r.object,
  recordId: r.record_id,
  sent: r.sent,
  answer: r.answer,
  syncToken: r.sync_token,
  lastUpdated: r.last_updated,
  writtenAt: r.written_at,
});

/** Stores our own write to one customer or item record (the newest write replaces the one before). */
export async function recordOwnRecordWrite(
  pool: Pool,
  ref: RecordRef,
  write: {
    sent: Record<string, unknown>;
    answer?: Record<string, unknown> | null;
    syncToken?: string | null;
    lastUpdated?: string | null;
  },
): Promise<void> {
  await pool.query(
    `INSERT INTO cm_written_state
       (connection_id, side, object, record_id, sent, answer, sync_token, last_updated, written_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
     ON CONFLICT (connection_id, side, object, record_id) DO UPDATE
       SET sent = EXCLUDED.sent, answer = EXCLUDED.answer, sync_token = EXCLUDED.sync_token,
           last_updated = EXCLUDED.last_updated, written_at = EXCLUDED.written_at`,
    [
      ref.connectionId,
      ref.side,
      ref.object,
      ref.recordId,
      JSON.stringify(write.sent),
      write.answer ? JSON.stringify(write.answer) : null,
      write.syncToken ?? null,
      write.lastUpdated ?? null,
    ],
  );
}

/** Our own write to this record if made less than `windowMs` ago (by the database's clock), else null. */
export async function recentOwnRecordWrite(
  pool: Pool,
  ref: RecordRef,
  windowMs: number,
): Promise<OwnRecordWrite | null> {
  const r = await pool.query<OwnRecordWriteRow>(
    `SELECT side, object, record_id, sent, answer, sync_token, last_updated, written_at FROM cm_written_state
      WHERE connection_id = $1 AND side = $2 AND object = $3 AND record_id = $4
        AND written_at > clock_timestamp() - $5::int * interval '1 millisecond'`,
    [ref.connectionId, ref.side, ref.object, ref.recordId, windowMs],
  );
  return r.rows[0] ? toOwnRecordWrite(r.rows[0]) : null;
}

/** Our last own writes to these records of one object (any age), by record id. */
export async function ownRecordWritesOf(
  pool: Pool,
  connectionId: string,
  side: RecordSide,
  object: string,
  recordIds: string[],
): Promise<Map<string, OwnRecordWrite>> {
  if (!recordIds.length) return new Map();
  const r = await pool.query<OwnRecordWriteRow>(
    `SELECT side, object, record_id, sent, answer, sync_token, last_updated, written_at FROM cm_written_state
      WHERE connection_id = $1 AND side = $2 AND object = $3 AND record_id = ANY($4::text[])`,
    [connectionId, side, object, recordIds],
  );
  return new Map(r.rows.map((x) => [x.record_id, toOwnRecordWrite(x)]));
}
