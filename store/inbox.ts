/**
 * The webhook inbox in PostgreSQL (TRG-1, OPS-2): every statement on `webhook_inbox` and its dedupe table
 * `webhook_events`. client/webhook-inbox.ts decides what to store and routes the rows; the admin routes
 * list and retry them. `pending` rows are never deleted (work still to do); `routed` ones go after
 * INBOX_RETENTION_DAYS, `failed` / `unrouted` ones after the longer INBOX_FAILED_RETENTION_DAYS, which
 * leaves support time to retry them.
 */
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../infra/database';

export type InboxSource = 'qbo' | 'sm8';
export type InboxState = 'pending' | 'routed' | 'unrouted' | 'failed';

export const INBOX_STATES: readonly InboxState[] = ['pending', 'routed', 'unrouted', 'failed'];

/** One event as parsed from a webhook body, before it is stored. */
export interface InboxEventInput {
  source: InboxSource;
  /** null: no connection matches (e.g. a QuickBooks company nobody connected); recorded, never routed. */
  connectionId: string | null;
  /** Dedupe key: the CloudEvents id, or one derived from the event's content. */
  eventId: string;
  /** Lower-case entity/object name: 'invoice', 'payment', 'job', 'jobpayment', … */
  entity: string;
  entityId: string;
  /** Normalised verb: created, updated, deleted, merged, voided, emailed (QBO); null for ServiceM8. */
  operation: string | null;
  payload: unknown;
}

export interface InboxRow {
  id: string;
  source: InboxSource;
  connectionId: string | null;
  eventId: string;
  entity: string;
  entityId: string;
  operation: string | null;
  state: InboxState;
  attempts: number;
  lastError: string | null;
  routedTo: string | null;
  /**
   * When the change was made, as the event says it (ServiceM8 `entry.time`, QuickBooks `lastUpdated` or the
   * CloudEvent's `time`), or null: a hint for recognising the echo of our own write (issue 12).
   */
  changedAt: string | null;
  /** The event as received (issue 12: its changed fields or time tell the router an echo of our own write). */
  payload?: unknown;
}

interface Row {
  id: string;
  source: InboxSource;
  connection_id: string | null;
  event_id: string;
  entity: string;
  entity_id: string;
  operation: string | null;
  state: InboxState;
  attempts: number;
  last_error: string | null;
  routed_to: string | null;
  changed_at: string | null;
  payload?: unknown;
}

const toRow = (r: Row): InboxRow => ({
  id: String(r.id),
  source: r.source,
  connectionId: r.connection_id,
  eventId: r.event_id,
  entity: r.entity,
  entityId: r.entity_id,
  operation: r.operation,
  state: r.state,
  attempts: r.attempts,
  lastError: r.last_error,
  routedTo: r.routed_to,
  changedAt: r.changed_at,
  payload: r.payload,
});

const COLUMNS = `id, source, connection_id, event_id, entity, entity_id, operation, state, attempts, last_error, routed_to, payload,
  COALESCE(payload->'entry'->>'time', payload->>'lastUpdated', payload->>'time') AS changed_at`;

export interface RecordResult {
  /** Newly stored rows, in the order of the body (duplicates excluded). */
  stored: InboxRow[];
  duplicates: number;
}

/**
 * An event to store: `unroutedBecause` null stores it `pending` (claimed for the lease, its caller routes
 * it at once); a reason stores it `unrouted` with that reason.
 */
export interface InboxInsert {
  event: InboxEventInput;
  unroutedBecause: string | null;
}

/** Stores events in one transaction, dropping the ones already received (`webhook_events`). */
export async function insertInboxEvents(
  pool: Pool,
  events: InboxInsert[],
  leaseMs: number,
): Promise<RecordResult> {
  if (events.length === 0) return { stored: [], duplicates: 0 };
  return withTransaction(pool, async (db) => {
    const stored: InboxRow[] = [];
    let duplicates = 0;
    for (const e of events) {
      const row = await insertOne(db, e, leaseMs);
      if (row) stored.push(row);
      else duplicates += 1;
    }
    return { stored, duplicates };
  });
}

async function insertOne(
  client: PoolClient,
  { event: e, unroutedBecause: note }: InboxInsert,
  leaseMs: number,
): Promise<InboxRow | null> {
  const fresh = await client.query(
    `INSERT INTO webhook_events (source, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
    [e.source, e.eventId],
  );
  if (fresh.rowCount === 0) return e.source === 'sm8' ? rearm(client, e, leaseMs) : null;
  const r = await client.query<Row>(
    `INSERT INTO webhook_inbox
       (source, connection_id, event_id, entity, entity_id, operation, payload, state, last_error, next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, now() + make_interval(secs => $10::double precision / 1000))
     ON CONFLICT (source, event_id) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      e.source,
      e.connectionId,
      e.eventId,
      e.entity,
      e.entityId,
      e.operation,
      JSON.stringify(e.payload ?? null),
      note === null ? 'pending' : 'unrouted',
      note,
      leaseMs,
    ],
  );
  return r.rows[0] ? toRow(r.rows[0]) : null;
}

/**
 * A ServiceM8 event id seen before: ServiceM8 sends no event id, ours is the record, the second and the
 * changed fields (client/webhook-routes.ts sm8EventId), so a second edit of the same fields within the same
 * second repeats the id. While the first is still pending it is a duplicate (its owner has not looked yet and
 * will see both edits); once routed, its owner may have read the record between the two edits, so the row is
 * due again and routed once more (one more look; a real duplicate delivered late costs that look too).
 */
async function rearm(client: PoolClient, e: InboxEventInput, leaseMs: number): Promise<InboxRow | null> {
  const r = await client.query<Row>(
    `UPDATE webhook_inbox SET state = 'pending', received_at = now(), payload = $3::jsonb,
            next_attempt_at = now() + make_interval(secs => $4::double precision / 1000)
      WHERE source = $1 AND event_id = $2 AND state = 'routed'
      RETURNING ${COLUMNS}`,
    [e.source, e.eventId, JSON.stringify(e.payload ?? null), leaseMs],
  );
  return r.rows[0] ? toRow(r.rows[0]) : null;
}

/** A claimed pending row reached its owner. */
export async function markInboxRowRouted(pool: Pool, id: string, routedTo: string): Promise<number | null> {
  const r = await pool.query<{ lag: string }>(
    `UPDATE webhook_inbox SET state = 'routed', routed_to = $2, routed_at = now(), attempts = attempts + 1,
            last_error = NULL WHERE id = $1 AND state = 'pending'
     RETURNING extract(epoch FROM routed_at - received_at) AS lag`,
    [id, routedTo],
  );
  // Seconds from receipt to routing (the metrics' webhook lag); null when another router got there first.
  return r.rows[0] ? Number(r.rows[0].lag) : null;
}

/** A claimed pending row can never be routed (the reason is kept for support). */
export async function markInboxRowFailed(pool: Pool, id: string, message: string): Promise<void> {
  await pool.query(
    `UPDATE webhook_inbox SET state = 'failed', attempts = attempts + 1, last_error = $2
      WHERE id = $1 AND state = 'pending'`,
    [id, message],
  );
}

/**
 * Gives claimed rows back to the relay after a transient failure: the first (the one that was tried) counts
 * an attempt and keeps the error; all are due again at once. Returns how many rows were deferred.
 */
export async function deferInboxRows(pool: Pool, rows: InboxRow[], message: string): Promise<number> {
  const [first, ...rest] = rows;
  if (!first) return 0;
  await pool.query(
    `UPDATE webhook_inbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = now()
      WHERE id = $1 AND state = 'pending'`,
    [first.id, message],
  );
  if (rest.length) {
    await pool.query(
      `UPDATE webhook_inbox SET next_attempt_at = now() WHERE id = ANY($1::bigint[]) AND state = 'pending'`,
      [rest.map((r) => r.id)],
    );
  }
  return rows.length;
}

/** Claims up to `limit` due pending rows for `leaseMs`, oldest first. */
export async function claimDue(
  pool: Pool,
  limit: number,
  leaseMs: number,
  connectionIds?: readonly string[],
): Promise<InboxRow[]> {
  const r = await pool.query<Row>(
    `UPDATE webhook_inbox SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
      WHERE id IN (SELECT id FROM webhook_inbox
                    WHERE state = 'pending' AND next_attempt_at <= now()
                      AND ($3::text[] IS NULL OR connection_id = ANY($3::text[]))
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING ${COLUMNS}`,
    [limit, leaseMs, connectionIds ?? null],
  );
  return r.rows.map(toRow).sort((a, b) => Number(a.id) - Number(b.id));
}

/** Inbox rows of one entity, newest last (for support and tests). */
export async function inboxRowsFor(
  pool: Pool,
  connectionId: string,
  entity: string,
  entityId: string,
): Promise<InboxRow[]> {
  const r = await pool.query<Row>(
    `SELECT ${COLUMNS} FROM webhook_inbox WHERE connection_id = $1 AND entity = $2 AND entity_id = $3 ORDER BY id`,
    [connectionId, entity, entityId],
  );
  return r.rows.map(toRow);
}

// ---- operating the inbox (OPS-2): listing, retrying, retention ----------------------------------------------

export interface InboxListing {
  /** Rows per state, over the whole inbox (or the connection asked for). */
  counts: Record<InboxState, number>;
  rows: Array<Omit<InboxRow, 'eventId'> & { receivedAt: string; routedAt: string | null }>;
}

/** The newest rows matching the filters, and the counts by state. */
export async function listInbox(
  pool: Pool,
  filter: { state?: InboxState; connection?: string; limit: number },
): Promise<InboxListing> {
  const rows = await pool.query<InboxListing['rows'][number]>(
    `SELECT id::text AS id, source, connection_id AS "connectionId", entity, entity_id AS "entityId", operation,
            state, attempts, last_error AS "lastError", routed_to AS "routedTo",
            to_json(received_at) #>> '{}' AS "receivedAt", to_json(routed_at) #>> '{}' AS "routedAt"
       FROM webhook_inbox
      WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR connection_id = $2)
      ORDER BY id DESC LIMIT $3`,
    [filter.state ?? null, filter.connection ?? null, filter.limit],
  );
  const counts = await pool.query<{ state: InboxState; n: number }>(
    `SELECT state, count(*)::int AS n FROM webhook_inbox
      WHERE ($1::text IS NULL OR connection_id = $1) GROUP BY state`,
    [filter.connection ?? null],
  );
  return {
    counts: Object.fromEntries(
      INBOX_STATES.map((s) => [s, counts.rows.find((r) => r.state === s)?.n ?? 0]),
    ) as Record<InboxState, number>,
    rows: rows.rows,
  };
}

export type RetryOutcome =
  | { retried: true; id: string; previousState: InboxState }
  | { retried: false; reason: 'not-found' }
  | { retried: false; reason: 'wrong-state'; state: InboxState };

/**
 * Puts a `failed` or `unrouted` row back to `pending`, due now: the inbox relay routes it (or, if its
 * entity still has no owner, marks it `failed` with the reason). Other states are left alone.
 */
export async function retryInboxRow(pool: Pool, id: string): Promise<RetryOutcome> {
  const r = await pool.query<{ previous: InboxState }>(
    `UPDATE webhook_inbox i SET state = 'pending', next_attempt_at = now()
       FROM (SELECT id, state AS previous FROM webhook_inbox WHERE id = $1 FOR UPDATE) old
      WHERE i.id = old.id AND old.previous IN ('failed', 'unrouted')
      RETURNING old.previous`,
    [id],
  );
  const previous = r.rows[0]?.previous;
  if (previous) return { retried: true, id, previousState: previous };
  const now = await pool.query<{ state: InboxState }>('SELECT state FROM webhook_inbox WHERE id = $1', [id]);
  const state = now.rows[0]?.state;
  return state ? { retried: false, reason: 'wrong-state', state } : { retried: false, reason: 'not-found' };
}

export interface InboxRetention {
  /** Days a routed row and a dedupe id are kept. */
  routedDays: number;
  /** Days a failed or unrouted row is kept after its last attempt. */
  failedDays: number;
}

const days = 'make_interval(secs => $1::double precision * 86400)';

/**
 * Deletes routed rows and dedupe ids (`webhook_events`) older than the retention, and failed / unrouted
 * rows untouched for longer than theirs. A redelivery older than that is then accepted again, which is
 * harmless: an event only wakes the owner, which reads the truth.
 *
 * `connectionIds`: only those connections' rows (a relay scoped to them, InboxRelayOptions): a dedupe id
 * then goes with its inbox row (a dedupe id has no connection of its own; one without a row is left to an
 * unscoped clean-up).
 */
export async function cleanupInbox(
  pool: Pool,
  retention: InboxRetention,
  connectionIds?: readonly string[],
): Promise<{ inbox: number; dedupeIds: number; failed: number }> {
  const scope = connectionIds ?? null;
  // Dedupe ids first: a scoped clean-up finds them through the rows it is about to delete.
  const events = await pool.query(
    `DELETE FROM webhook_events e WHERE e.received_at < now() - ${days}
        AND ($2::text[] IS NULL OR EXISTS (
              SELECT 1 FROM webhook_inbox i
               WHERE i.source = e.source AND i.event_id = e.event_id AND i.connection_id = ANY($2::text[])))`,
    [retention.routedDays, scope],
  );
  const inbox = await pool.query(
    `DELETE FROM webhook_inbox WHERE state = 'routed' AND routed_at < now() - ${days}
        AND ($2::text[] IS NULL OR connection_id = ANY($2::text[]))`,
    [retention.routedDays, scope],
  );
  // A retry moves next_attempt_at: a row someone retried recently is not old.
  const failed = await pool.query(
    `DELETE FROM webhook_inbox
      WHERE state IN ('failed', 'unrouted') AND GREATEST(received_at, next_attempt_at) < now() - ${days}
        AND ($2::text[] IS NULL OR connection_id = ANY($2::text[]))`,
    [retention.failedDays, scope],
  );
  return { inbox: inbox.rowCount ?? 0, dedupeIds: events.rowCount ?? 0, failed: failed.rowCount ?? 0 };
}

/**
 * CM-10: the payload of the newest QuickBooks `merged` event stored for one record (legacy `deletedId`; in
 * CloudEvents `data.deletedId`), or undefined when none is stored.
 */
export async function latestMergePayload(
  pool: Pool,
  connectionId: string,
  entity: string,
  entityId: string,
): Promise<{ deletedId?: unknown; data?: { deletedId?: unknown } } | undefined> {
  const r = await pool.query<{ payload: { deletedId?: unknown; data?: { deletedId?: unknown } } }>(
    `SELECT payload FROM webhook_inbox
      WHERE source = 'qbo' AND connection_id = $1 AND entity = $2 AND entity_id = $3 AND operation = 'merged'
      ORDER BY id DESC LIMIT 1`,
    [connectionId, entity, entityId],
  );
  return r.rows[0]?.payload;
}

/**
 * Adaptive polling (domain/poll-cadence.ts): of the records a poll pass found changed, those for which no
 * webhook was received within the last `withinMs` (unannounced changes suggest a gap in the webhooks).
 */
export async function unannouncedChanges(
  pool: Pool,
  connectionId: string,
  source: InboxSource,
  changed: ReadonlyArray<{ entity: string; entityId: string }>,
  withinMs: number,
): Promise<Array<{ entity: string; entityId: string }>> {
  if (!changed.length) return [];
  const r = await pool.query<{ entity: string; entity_id: string }>(
    `SELECT DISTINCT entity, entity_id FROM webhook_inbox
      WHERE connection_id = $1 AND source = $2 AND received_at > now() - make_interval(secs => $3)
        AND (entity, entity_id) IN (SELECT * FROM unnest($4::text[], $5::text[]))`,
    [connectionId, source, withinMs / 1000, changed.map((c) => c.entity), changed.map((c) => c.entityId)],
  );
  const announced = new Set(r.rows.map((row) => `${row.entity}\u0000${row.entity_id}`));
  return changed.filter((c) => !announced.has(`${c.entity}\u0000${c.entityId}`));
}
