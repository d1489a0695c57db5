/**
 * Routers of clients and materials (CM-2 … CM-10), registered in ROUTERS (routing/routes.ts): every event
 * resolves through the links table to the link's owner workflow (`customer|item/<connection>/<link id>`).
 * ServiceM8 records without a link are not sent (CM-3: they travel only with an invoice). A QuickBooks
 * record without a link was born there after onboarding: it gets a link holding only its Id, whose owner
 * brings it into ServiceM8 (CM-2). A QuickBooks merge (CM-10) goes to the owner of the merged-away record.
 *
 * Issue 12: an event about a linked record does not wake its owner directly. It marks the record dirty and
 * wakes the connection's bulk read (`cm-read/<connection>`), which reads every marked record of a kind at
 * once and then wakes the owners of those that changed. An event about a record we wrote moments ago (our own
 * record write, store/own-writes.ts) is our own write coming back: it is dropped without an API call,
 * and the next bulk read confirms it.
 */
import type { Client } from '@temporalio/client';
import { latestMergePayload } from '../store/inbox';
import { OnboardingStore } from '../store/onboarding';
import {
  ANY_COMPANY,
  armEchoRead,
  COMPANY_CONTACTS,
  disarmEchoRead,
  markCopyStale,
  markDirty,
  RecordCache,
  type RecordRef,
} from '../store/record-cache';
import { ownRecordWritesOf, recentOwnRecordWrite } from '../store/own-writes';
import { ECHO_WINDOW_MS, isEchoOfOurWrite, onlyOurEcho } from '../domain/clients-materials/echo';
import { GENERIC_ITEM_KEY } from '../domain/clients-materials/item';
import { fingerprint } from '../domain/fingerprint';
import { cmReadWorkflowId, customerWorkflowId, itemWorkflowId } from '../domain/workflow-ids';
import {
  cmChangedSignal,
  cmMarkedSignal,
  cmMergedSignal,
  WorkflowType,
  type ClientMaterialInput,
  type ClientsMaterialsReadInput,
} from '../workflows/messages';
import type { EntityEvent, RoutingDeps } from './routes';
import { wake } from './wake';

type Kind = 'customer' | 'item';

/** Signals (starting if needed) the owner of one customer or item link. Returns its workflow id. */
export async function signalClientMaterial(
  temporal: Client,
  taskQueue: string,
  kind: Kind,
  connectionId: string,
  linkId: string,
  merged?: { survivorId: string },
): Promise<string> {
  const workflowId =
    kind === 'customer' ? customerWorkflowId(connectionId, linkId) : itemWorkflowId(connectionId, linkId);
  const workflowType = kind === 'customer' ? WorkflowType.customer : WorkflowType.item;
  const o = {
    workflowId,
    taskQueue,
    input: { connectionId, linkId },
    entityType: kind,
    summary: `${kind === 'customer' ? 'Client' : 'Material'} link ${linkId}`,
  };
  return merged
    ? wake<ClientMaterialInput, [{ survivorId: string }]>(temporal, workflowType, cmMergedSignal, o, merged)
    : wake<ClientMaterialInput>(temporal, workflowType, cmChangedSignal, o);
}

/** Wakes (starting if needed) the bulk read of a connection's dirty customers and items. */
export async function signalClientsMaterialsRead(
  temporal: Client,
  taskQueue: string,
  connectionId: string,
  echo: boolean,
): Promise<string> {
  return wake<ClientsMaterialsReadInput, [{ echo: boolean }]>(
    temporal,
    WorkflowType.cmRead,
    cmMarkedSignal,
    {
      workflowId: cmReadWorkflowId(connectionId),
      taskQueue,
      input: { connectionId },
      entityType: 'cm-read',
      summary: `Bulk read of the clients and materials of connection ${connectionId}`,
    },
    { echo },
  );
}

/** The routing answer of an event dropped as our own write's echo (the inbox keeps it as the reason). */
export const ECHO_DROPPED = 'ignored: the echo of our own write (the next bulk read confirms it)';

/** The routing answer of a poll hit that reports nothing new since the link was last synced. */
export const UNCHANGED_DROPPED = 'ignored: unchanged since it was last synced';

/**
 * A poll hit that only reports what the link already holds, however long ago it happened: QuickBooks' record
 * at the SyncToken the link last synced, or a ServiceM8 record that still holds exactly our own last write
 * (domain/clients-materials/echo.ts onlyOurEcho: every field we sent, and nothing else changed). The first
 * regular poll after onboarding sees every imported record as changed: this is what keeps it from waking
 * every owner (each then read its record one by one).
 */
async function unchangedPollHit(
  deps: RoutingDeps,
  ref: RecordRef,
  ev: EntityEvent,
  linkSyncToken: string | null,
): Promise<boolean> {
  if (ev.operation !== null) return false;
  if (ref.side === 'qbo') return Boolean(ev.hint?.syncToken) && ev.hint?.syncToken === linkSyncToken;
  if (!ev.record) return false;
  const written = (
    await ownRecordWritesOf(deps.pool, ref.connectionId, 'sm8', ref.object, [ref.recordId])
  ).get(ref.recordId);
  if (!written) return false;
  const copy = (
    await new RecordCache(deps.pool).peek(ref.connectionId, 'sm8', ref.object, [ref.recordId])
  ).get(ref.recordId);
  return onlyOurEcho('sm8', written, ev.record, copy);
}

/**
 * A ServiceM8 record no link claims changed: nobody is woken (CM-3), but a copy of it in the record cache
 * (onboarding's candidate lists, a poll's lists, an export that was held) would give the next export an old
 * name, price or email, so that copy is stale from now on; a company's cached contact list too, for a
 * contact (of an unknown company: every company's list). Not for a poll hit holding exactly the copy (the
 * poll cached what it listed), nor for the echo of our own write (its copy is what we wrote).
 */
async function staleUnclaimed(deps: RoutingDeps, ref: RecordRef, ev: EntityEvent): Promise<void> {
  const copy = (
    await new RecordCache(deps.pool).peek(ref.connectionId, 'sm8', ref.object, [ref.recordId])
  ).get(ref.recordId);
  if (copy && ev.record && fingerprint(copy) === fingerprint(ev.record)) return;
  const written = await recentOwnRecordWrite(deps.pool, ref, ECHO_WINDOW_MS);
  if (
    written &&
    isEchoOfOurWrite(
      'sm8',
      { writtenAtMs: written.writtenAt.getTime(), lastUpdated: null, inFlight: written.answer === null },
      ev.changedAt,
    )
  )
    return;
  await markCopyStale(deps.pool, ref);
  if (ref.object !== 'companycontact') return;
  const company = ev.record?.company_uuid ?? copy?.company_uuid;
  await markCopyStale(deps.pool, {
    ...ref,
    object: COMPANY_CONTACTS,
    recordId: typeof company === 'string' && company ? company : ANY_COMPANY,
  });
}

/**
 * A linked record changed: marks it dirty for the connection's bulk read, or, when it is our own write
 * coming back (we wrote it inside the echo window, at the time the event names), drops the event as that
 * echo (marked for confirmation, no API call). A poll hit that reports nothing new is dropped unmarked.
 */
async function markForBulkRead(
  deps: RoutingDeps,
  ref: RecordRef,
  ev: EntityEvent,
  linkSyncToken: string | null = null,
): Promise<string> {
  if (await unchangedPollHit(deps, ref, ev, linkSyncToken)) return UNCHANGED_DROPPED;
  const written = await recentOwnRecordWrite(deps.pool, ref, ECHO_WINDOW_MS);
  const echo =
    written !== null &&
    isEchoOfOurWrite(
      ref.side,
      {
        writtenAtMs: written.writtenAt.getTime(),
        lastUpdated: written.lastUpdated,
        inFlight: written.answer === null,
      },
      ev.changedAt,
    );
  await markDirty(deps.pool, ref, echo);
  if (!echo) return signalClientsMaterialsRead(deps.temporal, deps.taskQueue, ref.connectionId, false);
  // An echo wakes the read once (the first since its last take), not once per echo.
  if (await armEchoRead(deps.pool, ref.connectionId)) {
    try {
      await signalClientsMaterialsRead(deps.temporal, deps.taskQueue, ref.connectionId, true);
    } catch (err) {
      await disarmEchoRead(deps.pool, ref.connectionId);
      throw err;
    }
  }
  return ECHO_DROPPED;
}

/**
 * CM-10: the merged-away Id of a QuickBooks Merge event, from the stored webhook (legacy `deletedId`; in
 * CloudEvents its place is UNCONFIRMED, the simulator puts it in `data.deletedId`).
 */
async function mergedAwayId(deps: RoutingDeps, ev: EntityEvent): Promise<string | null> {
  const p = await latestMergePayload(deps.pool, ev.connectionId, ev.entity, ev.entityId);
  const id = p?.deletedId ?? p?.data?.deletedId;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

function qboRouter(kind: Kind) {
  return async (deps: RoutingDeps, ev: EntityEvent): Promise<string> => {
    if (ev.operation === 'merged') {
      const from = await mergedAwayId(deps, ev);
      const loser = from ? await deps.links.byQbo(ev.connectionId, kind, from) : null;
      if (loser && loser.state === 'linked')
        return signalClientMaterial(deps.temporal, deps.taskQueue, kind, ev.connectionId, loser.id, {
          survivorId: ev.entityId,
        });
    }
    const link = await deps.links.byQbo(ev.connectionId, kind, ev.entityId);
    if (link && link.state !== 'linked') return `ignored: this ${kind}'s link is ${link.state}`;
    if (link?.sm8Uuid === GENERIC_ITEM_KEY)
      return 'ignored: the generic item of free-text invoice lines has no ServiceM8 material';
    if (link?.sm8Uuid)
      return markForBulkRead(
        deps,
        {
          connectionId: ev.connectionId,
          side: 'qbo',
          object: kind === 'customer' ? 'Customer' : 'Item',
          recordId: ev.entityId,
        },
        ev,
        link.qboSyncToken,
      );
    const target = link ?? (await deps.links.forQboRecord(ev.connectionId, kind, ev.entityId));
    // While onboarding runs it brings the record in (completing this link in place), and when it ends it
    // wakes the owners of the links it did not complete: no owner waits meanwhile (issue 12).
    if (await new OnboardingStore(deps.pool).running(ev.connectionId))
      return `deferred: onboarding brings this ${kind} in (link ${target.id})`;
    return signalClientMaterial(deps.temporal, deps.taskQueue, kind, ev.connectionId, target.id);
  };
}

function sm8Router(kind: Kind) {
  return async (deps: RoutingDeps, ev: EntityEvent): Promise<string> => {
    const ref: RecordRef = {
      connectionId: ev.connectionId,
      side: 'sm8',
      object: kind === 'customer' ? 'company' : 'material',
      recordId: ev.entityId,
    };
    const link = await deps.links.bySm8(ev.connectionId, kind, ev.entityId);
    if (!link || link.state !== 'linked') await staleUnclaimed(deps, ref, ev);
    if (!link)
      return `ignored: not linked to QuickBooks (CM-3: a ServiceM8-born ${kind === 'customer' ? 'client' : 'material'} goes with its first invoice)`;
    if (link.state !== 'linked') return `ignored: this ${kind}'s link is ${link.state}`;
    return markForBulkRead(deps, ref, ev);
  };
}

/** A ServiceM8 contact event goes to the owner of its company's link (email and phone live on contacts). */
async function sm8ContactRouter(deps: RoutingDeps, ev: EntityEvent): Promise<string> {
  const ref: RecordRef = {
    connectionId: ev.connectionId,
    side: 'sm8',
    object: 'companycontact',
    recordId: ev.entityId,
  };
  const linkId = await deps.links.ofContact(ev.connectionId, ev.entityId);
  if (!linkId) {
    await staleUnclaimed(deps, ref, ev);
    return 'ignored: not a contact of a client linked to QuickBooks (CM-3)';
  }
  return markForBulkRead(deps, ref, ev);
}

export const CM_ROUTERS = {
  'sm8:companycontact': sm8ContactRouter,
  'qbo:customer': qboRouter('customer'),
  'qbo:item': qboRouter('item'),
  'sm8:company': sm8Router('customer'),
  'sm8:material': sm8Router('item'),
} as const;
