/**
 * Routers of clients and materials (CM-2 … CM-10), registered in ROUTERS (routing/routes.ts): every event
 * resolves through the links table to the link's owner workflow (`customer|item/<connection>/<link id>`).
 * ServiceM8 records without a link are not sent (CM-3: they travel only with an invoice). A QuickBooks
 * record without a link was born there after onboarding: it gets a link holding only its Id, whose owner
 * brings it into ServiceM8 (CM-2). A QuickBooks merge (CM-10) goes to the owner of the merged-away record.
 */
import type { Client } from '@temporalio/client';
import { latestMergePayload } from '../store/inbox-merges';
import { GENERIC_ITEM_KEY } from '../domain/clients-materials/item';
import { customerWorkflowId, itemWorkflowId } from '../domain/workflow-ids';
import {
  cmChangedSignal,
  cmMergedSignal,
  WorkflowType,
  type ClientMaterialInput,
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
    const target = link ?? (await deps.links.forQboRecord(ev.connectionId, kind, ev.entityId));
    return signalClientMaterial(deps.temporal, deps.taskQueue, kind, ev.connectionId, target.id);
  };
}

function sm8Router(kind: Kind) {
  return async (deps: RoutingDeps, ev: EntityEvent): Promise<string> => {
    const link = await deps.links.bySm8(ev.connectionId, kind, ev.entityId);
    if (!link)
      return `ignored: not linked to QuickBooks (CM-3: a ServiceM8-born ${kind === 'customer' ? 'client' : 'material'} goes with its first invoice)`;
    if (link.state !== 'linked') return `ignored: this ${kind}'s link is ${link.state}`;
    return signalClientMaterial(deps.temporal, deps.taskQueue, kind, ev.connectionId, link.id);
  };
}

/** A ServiceM8 contact event goes to the owner of its company's link (email and phone live on contacts). */
async function sm8ContactRouter(deps: RoutingDeps, ev: EntityEvent): Promise<string> {
  const linkId = await deps.links.ofContact(ev.connectionId, ev.entityId);
  if (!linkId) return 'ignored: not a contact of a client linked to QuickBooks (CM-3)';
  return signalClientMaterial(deps.temporal, deps.taskQueue, 'customer', ev.connectionId, linkId);
}

export const CM_ROUTERS = {
  'sm8:companycontact': sm8ContactRouter,
  'qbo:customer': qboRouter('customer'),
  'qbo:item': qboRouter('item'),
  'sm8:company': sm8Router('customer'),
  'sm8:material': sm8Router('item'),
} as const;
