/**
 * The nightly reconciliation of exported invoice totals and their payments (INV-6, INV-10, PAY-6).
 */
import { signalInvoice, signalPayments, type InvoiceEvent } from '../routing/routes';
import { failureTypeOf, FailureType } from '../domain/failures';
import { formatMoney, toCents } from '../domain/money';
import { flag, type Sm8Job, type Sm8JobPayment } from '../domain/servicem8-types';
import { exportedInvoices } from '../store/invoice-exports';
import { unappliedCreditByJob } from '../store/payment-views';
import type { ActivityDeps } from './support/deps';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { inBatches, LISTED_IDS, pollTools, ROUTE_CONCURRENCY } from './support/polling';
import { heartbeat, taskQueue } from './support/temporal';

export interface ReconcileDrift {
  kind: 'total_differs' | 'missing_in_qbo' | 'missing_in_sm8';
  jobUuid: string;
  qboInvoiceId: string;
  docNumber: string | null;
  sm8TotalCents: number | null;
  qboTotalCents: number | null;
}

/**
 * PAY-6: what ServiceM8 (active payments) and QuickBooks (TotalAmt − Balance, plus the unapplied rest of the
 * payments sent from the job, PAY-8) say was paid on an invoice.
 */
export interface PaymentDrift {
  jobUuid: string;
  qboInvoiceId: string;
  sm8PaidCents: number;
  qboPaidCents: number;
}

export interface ReconcileResult {
  checked: number;
  /** Invoices with neither a total nor a payment drift. */
  inStep: number;
  driftCount: number;
  /** The first drifts (all of them are in audit_log). */
  drift: ReconcileDrift[];
  /** PAY-6: invoices whose payments disagree (audit_log `reconcile_payment_drift`); the first of them. */
  paymentDriftCount: number;
  paymentDrift: PaymentDrift[];
  /** Owners woken to look again (a missed ServiceM8 change then re-syncs, INV-6). */
  woken: number;
}

export function createReconcileActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  const { temporal, audit } = pollTools(deps);

  async function wakePayments(connectionId: string, uuids: string[]): Promise<void> {
    const client = temporal();
    const queue = taskQueue();
    await inBatches(uuids, ROUTE_CONCURRENCY, async (uuid) => {
      await signalPayments(client, queue, connectionId, uuid);
    });
  }

  async function routeJobs(connectionId: string, uuids: string[], event: InvoiceEvent): Promise<void> {
    const client = temporal();
    const queue = taskQueue();
    await inBatches(uuids, ROUTE_CONCURRENCY, async (uuid) => {
      // Nobody waits on what reconciliation finds: the owners look behind approvals (issue 12).
      await signalInvoice(client, queue, connectionId, uuid, event, { background: true });
    });
  }

  return {
    /**
     * Nightly reconciliation: for every exported invoice (invoice_exports EXPORTED), QuickBooks TotalAmt
     * (batched `Id IN (…)` queries, ≤ 1000 ids each) against ServiceM8 total_invoice_amount (one filtered
     * list of approved jobs, plus single reads for the few not in it). Each drift is an audit_log row
     * `reconcile_drift` with both figures; with `wake`, the invoice's owner is asked to look again.
     * PAY-6 in the same pass: the sum of the job's active ServiceM8 payments (one filtered list) against what
     * QuickBooks applied to the invoice (TotalAmt − Balance, from the same invoice query: no extra call); each
     * difference is an audit_log row `reconcile_payment_drift` and wakes the job's payments owner.
     */
    async reconcileInvoices(input: { connectionId: string; wake?: boolean }): Promise<ReconcileResult> {
      const { connectionId } = input;
      const rows = await exportedInvoices(deps.pool, connectionId);
      if (!rows.length)
        return {
          checked: 0,
          inStep: 0,
          driftCount: 0,
          drift: [],
          paymentDriftCount: 0,
          paymentDrift: [],
          woken: 0,
        };

      const qbo = qboFor(connectionId);
      const qboTotals = new Map<
        string,
        { cents: number | null; docNumber: string | null; paidCents: number | null }
      >();
      for (let i = 0; i < rows.length; i += 1000) {
        const ids = rows.slice(i, i + 1000).map((r) => `'${r.qbo_invoice_id.replace(/'/g, "\\'")}'`);
        const found = await qbo.query<
          'Invoice',
          { Id: string; TotalAmt?: number; Balance?: number; DocNumber?: string }
        >('Invoice', `SELECT * FROM Invoice WHERE Id IN (${ids.join(', ')}) MAXRESULTS 1000`);
        for (const inv of found) {
          const cents = toCents(inv.TotalAmt ?? 0);
          const balance = toCents(inv.Balance ?? 0);
          qboTotals.set(inv.Id, {
            cents,
            docNumber: inv.DocNumber ?? null,
            paidCents: cents === null || balance === null ? null : cents - balance,
          });
        }
        heartbeat({ qbo: Math.min(i + 1000, rows.length), of: rows.length });
      }

      const sm8 = sm8For(connectionId);
      const jobs = new Map<string, Sm8Job>();
      for (const job of await sm8.list<Sm8Job>('job', [{ field: 'payment_processed', op: 'eq', value: 1 }]))
        jobs.set(job.uuid, job);
      heartbeat({ sm8: jobs.size });
      for (const r of rows) {
        if (jobs.has(r.job_uuid)) continue;
        try {
          jobs.set(r.job_uuid, await sm8.read<Sm8Job>('job', r.job_uuid));
        } catch (err) {
          if (failureTypeOf(err) !== FailureType.notFound) throw err;
        }
      }

      const sm8Paid = new Map<string, number>();
      for (const p of await sm8.list<Sm8JobPayment>('jobpayment', [
        { field: 'active', op: 'eq', value: 1 },
      ])) {
        if (!flag(p.active)) continue;
        sm8Paid.set(p.job_uuid, (sm8Paid.get(p.job_uuid) ?? 0) + (toCents(p.amount) ?? 0));
      }
      heartbeat({ sm8Payments: sm8Paid.size });

      // PAY-8: a ServiceM8 overpayment is in QuickBooks as applied + unapplied (kept views, no call).
      const credit = await unappliedCreditByJob(deps.pool, connectionId);
      const drifts: ReconcileDrift[] = [];
      const paymentDrifts: PaymentDrift[] = [];
      for (const r of rows) {
        const q = qboTotals.get(r.qbo_invoice_id);
        const job = jobs.get(r.job_uuid);
        const sm8Cents = job ? toCents(job.total_invoice_amount) : null;
        const base = {
          jobUuid: r.job_uuid,
          qboInvoiceId: r.qbo_invoice_id,
          docNumber: q?.docNumber ?? r.generated_job_id,
          sm8TotalCents: sm8Cents,
          qboTotalCents: q?.cents ?? null,
        };
        if (!q) drifts.push({ kind: 'missing_in_qbo', ...base });
        else if (!job) drifts.push({ kind: 'missing_in_sm8', ...base });
        else if (sm8Cents !== q.cents) drifts.push({ kind: 'total_differs', ...base });
        const sm8PaidCents = sm8Paid.get(r.job_uuid) ?? 0;
        const qboPaidCents = q?.paidCents == null ? null : q.paidCents + (credit.get(r.job_uuid) ?? 0);
        if (q && job && qboPaidCents !== null && qboPaidCents !== sm8PaidCents)
          paymentDrifts.push({
            jobUuid: r.job_uuid,
            qboInvoiceId: r.qbo_invoice_id,
            sm8PaidCents,
            qboPaidCents,
          });
      }
      for (const d of paymentDrifts) {
        await audit(
          connectionId,
          'reconcile_payment_drift',
          { type: 'invoice', ref: d.jobUuid },
          { ...d, sm8Paid: formatMoney(d.sm8PaidCents), qboPaid: formatMoney(d.qboPaidCents) },
        );
      }
      for (const d of drifts) {
        await audit(
          connectionId,
          'reconcile_drift',
          { type: 'invoice', ref: d.jobUuid },
          {
            ...d,
            sm8Total: d.sm8TotalCents === null ? null : formatMoney(d.sm8TotalCents),
            qboTotal: d.qboTotalCents === null ? null : formatMoney(d.qboTotalCents),
          },
        );
      }
      await audit(
        connectionId,
        'reconcile_run',
        { type: 'invoice', ref: null },
        { checked: rows.length, drift: drifts.length, paymentDrift: paymentDrifts.length },
      );
      // The owner decides: a missed ServiceM8 change re-syncs (INV-6), a QuickBooks edit is left alone and a
      // deleted job is reported (INV-10). Waking is idempotent, so a drift found twice costs one look each.
      const wake = input.wake === false ? [] : drifts;
      await routeJobs(
        connectionId,
        wake.map((d) => d.jobUuid),
        'resync',
      );
      const wakePaymentOwners = input.wake === false ? [] : paymentDrifts;
      await wakePayments(
        connectionId,
        wakePaymentOwners.map((d) => d.jobUuid),
      );
      const drifted = new Set([...drifts, ...paymentDrifts].map((d) => d.jobUuid));
      return {
        checked: rows.length,
        inStep: rows.length - drifted.size,
        driftCount: drifts.length,
        drift: drifts.slice(0, LISTED_IDS),
        paymentDriftCount: paymentDrifts.length,
        paymentDrift: paymentDrifts.slice(0, LISTED_IDS),
        woken: wake.length + wakePaymentOwners.length,
      };
    },
  };
}
