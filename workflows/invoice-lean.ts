/**
 * The invoice owner's run at its minimum cost (issue 12), for runs the routers start with `lean: true`:
 * one activity per pass (activities/invoice-pass.ts does the reads, writes and notes the older run made
 * as six to ten steps), the state shown only when it changed, and the run ends as soon as it has nothing
 * to watch: a job that is only created, or an invoice settled in QuickBooks, leaves no workflow running
 * (the next event starts a new run, which takes the stored state). A blocked invoice stays and looks
 * again on its schedule (INV-3). Runs recorded before keep the older path (workflows/invoice.ts), so
 * their histories replay unchanged.
 */
import {
  continueAsNew,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { reasons } from '../domain/invoice/reasons';
import {
  blockedRetryDelay,
  FINAL_INVOICE_STATES,
  InvoiceSyncState,
  isBlockedState,
  type InvoiceSyncStateName,
} from '../domain/invoice/states';
import { QboId, SyncState } from '../domain/search-attributes';
import {
  invoiceStatusQuery,
  qboInvoiceChangedSignal,
  resyncInvoiceSignal,
  sm8JobChangedSignal,
  type InvoiceCarried,
  type InvoiceStatus,
  type InvoiceWorkflowInput,
} from './messages';
import { laneActivities, OWNER_ACTIVITY } from './support/activity-options';
import { createConnectionGate } from './support/connection-gate';
import { ownerLoop } from './support/owner-loop';
import { showStuckSteps } from './support/stuck-shown';

const acts = laneActivities<Activities>('interactive', OWNER_ACTIVITY);
/** A pass nobody waits for (a poll's find, a blocked invoice's next look): behind approvals (issue 12). */
const backgroundActs = laneActivities<Activities>('live', OWNER_ACTIVITY);

const MAX_SYNCS_PER_RUN = 200;
/** Only a waiting state keeps a run: a blocked invoice's retries, and an event during a pass. */
const IDLE_END = '1 hour';

export async function leanInvoiceRun(input: InvoiceWorkflowInput): Promise<InvoiceStatus> {
  const { connectionId, jobUuid } = input;
  let s: InvoiceCarried = input.carried ?? {
    state: InvoiceSyncState.notApproved,
    qboInvoiceId: null,
    reason: null,
    lastSyncedTotalCents: null,
    generatedJobId: null,
    syncs: 0,
    blockedRetries: 0,
  };
  let sm8Dirty = input.carried !== undefined || input.sm8Too !== false;
  let qboDirty = input.carried === undefined && input.qboToo !== false;
  let fresh = input.carried === undefined;
  /** Someone waits for the next pass (an approval, an edit, a resync): it runs in the interactive lane. */
  let urgent = input.carried === undefined && input.background !== true;
  /** What search attributes and memo show now (a new run shows nothing yet). */
  let shown: { state: string | null; qboInvoiceId: string | null; reason: string | null; stuck: boolean } = {
    state: null,
    qboInvoiceId: null,
    reason: null,
    stuck: false,
  };

  /** Shows the state where support looks, writing only what changed (each write is a Temporal action). */
  function publish(state: InvoiceSyncStateName, reason: InvoiceCarried['reason']): void {
    s = { ...s, state, reason };
    const { qboInvoiceId } = s;
    const syncState = stuck.syncState(state);
    if (shown.state !== syncState || shown.qboInvoiceId !== qboInvoiceId)
      upsertSearchAttributes([
        { key: SyncState, value: syncState },
        ...(qboInvoiceId ? [{ key: QboId, value: qboInvoiceId }] : []),
      ]);
    const reasonKey =
      `${reason ? `${reason.code}: ${reason.text}` : ''}${stuck.text ? ` STUCK ${stuck.text}` : ''}` || null;
    if (shown.reason !== reasonKey && (reasonKey !== null || shown.state !== null))
      upsertMemo({
        reasonCode: reason?.code ?? null,
        reason: reason?.text ?? null,
        ...(stuck.text || shown.stuck ? { stuck: stuck.text } : {}),
      });
    shown = { state: syncState, qboInvoiceId, reason: reasonKey, stuck: stuck.text !== null };
    setCurrentDetails(
      `**${syncState}**${qboInvoiceId ? ` · QuickBooks invoice ${qboInvoiceId}` : ''}${reason ? `\n\n${reason.code}: ${reason.text}` : ''}${stuck.text ? `\n\nSTUCK: ${stuck.text}` : ''}`,
    );
  }
  // OPS-5: a stuck step shows in the Web UI until it succeeds (workflows/support/stuck-shown.ts).
  const stuck = showStuckSteps(() => publish(s.state, s.reason));

  let beforeWait: InvoiceSyncStateName = s.state;
  const gate = createConnectionGate(connectionId, {
    onBlocked: async (failure) => {
      beforeWait = s.state;
      const reason = failure === 'ConnectionPaused' ? reasons.connectionPaused() : reasons.needsReauth();
      publish(InvoiceSyncState.waitingForReauth, reason);
      await acts.saveInvoiceState({
        connectionId,
        jobUuid,
        generatedJobId: s.generatedJobId,
        state: InvoiceSyncState.waitingForReauth,
        reason,
        qboInvoiceId: s.qboInvoiceId,
        sm8TotalCents: null,
        qboTotalCents: null,
        lastSyncedTotalCents: s.lastSyncedTotalCents,
      });
    },
    onResumed: () => publish(beforeWait, null),
  });

  const loop = ownerLoop<InvoiceStatus>({
    pending: () => sm8Dirty || qboDirty,
    waitFor: () =>
      isBlockedState(s.state)
        ? {
            timeout: blockedRetryDelay(s.blockedRetries),
            onTimeout: () => {
              s.blockedRetries += 1;
            },
          }
        : { timeout: IDLE_END, onTimeout: 'end' },
    pass: async () => {
      const lookAtQbo = qboDirty;
      const lookAtSm8 = sm8Dirty;
      sm8Dirty = false;
      qboDirty = false;
      const lane = urgent ? acts : backgroundActs;
      urgent = false;
      const r = await gate.run(() =>
        lane.invoicePass({
          connectionId,
          jobUuid,
          carried: s,
          fresh,
          lookAtQbo,
          lookAtSm8,
          requestId: uuid4(),
        }),
      );
      fresh = false;
      if (r.again) qboDirty = true;
      s = r.carried;
      publish(s.state, s.reason);
      if (!isBlockedState(s.state)) s.blockedRetries = 0;
    },
    overBeforeWait: () => FINAL_INVOICE_STATES.includes(s.state),
    // Nothing pending and nothing to wait for: the run ends (design principle 7, docs/design.md); an event starts the next.
    overAfterPass: () => !sm8Dirty && !qboDirty && !isBlockedState(s.state),
    maxPassesPerRun: MAX_SYNCS_PER_RUN,
    continueAsNew: () =>
      continueAsNew<(i: InvoiceWorkflowInput) => Promise<InvoiceStatus>>({ ...input, carried: s }),
    result: () => status(),
  });

  const status = (): InvoiceStatus => ({
    connectionId,
    jobUuid,
    state: s.state,
    qboInvoiceId: s.qboInvoiceId,
    reason: s.reason,
    lastSyncedTotalCents: s.lastSyncedTotalCents,
    syncs: s.syncs,
    idle: !loop.busy && !sm8Dirty && !qboDirty,
  });
  setHandler(sm8JobChangedSignal, (wake) => {
    sm8Dirty = true;
    if (!wake?.background) urgent = true;
  });
  setHandler(qboInvoiceChangedSignal, (wake) => {
    qboDirty = true;
    if (!wake?.background) urgent = true;
  });
  setHandler(resyncInvoiceSignal, (wake) => {
    sm8Dirty = true;
    qboDirty = true;
    if (!wake?.background) urgent = true;
  });
  setHandler(invoiceStatusQuery, status);
  return loop.run();
}
