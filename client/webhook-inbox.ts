/**
 * The webhook inbox (TRG-1: an event is never lost, even when Temporal is briefly down).
 *
 * A webhook request stores each accepted event in PostgreSQL (`webhook_inbox`, deduplicated through
 * `webhook_events`) BEFORE it answers 200, then tries to route it (signal-with-start of the owner
 * workflow). Whatever could not be routed stays `pending`; the relay (`startInboxRelay`, run by every API
 * process) routes pending events oldest first, backing off while Temporal is unreachable.
 *
 * Rows are claimed with a lease (`next_attempt_at` moved into the future) so that the request that stored
 * an event and any relay never route it at the same time; a process that dies mid-route leaves a lease
 * that simply expires. The relay also applies the retention (client/inbox-admin.ts) at most once an hour,
 * expired OAuth states included.
 */
import type { Client } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../infra/database';
import type { Logger } from '../infra/log';
import { countWebhookReceipt, observeWebhookLag } from '../infra/metrics';
import { cleanupInbox, cleanupOAuthStates } from './inbox-admin';
import { hasOwner, PermanentRoutingError, routeEntityEvent, type RoutingDeps } from '../routing/routes';
import type { LazyTemporal } from './temporal-client';

export type InboxSource = 'qbo' | 'sm8';
export type InboxState = 'pending' | 'routed' | 'unrouted' | 'failed';

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
});

const COLUMNS =
  'id, source, connection_id, event_id, entity, entity_id, operation, state, attempts, last_error, routed_to';

/** How long a router owns the rows it claimed; after that another router may take them. */
export const DEFAULT_LEASE_MS = 30_000;

/** Wakes the owner of one stored event; returns the workflow id, or why no workflow needed waking. */
export async function routeRow(deps: RoutingDeps, row: InboxRow): Promise<string> {
  if (!row.connectionId) throw new PermanentRoutingError('the event belongs to no connection');
  return routeEntityEvent(deps, {
    source: row.source,
    entity: row.entity,
    connectionId: row.connectionId,
    entityId: row.entityId,
    operation: row.operation,
  });
}

/** Temporal refusing the request itself (gRPC INVALID_ARGUMENT) will not get better by retrying. */
function isPermanent(err: unknown): boolean {
  if (err instanceof PermanentRoutingError) return true;
  const codes = [err, (err as { cause?: unknown } | null)?.cause].map(
    (e) => (e as { code?: unknown } | null)?.code,
  );
  return codes.includes(3);
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 1000);
}

export interface RecordResult {
  /** Newly stored rows, in the order of the body (duplicates excluded). */
  stored: InboxRow[];
  duplicates: number;
}

/**
 * Stores events in one transaction, dropping the ones already received (`webhook_events`). Events with an
 * owner and a connection are stored `pending` and claimed for `leaseMs` by the caller, which routes them
 * right away; the others are stored `unrouted`. Events say "look at X" (the owner reads the truth), so an
 * event routed at once may overtake an older one still waiting in the inbox without harm.
 */
export async function recordEvents(
  pool: Pool,
  events: InboxEventInput[],
  leaseMs = DEFAULT_LEASE_MS,
): Promise<RecordResult> {
  if (events.length === 0) return { stored: [], duplicates: 0 };
  const counted: Array<[string, string | null]> = []; // counted once committed
  const result = await withTransaction(pool, async (db) => {
    const stored: InboxRow[] = [];
    let duplicates = 0;
    for (const e of events) {
      const row = await insertOne(db, e, leaseMs);
      if (row) stored.push(row);
      else duplicates += 1;
      counted.push([e.source, row?.state ?? null]);
    }
    return { stored, duplicates };
  });
  for (const [source, state] of counted) countWebhookReceipt(source, state);
  return result;
}

async function insertOne(client: PoolClient, e: InboxEventInput, leaseMs: number): Promise<InboxRow | null> {
  const fresh = await client.query(
    `INSERT INTO webhook_events (source, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
    [e.source, e.eventId],
  );
  if (fresh.rowCount === 0) return null;
  const routable = e.connectionId !== null && hasOwner(e.source, e.entity);
  const note = routable
    ? null
    : e.connectionId === null
      ? 'no connection matches this event'
      : `no workflow owns ${e.source} ${e.entity} events yet`;
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
      routable ? 'pending' : 'unrouted',
      note,
      leaseMs,
    ],
  );
  return r.rows[0] ? toRow(r.rows[0]) : null;
}

export interface RouteOutcome {
  routed: number;
  failed: number;
  /** Rows left pending (a transient failure stopped the run; the relay will retry them). */
  pending: number;
  lastError: string | null;
}

const pendingInOrder = (rows: InboxRow[]) =>
  rows.filter((r) => r.state === 'pending').sort((a, b) => Number(a.id) - Number(b.id));

/**
 * Routes claimed pending rows in order. The first transient failure (Temporal unreachable) stops the run:
 * that row and every later one are released for the relay, so events keep their order. A permanent
 * failure marks only that row `failed`.
 */
export async function routeRows(pool: Pool, deps: RoutingDeps, rows: InboxRow[]): Promise<RouteOutcome> {
  const outcome: RouteOutcome = { routed: 0, failed: 0, pending: 0, lastError: null };
  const ordered = pendingInOrder(rows);
  for (let i = 0; i < ordered.length; i += 1) {
    const row = ordered[i] as InboxRow;
    try {
      const routedTo = await routeRow(deps, row);
      const routed = await pool.query<{ lag: string }>(
        `UPDATE webhook_inbox SET state = 'routed', routed_to = $2, routed_at = now(), attempts = attempts + 1,
                last_error = NULL WHERE id = $1 AND state = 'pending' RETURNING extract(epoch FROM routed_at - received_at) AS lag`,
        [row.id, routedTo],
      );
      observeWebhookLag(row.source, routed.rows);
      outcome.routed += 1;
    } catch (err) {
      const message = describe(err);
      outcome.lastError = message;
      if (isPermanent(err)) {
        await pool.query(
          `UPDATE webhook_inbox SET state = 'failed', attempts = attempts + 1, last_error = $2
            WHERE id = $1 AND state = 'pending'`,
          [row.id, message],
        );
        outcome.failed += 1;
        continue;
      }
      outcome.pending = await deferRows(pool, ordered.slice(i), message);
      break;
    }
  }
  return outcome;
}

/**
 * Gives claimed rows back to the relay after a transient failure: the first (the one that was tried) counts
 * an attempt and keeps the error; all are due again at once. Returns how many rows were deferred.
 */
async function deferRows(pool: Pool, rows: InboxRow[], message: string): Promise<number> {
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

/** What routing needs when Temporal is connected on demand (the API's client, see temporal-client.ts). */
export interface LazyRoutingDeps extends Omit<RoutingDeps, 'temporal'> {
  temporal: LazyTemporal;
}

/** routeRows once Temporal is reachable; otherwise every row is deferred to the relay, in order. */
export async function routeRowsWhenReachable(
  pool: Pool,
  deps: LazyRoutingDeps,
  rows: InboxRow[],
): Promise<RouteOutcome> {
  let temporal: Client;
  try {
    temporal = await deps.temporal.get();
  } catch (err) {
    const message = describe(err);
    const pending = await deferRows(pool, pendingInOrder(rows), message);
    return { routed: 0, failed: 0, pending, lastError: message };
  }
  return routeRows(pool, { ...deps, temporal }, rows);
}

/** Claims up to `limit` due pending rows, oldest first. */
export async function claimDue(pool: Pool, limit: number, leaseMs = DEFAULT_LEASE_MS): Promise<InboxRow[]> {
  const r = await pool.query<Row>(
    `UPDATE webhook_inbox SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
      WHERE id IN (SELECT id FROM webhook_inbox
                    WHERE state = 'pending' AND next_attempt_at <= now()
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING ${COLUMNS}`,
    [limit, leaseMs],
  );
  return r.rows.map(toRow).sort((a, b) => Number(a.id) - Number(b.id));
}

const CLEANUP_EVERY_MS = 3_600_000;

export interface InboxRelayOptions extends LazyRoutingDeps {
  /** Routed rows and dedupe ids older than this many days are deleted, at most once an hour. */
  retentionDays: number;
  /** Failed and unrouted rows untouched for this many days are deleted too (default 30). */
  failedRetentionDays?: number;
  /** Pause between passes while all is well (default 1 s). */
  intervalMs?: number;
  /** Longest pause while routing keeps failing (default 30 s); the pause doubles from intervalMs. */
  maxBackoffMs?: number;
  /** Rows per pass (default 100); a full pass is followed at once by the next. */
  batchSize?: number;
  leaseMs?: number;
  log?: Pick<Logger, 'info' | 'warn'>;
}

/**
 * Routes pending inbox rows until stopped: oldest first, with exponential backoff while Temporal (or
 * PostgreSQL) is unreachable. Returns a function that stops the relay after its current pass.
 */
export function startInboxRelay(opts: InboxRelayOptions): () => Promise<void> {
  const interval = opts.intervalMs ?? 1000;
  const maxBackoff = Math.max(interval, opts.maxBackoffMs ?? 30_000);
  const batch = opts.batchSize ?? 100;
  let failures = 0;
  let stopped = false;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let running: Promise<void> = Promise.resolve();

  const pass = async (): Promise<{ ok: boolean; full: boolean }> => {
    try {
      const rows = await claimDue(opts.pool, batch, opts.leaseMs);
      if (rows.length === 0) return { ok: true, full: false };
      const outcome = await routeRowsWhenReachable(opts.pool, opts, rows);
      if (outcome.pending > 0) {
        if (!failing)
          opts.log?.warn(
            `webhook inbox: ${outcome.pending} event(s) wait for Temporal: ${outcome.lastError ?? ''}`,
          );
        return { ok: false, full: false };
      }
      if (failing) opts.log?.info(`webhook inbox: routing again (${outcome.routed} event(s) routed)`);
      return { ok: true, full: rows.length >= batch };
    } catch (err) {
      if (!failing) opts.log?.warn(`webhook inbox relay: ${describe(err)}`);
      return { ok: false, full: false };
    }
  };

  let nextCleanup = 0;
  const cleanup = async () => {
    if (Date.now() < nextCleanup) return;
    nextCleanup = Date.now() + CLEANUP_EVERY_MS;
    try {
      const failedDays = opts.failedRetentionDays ?? 30;
      const removed = await cleanupInbox(opts.pool, { routedDays: opts.retentionDays, failedDays });
      if (removed.inbox + removed.dedupeIds > 0)
        opts.log?.info(
          `webhook inbox: removed ${removed.inbox} routed event(s) and ${removed.dedupeIds} dedupe id(s) older than ${opts.retentionDays} day(s)`,
        );
      if (removed.failed > 0)
        opts.log?.info(
          `webhook inbox: removed ${removed.failed} failed or unrouted event(s) untouched for ${failedDays} day(s)`,
        );
      await cleanupOAuthStates(opts.pool);
    } catch (err) {
      opts.log?.warn(`webhook inbox cleanup: ${describe(err)}`);
    }
  };

  const loop = async () => {
    while (!stopped) {
      await cleanup();
      const { ok, full } = await pass();
      failing = !ok;
      failures = ok ? 0 : failures + 1;
      const delay = Math.min(maxBackoff, interval * 2 ** Math.min(failures, 20));
      if (stopped) break;
      if (full) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, delay);
      });
      wake = undefined;
    }
  };
  running = loop();

  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    wake?.();
    await running;
  };
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
