/**
 * What the polling activities share (activities/poll-servicem8.ts, poll-quickbooks.ts, reconcile.ts): their
 * result types, the time helpers of the watermarks, heart-beating in batches, and routing to owners.
 */
import { ANNOUNCED_WITHIN_MS } from '../../domain/poll-cadence';
import { isIgnored, routeEntityEvent, type EntityEvent } from '../../routing/routes';
import { writeAudit } from '../../store/audit';
import { unannouncedChanges } from '../../store/inbox';
import type { ActivityDeps } from './deps';
import { heartbeat, taskQueue, temporalClient } from './temporal';

export type EntityRef = Omit<EntityEvent, 'connectionId'>;

/** First pass of a connection: changes this far back are looked at (the workflow input may say otherwise). */
export const DEFAULT_BACKFILL_MS = 10 * 60_000;
export const ROUTE_CONCURRENCY = 10;
/** Results list at most this many ids (the full count is always given): workflow histories stay small. */
export const LISTED_IDS = 100;

// ---------------------------------------------------------------------------------------------------
// Time helpers (pure, exported for tests)

/** ServiceM8 "YYYY-MM-DD HH:MM:SS" moved by deltaMs as wall-clock arithmetic (no zone involved). */
export function shiftSm8Time(value: string, deltaMs: number): string {
  const ms = Date.parse(`${value.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) throw new Error(`not a ServiceM8 timestamp: "${value}"`);
  return new Date(ms + deltaMs).toISOString().slice(0, 19).replace('T', ' ');
}

/** An ISO instant moved by deltaMs, keeping the UTC offset it was written with (QuickBooks style). */
export function shiftIsoKeepingOffset(iso: string, deltaMs: number): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not an ISO date-time: "${iso}"`);
  return isoWithOffset(ms + deltaMs, iso);
}

/** Formats ms (second precision, rounded down) with the offset found at the end of `like` (Z when none). */
export function isoWithOffset(ms: number, like: string): string {
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(like);
  if (!m) return `${new Date(ms).toISOString().slice(0, 19)}Z`;
  const offsetMin = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return `${new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19)}${m[1]}${m[2]}:${m[3]}`;
}

// ---------------------------------------------------------------------------------------------------
// Results

export interface PollSideResult {
  /** Set when this side was not polled (not connected); nothing else is then meaningful. */
  skipped?: string;
  /** The instant the pass read from (watermark minus overlap, or the first-pass backfill). */
  from: string | null;
  /** The watermark after the pass. */
  watermark: string | null;
  /** Records read (after de-duplication by id). */
  read: number;
  /** Of those, new or changed since the previous pass (not already seen in the overlap). */
  changed: number;
  /** Routed to their owning workflow. */
  routed: number;
  /** The first routed ids (job uuids, QuickBooks invoice ids). */
  routedIds: string[];
  /** Changed but not routed: not approved and unknown (ServiceM8), QuickBooks-born (INV-8). */
  ignored: number;
  /** Routed changes no webhook announced (adaptive polling, domain/poll-cadence.ts). */
  unannounced: number;
  /** ServiceM8: the figures of each object read (`job`, …); the fields above are their sums. */
  objects?: Record<string, PollObjectResult>;
  /** Changes of entities no workflow owns yet: counted, not routed (QuickBooks entity names). */
  collected?: Record<string, number>;
  /** False when another pass moved the watermark meanwhile (ours was dropped). */
  stored: boolean;
  /** Something may have been missed (CDC look-back exceeded or a page could not advance). */
  gap?: string;
}

export interface PollObjectResult {
  from: string;
  watermark: string;
  read: number;
  changed: number;
  routed: number;
  ignored: number;
  unannounced: number;
  stored: boolean;
}

/** Runs fn over items, `limit` at a time, heart-beating between batches. */
export async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) {
    await Promise.all(items.slice(i, i + limit).map(fn));
    heartbeat({ routed: Math.min(i + limit, items.length), of: items.length });
  }
}

/** The result fields of a pass that read nothing (yet). */
export function emptyPass() {
  return {
    from: null,
    watermark: null,
    read: 0,
    changed: 0,
    routed: 0,
    routedIds: [] as string[],
    ignored: 0,
    unannounced: 0,
  };
}

/** Routing to owners and audit rows, for the polling activities. */
export function pollTools(deps: ActivityDeps) {
  const temporal = () => temporalClient(deps, 'poll routing');

  async function audit(
    connectionId: string,
    action: string,
    entity: { type: string | null; ref: string | null },
    detail: Record<string, unknown>,
  ): Promise<void> {
    await writeAudit(deps.pool, {
      connectionId,
      entityType: entity.type,
      entityRef: entity.ref,
      action,
      detail,
    });
  }

  /** Routes events to their owners; returns the ids of the records whose owner was woken. */
  async function routeAll(connectionId: string, refs: EntityRef[]): Promise<string[]> {
    const routing = { temporal: temporal(), links: deps.links, taskQueue: taskQueue(), pool: deps.pool };
    const woken: string[] = [];
    await inBatches(refs, ROUTE_CONCURRENCY, async (ref) => {
      // Nobody waits on what a poll finds: owners look at it behind what people wait for (issue 12).
      const result = await routeEntityEvent(routing, { ...ref, connectionId, background: true });
      if (!isIgnored(result)) woken.push(ref.entityId);
    });
    return woken;
  }

  /** How many of the routed records no webhook announced (domain/poll-cadence.ts ANNOUNCED_WITHIN_MS). */
  async function countUnannounced(
    connectionId: string,
    source: EntityRef['source'],
    routed: ReadonlyArray<{ entity: string; entityId: string }>,
  ): Promise<number> {
    return (await unannouncedChanges(deps.pool, connectionId, source, routed, ANNOUNCED_WITHIN_MS)).length;
  }

  return { temporal, audit, routeAll, countUnannounced };
}
