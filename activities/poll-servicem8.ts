/**
 * TRG-2, ServiceM8 side of the polling safety net (activities/poll.ts describes the watermarks).
 */
import { ROUTERS } from '../routing/routes';
import { fingerprint } from '../domain/fingerprint';
import { isApproved } from '../domain/invoice/plan';
import type { Sm8Job } from '../domain/servicem8-types';
import { sm8TimeIn } from '../domain/servicem8-time';
import { knownJobs } from '../store/invoice-exports';
import { RecordCache, type CacheEntry } from '../store/record-cache';
import { readWatermark, writeWatermark } from '../store/watermarks';
import type { ActivityDeps } from './support/deps';
import { heartbeat } from './support/temporal';
import { ServiceM8Client, type ServiceM8Object } from '../apis/servicem8/client';
import {
  DEFAULT_BACKFILL_MS,
  emptyPass,
  LISTED_IDS,
  pollTools,
  shiftSm8Time,
  type PollObjectResult,
  type PollSideResult,
} from './support/polling';

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

/**
 * ServiceM8 overlap: covers the one-second resolution, writes committed out of order, and a daylight-saving
 * fall-back of the account-local edit_date (up to an hour). Thanks to `:seen` it costs read volume only.
 */
export const SM8_OVERLAP_MS = 65 * 60_000;

/** Objects whose poll hits carry the record (the router drops the ones that still hold our own write). */
const CM_OBJECTS = new Set(['company', 'companycontact', 'material']);
/** Objects whose poll hits carry the record for the router (clients and materials above; payments as kept). */
const WITH_RECORD = new Set([...CM_OBJECTS, 'jobpayment']);

/** A listed client, contact or material as a record cache entry. */
function cacheEntry(object: string, rec: Sm8Record): CacheEntry {
  return {
    object,
    recordId: rec.uuid,
    record: rec as unknown as Record<string, unknown>,
    editTime: rec.edit_date ?? null,
    parentId: object === 'companycontact' ? ((rec as { company_uuid?: string }).company_uuid ?? null) : null,
  };
}

export function createServiceM8PollActivities(deps: ActivityDeps) {
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  const { routeAll, countUnannounced } = pollTools(deps);
  const cache = new RecordCache(deps.pool);

  /**
   * Changed jobs worth a workflow: approved ones, and those the sync already knows (invoice_exports); not
   * those whose owner already read this very version (a webhook woke it first: issue 12).
   */
  async function jobsToRoute(connectionId: string, changed: Sm8Job[]): Promise<Sm8Job[]> {
    if (!changed.length) return [];
    const uuids = changed.map((j) => j.uuid);
    const [known, seen] = await Promise.all([
      knownJobs(deps.pool, connectionId, uuids),
      new RecordCache(deps.pool).jobsSeen(connectionId, uuids),
    ]);
    const readAlready = (job: Sm8Job) => {
      const v = seen.get(job.uuid);
      return v !== undefined && v.editDate === (job.edit_date ?? null) && v.fingerprint === fingerprint(job);
    };
    return changed.filter((job) => (isApproved(job) || known.has(job.uuid)) && !readAlready(job));
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
      // Every list first, then the routing: a job's export, started by the routing, finds the clients and
      // materials this pass listed in the record cache and does not read them again by uuid (issue 12).
      const lists = [];
      for (const object of polledSm8Objects()) {
        const stream = `sm8:${object}`;
        const mark = await readWatermark(deps.pool, connectionId, stream);
        const from = mark ? shiftSm8Time(mark.value, -SM8_OVERLAP_MS) : await firstPassFrom();
        const since = CM_OBJECTS.has(object) ? await cache.now() : null;
        const records = await sm8.list<Sm8Record>(object as ServiceM8Object, [
          { field: 'edit_date', op: 'gt', value: from },
        ]);
        heartbeat({ object, read: records.length });
        // Only records without a copy, as of before the list (store/record-cache.ts putAbsent).
        if (since)
          await cache.putAbsent(
            connectionId,
            'sm8',
            records.map((r) => cacheEntry(object, r)),
            since,
          );
        lists.push({ object, stream, mark, from, records });
      }
      for (const { object, stream, mark, from, records } of lists) {
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
          toRoute.map((rec) => ({
            source: 'sm8',
            entity: object,
            entityId: rec.uuid,
            operation: null,
            ...(WITH_RECORD.has(object) ? { record: rec as unknown as Record<string, unknown> } : {}),
          })),
        );
        // A first pass (no watermark) reads back from before the connection existed: nothing then could have
        // been announced, so nothing it finds suggests lost webhooks (no fast polling while onboarding runs).
        const unannounced = mark
          ? await countUnannounced(
              connectionId,
              'sm8',
              routedIds.map((entityId) => ({ entity: object, entityId })),
            )
          : 0;

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
          unannounced,
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
        result.unannounced += part.unannounced;
        result.routedIds.push(...routedIds.slice(0, LISTED_IDS - result.routedIds.length));
        result.stored = result.stored && stored;
      }
      return result;
    },
  };
}
