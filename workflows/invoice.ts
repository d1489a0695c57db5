/**
 * The lifecycle of one ServiceM8 job's invoice (INV-1 … INV-10), the owner of that record: every event
 * about the job or its QuickBooks invoice only wakes this workflow, which reads both sides and converges
 * them. Bursts of events cost one sync; work for one job is serialised; history stays bounded by
 * continue-as-new; PostgreSQL keeps the durable state so a later run (after idle end) picks it up.
 */
import {
  continueAsNew,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { InvoiceSnapshot } from '../activities/invoice';
import { invoicePayload, isApproved, planInvoice, type InvoicePlan } from '../domain/invoice/plan';
import { jobGoneAfterExportNote, reasons, type Reason } from '../domain/invoice/reasons';
import {
  blockedRetryDelay,
  FINAL_INVOICE_STATES,
  InvoiceSyncState,
  isBlockedState,
  type InvoiceSyncStateName,
} from '../domain/invoice/states';
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
import { laneActivities, OWNER_ACTIVITY } from './support/activity-options';
import { leanInvoiceRun } from './invoice-lean';
import { createConnectionGate } from './support/connection-gate';
import { ownerLoop, type OwnerWait } from './support/owner-loop';

const acts = laneActivities<Activities>('interactive', OWNER_ACTIVITY);

/** A run hands over to a new one (continue-as-new) after this many syncs: about 20 events each. */
const MAX_SYNCS_PER_RUN = 200;
/** With nothing to do, the workflow ends after this long; the next event starts it again. */
const IDLE_END = '7 days';

/** The state of one run of the owner: what it carries over, and what events asked for. */
interface InvoiceRun {
  readonly connectionId: string;
  readonly jobUuid: string;
  s: InvoiceCarried;
  /** The job changed: read it again. A (re)start always looks once. */
  sm8Dirty: boolean;
  /** The QuickBooks invoice changed: read its status too. */
  qboDirty: boolean;
}

export async function invoiceWorkflow(input: InvoiceWorkflowInput): Promise<InvoiceStatus> {
  // Issue 12: runs started since carry `lean` and take the path at minimum cost (workflows/invoice-lean.ts).
  if (input.lean) return leanInvoiceRun(input);
  const { connectionId, jobUuid } = input;
  const run: InvoiceRun = {
    connectionId,
    jobUuid,
    s: input.carried ?? {
      state: InvoiceSyncState.notApproved,
      qboInvoiceId: null,
      reason: null,
      lastSyncedTotalCents: null,
      generatedJobId: null,
      syncs: 0,
      blockedRetries: 0,
    },
    sm8Dirty: true,
    qboDirty: input.carried === undefined,
  };

  let beforeWait: InvoiceSyncStateName = run.s.state;
  const gate = createConnectionGate(connectionId, {
    onBlocked: async (failure) => {
      beforeWait = run.s.state;
      const reason = failure === 'ConnectionPaused' ? reasons.connectionPaused() : reasons.needsReauth();
      publish(run, InvoiceSyncState.waitingForReauth, reason);
      await acts.saveInvoiceState({ ...row(run), state: InvoiceSyncState.waitingForReauth, reason });
    },
    onResumed: () => {
      publish(run, beforeWait, null);
    },
  });

  const loop = ownerLoop<InvoiceStatus>({
    pending: () => run.sm8Dirty || run.qboDirty,
    waitFor: (): OwnerWait =>
      isBlockedState(run.s.state)
        ? {
            timeout: blockedRetryDelay(run.s.blockedRetries),
            onTimeout: () => {
              run.s.blockedRetries += 1;
            },
          }
        : { timeout: IDLE_END, onTimeout: 'end' },
    pass: async () => {
      const lookAtQbo = run.qboDirty;
      run.sm8Dirty = false;
      run.qboDirty = false;
      await gate.run(() => syncOnce(run, lookAtQbo));
      if (!isBlockedState(run.s.state)) run.s.blockedRetries = 0;
    },
    overBeforeWait: () => FINAL_INVOICE_STATES.includes(run.s.state),
    maxPassesPerRun: MAX_SYNCS_PER_RUN,
    continueAsNew: () => continueAsNew<typeof invoiceWorkflow>({ ...input, carried: run.s }),
    result: () => status(),
  });

  const status = (): InvoiceStatus => ({
    connectionId,
    jobUuid,
    state: run.s.state,
    qboInvoiceId: run.s.qboInvoiceId,
    reason: run.s.reason,
    lastSyncedTotalCents: run.s.lastSyncedTotalCents,
    syncs: run.s.syncs,
    idle: !loop.busy && !run.sm8Dirty && !run.qboDirty,
  });
  setHandler(sm8JobChangedSignal, () => {
    run.sm8Dirty = true;
  });
  setHandler(qboInvoiceChangedSignal, () => {
    run.qboDirty = true;
  });
  setHandler(resyncInvoiceSignal, () => {
    run.sm8Dirty = true;
    run.qboDirty = true;
  });
  setHandler(invoiceStatusQuery, status);

  if (!input.carried) {
    const stored = await acts.loadInvoiceState({ connectionId, jobUuid });
    if (stored) {
      run.s = {
        ...run.s,
        state: stored.state as InvoiceSyncStateName,
        qboInvoiceId: stored.qboInvoiceId,
        lastSyncedTotalCents: stored.lastSyncedTotalCents,
      };
    }
  }
  return loop.run();
}

/** Shows the state where support looks: search attributes, memo and the Web UI's current details. */
function publish(run: InvoiceRun, state: InvoiceSyncStateName, reason: Reason | null): void {
  run.s = { ...run.s, state, reason };
  const { qboInvoiceId } = run.s;
  upsertSearchAttributes([
    { key: SyncState, value: state },
    ...(qboInvoiceId ? [{ key: QboId, value: qboInvoiceId }] : []),
  ]);
  upsertMemo({ reasonCode: reason?.code ?? null, reason: reason?.text ?? null });
  setCurrentDetails(
    `**${state}**${qboInvoiceId ? ` · QuickBooks invoice ${qboInvoiceId}` : ''}${reason ? `\n\n${reason.code}: ${reason.text}` : ''}`,
  );
}

/** The invoice_exports row of this job as the run knows it. */
function row(run: InvoiceRun) {
  const { s } = run;
  return {
    connectionId: run.connectionId,
    jobUuid: run.jobUuid,
    generatedJobId: s.generatedJobId,
    state: s.state,
    reason: s.reason,
    qboInvoiceId: s.qboInvoiceId,
    sm8TotalCents: null as number | null,
    qboTotalCents: null as number | null,
    lastSyncedTotalCents: s.lastSyncedTotalCents,
  };
}

/** Ends a sync in `state`: shown, stored, and a reason is written once as a note on the job. */
async function settle(
  run: InvoiceRun,
  state: InvoiceSyncStateName,
  reason: Reason | null,
  totals: { sm8?: number | null; qbo?: number | null } = {},
): Promise<void> {
  publish(run, state, reason);
  await acts.saveInvoiceState({
    ...row(run),
    sm8TotalCents: totals.sm8 ?? null,
    qboTotalCents: totals.qbo ?? null,
  });
  if (reason?.text && reason.code) await noteOnce(run, reason.code, reason.text);
}

function noteOnce(run: InvoiceRun, noteKey: string, text: string): Promise<boolean> {
  const { connectionId, jobUuid } = run;
  return acts.addJobNoteOnce({ connectionId, jobUuid, noteKey, text, noteUuid: uuid4() });
}

/** INV-5: the customer and items the invoice refers to (linked, matched by name, or created), then its body. */
async function preparePayload(
  run: InvoiceRun,
  companyUuid: string,
  p: InvoicePlan,
): Promise<{ ok: true; payload: Record<string, unknown> } | { ok: false; reason: Reason }> {
  const { connectionId, jobUuid } = run;
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

/** INV-1 … INV-5: a job not yet exported: export it when approved, or say why not. */
async function exportNew(
  run: InvoiceRun,
  snap: InvoiceSnapshot & { job: NonNullable<InvoiceSnapshot['job']> },
): Promise<void> {
  const { connectionId, jobUuid } = run;
  const plan = planInvoice({ ...snap, job: snap.job });
  if (plan.kind === 'not_approved') return settle(run, InvoiceSyncState.notApproved, null);
  if (plan.kind === 'zero_value') return settle(run, InvoiceSyncState.zeroValue, null, { sm8: 0 });
  if (plan.kind === 'blocked')
    return settle(run, InvoiceSyncState.blocked, plan.reason, { sm8: plan.sm8TotalCents });

  const p = plan.plan;
  const prepared = await preparePayload(run, snap.job.company_uuid, p);
  if (!prepared.ok) return settle(run, InvoiceSyncState.blocked, prepared.reason, { sm8: p.sm8TotalCents });
  const created = await acts.createQboInvoice({
    connectionId,
    jobUuid,
    docNumber: p.docNumber,
    payload: prepared.payload,
    requestId: uuid4(),
  });
  if (!created.ok) return settle(run, InvoiceSyncState.blocked, created.reason, { sm8: p.sm8TotalCents });
  run.s = { ...run.s, qboInvoiceId: created.invoiceId, lastSyncedTotalCents: p.sm8TotalCents };
  if (created.totalCents !== p.sm8TotalCents) {
    // Never expected (the plan predicted QuickBooks' arithmetic); say so loudly rather than hide it.
    return settle(
      run,
      InvoiceSyncState.needsAttentionInQbo,
      reasons.totalMismatch(p.sm8TotalCents, created.totalCents),
      { sm8: p.sm8TotalCents, qbo: created.totalCents },
    );
  }
  await settle(run, InvoiceSyncState.exported, null, { sm8: p.sm8TotalCents, qbo: created.totalCents });
  // PAY-1: payments recorded before export are sent right after it (the payments owner looks now).
  if (patched('payments-after-export')) await acts.wakePaymentsOwner({ connectionId, jobUuid });
}

/**
 * INV-7 and INV-10: an exported invoice gone, voided or sent in QuickBooks, or its job deleted or
 * un-approved in ServiceM8. Returns true when that settled the sync.
 */
async function followQboSide(run: InvoiceRun, snap: InvoiceSnapshot, lookAtQbo: boolean): Promise<boolean> {
  const { connectionId, jobUuid } = run;
  const invoiceId = run.s.qboInvoiceId as string;
  const job = snap.job;
  if (lookAtQbo || !job || !isApproved(job)) {
    const qbo = await acts.readQboInvoiceStatus({ connectionId, invoiceId });
    if (!qbo.exists || qbo.voided) {
      // INV-10: voided or deleted in QuickBooks: the link is marked so and sync for the job stops.
      const state = qbo.exists ? InvoiceSyncState.voidedInQbo : InvoiceSyncState.deletedInQbo;
      const what = qbo.exists ? 'voided' : 'deleted';
      await acts.markInvoiceLink({ connectionId, jobUuid, state: qbo.exists ? 'voided' : 'deleted' });
      await settle(run, state, null);
      await noteOnce(
        run,
        `INV-10:${what}`,
        `the QuickBooks invoice ${invoiceId} was ${what} in QuickBooks, so this job is no longer synced.`,
      );
      return true;
    }
    // INV-7: printed or emailed in QuickBooks marks the job's invoice as sent.
    if (qbo.sent && job && !flag(job.invoice_sent)) await acts.markJobInvoiceSent({ connectionId, jobUuid });
  }
  if (!job || !isApproved(job)) {
    // INV-10: after export QuickBooks owns the ledger; the invoice there is left alone.
    const what = !job ? 'deleted' : 'un-approved';
    await settle(run, InvoiceSyncState.needsAttentionInQbo, null);
    await noteOnce(run, `INV-10:sm8-${what}`, jobGoneAfterExportNote(what, invoiceId));
    return true;
  }
  return false;
}

/** INV-6: an exported invoice follows the job's new total (a change that keeps the total does nothing). */
async function followExported(run: InvoiceRun, snap: InvoiceSnapshot, lookAtQbo: boolean): Promise<void> {
  if (await followQboSide(run, snap, lookAtQbo)) return;
  const { connectionId, jobUuid } = run;
  const invoiceId = run.s.qboInvoiceId as string;
  const job = snap.job as NonNullable<InvoiceSnapshot['job']>;
  const plan = planInvoice({ ...snap, job });
  if (plan.kind === 'zero_value') {
    return settle(run, InvoiceSyncState.resyncBlocked, reasons.zeroAfterExport(invoiceId), { sm8: 0 });
  }
  if (plan.kind === 'blocked')
    return settle(run, InvoiceSyncState.resyncBlocked, plan.reason, { sm8: plan.sm8TotalCents });
  if (plan.kind !== 'ready') return;
  const p = plan.plan;
  if (p.sm8TotalCents === run.s.lastSyncedTotalCents) {
    // INV-6: changes that leave the total unchanged do not touch QuickBooks.
    return settle(run, InvoiceSyncState.exported, null, {
      sm8: p.sm8TotalCents,
      qbo: run.s.lastSyncedTotalCents,
    });
  }
  const prepared = await preparePayload(run, job.company_uuid, p);
  if (!prepared.ok)
    return settle(run, InvoiceSyncState.resyncBlocked, prepared.reason, { sm8: p.sm8TotalCents });
  const r = await acts.resyncQboInvoice({ connectionId, invoiceId, payload: prepared.payload });
  if (!r.ok && 'gone' in r) {
    run.qboDirty = true; // look again: it will settle as voided/deleted
    return;
  }
  if (!r.ok) return settle(run, InvoiceSyncState.resyncBlocked, r.reason, { sm8: p.sm8TotalCents });
  run.s = { ...run.s, lastSyncedTotalCents: p.sm8TotalCents };
  await settle(run, InvoiceSyncState.exported, null, { sm8: p.sm8TotalCents, qbo: r.totalCents });
  // A new total can let a payment through that QuickBooks refused (more than the open balance).
  if (patched('payments-after-resync')) await acts.wakePaymentsOwner({ connectionId, jobUuid });
}

/** One sync: read the job (and its invoice), then export it or follow the exported invoice. */
async function syncOnce(run: InvoiceRun, lookAtQbo: boolean): Promise<void> {
  run.s.syncs += 1;
  const snap = await acts.loadInvoiceSnapshot({ connectionId: run.connectionId, jobUuid: run.jobUuid });
  if (snap.job) run.s.generatedJobId = snap.job.generated_job_id;
  if (run.s.qboInvoiceId) return followExported(run, snap, lookAtQbo);
  if (!snap.job) return settle(run, InvoiceSyncState.notApproved, null);
  return exportNew(run, { ...snap, job: snap.job });
}
