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
 * that simply expires. The relay also applies the retention (store/inbox.ts) at most once an hour, expired
 * OAuth states (store/oauth-states.ts) included. Every statement lives in store/.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from '../infra/log';
import { countWebhookReceipts, observeWebhookLag } from '../infra/metrics';
import {
  claimDue,
  cleanupInbox,
  deferInboxRows,
  insertInboxEvents,
  markInboxRowFailed,
  markInboxRowRouted,
  type InboxEventInput,
  type InboxRow,
  type RecordResult,
} from '../store/inbox';
import { cleanupOAuthStates } from '../store/oauth-states';
import { hintOfPayload } from '../routing/echoes';
import { hasOwner, PermanentRoutingError, routeEntityEvent, type RoutingDeps } from '../routing/routes';
import type { LazyTemporal } from './temporal-client';

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
    changedAt: row.changedAt,
    hint: hintOfPayload(row.source, row.payload),
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
  const result = await insertInboxEvents(
    pool,
    events.map((e) => ({ event: e, unroutedBecause: unroutedBecause(e) })),
    leaseMs,
  );
  // Counted once committed; the events of one call come from one sender, so duplicates share its source.
  countWebhookReceipts(result.stored, result.duplicates, events[0]?.source ?? 'unknown');
  return result;
}

/** Why an event cannot be routed, or null when it can. */
function unroutedBecause(e: InboxEventInput): string | null {
  if (e.connectionId !== null && hasOwner(e.source, e.entity)) return null;
  return e.connectionId === null
    ? 'no connection matches this event'
    : `no workflow owns ${e.source} ${e.entity} events yet`;
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
      observeWebhookLag(row.source, await markInboxRowRouted(pool, row.id, routedTo));
      outcome.routed += 1;
    } catch (err) {
      const message = describe(err);
      outcome.lastError = message;
      if (isPermanent(err)) {
        await markInboxRowFailed(pool, row.id, message);
        outcome.failed += 1;
        continue;
      }
      outcome.pending = await deferInboxRows(pool, ordered.slice(i), message);
      break;
    }
  }
  return outcome;
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
    const pending = await deferInboxRows(pool, pendingInOrder(rows), message);
    return { routed: 0, failed: 0, pending, lastError: message };
  }
  return routeRows(pool, { ...deps, temporal }, rows);
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
  /**
   * Only these connections' events (default: every connection; a product owns its database). Test worlds
   * share one database, and each relay must route, and clean up, only its own world's events.
   */
  connectionIds?: readonly string[];
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
      const rows = await claimDue(opts.pool, batch, opts.leaseMs ?? DEFAULT_LEASE_MS, opts.connectionIds);
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
      const removed = await cleanupInbox(
        opts.pool,
        { routedDays: opts.retentionDays, failedDays },
        opts.connectionIds,
      );
      if (removed.inbox + removed.dedupeIds > 0)
        opts.log?.info(
          `webhook inbox: removed ${removed.inbox} routed event(s) and ${removed.dedupeIds} dedupe id(s) older than ${opts.retentionDays} day(s)`,
        );
      if (removed.failed > 0)
        opts.log?.info(
          `webhook inbox: removed ${removed.failed} failed or unrouted event(s) untouched for ${failedDays} day(s)`,
        );
      await cleanupOAuthStates(opts.pool, opts.connectionIds);
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
