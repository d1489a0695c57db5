/**
 * TRG-2, QuickBooks side of the polling safety net (activities/poll.ts describes the watermarks): CDC.
 */
import type { EventHint } from '../routing/echoes';
import { hasOwner } from '../routing/routes';
import { sentInQbo } from '../domain/invoice/sent';
import { memoSaysVoided, zeroedInvoice, zeroedPayment, type QboVoidable } from '../domain/invoice/voids';
import type { QboEntityName } from '../domain/quickbooks-types';
import { readWatermark, writeWatermark } from '../store/watermarks';
import type { ActivityDeps } from './support/deps';
import { heartbeat } from './support/temporal';
import { QuickBooksClient } from '../apis/quickbooks/client';
import {
  DEFAULT_BACKFILL_MS,
  emptyPass,
  isoWithOffset,
  LISTED_IDS,
  pollTools,
  shiftIsoKeepingOffset,
  type EntityRef,
  type PollSideResult,
} from './support/polling';

export const QBO_CDC_STREAM = 'qbo:cdc';
/** QuickBooks overlap behind the last CDC `time` (writes in flight when that answer was made). */
export const QBO_OVERLAP_MS = 2 * 60_000;
/** First pass of a connection: changes this far back are looked at (the workflow input may say otherwise). */
/** CDC looks back at most 30 days; stay a little inside that. */
export const CDC_LOOKBACK_MS = 30 * 24 * 3_600_000 - 10 * 60_000;
/** CDC answers hold at most 1000 objects across all entities. */
export const CDC_MAX_OBJECTS = 1000;
/** Entities read by CDC. Those without an owner (routing/routes.ts) are counted, not routed. */
export const CDC_ENTITIES: QboEntityName[] = ['Invoice', 'Payment', 'Customer', 'Item'];
const CDC_MAX_PAGES = 20;

interface CdcRecord extends QboVoidable {
  Id?: string;
  SyncToken?: string;
  status?: string;
  MetaData?: { LastUpdatedTime?: string };
  EmailStatus?: string;
  PrintStatus?: string;
}

/**
 * What a poll hit tells the router about the change (routing/echoes.ts EventHint): its time and SyncToken, and
 * for an invoice whether the record shows it sent (INV-7), so a change in nothing the invoice owner follows
 * (a payment moving its balance) wakes nobody. None for a delete or a void, nor for an invoice whose memo
 * may say voided (its owner reads it: domain/invoice/voids.ts).
 */
function hintOf(entity: string, record: CdcRecord): EventHint | undefined {
  const time = record.MetaData?.LastUpdatedTime;
  const syncToken = record.SyncToken;
  if (!time || !syncToken) return undefined;
  if (entity !== 'invoice' || memoSaysVoided(record)) return { time, syncToken };
  return { time, syncToken, sent: sentInQbo(record) };
}

/** The changed records of a CDC answer, per entity (shape: CDCResponse[].QueryResponse[].{Entity: [...]}). */
function cdcRecords(res: { CDCResponse?: unknown }): Array<{ entity: string; record: CdcRecord }> {
  const out: Array<{ entity: string; record: CdcRecord }> = [];
  const blocks = Array.isArray(res.CDCResponse) ? res.CDCResponse : [];
  for (const block of blocks as Array<{ QueryResponse?: unknown }>) {
    const slots = Array.isArray(block.QueryResponse) ? block.QueryResponse : [];
    for (const slot of slots as Array<Record<string, unknown>>) {
      for (const [key, value] of Object.entries(slot)) {
        if (!Array.isArray(value)) continue;
        for (const record of value as CdcRecord[]) out.push({ entity: key, record });
      }
    }
  }
  return out;
}

/**
 * INV-10, PAY-3: CDC returns a voided invoice or payment whole, in the void's zeroed shape (no tombstone, no
 * status): routed as a void, not as an update to be read again (domain/invoice/voids.ts).
 */
function voidedInCdc(entity: string, record: CdcRecord): 'voided' | null {
  if (entity === 'invoice' && zeroedInvoice(record)) return 'voided';
  if (entity === 'payment' && zeroedPayment(record)) return 'voided';
  return null;
}

export function createQuickBooksPollActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const { audit, routeAll, countUnannounced } = pollTools(deps);

  return {
    /**
     * TRG-2, QuickBooks side: CDC since the `qbo:cdc` watermark (minus the overlap, within the 30-day
     * look-back); routes every changed record some workflow owns (routing/routes.ts; their routers ignore
     * what is not theirs, e.g. QuickBooks-born invoices, INV-8); the answer's `time` becomes the next watermark. A capped answer (1000 objects) is paged on from the newest
     * LastUpdatedTime it holds.
     */
    async pollQuickBooksChanges(input: {
      connectionId: string;
      backfillMs?: number;
    }): Promise<PollSideResult> {
      const { connectionId } = input;
      const conn = await deps.store.require(connectionId);
      const empty = emptyPass();
      if (!conn.qboRealmId) return { ...empty, skipped: 'QuickBooks is not connected', stored: false };
      const qbo = qboFor(connectionId);
      const mark = await readWatermark(deps.pool, connectionId, QBO_CDC_STREAM);
      const now = Date.now();
      let gap: string | undefined;

      let from: string;
      if (mark) {
        from = shiftIsoKeepingOffset(mark.value, -QBO_OVERLAP_MS);
        if (Date.parse(from) < now - CDC_LOOKBACK_MS) {
          gap = `the last poll was before CDC's 30-day look-back (${mark.value}); changes before ${new Date(now - CDC_LOOKBACK_MS).toISOString()} were not read`;
          from = isoWithOffset(now - CDC_LOOKBACK_MS, mark.value);
        }
      } else {
        from = isoWithOffset(now - (input.backfillMs ?? DEFAULT_BACKFILL_MS), '');
      }

      // Read, paging on when an answer is capped; keep each record's latest version.
      const latest = new Map<string, { entity: string; record: CdcRecord }>();
      let since = from;
      let cursor: string | null = null;
      for (let page = 0; page < CDC_MAX_PAGES && cursor === null; page += 1) {
        const res = await qbo.cdc(CDC_ENTITIES, since);
        const records = cdcRecords(res);
        heartbeat({ page, read: records.length });
        let newestMs = Date.parse(since);
        let newestText = since;
        for (const r of records) {
          if (!r.record.Id) continue;
          latest.set(`${r.entity}:${r.record.Id}`, r);
          const t = r.record.MetaData?.LastUpdatedTime;
          const ms = t ? Date.parse(t) : NaN;
          if (!Number.isNaN(ms) && ms > newestMs) {
            newestMs = ms;
            newestText = t as string;
          }
        }
        if (records.length < CDC_MAX_OBJECTS) {
          cursor = typeof res.time === 'string' && res.time ? res.time : null;
          if (cursor === null) cursor = newestText; // no time in the answer: the newest change seen
          break;
        }
        if (newestMs <= Date.parse(since)) {
          // 1000 changes in one second: CDC cannot page past them. Step a second on and say so.
          gap = `more than ${CDC_MAX_OBJECTS} QuickBooks changes at ${since}; some may not have been read`;
          since = shiftIsoKeepingOffset(since, 1000);
        } else {
          since = newestText;
        }
      }
      if (cursor === null) cursor = since; // page limit reached: the next pass resumes from here

      const signature = (r: CdcRecord) =>
        `${r.MetaData?.LastUpdatedTime ?? ''}#${r.status === 'Deleted' ? 'deleted' : (r.SyncToken ?? '')}`;
      const changed = [...latest.entries()].filter(([key, r]) => mark?.seen[key] !== signature(r.record));
      const collected: Record<string, number> = {};
      const owned: EntityRef[] = [];
      for (const [, r] of changed) {
        const entity = r.entity.toLowerCase();
        if (hasOwner('qbo', entity)) {
          const operation = r.record.status === 'Deleted' ? 'deleted' : voidedInCdc(entity, r.record);
          // Issue 12: what the record says lets the router drop a hit that is news to nobody (routing/echoes.ts).
          const hint = operation === null ? hintOf(entity, r.record) : undefined;
          owned.push({
            source: 'qbo',
            entity,
            entityId: r.record.Id as string,
            operation,
            ...(hint ? { hint } : {}),
          });
        } else collected[r.entity] = (collected[r.entity] ?? 0) + 1;
      }
      const routedIds = await routeAll(connectionId, owned);
      const woken = new Set(routedIds);
      // A first pass reads back from before the connection existed: nothing then could have been announced.
      const unannounced = mark
        ? await countUnannounced(
            connectionId,
            'qbo',
            owned.filter((ref) => woken.has(ref.entityId)),
          )
        : 0;

      const keepFromMs = Date.parse(cursor) - QBO_OVERLAP_MS;
      const seen: Record<string, string> = {};
      for (const [key, r] of latest) {
        const t = Date.parse(r.record.MetaData?.LastUpdatedTime ?? '');
        if (!Number.isNaN(t) && t >= keepFromMs) seen[key] = signature(r.record);
      }
      if (gap)
        await audit(connectionId, 'poll_gap', { type: null, ref: QBO_CDC_STREAM }, { gap, from, cursor });
      const stored = await writeWatermark(deps.pool, connectionId, QBO_CDC_STREAM, mark?.value ?? null, {
        value: cursor,
        seen,
      });
      return {
        from,
        watermark: cursor,
        read: latest.size,
        changed: changed.length,
        routed: routedIds.length,
        routedIds: routedIds.slice(0, LISTED_IDS),
        ignored: owned.length - routedIds.length,
        unannounced,
        collected,
        stored,
        ...(gap ? { gap } : {}),
      };
    },
  };
}
