/**
 * Activities of the payments owner (workflows/payments.ts): read the payments of one exported invoice on both
 * sides, write the one change the plan (domain/payments.ts) asks for, and keep payment_links. Every write is
 * idempotent: a QuickBooks Payment create carries a requestid and is preceded by a look for our marker among
 * the invoice's payments; a ServiceM8 jobpayment create uses a uuid generated in the workflow (a retried
 * create updates the same record) and carries a marker the planner adopts if the link was lost.
 * Also the resolver that finds the owner of a payment event whose invoice a router cannot know (PAY-2).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { signalPayments } from '../routing/routes';
import { FailureType } from '../domain/failures';
import { centsToAmount, toCents } from '../domain/money';
import { sameName } from '../domain/names';
import {
  paymentFingerprint,
  qboPaymentMarker,
  markedSm8Uuid,
  sm8PaymentMarker,
  type PaymentLinkView,
  type PaymentOrigin,
  type PaymentSides,
  type QboPaymentView,
  type Sm8PaymentView,
} from '../domain/payments';
import type { QboRef } from '../domain/quickbooks-types';
import { flag, sm8Date, type Sm8JobPayment } from '../domain/servicem8-types';
import type { ApiErrorDetails } from '../apis/errors';
import { writeAudit } from '../store/audit';
import type { ActivityDeps } from './index';
import { isVoided } from './invoice';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';

interface QboInvoiceRecord {
  Id: string;
  SyncToken: string;
  TotalAmt?: number;
  Balance?: number;
  PrivateNote?: string;
  CustomerRef?: QboRef;
  LinkedTxn?: Array<{ TxnId?: string; TxnType?: string }>;
}

interface QboPaymentLine {
  Amount?: number;
  LinkedTxn?: Array<{ TxnId?: string; TxnType?: string }>;
}

interface QboPaymentRecord {
  Id: string;
  SyncToken: string;
  TxnDate?: string;
  TotalAmt?: number;
  PrivateNote?: string;
  PaymentRefNum?: string;
  PaymentMethodRef?: QboRef;
  Line?: QboPaymentLine[];
}

export interface PaymentSnapshot {
  /** null when the invoice is not (or no longer) in QuickBooks: then there is nothing to converge. */
  invoice: { qboInvoiceId: string; customerId: string; totalCents: number; balanceCents: number } | null;
  /** Why `invoice` is null: not_exported, voided, deleted. */
  gone?: string;
  sides: PaymentSides;
}

type Refusal = { ok: false; code: string; text: string };

function isNotFound(err: unknown): boolean {
  if (!(err instanceof ApplicationFailure)) return false;
  if (err.type === FailureType.notFound) return true;
  return err.type === FailureType.validation && (err.details?.[0] as ApiErrorDetails)?.code === '610';
}

function validationDetails(err: unknown): ApiErrorDetails | undefined {
  if (err instanceof ApplicationFailure && err.type === FailureType.validation)
    return err.details?.[0] as ApiErrorDetails | undefined;
  return undefined;
}

/** Cents as ServiceM8's decimal string ("123.45"), exact. */
export function centsToSm8Amount(cents: number): string {
  const abs = Math.abs(Math.round(cents));
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** The amount a QuickBooks payment applies to one invoice (the sum of its lines linked to it). */
export function appliedTo(payment: QboPaymentRecord, invoiceId: string): number {
  let cents = 0;
  for (const line of payment.Line ?? []) {
    if ((line.LinkedTxn ?? []).some((t) => t.TxnType === 'Invoice' && t.TxnId === invoiceId))
      cents += toCents(line.Amount ?? 0) ?? 0;
  }
  return cents;
}

function invoicesOf(payment: QboPaymentRecord): string[] {
  const ids = new Set<string>();
  for (const line of payment.Line ?? [])
    for (const t of line.LinkedTxn ?? []) if (t.TxnType === 'Invoice' && t.TxnId) ids.add(t.TxnId);
  return [...ids];
}

function sm8View(p: Sm8JobPayment): Sm8PaymentView {
  return {
    uuid: p.uuid,
    amountCents: toCents(p.amount) ?? 0,
    date: sm8Date(p.timestamp),
    method: p.method ?? '',
    note: p.note ?? '',
    active: flag(p.active),
  };
}

function taskQueue(): string {
  return Context.current().info.taskQueue;
}

export function createPaymentActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);

  function temporal() {
    if (!deps.temporal)
      throw ApplicationFailure.create({
        type: 'MisconfiguredWorker',
        message:
          'payment routing needs a Temporal client in the activity dependencies (workers/sync-worker.ts)',
        nonRetryable: true,
      });
    return deps.temporal;
  }

  async function audit(
    connectionId: string,
    action: string,
    ref: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await writeAudit(deps.pool, { connectionId, entityType: 'payment', entityRef: ref, action, detail });
  }

  /** Records (or refreshes) the link of one ServiceM8 payment. One link per ServiceM8 payment and per QBO application. */
  async function saveLink(input: {
    connectionId: string;
    origin: PaymentOrigin;
    sm8Uuid: string;
    qboPaymentId: string | null;
    qboInvoiceId: string;
    jobUuid: string;
    amountCents: number;
    state: 'linked' | 'deleted';
    fingerprint: string | null;
  }): Promise<void> {
    await deps.pool.query(
      `INSERT INTO payment_links (connection_id, origin, sm8_payment_uuid, qbo_payment_id, qbo_invoice_id, job_uuid,
                                  amount_cents, state, sm8_fingerprint, qbo_fingerprint)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
       ON CONFLICT (connection_id, sm8_payment_uuid) DO UPDATE SET
         qbo_payment_id = COALESCE(EXCLUDED.qbo_payment_id, payment_links.qbo_payment_id),
         amount_cents = EXCLUDED.amount_cents, state = EXCLUDED.state,
         sm8_fingerprint = COALESCE(EXCLUDED.sm8_fingerprint, payment_links.sm8_fingerprint),
         qbo_fingerprint = COALESCE(EXCLUDED.qbo_fingerprint, payment_links.qbo_fingerprint),
         updated_at = now()`,
      [
        input.connectionId,
        input.origin,
        input.sm8Uuid,
        input.qboPaymentId,
        input.qboInvoiceId,
        input.jobUuid,
        input.amountCents,
        input.state,
        input.fingerprint,
      ],
    );
  }

  /** The link of a ServiceM8 payment the sync just wrote from QuickBooks: linked, fingerprinted as written. */
  function saveWrittenSm8Link(
    origin: PaymentOrigin,
    p: Omit<Parameters<typeof saveLink>[0], 'origin' | 'state' | 'fingerprint'> & { date: string },
  ): Promise<void> {
    const fingerprint = paymentFingerprint({ amountCents: p.amountCents, date: p.date });
    return saveLink({ ...p, origin, state: 'linked', fingerprint });
  }

  async function linksOfInvoice(connectionId: string, jobUuid: string, qboInvoiceId: string) {
    const r = await deps.pool.query<{
      sm8_payment_uuid: string;
      qbo_payment_id: string | null;
      origin: PaymentOrigin;
      state: 'linked' | 'deleted';
      sm8_fingerprint: string | null;
      qbo_fingerprint: string | null;
    }>(
      `SELECT sm8_payment_uuid, qbo_payment_id, origin, state, sm8_fingerprint, qbo_fingerprint FROM payment_links
        WHERE connection_id = $1 AND job_uuid = $2 AND qbo_invoice_id = $3 ORDER BY id`,
      [connectionId, jobUuid, qboInvoiceId],
    );
    return r.rows.map((row): PaymentLinkView => ({
      sm8Uuid: row.sm8_payment_uuid,
      qboPaymentId: row.qbo_payment_id,
      origin: row.origin,
      state: row.state,
      sm8Fingerprint: row.sm8_fingerprint,
      qboFingerprint: row.qbo_fingerprint,
    }));
  }

  /** The payments QuickBooks applies to an invoice (its LinkedTxn), read in one query. */
  async function paymentsOfInvoice(
    qbo: QuickBooksClient,
    invoice: QboInvoiceRecord,
  ): Promise<QboPaymentRecord[]> {
    const ids = (invoice.LinkedTxn ?? [])
      .filter((t) => t.TxnType === 'Payment' && t.TxnId)
      .map((t) => t.TxnId as string);
    if (!ids.length) return [];
    return qbo.query<'Payment', QboPaymentRecord>(
      'Payment',
      `SELECT * FROM Payment WHERE Id IN (${ids.map((id) => `'${id.replace(/'/g, "\\'")}'`).join(', ')}) MAXRESULTS 1000`,
    );
  }

  async function paymentMethods(qbo: QuickBooksClient): Promise<Array<{ Id: string; Name: string }>> {
    return qbo.query<'PaymentMethod', { Id: string; Name: string }>(
      'PaymentMethod',
      'SELECT * FROM PaymentMethod',
    );
  }

  async function wake(connectionId: string, jobUuid: string): Promise<string> {
    return signalPayments(temporal(), taskQueue(), connectionId, jobUuid);
  }

  return {
    /**
     * Both sides' payments of one job's exported invoice, and their links (design principle 3,
     * docs/design.md).
     */
    async loadPaymentSnapshot(input: { connectionId: string; jobUuid: string }): Promise<PaymentSnapshot> {
      const { connectionId, jobUuid } = input;
      const empty: PaymentSides = { sm8: [], qbo: [], links: [] };
      const link = await deps.links.bySm8(connectionId, 'invoice', jobUuid);
      if (!link?.qboId) return { invoice: null, gone: 'not_exported', sides: empty };
      if (link.state !== 'linked') return { invoice: null, gone: link.state, sides: empty };
      const qbo = qboFor(connectionId);
      let invoice: QboInvoiceRecord;
      try {
        invoice = await qbo.read<QboInvoiceRecord>('Invoice', link.qboId);
      } catch (err) {
        if (isNotFound(err)) return { invoice: null, gone: 'deleted', sides: empty };
        throw err;
      }
      if (isVoided(invoice)) return { invoice: null, gone: 'voided', sides: empty };
      const payments = await paymentsOfInvoice(qbo, invoice);
      const needNames = payments.some((p) => p.PaymentMethodRef?.value && !p.PaymentMethodRef.name);
      const methods = needNames ? await paymentMethods(qbo) : [];
      const qboViews = payments.map((p): QboPaymentView => ({
        id: p.Id,
        date: p.TxnDate ?? '',
        amountCents: appliedTo(p, invoice.Id),
        privateNote: p.PrivateNote ?? '',
        methodName:
          p.PaymentMethodRef?.name ?? methods.find((m) => m.Id === p.PaymentMethodRef?.value)?.Name ?? null,
        refNum: p.PaymentRefNum ?? null,
      }));
      const sm8Payments = await sm8For(connectionId).list<Sm8JobPayment>('jobpayment', [
        { field: 'job_uuid', op: 'eq', value: jobUuid },
      ]);
      return {
        invoice: {
          qboInvoiceId: invoice.Id,
          customerId: invoice.CustomerRef?.value ?? '',
          totalCents: toCents(invoice.TotalAmt ?? 0) ?? 0,
          balanceCents: toCents(invoice.Balance ?? 0) ?? 0,
        },
        sides: {
          sm8: sm8Payments.map(sm8View),
          qbo: qboViews,
          links: await linksOfInvoice(connectionId, jobUuid, invoice.Id),
        },
      };
    },

    /**
     * PAY-1: a ServiceM8 payment becomes a QuickBooks Payment applied to the job's invoice, exactly once: an
     * existing link or a payment of the invoice carrying our marker is adopted; the create carries a requestid.
     * The method is mapped by name to a QuickBooks PaymentMethod; none matching: no method, and an audit row.
     */
    async sendPaymentToQbo(input: {
      connectionId: string;
      jobUuid: string;
      qboInvoiceId: string;
      customerId: string;
      sm8Uuid: string;
      amountCents: number;
      date: string | null;
      method: string;
      requestId: string;
    }): Promise<{ ok: true; qboPaymentId: string; adopted: boolean; methodMapped: boolean } | Refusal> {
      const { connectionId } = input;
      const existing = await deps.pool.query<{ qbo_payment_id: string | null }>(
        'SELECT qbo_payment_id FROM payment_links WHERE connection_id = $1 AND sm8_payment_uuid = $2',
        [connectionId, input.sm8Uuid],
      );
      const known = existing.rows[0]?.qbo_payment_id;
      if (known) return { ok: true, qboPaymentId: known, adopted: true, methodMapped: true };
      const qbo = qboFor(connectionId);
      const invoice = await qbo.read<QboInvoiceRecord>('Invoice', input.qboInvoiceId);
      let payment = (await paymentsOfInvoice(qbo, invoice)).find(
        (p) => markedSm8Uuid(p.PrivateNote) === input.sm8Uuid,
      );
      const adopted = payment !== undefined;
      let methodMapped = true;
      if (!payment) {
        const method = input.method.trim()
          ? (await paymentMethods(qbo)).find((m) => sameName(m.Name, input.method))
          : undefined;
        methodMapped = !input.method.trim() || method !== undefined;
        const body = {
          CustomerRef: { value: input.customerId },
          TotalAmt: centsToAmount(input.amountCents),
          ...(input.date ? { TxnDate: input.date } : {}),
          ...(method ? { PaymentMethodRef: { value: method.Id } } : {}),
          PrivateNote: `ServiceM8 payment ${sm8PaymentMarker(input.sm8Uuid)}`,
          Line: [
            {
              Amount: centsToAmount(input.amountCents),
              LinkedTxn: [{ TxnId: input.qboInvoiceId, TxnType: 'Invoice' }],
            },
          ],
        };
        try {
          payment = await qbo.create<QboPaymentRecord>('Payment', body, input.requestId);
        } catch (err) {
          const d = validationDetails(err);
          if (!d) throw err;
          return { ok: false, code: 'PAYMENT_REFUSED', text: d.detail || d.message };
        }
        if (!methodMapped)
          await audit(connectionId, 'payment_method_unmapped', input.sm8Uuid, {
            method: input.method,
            qboPaymentId: payment.Id,
            jobUuid: input.jobUuid,
          });
      }
      const fp = paymentFingerprint({
        amountCents: appliedTo(payment, input.qboInvoiceId),
        date: payment.TxnDate ?? input.date,
      });
      await saveLink({
        connectionId,
        origin: 'sm8',
        sm8Uuid: input.sm8Uuid,
        qboPaymentId: payment.Id,
        qboInvoiceId: input.qboInvoiceId,
        jobUuid: input.jobUuid,
        amountCents: input.amountCents,
        state: 'linked',
        fingerprint: fp,
      });
      return { ok: true, qboPaymentId: payment.Id, adopted, methodMapped };
    },

    /** PAY-2: a QuickBooks payment's application to the invoice becomes a ServiceM8 jobpayment (uuid from the workflow). */
    async mirrorQboPayment(input: {
      connectionId: string;
      jobUuid: string;
      qboInvoiceId: string;
      qboPaymentId: string;
      sm8Uuid: string;
      amountCents: number;
      date: string;
      method: string | null;
      refNum: string | null;
    }): Promise<{ sm8Uuid: string }> {
      const found = await deps.pool.query<{ sm8_payment_uuid: string }>(
        `SELECT sm8_payment_uuid FROM payment_links
          WHERE connection_id = $1 AND qbo_payment_id = $2 AND qbo_invoice_id = $3`,
        [input.connectionId, input.qboPaymentId, input.qboInvoiceId],
      );
      if (found.rows[0]) return { sm8Uuid: found.rows[0].sm8_payment_uuid };
      const ref = input.refNum ? ` ref ${input.refNum}` : '';
      await sm8For(input.connectionId).create('jobpayment', input.sm8Uuid, {
        job_uuid: input.jobUuid,
        amount: centsToSm8Amount(input.amountCents),
        timestamp: `${input.date} 00:00:00`,
        method: input.method ?? '',
        note: `QuickBooks payment ${input.qboPaymentId}${ref} ${qboPaymentMarker(input.qboPaymentId, input.qboInvoiceId)}`,
        active: 1,
      });
      await saveWrittenSm8Link('qbo', input);
      return { sm8Uuid: input.sm8Uuid };
    },

    /** PAY-2 (a later QuickBooks change), PAY-4 (restore a deleted or revert an edited sent payment). */
    async updateSm8Payment(input: {
      connectionId: string;
      jobUuid: string;
      qboInvoiceId: string;
      sm8Uuid: string;
      qboPaymentId: string;
      origin: PaymentOrigin;
      amountCents: number;
      date: string;
      writeDate: boolean;
      activate: boolean;
    }): Promise<void> {
      await sm8For(input.connectionId).update('jobpayment', input.sm8Uuid, {
        amount: centsToSm8Amount(input.amountCents),
        ...(input.writeDate ? { timestamp: `${input.date} 00:00:00` } : {}),
        ...(input.activate ? { active: 1 } : {}),
      });
      await saveWrittenSm8Link(input.origin, input);
    },

    /** PAY-3: the QuickBooks payment was deleted, voided or unapplied: the ServiceM8 payment goes (active = 0). */
    async removeSm8Payment(input: { connectionId: string; sm8Uuid: string; active: boolean }): Promise<void> {
      if (input.active) {
        try {
          await sm8For(input.connectionId).remove('jobpayment', input.sm8Uuid);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      await deps.pool.query(
        `UPDATE payment_links SET state = 'deleted', updated_at = now()
          WHERE connection_id = $1 AND sm8_payment_uuid = $2`,
        [input.connectionId, input.sm8Uuid],
      );
    },

    /** A copy we made whose link was lost (PAY-5), or fresh fingerprints for a link whose sides agree. */
    async savePaymentLink(input: {
      connectionId: string;
      jobUuid: string;
      qboInvoiceId: string;
      sm8Uuid: string;
      qboPaymentId: string | null;
      origin: PaymentOrigin;
      amountCents: number;
      fingerprint: string | null;
    }): Promise<void> {
      await saveLink({ ...input, state: 'linked' });
    },

    async auditPayment(input: {
      connectionId: string;
      action: string;
      ref: string;
      detail: Record<string, unknown>;
    }): Promise<void> {
      await audit(input.connectionId, input.action, input.ref, input.detail);
    },

    /**
     * Finds the owner(s) of a payment event that a router could not place (no link yet) and wakes them:
     * a ServiceM8 jobpayment's job (when its invoice is in QuickBooks), every exported invoice a QuickBooks
     * payment applies to, and every job a stored link already ties the payment to (it may have moved).
     * QuickBooks-born invoices have no link, so their payments wake nobody (INV-8).
     */
    async routePaymentRecord(input: {
      connectionId: string;
      source: 'sm8' | 'qbo';
      entityId: string;
    }): Promise<{ woken: string[]; ignored?: string }> {
      const { connectionId } = input;
      const jobs = new Set<string>();
      if (input.source === 'sm8') {
        let payment: Sm8JobPayment;
        try {
          payment = await sm8For(connectionId).read<Sm8JobPayment>('jobpayment', input.entityId);
        } catch (err) {
          if (isNotFound(err)) return { woken: [], ignored: 'the ServiceM8 payment does not exist' };
          throw err;
        }
        const invoice = await deps.links.bySm8(connectionId, 'invoice', payment.job_uuid);
        if (!invoice?.qboId)
          return { woken: [], ignored: 'its job is not in QuickBooks yet: it is sent after export (PAY-1)' };
        jobs.add(payment.job_uuid);
      } else {
        // Also the owners a link names, although the router woke them: it read the links before this read of
        // the payment, and an owner may have linked it in between from an older read.
        const linked = await deps.pool.query<{ job_uuid: string }>(
          'SELECT DISTINCT job_uuid FROM payment_links WHERE connection_id = $1 AND qbo_payment_id = $2',
          [connectionId, input.entityId],
        );
        for (const row of linked.rows) jobs.add(row.job_uuid);
        try {
          const payment = await qboFor(connectionId).read<QboPaymentRecord>('Payment', input.entityId);
          for (const invoiceId of invoicesOf(payment)) {
            const link = await deps.links.byQbo(connectionId, 'invoice', invoiceId);
            if (link?.sm8Uuid) jobs.add(link.sm8Uuid);
          }
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        if (!jobs.size)
          return { woken: [], ignored: 'applied to no invoice exported from ServiceM8 (INV-8)' };
      }
      const woken: string[] = [];
      for (const job of jobs) woken.push(await wake(connectionId, job));
      return { woken };
    },

    /** PAY-1: right after an invoice is exported, its payments owner looks (payments recorded before export). */
    async wakePaymentsOwner(input: { connectionId: string; jobUuid: string }): Promise<string> {
      return wake(input.connectionId, input.jobUuid);
    },
  };
}
