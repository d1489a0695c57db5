/**
 * Activities of the invoice lifecycle (workflows/invoice.ts): read both sides, ensure the customer and
 * items, create or re-sync the QuickBooks invoice, mirror the sent flag, and record state and notes.
 * Every write is idempotent: QuickBooks creates carry a requestid and are preceded by a lookup (by name
 * for customers and items, by DocNumber + marker for invoices); ServiceM8 creates use a uuid generated in
 * the workflow. Business refusals come back as INV-3 reasons, not as failures.
 */
import { ApplicationFailure } from '@temporalio/common';
import { billingContact, customerFromCompany } from '../domain/clients-materials/customer';
import { FailureType } from '../domain/failures';
import { fingerprint } from '../domain/fingerprint';
import { hasMarker, isApproved, type TaxCodeLink } from '../domain/invoice/plan';
import { reasons, type Reason } from '../domain/invoice/reasons';
import { GENERIC_ITEM_KEY, genericItem, itemFromMaterial } from '../domain/clients-materials/item';
import { toCents } from '../domain/money';
import { qboQuote, qboSafeName, sameName } from '../domain/names';
import type {
  Sm8Company,
  Sm8CompanyContact,
  Sm8Job,
  Sm8JobMaterial,
  Sm8Material,
  Sm8TaxRate,
} from '../domain/servicem8-types';
import type { ApiErrorDetails } from '../apis/errors';
import type { ActivityDeps } from './index';
import { defaultIncomeAccount, qboTaxCodes, qboTaxModel, resolveTaxCodes } from '../apis/quickbooks/lookups';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { recordApprovalSeen } from '../store/metrics';

export interface InvoiceSnapshot {
  /** null when ServiceM8 no longer has the job (404). */
  job: Sm8Job | null;
  materials: Sm8JobMaterial[];
  taxRates: Record<string, Sm8TaxRate>;
  taxCodes: Record<string, TaxCodeLink>;
  taxModel: 'global' | 'us';
  docNumberPrefix: string;
}

export interface StoredInvoiceState {
  state: string;
  qboInvoiceId: string | null;
  lastSyncedTotalCents: number | null;
  reasonCode: string | null;
}

export interface QboInvoiceStatus {
  exists: boolean;
  voided: boolean;
  sent: boolean;
  totalCents: number | null;
  syncToken: string | null;
}

type Refusal = { ok: false; reason: Reason };

/** The API's own details of a validation failure, or undefined for any other error. */
function validationDetails(err: unknown): ApiErrorDetails | undefined {
  if (err instanceof ApplicationFailure && err.type === FailureType.validation) {
    return err.details?.[0] as ApiErrorDetails | undefined;
  }
  return undefined;
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === FailureType.notFound;
}

/** A requestid (≤ 50 chars) for one sub-step of a step whose base id came from the workflow. */
function subRequestId(base: string, key: string): string {
  return `${base.slice(0, 36)}-${fingerprint(key).slice(0, 12)}`;
}

interface QboCustomer {
  Id: string;
  DisplayName: string;
  Active?: boolean;
  SyncToken: string;
}
interface QboItem {
  Id: string;
  Name: string;
  Active?: boolean;
  SyncToken: string;
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

  async function settings(
    connectionId: string,
  ): Promise<{ docNumberPrefix: string; incomeAccountId?: string }> {
    const r = await deps.pool.query<{ settings: Record<string, unknown> }>(
      'SELECT settings FROM connections WHERE id = $1',
      [connectionId],
    );
    const s = r.rows[0]?.settings ?? {};
    return {
      docNumberPrefix: typeof s.docNumberPrefix === 'string' ? s.docNumberPrefix : '',
      incomeAccountId: typeof s.incomeAccountId === 'string' ? s.incomeAccountId : undefined,
    };
  }

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

    /** CM-7 / INV-5: the QuickBooks customer of the job's client: linked, matched by name, or created. */
    async ensureCustomer(input: {
      connectionId: string;
      companyUuid: string;
      requestId: string;
    }): Promise<{ ok: true; customerId: string; billEmail: string | null } | Refusal> {
      const sm8 = sm8For(input.connectionId);
      const qbo = qboFor(input.connectionId);
      const company = await sm8.read<Sm8Company>('company', input.companyUuid);
      const contacts = await sm8.list<Sm8CompanyContact>('companycontact', [
        { field: 'company_uuid', op: 'eq', value: input.companyUuid },
      ]);
      const contact = billingContact(contacts);
      const billEmail = contact?.email?.trim() || null;
      const fields = customerFromCompany(company, contact);

      const link = await deps.links.bySm8(input.connectionId, 'customer', input.companyUuid);
      if (link?.qboId) {
        const customer = await qbo.read<QboCustomer>('Customer', link.qboId);
        if (customer.Active === false)
          return { ok: false, reason: reasons.clientInactive(customer.DisplayName) };
        return { ok: true, customerId: customer.Id, billEmail };
      }

      const sameNamed = (
        await qbo.query<'Customer', QboCustomer>(
          'Customer',
          `SELECT * FROM Customer WHERE DisplayName = ${qboQuote(fields.DisplayName)} AND Active IN (true, false)`,
        )
      ).filter((c) => sameName(c.DisplayName, fields.DisplayName));
      const active = sameNamed.find((c) => c.Active !== false);
      let customer: QboCustomer | undefined = active;
      if (!customer && sameNamed.length > 0) {
        return { ok: false, reason: reasons.clientInactive(sameNamed[0]?.DisplayName ?? fields.DisplayName) };
      }
      if (!customer) {
        try {
          customer = await qbo.create<QboCustomer>('Customer', fields, input.requestId);
        } catch (err) {
          const d = validationDetails(err);
          if (d?.code !== '6240') throw err;
          return {
            ok: false,
            reason: reasons.nameTaken(fields.DisplayName, await nameHolder(qbo, fields.DisplayName)),
          };
        }
      }
      await deps.links.link(input.connectionId, 'customer', input.companyUuid, customer.Id, {
        qboSyncToken: customer.SyncToken,
      });
      return { ok: true, customerId: customer.Id, billEmail };
    },

    /** INV-5: a QuickBooks item for every line (its material's, linked/matched/created; or the generic one). */
    async ensureItems(input: {
      connectionId: string;
      lines: Array<{ jobMaterialUuid: string; materialUuid: string }>;
      requestId: string;
    }): Promise<{ ok: true; itemIds: Record<string, string> } | Refusal> {
      const sm8 = sm8For(input.connectionId);
      const qbo = qboFor(input.connectionId);
      const byKey = new Map<string, string>();
      let incomeAccountId: string | null | undefined;
      const incomeAccount = async () => {
        if (incomeAccountId === undefined) {
          incomeAccountId =
            (await settings(input.connectionId)).incomeAccountId ?? (await defaultIncomeAccount(qbo));
        }
        return incomeAccountId;
      };

      for (const line of input.lines) {
        const key = line.materialUuid || GENERIC_ITEM_KEY;
        if (byKey.has(key)) continue;
        const link = await deps.links.bySm8(input.connectionId, 'item', key);
        if (link?.qboId) {
          byKey.set(key, link.qboId);
          continue;
        }
        let material: Sm8Material | undefined;
        if (key !== GENERIC_ITEM_KEY) {
          try {
            material = await sm8.read<Sm8Material>('material', key);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        const name = material ? qboSafeName(material.name) : genericItem('').Name;
        const existing = (
          await qbo.query<'Item', QboItem>(
            'Item',
            `SELECT * FROM Item WHERE Name = ${qboQuote(name)} AND Active IN (true, false)`,
          )
        ).filter((i) => sameName(i.Name, name));
        let item = existing.find((i) => i.Active !== false);
        if (!item && existing.length > 0) {
          return {
            ok: false,
            reason: reasons.itemNameTaken(
              name,
              'an inactive product/service has this name: make it active in QuickBooks',
            ),
          };
        }
        if (!item) {
          const account = await incomeAccount();
          if (!account) return { ok: false, reason: reasons.noIncomeAccount() };
          const taxLink = material?.tax_rate_uuid
            ? await deps.links.bySm8(input.connectionId, 'taxcode', material.tax_rate_uuid)
            : null;
          const fields = material
            ? itemFromMaterial(material, {
                incomeAccountId: account,
                salesTaxCodeId: taxLink?.qboId ?? undefined,
              })
            : genericItem(account);
          try {
            item = await qbo.create<QboItem>('Item', fields, subRequestId(input.requestId, key));
          } catch (err) {
            const d = validationDetails(err);
            if (d?.code === '6240')
              return { ok: false, reason: reasons.itemNameTaken(name, d.detail ?? d.message) };
            throw err;
          }
        }
        await deps.links.link(input.connectionId, 'item', key, item.Id, { qboSyncToken: item.SyncToken });
        byKey.set(key, item.Id);
      }
      const itemIds: Record<string, string> = {};
      for (const line of input.lines)
        itemIds[line.jobMaterialUuid] = byKey.get(line.materialUuid || GENERIC_ITEM_KEY) ?? '';
      return { ok: true, itemIds };
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
    }): Promise<{ ok: true; totalCents: number } | { ok: false; gone: 'deleted' | 'voided' } | Refusal> {
      const qbo = qboFor(input.connectionId);
      let current: QboInvoice;
      try {
        current = await qbo.read<QboInvoice>('Invoice', input.invoiceId);
      } catch (err) {
        if (isNotFound(err) || validationDetails(err)?.code === '610') return { ok: false, gone: 'deleted' };
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
        const updated = await qbo.update<QboInvoice>(
          'Invoice',
          body,
          `rs-${fingerprint([current.Id, current.SyncToken, body.Line, body.GlobalTaxCalculation])}`,
        );
        return { ok: true, totalCents: toCents(updated.TotalAmt ?? 0) ?? 0 };
      } catch (err) {
        const d = validationDetails(err);
        if (!d) throw err;
        return { ok: false, reason: reasons.qboValidation(d.detail || d.message, d.code) };
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
          sent: inv.EmailStatus === 'EmailSent' || inv.PrintStatus === 'PrintComplete',
          totalCents: toCents(inv.TotalAmt ?? 0),
          syncToken: inv.SyncToken,
        };
      } catch (err) {
        if (isNotFound(err) || validationDetails(err)?.code === '610') {
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
      const done = await deps.pool.query(
        'SELECT 1 FROM job_notes WHERE connection_id = $1 AND job_uuid = $2 AND note_key = $3',
        [input.connectionId, input.jobUuid, input.noteKey],
      );
      if (done.rowCount) return false;
      await sm8For(input.connectionId).create('note', input.noteUuid, {
        related_object: 'job',
        related_object_uuid: input.jobUuid,
        note: `QuickBooks sync: ${input.text}`,
      });
      await deps.pool.query(
        `INSERT INTO job_notes (connection_id, job_uuid, note_key, note_uuid) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [input.connectionId, input.jobUuid, input.noteKey, input.noteUuid],
      );
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
      await deps.pool.query(
        `INSERT INTO invoice_exports (connection_id, job_uuid, generated_job_id, state, reason_code, reason_text,
                                      qbo_invoice_id, sm8_total_cents, qbo_total_cents, last_synced_total_cents,
                                      exported_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $7::text IS NOT NULL THEN now() END, now())
         ON CONFLICT (connection_id, job_uuid) DO UPDATE SET
           generated_job_id = COALESCE(EXCLUDED.generated_job_id, invoice_exports.generated_job_id),
           state = EXCLUDED.state, reason_code = EXCLUDED.reason_code, reason_text = EXCLUDED.reason_text,
           qbo_invoice_id = COALESCE(EXCLUDED.qbo_invoice_id, invoice_exports.qbo_invoice_id),
           sm8_total_cents = EXCLUDED.sm8_total_cents, qbo_total_cents = EXCLUDED.qbo_total_cents,
           last_synced_total_cents = COALESCE(EXCLUDED.last_synced_total_cents, invoice_exports.last_synced_total_cents),
           exported_at = COALESCE(invoice_exports.exported_at, EXCLUDED.exported_at),
           updated_at = now()`,
        [
          input.connectionId,
          input.jobUuid,
          input.generatedJobId,
          input.state,
          input.reason?.code ?? null,
          input.reason?.text ?? null,
          input.qboInvoiceId,
          input.sm8TotalCents,
          input.qboTotalCents,
          input.lastSyncedTotalCents,
        ],
      );
    },

    async loadInvoiceState(input: {
      connectionId: string;
      jobUuid: string;
    }): Promise<StoredInvoiceState | null> {
      const r = await deps.pool.query<{
        state: string;
        qbo_invoice_id: string | null;
        last_synced_total_cents: string | null;
        reason_code: string | null;
      }>(
        'SELECT state, qbo_invoice_id, last_synced_total_cents, reason_code FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2',
        [input.connectionId, input.jobUuid],
      );
      const row = r.rows[0];
      if (!row) return null;
      return {
        state: row.state,
        qboInvoiceId: row.qbo_invoice_id,
        lastSyncedTotalCents:
          row.last_synced_total_cents === null ? null : Number(row.last_synced_total_cents),
        reasonCode: row.reason_code,
      };
    },
  };
}

/** A voided QuickBooks invoice stays, with zero amounts and "Voided" in its memo. */
export function isVoided(inv: { PrivateNote?: string; TotalAmt?: number }): boolean {
  return /^voided/i.test(inv.PrivateNote ?? '') && (inv.TotalAmt ?? 0) === 0;
}

/** Who holds a name in QuickBooks (for the 6240 sentence): a supplier, an employee, or a customer. */
async function nameHolder(qbo: QuickBooksClient, name: string): Promise<string> {
  const where = `WHERE DisplayName = ${qboQuote(name)} AND Active IN (true, false)`;
  if ((await qbo.query('Vendor', `SELECT * FROM Vendor ${where}`)).length) return 'supplier';
  if ((await qbo.query('Employee', `SELECT * FROM Employee ${where}`)).length) return 'employee';
  return 'customer';
}
