/**
 * The owners of linked clients and materials (CM-2 … CM-10): `customer/<connection>/<link id>` and
 * `item/<connection>/<link id>`, one per link, so events from both programs (which resolve to the same link)
 * wake the same workflow. As for invoices, events only mark it dirty; a sync reads both sides and converges
 * them (activities/clients-materials/sync.ts). A QuickBooks merge moves the link to the survivor first (CM-10). The links
 * table is the durable state, so the workflow ends when idle and the next event starts it again.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CmSyncResult } from '../activities/clients-materials/sync';
import { QboId, Sm8Uuid, SyncState } from '../domain/search-attributes';
import {
  clientMaterialStatusQuery,
  cmChangedSignal,
  cmMergedSignal,
  type ClientMaterialInput,
  type ClientMaterialStatus,
} from './messages';
import { createConnectionGate } from './support/connection-gate';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes' },
});

/** States after which nothing is left to watch on this link. */
const FINAL: Array<ClientMaterialStatus['state']> = ['UNLINKED', 'MERGED', 'NOT_IMPORTED'];
const IDLE_END = '1 day';
const MAX_SYNCS_PER_RUN = 200;
const DEFER_FOR = '10 seconds';
const MAX_DEFERRALS = 2;

async function ownLink(kind: 'customer' | 'item', input: ClientMaterialInput): Promise<ClientMaterialStatus> {
  const { connectionId, linkId } = input;
  let s: ClientMaterialStatus = {
    connectionId,
    linkId,
    kind,
    state: 'STARTING',
    sm8Uuid: null,
    qboId: null,
    reason: null,
    syncs: 0,
    conflicts: 0,
    ...input.carried,
    idle: false,
    parked: false,
  };
  let dirty = true;
  let syncing = false;
  let syncsThisRun = 0;
  const merges: string[] = [];
  let deferrals = 0;
  setHandler(cmChangedSignal, () => {
    dirty = true;
  });
  setHandler(cmMergedSignal, ({ survivorId }) => {
    merges.push(survivorId);
  });
  const gate = createConnectionGate(connectionId);
  setHandler(clientMaterialStatusQuery, () => ({
    ...s,
    idle: !dirty && !syncing && merges.length === 0,
    parked: gate.waiting,
  }));

  function publish(r: CmSyncResult): void {
    s = {
      ...s,
      state: r.state,
      sm8Uuid: r.sm8Uuid ?? s.sm8Uuid,
      qboId: r.qboId ?? s.qboId,
      reason: r.reason,
      conflicts: s.conflicts + r.conflicts,
    };
    upsertSearchAttributes([
      { key: SyncState, value: r.state },
      ...(s.sm8Uuid ? [{ key: Sm8Uuid, value: s.sm8Uuid }] : []),
      ...(s.qboId ? [{ key: QboId, value: s.qboId }] : []),
    ]);
  }

  for (;;) {
    if (!dirty && merges.length === 0) {
      if (!(await condition(() => dirty || merges.length > 0, IDLE_END))) break;
    }
    syncing = true;
    try {
      while (merges.length) {
        const survivorId = merges.shift() as string;
        await gate.run(() => acts.moveLinkToSurvivor({ connectionId, linkId, survivorId }));
        dirty = true;
      }
      dirty = false;
      s.syncs += 1;
      const mayDefer = deferrals < MAX_DEFERRALS;
      // Fresh uuids for any ServiceM8 create, made here (outside the gate) so a retry reuses them.
      const uuids = { companyUuid: uuid4(), contactUuid: uuid4() };
      const step =
        kind === 'customer'
          ? () => acts.syncCustomerLink({ connectionId, linkId, uuids, mayDefer })
          : () => acts.syncItemLink({ connectionId, linkId, materialUuid: uuids.companyUuid, mayDefer });
      const r = await gate.run(step);
      publish(r);
      if (r.state === 'DEFERRED') {
        // A record just created in QuickBooks may be an invoice export's: give its link a moment to appear.
        deferrals += 1;
        await sleep(DEFER_FOR);
        dirty = true;
      }
    } finally {
      syncing = false;
    }
    const over = FINAL.includes(s.state) || (s.state === 'QBO_GONE' && !s.sm8Uuid);
    if (over && merges.length === 0 && !dirty) break;
    syncsThisRun += 1;
    if (
      workflowInfo().continueAsNewSuggested ||
      syncsThisRun >= (input.maxSyncsPerRun ?? MAX_SYNCS_PER_RUN)
    ) {
      await condition(allHandlersFinished);
      const { idle: _idle, parked: _parked, connectionId: _c, linkId: _l, kind: _k, ...carried } = s;
      await continueAsNew<typeof customerWorkflow>({ ...input, carried });
    }
  }
  return { ...s, idle: true, parked: false };
}

/** CM-2 … CM-10 for one QuickBooks Customer ⇄ ServiceM8 company link. */
export async function customerWorkflow(input: ClientMaterialInput): Promise<ClientMaterialStatus> {
  return ownLink('customer', input);
}

/** CM-2 … CM-10 for one QuickBooks Item ⇄ ServiceM8 material link. */
export async function itemWorkflow(input: ClientMaterialInput): Promise<ClientMaterialStatus> {
  return ownLink('item', input);
}
