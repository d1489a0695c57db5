/**
 * One pass of an invoice owner as ONE activity (issue 12): read the job, plan (domain/invoice/plan.ts),
 * ensure the customer and items, create or re-sync the QuickBooks invoice, follow QuickBooks' side, store
 * the state and write a note per reason. The same decisions as the owner's older step-by-step path
 * (workflows/invoice.ts, kept for runs recorded before), in one Temporal action instead of six to ten, and
 * at the minimum API cost (activities/invoice-steps.ts). The workflow shows what the pass returns.
 */
import {
  invoicePayload,
  isApproved,
  planInvoice,
  withItemMoved,
  type PlanResult,
} from '../domain/invoice/plan';
import {
  jobGoneAfterExportNote,
  ReasonCode,
  reasons,
  TAX_REASON_CODES,
  type Reason,
} from '../domain/invoice/reasons';
import { FINAL_INVOICE_STATES, InvoiceSyncState, type InvoiceSyncStateName } from '../domain/invoice/states';
import { flag } from '../domain/servicem8-types';
import { forgetConnectionFacts } from '../store/connection-facts';
import { loadInvoiceExport, saveInvoiceExport } from '../store/invoice-exports';
import { createRaisableLook } from './support/look-watch';
import type { InvoiceCarried } from '../workflows/messages';
import { createInvoiceActivities, type InvoiceSnapshot } from './invoice';
import { createInvoiceClientSteps } from './invoice-client';
import { createInvoicePartyActivities } from './invoice-parties';
import { createInvoiceSteps } from './invoice-steps';
import { itemRefusal } from './invoice-refusals';
import { createPaymentRoutingActivities } from './payment-routing';
import type { ActivityDeps } from './support/deps';

export interface InvoicePassInput {
  connectionId: string;
  jobUuid: string;
  carried: InvoiceCarried;
  /** The run's first pass: the state stored by an earlier run (if any) is taken first. */
  fresh: boolean;
  /** A QuickBooks event asked to look at the invoice there too. */
  lookAtQbo: boolean;
  /** false: only QuickBooks changed (an exported invoice is then looked at there alone, no ServiceM8 read). */
  lookAtSm8?: boolean;
  /** QuickBooks requestid of this pass's writes (uuid4 from the workflow, design principle 5, docs/design.md). */
  requestId: string;
}

export interface InvoicePassResult {
  carried: InvoiceCarried;
  /** Look again at once, at QuickBooks too (the invoice went while re-syncing). */
  again: boolean;
}

/** The invoice_exports row of a state that did not change (totals are left as stored). */
function stateRow(s: InvoiceCarried) {
  return {
    generatedJobId: s.generatedJobId,
    state: s.state,
    reason: s.reason,
    qboInvoiceId: s.qboInvoiceId,
    sm8TotalCents: s.lastSyncedTotalCents,
    qboTotalCents: s.lastSyncedTotalCents,
    lastSyncedTotalCents: s.lastSyncedTotalCents,
  };
}

export function createInvoicePassActivities(deps: ActivityDeps) {
  const steps = createInvoiceSteps(deps);
  const parties = createInvoicePartyActivities(deps);
  const routing = createPaymentRoutingActivities(deps);
  const invoiceActs = createInvoiceActivities(deps);
  const clients = createInvoiceClientSteps(deps);
  const raisableLook = createRaisableLook(deps.pool);

  /** Issue 12: a look below the interactive lane whose job a person approves meanwhile raises itself. */
  const invoicePass = (input: InvoicePassInput): Promise<InvoicePassResult> =>
    raisableLook(input.connectionId, input.jobUuid, (raiseIfWanted) => look(input, raiseIfWanted));

  async function look(
    input: InvoicePassInput,
    raiseIfWanted: () => Promise<void>,
  ): Promise<InvoicePassResult> {
    const { connectionId, jobUuid } = input;
    let s: InvoiceCarried = { ...input.carried };
    if (FINAL_INVOICE_STATES.includes(s.state)) return { carried: s, again: false };
    if (input.fresh) {
      const stored = await loadInvoiceExport(deps.pool, connectionId, jobUuid);
      if (stored)
        s = {
          ...s,
          state: stored.state as InvoiceSyncStateName,
          qboInvoiceId: stored.qboInvoiceId,
          lastSyncedTotalCents: stored.lastSyncedTotalCents,
          syncs: Math.max(s.syncs, stored.syncs),
        };
    }
    if (FINAL_INVOICE_STATES.includes(s.state)) return { carried: s, again: false };
    s.syncs += 1;
    let again = false;

    const settle = async (
      state: InvoiceSyncStateName,
      reason: Reason | null,
      totals: { sm8?: number | null; qbo?: number | null } = {},
    ): Promise<void> => {
      s = { ...s, state, reason };
      await saveInvoiceExport(deps.pool, {
        connectionId,
        jobUuid,
        generatedJobId: s.generatedJobId,
        state,
        reason,
        qboInvoiceId: s.qboInvoiceId,
        sm8TotalCents: totals.sm8 ?? null,
        qboTotalCents: totals.qbo ?? null,
        lastSyncedTotalCents: s.lastSyncedTotalCents,
        syncs: s.syncs,
      });
      if (reason?.text && reason.code) await steps.noteOnce(connectionId, jobUuid, reason.code, reason.text);
    };

    /** The plan, with the tax facts read again once when it is held for a reason they may explain. */
    const plan = async (snap: InvoiceSnapshot): Promise<{ snap: InvoiceSnapshot; plan: PlanResult }> => {
      const job = snap.job as NonNullable<InvoiceSnapshot['job']>;
      const first = planInvoice({ ...snap, job });
      if (first.kind !== 'blocked' || !TAX_REASON_CODES.includes(first.reason.code))
        return { snap, plan: first };
      const fresh = await steps.snapshot(connectionId, jobUuid, { exported: true, refreshTax: true });
      if (!fresh.job) return { snap, plan: first };
      return { snap: fresh, plan: planInvoice({ ...fresh, job: fresh.job }) };
    };

    /** INV-5: customer and items, then the invoice body. */
    const payloadFor = async (snap: InvoiceSnapshot, p: Extract<PlanResult, { kind: 'ready' }>['plan']) => {
      const job = snap.job as NonNullable<InvoiceSnapshot['job']>;
      const found = await parties.ensureParties({
        connectionId,
        companyUuid: job.company_uuid,
        lines: p.lines.map((l) => ({ jobMaterialUuid: l.jobMaterialUuid, materialUuid: l.materialUuid })),
        // Its own requestid: QuickBooks answers a repeated one with the first answer, whatever the entity.
        requestId: `${input.requestId.slice(0, 36)}-parties`,
      });
      if (!found.ok) return found;
      const payload = invoicePayload(p, {
        jobUuid,
        customerId: found.customerId,
        itemIds: found.itemIds,
        billEmail: found.billEmail,
      });
      return { ok: true as const, payload, itemIds: found.itemIds };
    };

    /**
     * QuickBooks refused a write with 610: something the invoice names was made inactive or merged away. The
     * client's own step says whether it is the customer (CLIENT_INACTIVE) or finds the survivor of a merge
     * nobody announced (CM-10); with the customer fine, an item (inactive, or merged away unheard: its link
     * follows the survivor, or goes when no invoice shows one). A survivor gives the payload to send again;
     * anything else is said in a bookkeeper's words rather than QuickBooks' (issue 13).
     */
    const explainInactive = async (
      companyUuid: string,
      prepared: { payload: Record<string, unknown>; itemIds: Record<string, string> },
    ): Promise<{ payload: Record<string, unknown> } | { reason: Reason }> => {
      const c = await parties.ensureCustomer({
        connectionId,
        companyUuid,
        requestId: `${input.requestId.slice(0, 36)}-customer`,
      });
      if (!c.ok) return { reason: c.reason };
      const used = (prepared.payload as { CustomerRef?: { value?: string } }).CustomerRef?.value;
      if (c.customerId !== used)
        return { payload: { ...prepared.payload, CustomerRef: { value: c.customerId } } };
      const item = await itemRefusal(deps, connectionId, Object.values(prepared.itemIds));
      if (item?.ok) return { payload: withItemMoved(prepared.payload, item.gone, item.survivor) };
      return {
        reason:
          item?.reason ??
          reasons.qboValidation('something the invoice uses was made inactive in QuickBooks', '610'),
      };
    };

    /** INV-1 … INV-5: export a job not exported yet, or say why not. */
    const exportNew = async (first: InvoiceSnapshot): Promise<void> => {
      const { snap, plan: planned } = await plan(first);
      if (planned.kind === 'not_approved') return settle(InvoiceSyncState.notApproved, null);
      if (planned.kind === 'zero_value') return settle(InvoiceSyncState.zeroValue, null, { sm8: 0 });
      if (planned.kind === 'blocked')
        return settle(InvoiceSyncState.blocked, planned.reason, { sm8: planned.sm8TotalCents });
      const p = planned.plan;
      const prepared = await payloadFor(snap, p);
      if (!prepared.ok) return settle(InvoiceSyncState.blocked, prepared.reason, { sm8: p.sm8TotalCents });
      const companyUuid = (snap.job as NonNullable<InvoiceSnapshot['job']>).company_uuid;
      const create = (payload: typeof prepared.payload, requestId: string) =>
        steps.createInvoice({
          connectionId,
          jobUuid,
          docNumber: p.docNumber,
          payload,
          requestId,
          companyUuid,
        });
      await raiseIfWanted();
      let created = await create(prepared.payload, input.requestId);
      if (!created.ok && !('reason' in created)) {
        // 610: made once more on the survivor of a merge nobody announced (its own request id: the first
        // was refused), or held with what was made inactive.
        const why = await explainInactive(companyUuid, prepared);
        created =
          'payload' in why
            ? await create(why.payload, `${input.requestId.slice(0, 36)}-survivor`)
            : { ok: false, reason: why.reason };
      }
      if (!created.ok) {
        // A refusal may come from facts gone stale (a tax code made inactive): the next pass reads them again.
        if ('reason' in created && created.reason.code === ReasonCode.qboValidation)
          await forgetConnectionFacts(deps.pool, connectionId, ['taxCodes', 'taxModel']);
        const reason =
          'reason' in created
            ? created.reason
            : reasons.qboValidation('something the invoice uses was made inactive in QuickBooks', '610');
        return settle(InvoiceSyncState.blocked, reason, { sm8: p.sm8TotalCents });
      }
      s = { ...s, qboInvoiceId: created.invoiceId, lastSyncedTotalCents: p.sm8TotalCents };
      if (created.voided) return settleGone('voided'); // voided before its answer reached us (INV-10)
      if (created.totalCents !== p.sm8TotalCents)
        return settle(
          InvoiceSyncState.needsAttentionInQbo,
          reasons.totalMismatch(p.sm8TotalCents, created.totalCents),
          { sm8: p.sm8TotalCents, qbo: created.totalCents },
        );
      await settle(InvoiceSyncState.exported, null, { sm8: p.sm8TotalCents, qbo: created.totalCents });
      // PAY-1: payments recorded before export are sent right after it (the payments owner looks now; it
      // knows the new invoice has none in QuickBooks, so it reads only ServiceM8's).
      // An invoice found rather than made (an earlier attempt's) may have payments already: both sides are read.
      if (created.adopted) await routing.wakePaymentsOwner({ connectionId, jobUuid });
      else await routing.wakePaymentsAfterExport({ connectionId, jobUuid, qboInvoiceId: created.invoiceId });
    };

    /** INV-10: the invoice was voided or deleted in QuickBooks: the link says so, sync stops, one note says why. */
    const settleGone = async (what: 'voided' | 'deleted'): Promise<void> => {
      await invoiceActs.markInvoiceLink({ connectionId, jobUuid, state: what });
      await settle(what === 'voided' ? InvoiceSyncState.voidedInQbo : InvoiceSyncState.deletedInQbo, null);
      await steps.noteOnce(
        connectionId,
        jobUuid,
        `INV-10:${what}`,
        `the QuickBooks invoice ${s.qboInvoiceId} was ${what} in QuickBooks, so this job is no longer synced.`,
      );
    };

    /** INV-7, INV-10: QuickBooks' side of an exported invoice, and a job gone or un-approved. True: settled. */
    const followQboSide = async (snap: InvoiceSnapshot): Promise<boolean> => {
      const invoiceId = s.qboInvoiceId as string;
      const job = snap.job;
      if (input.lookAtQbo || !job || !isApproved(job)) {
        const acts = invoiceActs;
        const qbo = await acts.readQboInvoiceStatus({ connectionId, invoiceId });
        // The void's zeroed shape first; the memo test (qbo.voided) is the fallback (domain/invoice/voids.ts).
        if (!qbo.exists || qbo.zeroed || qbo.voided) {
          await settleGone(qbo.exists ? 'voided' : 'deleted');
          return true;
        }
        if (qbo.sent && job && !flag(job.invoice_sent)) await steps.markJobInvoiceSent(connectionId, jobUuid);
      }
      if (!job || !isApproved(job)) {
        const what = !job ? 'deleted' : 'un-approved';
        await settle(InvoiceSyncState.needsAttentionInQbo, null);
        await steps.noteOnce(
          connectionId,
          jobUuid,
          `INV-10:sm8-${what}`,
          jobGoneAfterExportNote(what, invoiceId),
        );
        return true;
      }
      return false;
    };

    /** INV-6: an exported invoice follows the job's new total. */
    const followExported = async (first: InvoiceSnapshot): Promise<void> => {
      if (await followQboSide(first)) return;
      const { snap, plan: planned } = await plan(first);
      if (planned.kind === 'zero_value')
        return settle(InvoiceSyncState.resyncBlocked, reasons.zeroAfterExport(String(s.qboInvoiceId)), {
          sm8: 0,
        });
      if (planned.kind === 'blocked') {
        const reason =
          planned.reason.code === ReasonCode.negativeTotal
            ? reasons.negativeAfterExport(planned.sm8TotalCents, String(s.qboInvoiceId))
            : planned.reason;
        return settle(InvoiceSyncState.resyncBlocked, reason, { sm8: planned.sm8TotalCents });
      }
      if (planned.kind !== 'ready') return;
      const p = planned.plan;
      const companyUuid = (snap.job as NonNullable<InvoiceSnapshot['job']>).company_uuid;
      let prepared: Awaited<ReturnType<typeof payloadFor>> | null = null;
      // INV-11: the job's client changed since the invoice was written (known from PostgreSQL alone).
      const moved = await clients.clientMoved(connectionId, s.qboInvoiceId as string, companyUuid);
      if (moved) {
        prepared = await payloadFor(snap, p);
        if (!prepared.ok)
          return settle(InvoiceSyncState.resyncBlocked, prepared.reason, { sm8: p.sm8TotalCents });
        const customer = prepared.payload.CustomerRef as { value: string };
        const email = (prepared.payload.BillEmail as { Address?: string } | undefined)?.Address ?? null;
        const r = await clients.moveInvoice({
          connectionId,
          invoiceId: s.qboInvoiceId as string,
          customerId: customer.value,
          billEmail: email,
          companyUuid,
          fromCompanyUuid: moved.fromCompanyUuid,
        });
        if (!r.ok && 'gone' in r) {
          again = true; // look again: it will settle as voided/deleted
          return;
        }
        if (!r.ok) return settle(InvoiceSyncState.resyncBlocked, r.reason, { sm8: p.sm8TotalCents });
      }
      if (p.sm8TotalCents === s.lastSyncedTotalCents)
        return settle(InvoiceSyncState.exported, null, { sm8: p.sm8TotalCents, qbo: s.lastSyncedTotalCents });
      prepared ??= await payloadFor(snap, p);
      if (!prepared.ok)
        return settle(InvoiceSyncState.resyncBlocked, prepared.reason, { sm8: p.sm8TotalCents });
      const resync = (payload: Record<string, unknown>) =>
        invoiceActs.resyncQboInvoice({
          connectionId,
          invoiceId: s.qboInvoiceId as string,
          payload,
          companyUuid,
        });
      let r = await resync(prepared.payload);
      if (!r.ok && 'inactiveRef' in r) {
        const why = await explainInactive(companyUuid, prepared);
        r = 'payload' in why ? await resync(why.payload) : { ok: false, reason: why.reason };
      }
      if (!r.ok && 'gone' in r) {
        again = true; // look again: it will settle as voided/deleted
        return;
      }
      if (!r.ok) return settle(InvoiceSyncState.resyncBlocked, r.reason, { sm8: p.sm8TotalCents });
      s = { ...s, lastSyncedTotalCents: p.sm8TotalCents };
      await settle(InvoiceSyncState.exported, null, { sm8: p.sm8TotalCents, qbo: r.totalCents });
      // A new total can let a payment through that QuickBooks refused (more than the open balance).
      await routing.wakePaymentsOwner({ connectionId, jobUuid, described: true });
    };

    // INV-10: the router marked the link voided from the webhook's Void or CDC's zeroed record
    // (domain/invoice/voids.ts): settled without a read.
    if (s.qboInvoiceId && input.lookAtQbo) {
      const link = await deps.links.bySm8(connectionId, 'invoice', jobUuid);
      if (link?.state === 'voided') {
        await settleGone('voided');
        return { carried: s, again: false };
      }
    }
    // INV-7, INV-10 for an event from QuickBooks alone: QuickBooks' side is all that can have changed.
    if (
      s.qboInvoiceId &&
      s.state === InvoiceSyncState.exported &&
      input.lookAtQbo &&
      input.lookAtSm8 === false
    ) {
      const invoiceId = s.qboInvoiceId;
      const qbo = await invoiceActs.readQboInvoiceStatus({ connectionId, invoiceId });
      if (qbo.exists && !qbo.voided && !qbo.zeroed) {
        if (qbo.sent && !(await steps.invoiceSentWritten(connectionId, jobUuid)))
          await steps.markJobInvoiceSent(connectionId, jobUuid);
        await saveInvoiceExport(deps.pool, { connectionId, jobUuid, ...stateRow(s), syncs: s.syncs });
        return { carried: s, again: false };
      }
    }
    const snap = await steps.snapshot(connectionId, jobUuid, {
      exported: s.qboInvoiceId !== null,
      refreshTax: false,
    });
    if (snap.job) s.generatedJobId = snap.job.generated_job_id;
    await raiseIfWanted();
    if (s.qboInvoiceId) await followExported(snap);
    else if (!snap.job) await settle(InvoiceSyncState.notApproved, null);
    else await exportNew(snap);
    return { carried: s, again };
  }

  return { invoicePass };
}
