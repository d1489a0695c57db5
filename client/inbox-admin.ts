/**
 * Operating the webhook inbox (OPS-2): what is waiting or stuck, putting a stuck event back in the queue,
 * and retention. `pending` rows are never deleted (work still to do); `routed` ones go after
 * INBOX_RETENTION_DAYS, `failed` / `unrouted` ones after the longer INBOX_FAILED_RETENTION_DAYS, which
 * leaves support time to retry them. Expired OAuth states go with the same hourly clean-up.
 */
import type { Pool } from 'pg';
import type { InboxRow, InboxState } from './webhook-inbox';

export const INBOX_STATES: readonly InboxState[] = ['pending', 'routed', 'unrouted', 'failed'];

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
 */
export async function cleanupInbox(
  pool: Pool,
  retention: InboxRetention,
): Promise<{ inbox: number; dedupeIds: number; failed: number }> {
  const inbox = await pool.query(
    `DELETE FROM webhook_inbox WHERE state = 'routed' AND routed_at < now() - ${days}`,
    [retention.routedDays],
  );
  // A retry moves next_attempt_at: a row someone retried recently is not old.
  const failed = await pool.query(
    `DELETE FROM webhook_inbox
      WHERE state IN ('failed', 'unrouted') AND GREATEST(received_at, next_attempt_at) < now() - ${days}`,
    [retention.failedDays],
  );
  const events = await pool.query(`DELETE FROM webhook_events WHERE received_at < now() - ${days}`, [
    retention.routedDays,
  ]);
  return { inbox: inbox.rowCount ?? 0, dedupeIds: events.rowCount ?? 0, failed: failed.rowCount ?? 0 };
}

/** A day after it expired, an OAuth state (used or not) only answers "expired" either way: it goes. */
export const OAUTH_STATE_GRACE_HOURS = 24;

export async function cleanupOAuthStates(pool: Pool): Promise<number> {
  const r = await pool.query(
    `DELETE FROM oauth_states WHERE expires_at < now() - make_interval(hours => $1)`,
    [OAUTH_STATE_GRACE_HOURS],
  );
  return r.rowCount ?? 0;
}
