/**
 * The steps of an invoice pass at their minimum cost (issue 12), used by activities/invoice-pass.ts: the
 * job read once with its lines (2 ServiceM8 calls; tax rates, tax codes and the tax model are connection
 * facts, not read per export); the QuickBooks invoice created with one call (its marker looked for only
 * when an earlier attempt may have created it) and its answer kept as our own write, so nothing is read
 * back; one job note per reason with a uuid derived from its key.
 */
import crypto from 'node:crypto';
import { hasMarker, isApproved } from '../domain/invoice/plan';
import { memoSaysVoided, zeroedInvoice } from '../domain/invoice/voids';
import { jobNoteKey, reasons } from '../domain/invoice/reasons';
import { fingerprint } from '../domain/fingerprint';
import { toCents } from '../domain/money';
import { qboQuote } from '../domain/names';
import type { Sm8Job, Sm8JobMaterial, Sm8TaxRate } from '../domain/servicem8-types';
import { isNotFound, validationDetails } from '../apis/errors';
import { resolveTaxCodes } from '../apis/quickbooks/lookups';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { jobNoteWritten, recordJobNote } from '../store/job-notes';
import { recordApprovalSeen } from '../store/metrics';
import { RecordCache } from '../store/record-cache';
import { ownWrite, recordCreateIntent, recordOwnWrite } from '../store/own-writes';
import type { InvoiceSnapshot } from './invoice';
import { invoiceSettings, type Refusal } from './invoice-settings';
import { connectionFacts, type FactName } from './support/connection-facts';
import type { ActivityDeps } from './support/deps';
import { attempt } from './support/temporal';

interface QboInvoice {
  Id: string;
  SyncToken: string;
  DocNumber?: string;
  PrivateNote?: string;
  TotalAmt?: number;
  Balance?: number;
  CustomerRef?: { value: string };
  MetaData?: { LastUpdatedTime?: string };
}

/** A uuid derived from a name (version-5 style): a retried create can only hit one record. */
export function derivedUuid(name: string): string {
  const h = crypto.createHash('sha1').update(`sm8-qbo-sync:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The tax facts an export plans with (TAX-, INV-4). */
const TAX_FACTS: FactName[] = ['taxModel', 'taxCodes', 'sm8TaxRates'];

export function createInvoiceSteps(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);

  return {
    /**
     * Both sides' truth for one job (design principle 3, docs/design.md), at its minimum: the job, and its lines only when
     * it is approved or exported. `refreshTax` reads the tax facts again (a plan held for tax, a miss).
     */
    async snapshot(
      connectionId: string,
      jobUuid: string,
      opts: { exported: boolean; refreshTax: boolean },
    ): Promise<InvoiceSnapshot> {
      const sm8 = sm8For(connectionId);
      const { docNumberPrefix } = await invoiceSettings(deps.store, connectionId);
      const none = {
        materials: [],
        taxRates: {},
        taxCodes: {},
        taxModel: 'global' as const,
        docNumberPrefix,
      };
      let job: Sm8Job | null;
      try {
        job = await sm8.read<Sm8Job>('job', jobUuid);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        job = null;
      }
      if (!job) return { job, ...none };
      await new RecordCache(deps.pool).putJobSeen(connectionId, jobUuid, {
        editDate: job.edit_date ?? null,
        fingerprint: fingerprint(job),
      });
      const approved = isApproved(job);
      if (approved) await recordApprovalSeen(deps.pool, connectionId, jobUuid);
      // A job neither approved nor exported plans to "not approved" whatever its lines: none are read.
      if (!approved && !opts.exported) return { job, ...none };
      const materials = await sm8.list<Sm8JobMaterial>('jobmaterial', [
        { field: 'job_uuid', op: 'eq', value: jobUuid },
      ]);
      let facts = await connectionFacts(deps, connectionId, TAX_FACTS, opts.refreshTax ? TAX_FACTS : []);
      const used = new Set(materials.filter((m) => m.tax_rate_uuid).map((m) => m.tax_rate_uuid));
      const knows = (rates: Sm8TaxRate[] | undefined) =>
        [...used].every((u) => rates?.some((r) => r.uuid === u));
      // A rate the cache does not know yet (made since the last tax pass): read the rates once.
      if (!knows(facts.sm8TaxRates))
        facts = await connectionFacts(deps, connectionId, ['sm8TaxRates'], ['sm8TaxRates']);
      const taxRates = Object.fromEntries(
        (facts.sm8TaxRates ?? []).filter((r) => used.has(r.uuid)).map((r) => [r.uuid, r]),
      );
      const taxCodes = await resolveTaxCodes(
        connectionId,
        Object.values(taxRates),
        facts.taxCodes ?? [],
        deps.links,
      );
      return { job, materials, taxRates, taxCodes, taxModel: facts.taxModel ?? 'global', docNumberPrefix };
    },

    /**
     * INV-9: exactly one invoice per job, in one call. The create carries a requestid; the marker is looked
     * for first only when an earlier attempt recorded its intent (its answer may have been lost). The
     * answer is kept as our own write: total, SyncToken and LastUpdatedTime need no read-back.
     */
    async createInvoice(input: {
      connectionId: string;
      jobUuid: string;
      docNumber: string;
      payload: Record<string, unknown>;
      requestId: string;
      /** INV-11: the ServiceM8 client the invoice is written for, kept with our write. */
      companyUuid?: string;
    }): Promise<
      | { ok: true; invoiceId: string; totalCents: number; adopted: boolean; voided?: boolean }
      | Refusal
      | { ok: false; code: '610' }
    > {
      const { connectionId, jobUuid } = input;
      const qbo = qboFor(connectionId);
      const linked = await deps.links.bySm8(connectionId, 'invoice', jobUuid);
      if (linked?.qboId) {
        const known = await ownWrite(deps.pool, connectionId, 'qbo', 'invoice', linked.qboId);
        const inv =
          (known?.answer as QboInvoice | null) ?? (await qbo.read<QboInvoice>('Invoice', linked.qboId));
        return {
          ok: true,
          invoiceId: linked.qboId,
          totalCents: toCents(inv.TotalAmt ?? 0) ?? 0,
          adopted: true,
        };
      }
      let invoice: QboInvoice | undefined;
      let adopted = false;
      if (await recordCreateIntent(deps.pool, connectionId, 'qbo', 'invoice', jobUuid)) {
        const sameNumber = await qbo.query<'Invoice', QboInvoice>(
          'Invoice',
          `SELECT * FROM Invoice WHERE DocNumber = ${qboQuote(input.docNumber)}`,
        );
        invoice = sameNumber.find((i) => hasMarker(i.PrivateNote, jobUuid));
        adopted = invoice !== undefined;
      }
      if (!invoice) {
        try {
          invoice = await qbo.create<QboInvoice>('Invoice', input.payload, input.requestId);
        } catch (err) {
          const d = validationDetails(err);
          if (!d) throw err;
          if (d.code === '6140') return { ok: false, reason: reasons.duplicateDocNumber(input.docNumber) };
          if (d.code === '610') return { ok: false, code: '610' };
          return { ok: false, reason: reasons.qboValidation(d.detail || d.message, d.code) };
        }
      }
      await recordOwnWrite(deps.pool, connectionId, {
        side: 'qbo',
        entity: 'invoice',
        recordId: invoice.Id,
        fields: Object.keys(input.payload),
        answer: {
          writeOp: 'create',
          Id: invoice.Id,
          TotalAmt: invoice.TotalAmt,
          Balance: invoice.Balance,
          CustomerRef: invoice.CustomerRef,
          DocNumber: invoice.DocNumber,
          ...(input.companyUuid ? { sm8CompanyUuid: input.companyUuid } : {}),
        },
        syncToken: invoice.SyncToken,
        lastUpdated: invoice.MetaData?.LastUpdatedTime ?? null,
      });
      // INV-10: an invoice found, or made by an earlier attempt whose answer was lost, may have been voided
      // since; the void's event found no link then. Its state now (one read, on a retry only).
      if (!adopted && attempt() > 1) invoice = await qbo.read<QboInvoice>('Invoice', invoice.Id);
      const voided = zeroedInvoice(invoice) || memoSaysVoided(invoice);
      // Our write first, then the link: the create's webhook, routed by the link, is known as our echo.
      await deps.links.link(connectionId, 'invoice', jobUuid, invoice.Id, {
        qboSyncToken: invoice.SyncToken,
      });
      return {
        ok: true,
        invoiceId: invoice.Id,
        totalCents: toCents(invoice.TotalAmt ?? 0) ?? 0,
        adopted,
        ...(voided ? { voided } : {}),
      };
    },

    /** INV-3: one job-diary note per reason and wording (jobNoteKey); its uuid is derived from the key (a retry writes it once). */
    async noteOnce(connectionId: string, jobUuid: string, key: string, text: string): Promise<boolean> {
      const noteKey = jobNoteKey(key, text);
      if (await jobNoteWritten(deps.pool, connectionId, jobUuid, noteKey)) return false;
      const noteUuid = derivedUuid(`note:${connectionId}:${jobUuid}:${noteKey}`);
      await sm8For(connectionId).create('note', noteUuid, {
        related_object: 'job',
        related_object_uuid: jobUuid,
        note: `QuickBooks sync: ${text}`,
      });
      await recordJobNote(deps.pool, { connectionId, jobUuid, noteKey, noteUuid });
      return true;
    },

    /** INV-7: whether the sync already set `invoice_sent` on this job (then nothing needs writing again). */
    async invoiceSentWritten(connectionId: string, jobUuid: string): Promise<boolean> {
      const w = await ownWrite(deps.pool, connectionId, 'sm8', 'job', jobUuid);
      return w?.fields.includes('invoice_sent') === true && w.answer !== null;
    },

    /**
     * INV-7: the invoice was emailed or printed in QuickBooks. The write is recorded first (its webhook may
     * come before its answer), so its echo is dropped.
     */
    async markJobInvoiceSent(connectionId: string, jobUuid: string): Promise<void> {
      await recordOwnWrite(deps.pool, connectionId, {
        side: 'sm8',
        entity: 'job',
        recordId: jobUuid,
        fields: ['invoice_sent'],
        answer: { invoice_sent: 1 },
        syncToken: null,
        lastUpdated: null,
      });
      await sm8For(connectionId).update('job', jobUuid, { invoice_sent: 1 });
    },
  };
}
