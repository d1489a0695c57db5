/**
 * Activities of the invoice lifecycle (workflows/invoice.ts): read both sides, ensure the customer and
 * items (activities/invoice-parties.ts), create or re-sync the QuickBooks invoice, mirror the sent flag, and record state and notes.
 * Every write is idempotent: QuickBooks creates carry a requestid and are preceded by a lookup (by name
 * for customers and items, by DocNumber + marker for invoices); ServiceM8 creates use a uuid generated in
 * the workflow. Business refusals come back as INV-3 reasons, not as failures.
 */
import { fingerprint } from '../domain/fingerprint';
import { hasMarker, isApproved, type TaxCodeLink } from '../domain/invoice/plan';
import { jobNoteKey, reasons, type Reason } from '../domain/invoice/reasons';
import { sentInQbo } from '../domain/invoice/sent';
import { memoSaysVoided, zeroedInvoice } from '../domain/invoice/voids';
import { toCents } from '../domain/money';
import { qboQuote } from '../domain/names';
import type { Sm8Job, Sm8JobMaterial, Sm8TaxRate } from '../domain/servicem8-types';
import { isNotFound, validationDetails } from '../apis/errors';
import { loadInvoiceExport, saveInvoiceExport, type StoredInvoiceState } from '../store/invoice-exports';
import { jobNoteWritten, recordJobNote } from '../store/job-notes';
import { createInvoicePartyActivities } from './invoice-parties';
import { invoiceSettings, type Refusal } from './invoice-settings';
import type { ActivityDeps } from './support/deps';
import { qboTaxCodes, qboTaxModel, resolveTaxCodes } from '../apis/quickbooks/lookups';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { recordApprovalSeen } from '../store/metrics';
import { recordOwnWrite } from '../store/own-writes';

export interface InvoiceSnapshot {
  /** null when ServiceM8 no longer has the job (404). */
  job: Sm8Job | null;
  materials: Sm8JobMaterial[];
  taxRates: Record<string, Sm8TaxRate>;
  taxCodes: Record<string, TaxCodeLink>;
  taxModel: 'global' | 'us';
  docNumberPrefix: string;
}

export interface QboInvoiceStatus {
  exists: boolean;
  voided: boolean;
  sent: boolean;
  totalCents: number | null;
  syncToken: string | null;
  /** In the void's documented shape (domain/invoice/voids.ts), whatever its memo says; absent: not read. */
  zeroed?: boolean;
}

interface QboInvoice {
  Id: string;
  SyncToken: string;
  DocNumber?: string;
  PrivateNote?: string;
  TotalAmt?: number;
  Balance?: number;
  EmailStatus?: string;
  PrintStatus?: string;
  Line?: unknown[];
}

export function createInvoiceActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);

  const settings = (connectionId: string) => invoiceSettings(deps.store, connectionId);

  return {
    /** Both sides' current truth for one job (events only say "look", design principle 3, docs/design.md). */
    async loadInvoiceSnapshot(input: { connectionId: string; jobUuid: string }): Promise<InvoiceSnapshot> {
      const sm8 = sm8For(input.connectionId);
      const qbo = qboFor(input.connectionId);
      const { docNumberPrefix } = await settings(input.connectionId);
      let job: Sm8Job | null;
      try {
        job = await sm8.read<Sm8Job>('job', input.jobUuid);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        job = null;
      }
      if (!job)
        return { job, materials: [], taxRates: {}, taxCodes: {}, taxModel: 'global', docNumberPrefix };
      // Observability: the first sighting of the approval starts the approval -> export latency.
      if (isApproved(job)) await recordApprovalSeen(deps.pool, input.connectionId, input.jobUuid);
      const materials = await sm8.list<Sm8JobMaterial>('jobmaterial', [
        { field: 'job_uuid', op: 'eq', value: input.jobUuid },
      ]);
      const allRates = await sm8.list<Sm8TaxRate>('taxrate');
      const used = new Set(materials.map((m) => m.tax_rate_uuid));
      const taxRates = Object.fromEntries(allRates.filter((r) => used.has(r.uuid)).map((r) => [r.uuid, r]));
      const access = await deps.qboTokens.getAccess(input.connectionId);
      const [taxModel, codes] = await Promise.all([qboTaxModel(qbo, access.realmId), qboTaxCodes(qbo)]);
      const taxCodes = await resolveTaxCodes(input.connectionId, Object.values(taxRates), codes, deps.links);
      return { job, materials, taxRates, taxCodes, taxModel, docNumberPrefix };
    },

    /**
     * INV-9: exactly one invoice per job. Before creating, look for an invoice carrying this job's marker
     * (a previous attempt whose response was lost); the create itself carries a requestid.
     */
    async createQboInvoice(input: {
      connectionId: string;
      jobUuid: string;
      docNumber: string;
      payload: Record<string, unknown>;
      requestId: string;
    }): Promise<{ ok: true; invoiceId: string; totalCents: number; adopted: boolean } | Refusal> {
      const qbo = qboFor(input.connectionId);
      const linked = await deps.links.bySm8(input.connectionId, 'invoice', input.jobUuid);
      if (linked?.qboId) {
        const inv = await qbo.read<QboInvoice>('Invoice', linked.qboId);
        return { ok: true, invoiceId: inv.Id, totalCents: toCents(inv.TotalAmt ?? 0) ?? 0, adopted: true };
      }
      const sameNumber = await qbo.query<'Invoice', QboInvoice>(
        'Invoice',
        `SELECT * FROM Invoice WHERE DocNumber = ${qboQuote(input.docNumber)}`,
      );
      let invoice = sameNumber.find((i) => hasMarker(i.PrivateNote, input.jobUuid));
      const adopted = invoice !== undefined;
      if (!invoice) {
        try {
          invoice = await qbo.create<QboInvoice>('Invoice', input.payload, input.requestId);
        } catch (err) {
          const d = validationDetails(err);
          if (!d) throw err;
          if (d.code === '6140') return { ok: false, reason: reasons.duplicateDocNumber(input.docNumber) };
          return { ok: false, reason: reasons.qboValidation(d.detail || d.message, d.code) };
        }
      }
      await deps.links.link(input.connectionId, 'invoice', input.jobUuid, invoice.Id, {
        qboSyncToken: invoice.SyncToken,
      });
      return { ok: true, invoiceId: invoice.Id, totalCents: toCents(invoice.TotalAmt ?? 0) ?? 0, adopted };
    },

    /**
     * INV-6: re-send all current lines (sparse update with the current SyncToken). The requestid is derived
     * from the SyncToken and content, so a retry after 5010 (stale) is a new request, not a replay.
     */
    async resyncQboInvoice(input: {
      connectionId: string;
      invoiceId: string;
      payload: Record<string, unknown>;
      /** INV-11 (lean path): the ServiceM8 client the invoice is written for, kept with our write. */
      companyUuid?: string;
    }): Promise<
      | { ok: true; totalCents: number }
      | { ok: false; gone: 'deleted' | 'voided' }
      | (Refusal & { inactiveRef?: true })
    > {
      const qbo = qboFor(input.connectionId);
      let current: QboInvoice;
      try {
        current = await qbo.read<QboInvoice>('Invoice', input.invoiceId);
      } catch (err) {
        if (isNotFound(err)) return { ok: false, gone: 'deleted' };
        throw err;
      }
      if (isVoided(current)) return { ok: false, gone: 'voided' };
      const body = {
        Id: current.Id,
        SyncToken: current.SyncToken,
        Line: input.payload.Line,
        GlobalTaxCalculation: input.payload.GlobalTaxCalculation,
        CustomerRef: input.payload.CustomerRef,
      };
      try {
        const updated = await qbo.update<QboInvoice & { MetaData?: { LastUpdatedTime?: string } }>(
          'Invoice',
          body,
          // The customer too: a second try onto a merge's survivor must not get the first try's answer.
          `rs-${fingerprint([current.Id, current.SyncToken, body.Line, body.GlobalTaxCalculation, body.CustomerRef])}`,
        );
        // Issue 12: our write and its answer (the customer for payments; its echo wakes nobody).
        await recordOwnWrite(deps.pool, input.connectionId, {
          side: 'qbo',
          entity: 'invoice',
          recordId: updated.Id,
          fields: Object.keys(body),
          answer: {
            writeOp: 'update',
            Id: updated.Id,
            TotalAmt: updated.TotalAmt,
            CustomerRef: input.payload.CustomerRef,
            ...(input.companyUuid ? { sm8CompanyUuid: input.companyUuid } : {}),
          },
          syncToken: updated.SyncToken,
          lastUpdated: updated.MetaData?.LastUpdatedTime ?? null,
        });
        return { ok: true, totalCents: toCents(updated.TotalAmt ?? 0) ?? 0 };
      } catch (err) {
        const d = validationDetails(err);
        if (!d) throw err;
        // 610: something it names was made inactive or merged away (the lean pass says which, issue 13).
        return {
          ok: false,
          reason: reasons.qboValidation(d.detail || d.message, d.code),
          ...(d.code === '610' ? { inactiveRef: true as const } : {}),
        };
      }
    },

    /** INV-7 / INV-10: what QuickBooks says about our invoice now. */
    async readQboInvoiceStatus(input: {
      connectionId: string;
      invoiceId: string;
    }): Promise<QboInvoiceStatus> {
      const qbo = qboFor(input.connectionId);
      try {
        const inv = await qbo.read<QboInvoice>('Invoice', input.invoiceId);
        return {
          exists: true,
          voided: isVoided(inv),
          zeroed: zeroedInvoice(inv as Parameters<typeof zeroedInvoice>[0]),
          sent: sentInQbo(inv),
          totalCents: toCents(inv.TotalAmt ?? 0),
          syncToken: inv.SyncToken,
        };
      } catch (err) {
        if (isNotFound(err)) {
          return { exists: false, voided: false, sent: false, totalCents: null, syncToken: null };
        }
        throw err;
      }
    },

    /** INV-10: the invoice's link is marked voided/deleted when QuickBooks voids or deletes it. */
    async markInvoiceLink(input: {
      connectionId: string;
      jobUuid: string;
      state: 'voided' | 'deleted';
    }): Promise<void> {
      const link = await deps.links.bySm8(input.connectionId, 'invoice', input.jobUuid);
      if (link) await deps.links.update(link.id, { state: input.state });
    },

    /** INV-7: the invoice was emailed or printed in QuickBooks. */
    async markJobInvoiceSent(input: { connectionId: string; jobUuid: string }): Promise<void> {
      await sm8For(input.connectionId).update('job', input.jobUuid, { invoice_sent: 1 });
    },

    /** INV-3: one ServiceM8 job-diary note per distinct key (reason code or event); the uuid comes from the workflow. */
    async addJobNoteOnce(input: {
      connectionId: string;
      jobUuid: string;
      noteKey: string;
      text: string;
      noteUuid: string;
    }): Promise<boolean> {
      // Once per reason and wording: the same reason again adds nothing, a different one of the same code
      // (another line, another rate) gets its own note (issue 13).
      const noteKey = jobNoteKey(input.noteKey, input.text);
      if (await jobNoteWritten(deps.pool, input.connectionId, input.jobUuid, noteKey)) return false;
      await sm8For(input.connectionId).create('note', input.noteUuid, {
        related_object: 'job',
        related_object_uuid: input.jobUuid,
        note: `QuickBooks sync: ${input.text}`,
      });
      await recordJobNote(deps.pool, { ...input, noteKey });
      return true;
    },

    async saveInvoiceState(input: {
      connectionId: string;
      jobUuid: string;
      generatedJobId: string | null;
      state: string;
      reason: Reason | null;
      qboInvoiceId: string | null;
      sm8TotalCents: number | null;
      qboTotalCents: number | null;
      lastSyncedTotalCents: number | null;
    }): Promise<void> {
      await saveInvoiceExport(deps.pool, input);
    },

    async loadInvoiceState(input: {
      connectionId: string;
      jobUuid: string;
    }): Promise<StoredInvoiceState | null> {
      return loadInvoiceExport(deps.pool, input.connectionId, input.jobUuid);
    },
    ...createInvoicePartyActivities(deps),
  };
}

/**
 * A voided QuickBooks invoice stays, with zero amounts and "Voided" in its memo. Only the FALLBACK of INV-10
 * and PAY-3 (domain/invoice/voids.ts): a void is known first from the webhook's `Void` operation and from
 * CDC's zeroed record; this memo test is for a plain read that no event explained.
 */
export function isVoided(inv: { PrivateNote?: string; TotalAmt?: number }): boolean {
  return memoSaysVoided(inv);
}
