/**
 * The lifecycle of one ServiceM8 job's invoice (INV-1 … INV-10), the owner of that record: every event
 * about the job or its QuickBooks invoice only wakes this workflow, which reads both sides and converges
 * them. Bursts of events cost one sync; work for one job is serialised; history stays bounded by
 * continue-as-new; PostgreSQL keeps the durable state so a later run (after idle end) picks it up.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { InvoiceSnapshot } from '../activities/invoice';
import { invoicePayload, isApproved, planInvoice, type InvoicePlan } from '../domain/invoice/plan';
import { reasons, type Reason } from '../domain/invoice/reasons';
import { FINAL_INVOICE_STATES, InvoiceSyncState, type InvoiceSyncStateName } from '../domain/invoice/states';
import { flag } from '../domain/servicem8-types';
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
import { createConnectionGate } from './support/connection-gate';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes' },
});

/** A blocked invoice is looked at again on this schedule, so it exports once the cause is fixed (INV-3). */
const BLOCKED_RETRY = ['1 minute', '5 minutes', '15 minutes', '1 hour'];
/** A run hands over to a new one (continue-as-new) after this many syncs: about 20 events each. */
const MAX_SYNCS_PER_RUN = 200;
/** With nothing to do, the workflow ends after this long; the next event starts it again. */
const IDLE_END = '7 days';

export async function invoiceWorkflow(input: InvoiceWorkflowInput): Promise<InvoiceStatus> {
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
  let sm8Dirty = true; // a (re)start always looks once
  let qboDirty = input.carried === undefined;
  let syncing = false;
  let syncsThisRun = 0;

  const status = (): InvoiceStatus => ({
    connectionId,
    jobUuid,
    state: s.state,
    qboInvoiceId: s.qboInvoiceId,
    reason: s.reason,
    lastSyncedTotalCents: s.lastSyncedTotalCents,
    syncs: s.syncs,
    idle: !syncing && !sm8Dirty && !qboDirty,
  });
  setHandler(sm8JobChangedSignal, () => {
    sm8Dirty = true;
  });
  setHandler(qboInvoiceChangedSignal, () => {
    qboDirty = true;
  });
  setHandler(resyncInvoiceSignal, () => {
    sm8Dirty = true;
    qboDirty = true;
  });
  setHandler(invoiceStatusQuery, status);

  let beforeWait: InvoiceSyncStateName = s.state;
  const gate = createConnectionGate(connectionId, {
    onBlocked: async (failure) => {
      beforeWait = s.state;
      const reason = failure === 'ConnectionPaused' ? reasons.connectionPaused() : reasons.needsReauth();
      publish(InvoiceSyncState.waitingForReauth, reason);
      await acts.saveInvoiceState({ ...row(), state: InvoiceSyncState.waitingForReauth, reason });
    },
    onResumed: () => {
      publish(beforeWait, null);
    },
  });

  function publish(state: InvoiceSyncStateName, reason: Reason | null): void {
    s = { ...s, state, reason };
    upsertSearchAttributes([
      { key: SyncState, value: state },
      ...(s.qboInvoiceId ? [{ key: QboId, value: s.qboInvoiceId }] : []),
    ]);
    upsertMemo({ reasonCode: reason?.code ?? null, reason: reason?.text ?? null });
    setCurrentDetails(
      `**${state}**${s.qboInvoiceId ? ` · QuickBooks invoice ${s.qboInvoiceId}` : ''}${reason ? `\n\n${reason.code}: ${reason.text}` : ''}`,
    );
  }

  function row() {
    return {
      connectionId,
      jobUuid,
      generatedJobId: s.generatedJobId,
      state: s.state,
      reason: s.reason,
      qboInvoiceId: s.qboInvoiceId,
      sm8TotalCents: null as number | null,
      qboTotalCents: null as number | null,
      lastSyncedTotalCents: s.lastSyncedTotalCents,
    };
  }

  async function settle(
    state: InvoiceSyncStateName,
    reason: Reason | null,
    totals: { sm8?: number | null; qbo?: number | null } = {},
    noteKey?: string,
  ): Promise<void> {
    publish(state, reason);
    await acts.saveInvoiceState({
      ...row(),
      sm8TotalCents: totals.sm8 ?? null,
      qboTotalCents: totals.qbo ?? null,
    });
    const text = reason?.text;
    if (text && (noteKey ?? reason?.code)) {
      await acts.addJobNoteOnce({
        connectionId,
        jobUuid,
        noteKey: noteKey ?? reason.code,
        text,
        noteUuid: uuid4(),
      });
    }
  }

  function noteOnce(noteKey: string, text: string): Promise<boolean> {
    return acts.addJobNoteOnce({ connectionId, jobUuid, noteKey, text, noteUuid: uuid4() });
  }

  /** INV-5: the customer and items the invoice refers to (linked, matched by name, or created), then its body. */
  async function preparePayload(
    companyUuid: string,
    p: InvoicePlan,
  ): Promise<{ ok: true; payload: Record<string, unknown> } | { ok: false; reason: Reason }> {
    const customer = await acts.ensureCustomer({ connectionId, companyUuid, requestId: uuid4() });
    if (!customer.ok) return customer;
    const items = await acts.ensureItems({
      connectionId,
      lines: p.lines.map((l) => ({ jobMaterialUuid: l.jobMaterialUuid, materialUuid: l.materialUuid })),
      requestId: uuid4(),
    });
    if (!items.ok) return items;
    const payload = invoicePayload(p, {
      jobUuid,
      customerId: customer.customerId,
      itemIds: items.itemIds,
      billEmail: customer.billEmail,
    });
    return { ok: true, payload };
  }

  async function exportNew(
    snap: InvoiceSnapshot & { job: NonNullable<InvoiceSnapshot['job']> },
  ): Promise<void> {
    const plan = planInvoice({ ...snap, job: snap.job });
    if (plan.kind === 'not_approved') return settle(InvoiceSyncState.notApproved, null);
    if (plan.kind === 'zero_value') return settle(InvoiceSyncState.zeroValue, null, { sm8: 0 });
    if (plan.kind === 'blocked')
      return settle(InvoiceSyncState.blocked, plan.reason, { sm8: plan.sm8TotalCents });

    const p = plan.plan;
    const prepared = await preparePayload(snap.job.company_uuid, p);
    if (!prepared.ok) return settle(InvoiceSyncState.blocked, prepared.reason, { sm8: p.sm8TotalCents });
    const payload = prepared.payload;
    const created = await acts.createQboInvoice({
      connectionId,
      jobUuid,
      docNumber: p.docNumber,
      payload,
      requestId: uuid4(),
    });
    if (!created.ok) return settle(InvoiceSyncState.blocked, created.reason, { sm8: p.sm8TotalCents });
    s = { ...s, qboInvoiceId: created.invoiceId, lastSyncedTotalCents: p.sm8TotalCents };
    if (created.totalCents !== p.sm8TotalCents) {
      // Never expected (the plan predicted QuickBooks' arithmetic); say so loudly rather than hide it.
      return settle(
        InvoiceSyncState.needsAttentionInQbo,
        reasons.totalMismatch(p.sm8TotalCents, created.totalCents),
        { sm8: p.sm8TotalCents, qbo: created.totalCents },
      );
    }
    await settle(InvoiceSyncState.exported, null, { sm8: p.sm8TotalCents, qbo: created.totalCents });
    // PAY-1: payments recorded before export are sent right after it (the payments owner looks now).
    if (patched('payments-after-export')) await acts.wakePaymentsOwner({ connectionId, jobUuid });
  }

  async function followExported(snap: InvoiceSnapshot, lookAtQbo: boolean): Promise<void> {
    const invoiceId = s.qboInvoiceId as string;
    const job = snap.job;
    if (lookAtQbo || !job || !isApproved(job)) {
      const qbo = await acts.readQboInvoiceStatus({ connectionId, invoiceId });
      if (!qbo.exists || qbo.voided) {
        // INV-10: voided or deleted in QuickBooks: the link is marked so and sync for the job stops.
        const state = qbo.exists ? InvoiceSyncState.voidedInQbo : InvoiceSyncState.deletedInQbo;
        const what = qbo.exists ? 'voided' : 'deleted';
        await acts.markInvoiceLink({ connectionId, jobUuid, state: qbo.exists ? 'voided' : 'deleted' });
        await settle(state, null);
        await noteOnce(
          `INV-10:${what}`,
          `the QuickBooks invoice ${invoiceId} was ${what} in QuickBooks, so this job is no longer synced.`,
        );
        return;
      }
      // INV-7: printed or emailed in QuickBooks marks the job's invoice as sent.
      if (qbo.sent && job && !flag(job.invoice_sent))
        await acts.markJobInvoiceSent({ connectionId, jobUuid });
    }
    if (!job || !isApproved(job)) {
      // INV-10: after export QuickBooks owns the ledger; the invoice there is left alone.
      const what = !job ? 'deleted' : 'un-approved';
      await settle(InvoiceSyncState.needsAttentionInQbo, null);
      await noteOnce(
        `INV-10:sm8-${what}`,
        `this job was ${what} after its invoice was sent to QuickBooks; the QuickBooks invoice ${invoiceId} was left unchanged. Void or adjust it in QuickBooks if needed.`,
      );
      return;
    }
    const plan = planInvoice({ ...snap, job });
    if (plan.kind === 'zero_value') {
      return settle(InvoiceSyncState.resyncBlocked, reasons.noBillableLines(), { sm8: 0 });
    }
    if (plan.kind === 'blocked')
      return settle(InvoiceSyncState.resyncBlocked, plan.reason, { sm8: plan.sm8TotalCents });
    if (plan.kind !== 'ready') return;
    const p = plan.plan;
    if (p.sm8TotalCents === s.lastSyncedTotalCents) {
      // INV-6: changes that leave the total unchanged do not touch QuickBooks.
      return settle(InvoiceSyncState.exported, null, { sm8: p.sm8TotalCents, qbo: s.lastSyncedTotalCents });
    }
    const prepared = await preparePayload(job.company_uuid, p);
    if (!prepared.ok)
      return settle(InvoiceSyncState.resyncBlocked, prepared.reason, { sm8: p.sm8TotalCents });
    const payload = prepared.payload;
    const r = await acts.resyncQboInvoice({ connectionId, invoiceId, payload });
    if (!r.ok && 'gone' in r) {
      qboDirty = true; // look again: it will settle as voided/deleted
      return;
    }
    if (!r.ok) return settle(InvoiceSyncState.resyncBlocked, r.reason, { sm8: p.sm8TotalCents });
    s = { ...s, lastSyncedTotalCents: p.sm8TotalCents };
    await settle(InvoiceSyncState.exported, null, { sm8: p.sm8TotalCents, qbo: r.totalCents });
    // A new total can let a payment through that QuickBooks refused (more than the open balance).
    if (patched('payments-after-resync')) await acts.wakePaymentsOwner({ connectionId, jobUuid });
  }

  async function syncOnce(lookAtQbo: boolean): Promise<void> {
    s.syncs += 1;
    const snap = await acts.loadInvoiceSnapshot({ connectionId, jobUuid });
    if (snap.job) s.generatedJobId = snap.job.generated_job_id;
    if (s.qboInvoiceId) return followExported(snap, lookAtQbo);
    if (!snap.job) return settle(InvoiceSyncState.notApproved, null);
    return exportNew({ ...snap, job: snap.job });
  }

  if (!input.carried) {
    const stored = await acts.loadInvoiceState({ connectionId, jobUuid });
    if (stored) {
      s = {
        ...s,
        state: stored.state as InvoiceSyncStateName,
        qboInvoiceId: stored.qboInvoiceId,
        lastSyncedTotalCents: stored.lastSyncedTotalCents,
      };
    }
  }

  for (;;) {
    if (FINAL_INVOICE_STATES.includes(s.state)) break;
    const blocked = s.state === InvoiceSyncState.blocked || s.state === InvoiceSyncState.resyncBlocked;
    if (!sm8Dirty && !qboDirty) {
      const schedule = input.blockedRetry?.length ? input.blockedRetry : BLOCKED_RETRY;
      const timeout = blocked
        ? (schedule[Math.min(s.blockedRetries, schedule.length - 1)] ?? '1 hour')
        : IDLE_END;
      const woke = await condition(() => sm8Dirty || qboDirty, timeout);
      if (!woke && !blocked) break; // idle: end; the next event starts a new run
      if (!woke) s.blockedRetries += 1;
    }
    const lookAtQbo = qboDirty;
    sm8Dirty = false;
    qboDirty = false;
    syncing = true;
    try {
      await gate.run(() => syncOnce(lookAtQbo));
    } finally {
      syncing = false;
    }
    if (s.state !== InvoiceSyncState.blocked && s.state !== InvoiceSyncState.resyncBlocked)
      s.blockedRetries = 0;

    syncsThisRun += 1;
    if (
      workflowInfo().continueAsNewSuggested ||
      syncsThisRun >= (input.maxSyncsPerRun ?? MAX_SYNCS_PER_RUN)
    ) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof invoiceWorkflow>({ ...input, carried: s });
    }
  }
  return status();
}
