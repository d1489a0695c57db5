/**
 * TRG-2, the polling safety net: what webhooks should have told us, read from both APIs since a stored
 * watermark, and routed to the owning workflows exactly like a webhook would (routing/routes.ts: events
 * only wake owners, so a pass that overlaps a webhook, another pass or itself costs a wasted look, never a
 * second export). Also the nightly reconciliation of exported invoice totals.
 *
 * Watermarks (table `watermarks`):
 *  - `sm8:<object>` (`sm8:job`, …: each ServiceM8 object some workflow owns): the newest `edit_date` seen
 *    (account-local "YYYY-MM-DD HH:MM:SS", the server's own clock and zone, so our clock never matters after
 *    the first pass). ServiceM8 filters only with `gt`
 *    at one-second resolution, so each pass re-reads an overlap before the watermark;
 *  - `qbo:cdc`: the `time` of the last complete CDC answer (QuickBooks' clock), read again with an overlap;
 *  - `<stream>:seen`: the records of the overlap window already routed, with a signature (edit_date + a
 *    fingerprint of the record; LastUpdatedTime + SyncToken), so the overlap is de-duplicated and a pass with
 *    nothing new routes nothing, while a second change within the same second is still seen.
 * A watermark moves only after routing, by compare-and-set: a crashed or concurrent pass re-reads, never skips.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import {
  hasOwner,
  isIgnored,
  routeEntityEvent,
  ROUTERS,
  signalInvoice,
  signalPayments,
  type EntityEvent,
  type InvoiceEvent,
} from '../routing/routes';
import { FailureType } from '../domain/failures';
import { fingerprint } from '../domain/fingerprint';
import { isApproved } from '../domain/invoice/plan';
import { formatMoney, toCents } from '../domain/money';
import type { QboEntityName } from '../domain/quickbooks-types';
import { flag, type Sm8Job, type Sm8JobPayment } from '../domain/servicem8-types';
import { sm8TimeIn } from '../domain/servicem8-time';
import { withTransaction } from '../infra/database';
import { writeAudit } from '../store/audit';
import type { ActivityDeps } from './index';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client, type ServiceM8Object } from '../apis/servicem8/client';

export { sm8TimeIn } from '../domain/servicem8-time';

export const SM8_JOB_STREAM = 'sm8:job';

/** The ServiceM8 objects a pass reads: those some workflow owns, jobs first. */
export function polledSm8Objects(): string[] {
  const objects = Object.keys(ROUTERS)
    .filter((key) => key.startsWith('sm8:'))
    .map((key) => key.slice(4));
  return objects.sort((a, b) => (a === 'job' ? -1 : b === 'job' ? 1 : a.localeCompare(b)));
}

/** What a pass needs of any ServiceM8 record. */
interface Sm8Record {
  uuid: string;
  edit_date?: string;
}

type EntityRef = Omit<EntityEvent, 'connectionId'>;
export const QBO_CDC_STREAM = 'qbo:cdc';

/**
 * ServiceM8 overlap: covers the one-second resolution, writes committed out of order, and a daylight-saving
 * fall-back of the account-local edit_date (up to an hour). Thanks to `:seen` it costs read volume only.
 */
export const SM8_OVERLAP_MS = 65 * 60_000;
/** QuickBooks overlap behind the last CDC `time` (writes in flight when that answer was made). */
export const QBO_OVERLAP_MS = 2 * 60_000;
/** First pass of a connection: changes this far back are looked at (the workflow input may say otherwise). */
export const DEFAULT_BACKFILL_MS = 10 * 60_000;
/** CDC looks back at most 30 days; stay a little inside that. */
export const CDC_LOOKBACK_MS = 30 * 24 * 3_600_000 - 10 * 60_000;
/** CDC answers hold at most 1000 objects across all entities. */
export const CDC_MAX_OBJECTS = 1000;
/** Entities read by CDC. Those without an owner (routing/routes.ts) are counted, not routed. */
export const CDC_ENTITIES: QboEntityName[] = ['Invoice', 'Payment', 'Customer', 'Item'];
const CDC_MAX_PAGES = 20;
const ROUTE_CONCURRENCY = 10;
/** Results list at most this many ids (the full count is always given): workflow histories stay small. */
const LISTED_IDS = 100;

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
function isoWithOffset(ms: number, like: string): string {
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(like);
  if (!m) return `${new Date(ms).toISOString().slice(0, 19)}Z`;
  const offsetMin = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return `${new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19)}${m[1]}${m[2]}:${m[3]}`;
}

// ---------------------------------------------------------------------------------------------------
// Watermarks

export interface Watermark {
  value: string;
  /** key -> signature of the records in the overlap window already routed. */
  seen: Record<string, string>;
}

export async function readWatermark(
  pool: Pool,
  connectionId: string,
  stream: string,
): Promise<Watermark | null> {
  const r = await pool.query<{ stream: string; value: string }>(
    'SELECT stream, value FROM watermarks WHERE connection_id = $1 AND stream IN ($2, $3)',
    [connectionId, stream, `${stream}:seen`],
  );
  const main = r.rows.find((x) => x.stream === stream);
  if (!main) return null;
  const seenRow = r.rows.find((x) => x.stream === `${stream}:seen`);
  let seen: Record<string, string> = {};
  try {
    seen = seenRow ? (JSON.parse(seenRow.value) as Record<string, string>) : {};
  } catch {
    seen = {}; // a damaged de-duplication set only costs a wasted look
  }
  return { value: main.value, seen };
}

/**
 * Compare-and-set: stores `next` only if the watermark is still `expected` (null = none yet). False when
 * another pass moved it meanwhile (its value stands; what we routed was routed, which is harmless).
 */
async function writeWatermark(
  pool: Pool,
  connectionId: string,
  stream: string,
  expected: string | null,
  next: Watermark,
): Promise<boolean> {
  return withTransaction(pool, async (db) => {
    const cur = await db.query<{ value: string }>(
      'SELECT value FROM watermarks WHERE connection_id = $1 AND stream = $2 FOR UPDATE',
      [connectionId, stream],
    );
    const current = cur.rows[0]?.value ?? null;
    if (current !== expected) return false;
    if (current === null) {
      const ins = await db.query(
        `INSERT INTO watermarks (connection_id, stream, value) VALUES ($1, $2, $3)
         ON CONFLICT (connection_id, stream) DO NOTHING`,
        [connectionId, stream, next.value],
      );
      if (!ins.rowCount) return false;
    } else {
      await db.query(
        'UPDATE watermarks SET value = $3, updated_at = now() WHERE connection_id = $1 AND stream = $2',
        [connectionId, stream, next.value],
      );
    }
    await db.query(
      `INSERT INTO watermarks (connection_id, stream, value) VALUES ($1, $2, $3)
       ON CONFLICT (connection_id, stream) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [connectionId, `${stream}:seen`, JSON.stringify(next.seen)],
    );
    return true;
  });
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
  stored: boolean;
}

export interface ReconcileDrift {
  kind: 'total_differs' | 'missing_in_qbo' | 'missing_in_sm8';
  jobUuid: string;
  qboInvoiceId: string;
  docNumber: string | null;
  sm8TotalCents: number | null;
  qboTotalCents: number | null;
}

/** PAY-6: what ServiceM8 (active payments) and QuickBooks (TotalAmt − Balance) say was paid on an invoice. */
export interface PaymentDrift {
  jobUuid: string;
  qboInvoiceId: string;
  sm8PaidCents: number;
  qboPaidCents: number;
}

export interface ReconcileResult {
  checked: number;
  /** Invoices with neither a total nor a payment drift. */
  inStep: number;
  driftCount: number;
  /** The first drifts (all of them are in audit_log). */
  drift: ReconcileDrift[];
  /** PAY-6: invoices whose payments disagree (audit_log `reconcile_payment_drift`); the first of them. */
  paymentDriftCount: number;
  paymentDrift: PaymentDrift[];
  /** Owners woken to look again (a missed ServiceM8 change then re-syncs, INV-6). */
  woken: number;
}

function taskQueue(): string {
  return Context.current().info.taskQueue;
}

function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity (direct calls in tests)
  }
}

/** Runs fn over items, `limit` at a time, heart-beating between batches. */
async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) {
    await Promise.all(items.slice(i, i + limit).map(fn));
    heartbeat({ routed: Math.min(i + limit, items.length), of: items.length });
  }
}

interface CdcRecord {
  Id?: string;
  SyncToken?: string;
  status?: string;
  MetaData?: { LastUpdatedTime?: string };
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

/** The result fields of a pass that read nothing (yet). */
function emptyPass() {
  return {
    from: null,
    watermark: null,
    read: 0,
    changed: 0,
    routed: 0,
    routedIds: [] as string[],
    ignored: 0,
  };
}

export function createPollActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);

  function temporal() {
    if (!deps.temporal) {
      throw ApplicationFailure.create({
        type: 'MisconfiguredWorker',
        message: 'poll routing needs a Temporal client in the activity dependencies (workers/sync-worker.ts)',
        nonRetryable: true,
      });
    }
    return deps.temporal;
  }

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
      const result = await routeEntityEvent(routing, { ...ref, connectionId });
      if (!isIgnored(result)) woken.push(ref.entityId);
    });
    return woken;
  }

  /** Changed jobs worth a workflow: approved ones, and those the sync already knows (invoice_exports). */
  async function jobsToRoute(connectionId: string, changed: Sm8Job[]): Promise<Sm8Job[]> {
    if (!changed.length) return [];
    const r = await deps.pool.query<{ job_uuid: string }>(
      'SELECT job_uuid FROM invoice_exports WHERE connection_id = $1 AND job_uuid = ANY($2::text[])',
      [connectionId, changed.map((j) => j.uuid)],
    );
    const known = new Set(r.rows.map((row) => row.job_uuid));
    return changed.filter((job) => isApproved(job) || known.has(job.uuid));
  }

  async function wakePayments(connectionId: string, uuids: string[]): Promise<void> {
    const client = temporal();
    const queue = taskQueue();
    await inBatches(uuids, ROUTE_CONCURRENCY, async (uuid) => {
      await signalPayments(client, queue, connectionId, uuid);
    });
  }

  async function routeJobs(connectionId: string, uuids: string[], event: InvoiceEvent): Promise<void> {
    const client = temporal();
    const queue = taskQueue();
    await inBatches(uuids, ROUTE_CONCURRENCY, async (uuid) => {
      await signalInvoice(client, queue, connectionId, uuid, event);
    });
  }

  /** The account's time zone (vendor.timezone_name), for the very first pass only. */
  async function sm8TimeZone(sm8: ServiceM8Client): Promise<string | null> {
    const vendors = await sm8.list<{ timezone_name?: string }>('vendor');
    const zone = vendors[0]?.timezone_name;
    if (!zone) return null;
    try {
      sm8TimeIn(new Date(), zone);
      return zone;
    } catch {
      return null;
    }
  }

  return {
    /**
     * TRG-2, ServiceM8 side: for every object some workflow owns (routing/routes.ts ROUTERS; jobs first),
     * the records edited since that object's watermark `sm8:<object>` (minus the overlap), de-duplicated by
     * uuid, are routed, then the watermark advances. Jobs are routed only when approved or already known to
     * the sync (invoice_exports): an unapproved job nobody exported needs no workflow.
     */
    async pollServiceM8Changes(input: {
      connectionId: string;
      backfillMs?: number;
    }): Promise<PollSideResult> {
      const { connectionId } = input;
      const conn = await deps.store.require(connectionId);
      const empty = emptyPass();
      if (!conn.sm8AuthKind) return { ...empty, skipped: 'ServiceM8 is not connected', stored: false };
      const sm8 = sm8For(connectionId);
      let firstFrom: string | undefined;
      const firstPassFrom = async (): Promise<string> => {
        if (firstFrom) return firstFrom;
        // First pass: edit_date is account-local (UNCONFIRMED): start from the earlier of that zone's and
        // UTC's wall time, so a wrong guess about the zone reads more, never nothing.
        const start = new Date(Date.now() - (input.backfillMs ?? DEFAULT_BACKFILL_MS));
        const zone = await sm8TimeZone(sm8);
        const utc = sm8TimeIn(start, 'UTC');
        const local = zone ? sm8TimeIn(start, zone) : shiftSm8Time(utc, -14 * 3_600_000);
        firstFrom = local < utc ? local : utc;
        return firstFrom;
      };

      const result: PollSideResult = { ...empty, stored: true, objects: {} };
      for (const object of polledSm8Objects()) {
        const stream = `sm8:${object}`;
        const mark = await readWatermark(deps.pool, connectionId, stream);
        const from = mark ? shiftSm8Time(mark.value, -SM8_OVERLAP_MS) : await firstPassFrom();
        const records = await sm8.list<Sm8Record>(object as ServiceM8Object, [
          { field: 'edit_date', op: 'gt', value: from },
        ]);
        heartbeat({ object, read: records.length });
        const latest = new Map<string, Sm8Record>();
        for (const rec of records) {
          const prev = latest.get(rec.uuid);
          if (!prev || (rec.edit_date ?? '') >= (prev.edit_date ?? '')) latest.set(rec.uuid, rec);
        }
        const signature = (rec: Sm8Record) => `${rec.edit_date ?? ''}#${fingerprint(rec).slice(0, 8)}`;
        const changed = [...latest.values()].filter((rec) => mark?.seen[rec.uuid] !== signature(rec));
        const toRoute = object === 'job' ? await jobsToRoute(connectionId, changed as Sm8Job[]) : changed;
        const routedIds = await routeAll(
          connectionId,
          toRoute.map((rec) => ({ source: 'sm8', entity: object, entityId: rec.uuid, operation: null })),
        );

        let newest = mark?.value ?? from;
        for (const rec of latest.values())
          if (rec.edit_date && rec.edit_date > newest) newest = rec.edit_date;
        const keepFrom = shiftSm8Time(newest, -SM8_OVERLAP_MS);
        const seen: Record<string, string> = {};
        for (const rec of latest.values())
          if ((rec.edit_date ?? '') > keepFrom) seen[rec.uuid] = signature(rec);
        const stored = await writeWatermark(deps.pool, connectionId, stream, mark?.value ?? null, {
          value: newest,
          seen,
        });

        const part = {
          from,
          watermark: newest,
          read: latest.size,
          changed: changed.length,
          routed: routedIds.length,
          ignored: changed.length - routedIds.length,
          stored,
        };
        (result.objects as Record<string, PollObjectResult>)[object] = part;
        if (object === 'job' || result.from === null) {
          result.from = from;
          result.watermark = newest;
        }
        result.read += part.read;
        result.changed += part.changed;
        result.routed += part.routed;
        result.ignored += part.ignored;
        result.routedIds.push(...routedIds.slice(0, LISTED_IDS - result.routedIds.length));
        result.stored = result.stored && stored;
      }
      return result;
    },

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
          const operation = r.record.status === 'Deleted' ? 'deleted' : null;
          owned.push({ source: 'qbo', entity, entityId: r.record.Id as string, operation });
        } else collected[r.entity] = (collected[r.entity] ?? 0) + 1;
      }
      const routedIds = await routeAll(connectionId, owned);

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
        collected,
        stored,
        ...(gap ? { gap } : {}),
      };
    },

    /**
     * Nightly reconciliation: for every exported invoice (invoice_exports EXPORTED), QuickBooks TotalAmt
     * (batched `Id IN (…)` queries, ≤ 1000 ids each) against ServiceM8 total_invoice_amount (one filtered
     * list of approved jobs, plus single reads for the few not in it). Each drift is an audit_log row
     * `reconcile_drift` with both figures; with `wake`, the invoice's owner is asked to look again.
     * PAY-6 in the same pass: the sum of the job's active ServiceM8 payments (one filtered list) against what
     * QuickBooks applied to the invoice (TotalAmt − Balance, from the same invoice query: no extra call); each
     * difference is an audit_log row `reconcile_payment_drift` and wakes the job's payments owner.
     */
    async reconcileInvoices(input: { connectionId: string; wake?: boolean }): Promise<ReconcileResult> {
      const { connectionId } = input;
      const rows = (
        await deps.pool.query<{ job_uuid: string; qbo_invoice_id: string; generated_job_id: string | null }>(
          `SELECT job_uuid, qbo_invoice_id, generated_job_id FROM invoice_exports
            WHERE connection_id = $1 AND state = 'EXPORTED' AND qbo_invoice_id IS NOT NULL
            ORDER BY job_uuid`,
          [connectionId],
        )
      ).rows;
      if (!rows.length)
        return {
          checked: 0,
          inStep: 0,
          driftCount: 0,
          drift: [],
          paymentDriftCount: 0,
          paymentDrift: [],
          woken: 0,
        };

      const qbo = qboFor(connectionId);
      const qboTotals = new Map<
        string,
        { cents: number | null; docNumber: string | null; paidCents: number | null }
      >();
      for (let i = 0; i < rows.length; i += 1000) {
        const ids = rows.slice(i, i + 1000).map((r) => `'${r.qbo_invoice_id.replace(/'/g, "\\'")}'`);
        const found = await qbo.query<
          'Invoice',
          { Id: string; TotalAmt?: number; Balance?: number; DocNumber?: string }
        >('Invoice', `SELECT * FROM Invoice WHERE Id IN (${ids.join(', ')}) MAXRESULTS 1000`);
        for (const inv of found) {
          const cents = toCents(inv.TotalAmt ?? 0);
          const balance = toCents(inv.Balance ?? 0);
          qboTotals.set(inv.Id, {
            cents,
            docNumber: inv.DocNumber ?? null,
            paidCents: cents === null || balance === null ? null : cents - balance,
          });
        }
        heartbeat({ qbo: Math.min(i + 1000, rows.length), of: rows.length });
      }

      const sm8 = sm8For(connectionId);
      const jobs = new Map<string, Sm8Job>();
      for (const job of await sm8.list<Sm8Job>('job', [{ field: 'payment_processed', op: 'eq', value: 1 }]))
        jobs.set(job.uuid, job);
      heartbeat({ sm8: jobs.size });
      for (const r of rows) {
        if (jobs.has(r.job_uuid)) continue;
        try {
          jobs.set(r.job_uuid, await sm8.read<Sm8Job>('job', r.job_uuid));
        } catch (err) {
          if (!(err instanceof ApplicationFailure && err.type === FailureType.notFound)) throw err;
        }
      }

      const sm8Paid = new Map<string, number>();
      for (const p of await sm8.list<Sm8JobPayment>('jobpayment', [
        { field: 'active', op: 'eq', value: 1 },
      ])) {
        if (!flag(p.active)) continue;
        sm8Paid.set(p.job_uuid, (sm8Paid.get(p.job_uuid) ?? 0) + (toCents(p.amount) ?? 0));
      }
      heartbeat({ sm8Payments: sm8Paid.size });

      const drifts: ReconcileDrift[] = [];
      const paymentDrifts: PaymentDrift[] = [];
      for (const r of rows) {
        const q = qboTotals.get(r.qbo_invoice_id);
        const job = jobs.get(r.job_uuid);
        const sm8Cents = job ? toCents(job.total_invoice_amount) : null;
        const base = {
          jobUuid: r.job_uuid,
          qboInvoiceId: r.qbo_invoice_id,
          docNumber: q?.docNumber ?? r.generated_job_id,
          sm8TotalCents: sm8Cents,
          qboTotalCents: q?.cents ?? null,
        };
        if (!q) drifts.push({ kind: 'missing_in_qbo', ...base });
        else if (!job) drifts.push({ kind: 'missing_in_sm8', ...base });
        else if (sm8Cents !== q.cents) drifts.push({ kind: 'total_differs', ...base });
        const sm8PaidCents = sm8Paid.get(r.job_uuid) ?? 0;
        if (q && job && q.paidCents !== null && q.paidCents !== sm8PaidCents)
          paymentDrifts.push({
            jobUuid: r.job_uuid,
            qboInvoiceId: r.qbo_invoice_id,
            sm8PaidCents,
            qboPaidCents: q.paidCents,
          });
      }
      for (const d of paymentDrifts) {
        await audit(
          connectionId,
          'reconcile_payment_drift',
          { type: 'invoice', ref: d.jobUuid },
          { ...d, sm8Paid: formatMoney(d.sm8PaidCents), qboPaid: formatMoney(d.qboPaidCents) },
        );
      }
      for (const d of drifts) {
        await audit(
          connectionId,
          'reconcile_drift',
          { type: 'invoice', ref: d.jobUuid },
          {
            ...d,
            sm8Total: d.sm8TotalCents === null ? null : formatMoney(d.sm8TotalCents),
            qboTotal: d.qboTotalCents === null ? null : formatMoney(d.qboTotalCents),
          },
        );
      }
      await audit(
        connectionId,
        'reconcile_run',
        { type: 'invoice', ref: null },
        { checked: rows.length, drift: drifts.length, paymentDrift: paymentDrifts.length },
      );
      // The owner decides: a missed ServiceM8 change re-syncs (INV-6), a QuickBooks edit is left alone and a
      // deleted job is reported (INV-10). Waking is idempotent, so a drift found twice costs one look each.
      const wake = input.wake === false ? [] : drifts;
      await routeJobs(
        connectionId,
        wake.map((d) => d.jobUuid),
        'resync',
      );
      const wakePaymentOwners = input.wake === false ? [] : paymentDrifts;
      await wakePayments(
        connectionId,
        wakePaymentOwners.map((d) => d.jobUuid),
      );
      const drifted = new Set([...drifts, ...paymentDrifts].map((d) => d.jobUuid));
      return {
        checked: rows.length,
        inStep: rows.length - drifted.size,
        driftCount: drifts.length,
        drift: drifts.slice(0, LISTED_IDS),
        paymentDriftCount: paymentDrifts.length,
        paymentDrift: paymentDrifts.slice(0, LISTED_IDS),
        woken: wake.length + wakePaymentOwners.length,
      };
    },
  };
}
