/**
 * The owners of linked clients and materials (CM-2 … CM-10): `customer/<connection>/<link id>` and
 * `item/<connection>/<link id>`, one per link, so events from both programs (which resolve to the same link)
 * wake the same workflow. As for invoices, events only mark it dirty; a sync reads both sides and converges
 * them (activities/clients-materials/sync.ts). A QuickBooks merge moves the link to the survivor first (CM-10). The links
 * table is the durable state, so the workflow ends when idle and the next event starts it again.
 */
import {
  continueAsNew,
  patched,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
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
import { laneActivities, OWNER_ACTIVITY } from './support/activity-options';
import { createConnectionGate } from './support/connection-gate';
import { ownerLoop } from './support/owner-loop';
import { showStuckSteps } from './support/stuck-shown';

const acts = laneActivities<Activities>('live', OWNER_ACTIVITY);

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
  const merges: string[] = [];
  let deferrals = 0;
  setHandler(cmChangedSignal, () => {
    dirty = true;
  });
  setHandler(cmMergedSignal, ({ survivorId }) => {
    merges.push(survivorId);
  });
  const gate = createConnectionGate(connectionId);
  const loop = ownerLoop<ClientMaterialStatus>({
    pending: () => dirty || merges.length > 0,
    waitFor: () => ({ timeout: IDLE_END, onTimeout: 'end' }),
    pass: () => pass(),
    overAfterPass: () => {
      const over = FINAL.includes(s.state) || (s.state === 'QBO_GONE' && !s.sm8Uuid);
      return over && merges.length === 0 && !dirty;
    },
    maxPassesPerRun: MAX_SYNCS_PER_RUN,
    continueAsNew: () => {
      const { idle: _idle, parked: _parked, connectionId: _c, linkId: _l, kind: _k, ...carried } = s;
      return continueAsNew<typeof customerWorkflow>({ ...input, carried });
    },
    result: () => ({ ...s, idle: true, parked: false }),
  });
  setHandler(clientMaterialStatusQuery, () => ({
    ...s,
    idle: !dirty && !loop.busy && merges.length === 0,
    parked: gate.waiting,
  }));

  // OPS-5: a stuck step shows in the Web UI until it succeeds (workflows/support/stuck-shown.ts).
  const stuck = showStuckSteps(() => {
    upsertSearchAttributes([{ key: SyncState, value: stuck.syncState(s.state) }]);
    upsertMemo({ stuck: stuck.text });
  });

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
      { key: SyncState, value: stuck.syncState(r.state) },
      ...(s.sm8Uuid ? [{ key: Sm8Uuid, value: s.sm8Uuid }] : []),
      ...(s.qboId ? [{ key: QboId, value: s.qboId }] : []),
    ]);
  }

  /** One pass: merges first (CM-10), then one sync of the link. */
  async function pass(): Promise<void> {
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
    // Onboarding brings the record in and wakes this owner when it ends (activities/onboarding.ts): the run
    // waits for that, not in a 10-second loop that starved approvals' workflow tasks (issue 12).
    if (r.state === 'DEFERRED' && r.untilOnboarded && patched('cm-defer-until-onboarded')) return;
    if (r.state === 'DEFERRED') {
      // A record just created in QuickBooks may be an invoice export's: give its link a moment to appear.
      deferrals += 1;
      await sleep(DEFER_FOR);
      dirty = true;
    }
  }

  return loop.run();
}

/** CM-2 … CM-10 for one QuickBooks Customer ⇄ ServiceM8 company link. */
export async function customerWorkflow(input: ClientMaterialInput): Promise<ClientMaterialStatus> {
  return ownLink('customer', input);
}

/** CM-2 … CM-10 for one QuickBooks Item ⇄ ServiceM8 material link. */
export async function itemWorkflow(input: ClientMaterialInput): Promise<ClientMaterialStatus> {
  return ownLink('item', input);
}
