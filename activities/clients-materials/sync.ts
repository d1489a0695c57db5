/**
 * Activities of the customer and item owners (CM-2 … CM-10): read both sides of one link, converge them
 * field by field (domain/field-merge.ts), write only what changed, store what was synced (fingerprints kill
 * our own echoes), log conflicts' losing values (CM-9), bring QuickBooks-born records into ServiceM8
 * (CM-2 after onboarding, with CM-6/CM-7), and move a link to the survivor of a QuickBooks merge (CM-10).
 * One flow serves both kinds of link (syncLink); what differs between customers and items is in
 * activities/clients-materials/link-kinds.ts.
 *
 * Issue 12: both sides are read through the record cache (activities/clients-materials/record-reads.ts):
 * the bulk read has usually just read the record that changed, and the other side is what we last read or
 * wrote; the API is read only on a miss. What we write is stored as our own record write and as the cached
 * copy.
 */
import { planMerge, sm8TimeToEpochMs, type FieldConflict, type MergePlan } from '../../domain/field-merge';
import { fingerprint } from '../../domain/fingerprint';
import type { CmSyncState } from '../../domain/clients-materials/states';
import { isNotFound, validationMessage } from '../../apis/errors';
import { CONNECTION_BLOCKED_FAILURES, FailureType, failureTypeOf } from '../../domain/failures';
import { customerLink, itemLink, type LinkKind, type QboLinkedRecord, type Sm8Record } from './link-kinds';
import { unlinkedCandidates } from './import';
import { moveLinkToSurvivor, survivorOfGoneCustomer } from './merges';
import { saveSynced, type SyncedFields } from './links';
import { CmRecords, sm8AccountZone } from './record-reads';
import { RecordCache } from '../../store/record-cache';
import { writeAuditOnce } from '../../store/audit';
import type { ActivityDeps } from '../support/deps';
import { OnboardingStore } from '../../store/onboarding';
import { QuickBooksClient } from '../../apis/quickbooks/client';
import { ServiceM8Client } from '../../apis/servicem8/client';

export type { CmSyncState };

export interface CmSyncResult {
  state: CmSyncState;
  sm8Uuid: string | null;
  qboId: string | null;
  /** Fields written to each side by this sync. */
  wrote: { sm8: string[]; qbo: string[] };
  conflicts: number;
  reason: string | null;
  /** DEFERRED because onboarding runs: it brings the record in, and wakes this owner when it ends. */
  untilOnboarded?: boolean;
}

/**
 * A QuickBooks record younger than this with no link may be one an invoice export just created (INV-5),
 * whose link is stored a moment after the create: its owner waits rather than import a duplicate.
 */
export const IMPORT_GRACE_MS = 10_000;

function justCreated(meta: { CreateTime?: string } | undefined): boolean {
  const at = meta?.CreateTime ? Date.parse(meta.CreateTime) : NaN;
  return Number.isFinite(at) && Date.now() - at < IMPORT_GRACE_MS;
}

const result = (state: CmSyncState, over: Partial<CmSyncResult> = {}): CmSyncResult => ({
  state,
  sm8Uuid: null,
  qboId: null,
  wrote: { sm8: [], qbo: [] },
  conflicts: 0,
  reason: null,
  ...over,
});

const gone = isNotFound;
const refusal = validationMessage;

const qboTime = (iso: string | undefined): number | null => {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(ms) ? ms : null;
};

export function createCmSyncActivities(deps: ActivityDeps) {
  const onboarding = new OnboardingStore(deps.pool);
  const onboardingRunning = async (connectionId: string) =>
    (await onboarding.progress(connectionId))?.state === 'running';
  const qboFor = (id: string) => new QuickBooksClient(deps.qboClientDeps(), id);
  const recordsFor = (id: string) =>
    new CmRecords(deps, id, new ServiceM8Client(deps.sm8ClientDeps(), id), qboFor(id));

  const cache = new RecordCache(deps.pool);

  /**
   * CM-9: conflicts decided by who edited last; the losing values go to the audit log. Logged before the
   * writes they decide, once per decision (the link's last synced state, the field and both values): an
   * attempt that fails after a write is retried, and the retry no longer sees the conflict it resolved.
   */
  async function logConflicts(
    connectionId: string,
    entity: 'customer' | 'item',
    ref: string,
    baseline: { sm8Fingerprint: string | null; qboFingerprint: string | null },
    conflicts: FieldConflict[],
  ): Promise<void> {
    for (const c of conflicts) {
      const kept = c.winner === 'sm8' ? 'servicem8' : 'quickbooks';
      const once = fingerprint([
        baseline.sm8Fingerprint,
        baseline.qboFingerprint,
        c.field,
        c.sm8,
        c.qbo,
        kept,
      ]);
      await writeAuditOnce(
        deps.pool,
        {
          connectionId,
          entityType: entity,
          entityRef: ref,
          action: 'conflict',
          detail: {
            field: c.field,
            servicem8: c.sm8,
            quickbooks: c.qbo,
            kept,
            lost: c.winner === 'sm8' ? c.qbo : c.sm8,
          },
        },
        once,
      );
    }
  }

  async function plan<F extends object>(
    sm8: ServiceM8Client,
    sides: { sm8: F; qbo: F },
    link: { sm8Fingerprint: string | null; qboFingerprint: string | null; syncedFields: unknown },
    edited: { sm8: string | undefined; qbo: string | undefined },
  ): Promise<MergePlan<F>> {
    const base = {
      ...sides,
      synced: (link.syncedFields as SyncedFields<F> | null) ?? null,
      stored: { sm8Fingerprint: link.sm8Fingerprint, qboFingerprint: link.qboFingerprint },
    };
    const first = planMerge({ ...base, editedAt: { sm8: null, qbo: null } });
    if (first.conflicts.length === 0) return first;
    // Only a conflict needs the edit times; ServiceM8's are account-local wall times.
    const zone = await sm8AccountZone(deps, sm8);
    return planMerge({
      ...base,
      editedAt: { sm8: sm8TimeToEpochMs(edited.sm8, zone), qbo: qboTime(edited.qbo) },
    });
  }

  /**
   * CM-2 … CM-9 for one link of either kind: a record gone on either side, a QuickBooks-born record brought
   * in (CM-6 skips, CM-7 name match), else both sides converged field by field and only changes written.
   */
  async function syncLink<Q extends QboLinkedRecord, S extends Sm8Record, F extends object>(
    input: { connectionId: string; linkId: string; mayDefer?: boolean },
    records: CmRecords,
    kind: LinkKind<Q, S, F>,
    /** The link was just moved to a merge's survivor (once per sync). */
    followed = false,
  ): Promise<CmSyncResult> {
    const { connectionId } = input;
    const link = await deps.links.byIdWithSynced(input.linkId);
    if (!link) return result('UNLINKED');
    if (link.state === 'merged') return result('MERGED', { sm8Uuid: link.sm8Uuid, qboId: link.qboId });
    // A QuickBooks-born record seen while onboarding runs is onboarding's to bring in (it completes this link
    // in place): the owner waits, reading nothing, instead of importing it a second way (issue 12).
    if (!link.sm8Uuid && (await onboardingRunning(connectionId)))
      return result('DEFERRED', {
        qboId: link.qboId,
        reason: 'the first sync of clients and materials (onboarding) brings it in',
        untilOnboarded: true,
      });
    const qbo = qboFor(connectionId);
    const sm8 = records.sm8Client;
    const qboId = link.qboId as string;
    let record: Q;
    try {
      record = await records.qboRecord<Q>(kind.qboEntity, qboId);
    } catch (err) {
      if (!gone(err)) throw err;
      if (!link.sm8Uuid) await deps.links.remove(link.id);
      // CM-10 with the merge unheard: a customer is found on the invoices of the client's jobs.
      const survivor =
        link.sm8Uuid && link.entityType === 'customer'
          ? await survivorOfGoneCustomer(deps, connectionId, link.sm8Uuid, qboId)
          : null;
      if (survivor && (await moveLinkToSurvivor(deps, connectionId, link, survivor)).moved && !followed)
        return syncLink(input, records, kind, true);
      return result('QBO_GONE', { sm8Uuid: link.sm8Uuid, qboId });
    }

    if (!link.sm8Uuid) {
      // Born in QuickBooks after onboarding: brought in like CM-1 (CM-6 skips, CM-7 name match).
      const skip = kind.importSkip(record);
      if (skip) {
        // No half link left behind: an invoice export may still link this record by name (CM-7).
        await deps.links.removeIfQboOnly(link.id);
        return result('NOT_IMPORTED', { qboId, reason: skip });
      }
      if (input.mayDefer !== false && justCreated(record.MetaData))
        return result('DEFERRED', {
          qboId,
          reason: 'created moments ago: waiting in case its creator links it',
        });
      const candidates = await unlinkedCandidates<S>(deps, sm8, connectionId, kind.sm8Object);
      try {
        const r = await kind.importInto(record, candidates, link.id);
        // Linked meanwhile by another worker (already_linked): its next pass syncs the pair as usual.
        const wrote = r.outcome === 'already_linked' ? [] : ['*'];
        return result('IMPORTED', { sm8Uuid: r.sm8Uuid, qboId, wrote: { sm8: wrote, qbo: [] } });
      } catch (err) {
        const why = refusal(err);
        if (!why) throw err;
        return result('BLOCKED', { qboId, reason: why });
      }
    }

    if (link.sm8Uuid === kind.noSm8Record) return result('UNLINKED', { qboId });
    const sm8Uuid = link.sm8Uuid;
    let sm8Record: S;
    try {
      sm8Record = await records.sm8Record<S>(kind.sm8Object, sm8Uuid);
    } catch (err) {
      if (!gone(err)) throw err;
      return result('SM8_GONE', { sm8Uuid, qboId });
    }
    const compared = await kind.compare(record, sm8Record, { id: link.id, sm8Uuid });
    const { sides } = compared;
    const p = await plan(sm8, sides, link, {
      sm8: compared.sm8EditedAt,
      qbo: record.MetaData?.LastUpdatedTime,
    });
    const toSm8 = Object.keys(p.toSm8) as Array<keyof F>;
    const qboTarget = { ...sides.qbo, ...p.toQbo };
    const { keys: toQbo, patch } = await compared.qboPatch(qboTarget, Object.keys(p.toQbo) as Array<keyof F>);
    const ids = { sm8Uuid, qboId };
    if (!toSm8.length && !toQbo.length) {
      if (p.sm8Changed || p.qboChanged) await saveSynced(deps.links, link.id, sides, record.SyncToken);
      return result('IN_SYNC', ids);
    }

    await logConflicts(connectionId, kind.entity, `${sm8Uuid}|${qboId}`, link, p.conflicts);
    let qboAfter = sides.qbo;
    let syncToken = record.SyncToken;
    if (toQbo.length) {
      const body = { Id: record.Id, SyncToken: record.SyncToken, ...patch };
      try {
        const updated = await qbo.update<Q>(
          kind.qboEntity,
          body,
          `cm-${fingerprint([body, record.SyncToken])}`,
        );
        await records.wroteQbo(kind.qboEntity, body, updated);
        qboAfter = await compared.fromQbo(updated);
        syncToken = updated.SyncToken;
      } catch (err) {
        // The cached copy may be stale now (a stale SyncToken, a write whose answer was lost): the retry
        // reads QuickBooks. A write refused for the rate (429) or the connection changed nothing.
        const untouched = [FailureType.rateLimited, ...CONNECTION_BLOCKED_FAILURES];
        if (!untouched.includes(failureTypeOf(err) ?? ''))
          await cache.drop(connectionId, 'qbo', kind.qboEntity, [qboId]);
        const why = refusal(err);
        if (!why) throw err;
        return result('BLOCKED', { ...ids, reason: why });
      }
    }
    let sm8After = sides.sm8;
    if (toSm8.length) {
      const target = { ...sides.sm8, ...p.toSm8 };
      await compared.writeSm8(target, toSm8);
      // What we wrote, not a re-read: a re-read could take a concurrent user edit for synced and lose it.
      sm8After = target;
    }
    await saveSynced(deps.links, link.id, { sm8: sm8After, qbo: qboAfter }, syncToken);
    const wrote = { sm8: toSm8.map(String), qbo: toQbo.map(String) };
    return result('SYNCED', { ...ids, wrote, conflicts: p.conflicts.length });
  }

  return {
    /** CM-2 … CM-9 for one customer link. `uuids` (from the workflow) serve any ServiceM8 create. */
    async syncCustomerLink(input: {
      connectionId: string;
      linkId: string;
      uuids: { companyUuid: string; contactUuid: string };
      /** false after the owner waited once already (see IMPORT_GRACE_MS). */
      mayDefer?: boolean;
    }): Promise<CmSyncResult> {
      const records = recordsFor(input.connectionId);
      return syncLink(input, records, customerLink(deps, records, input.uuids));
    },

    /** CM-2 … CM-9 for one item link (purchase cost only for purchased items, CM-8). */
    async syncItemLink(input: {
      connectionId: string;
      linkId: string;
      materialUuid: string;
      mayDefer?: boolean;
    }): Promise<CmSyncResult> {
      const records = recordsFor(input.connectionId);
      return syncLink(input, records, itemLink(deps, records, input.materialUuid));
    },

    /**
     * CM-10: the QuickBooks record of this link was merged into `survivorId`. The link moves to the survivor
     * (then the usual sync takes QuickBooks' values); when the survivor is linked already, this link is
     * marked merged and its ServiceM8 record is left as it is, with an audit entry saying so.
     */
    async moveLinkToSurvivor(input: {
      connectionId: string;
      linkId: string;
      survivorId: string;
    }): Promise<{ moved: boolean; survivorLinkId: string | null }> {
      const link = await deps.links.byIdWithSynced(input.linkId);
      if (!link) return { moved: false, survivorLinkId: null };
      return moveLinkToSurvivor(deps, input.connectionId, link, input.survivorId);
    },
  };
}
