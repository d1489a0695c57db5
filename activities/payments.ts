/**
 * Activities of the payments owner (workflows/payments.ts): read the payments of one exported invoice on both
 * sides, write the one change the plan (domain/payments.ts) asks for, and keep payment_links. Every write is
 * idempotent: a QuickBooks Payment create carries a requestid and is preceded by a look for our marker among
 * the invoice's payments; a ServiceM8 jobpayment create uses a uuid generated in the workflow (a retried
 * create updates the same record) and carries a marker the planner adopts if the link was lost.
 * The resolver of payment events a router cannot place is in activities/payment-routing.ts.
 */
import { centsToAmount, toCents } from '../domain/money';
import { sameName } from '../domain/names';
import {
  paymentFingerprint,
  qboPaymentMarker,
  markedSm8Uuid,
  sm8PaymentMarker,
  type PaymentOrigin,
  type PaymentSides,
  type QboPaymentView,
} from '../domain/payments';
import type { Sm8JobPayment } from '../domain/servicem8-types';
import { isNotFound, validationDetails } from '../apis/errors';
import { writeAudit } from '../store/audit';
import {
  linkedQboPayment,
  linkedSm8Payment,
  markPaymentLinkDeleted,
  paymentLinksOfInvoice,
  savePaymentLink,
  type PaymentLinkInput,
} from '../store/payment-links';
import { recordCreateIntent } from '../store/own-writes';
import { connectionFacts } from './support/connection-facts';
import type { ActivityDeps } from './support/deps';
import {
  keepQboPaymentWrite,
  keepSm8PaymentWrite,
  qboView,
  recordSm8PaymentWrite,
} from './support/payment-writes';
import { sm8View } from '../domain/payments';
import { isVoided } from './invoice';
import {
  appliedTo,
  centsToSm8Amount,
  type QboInvoiceRecord,
  type QboPaymentRecord,
} from './support/payment-records';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';

export interface PaymentSnapshot {
  /** null when the invoice is not (or no longer) in QuickBooks: then there is nothing to converge. */
  invoice: { qboInvoiceId: string; customerId: string; totalCents: number; balanceCents: number } | null;
  /** Why `invoice` is null: not_exported, voided, deleted. */
  gone?: string;
  sides: PaymentSides;
}

type Refusal = { ok: false; code: string; text: string };

export function createPaymentActivities(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  async function audit(
    connectionId: string,
    action: string,
    ref: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await writeAudit(deps.pool, { connectionId, entityType: 'payment', entityRef: ref, action, detail });
  }

  /** Records (or refreshes) the link of one ServiceM8 payment. One link per ServiceM8 payment and per QBO application. */
  function saveLink(input: PaymentLinkInput): Promise<void> {
    return savePaymentLink(deps.pool, input);
  }

  /** The link of a ServiceM8 payment the sync just wrote from QuickBooks: linked, fingerprinted as written. */
  function saveWrittenSm8Link(
    origin: PaymentOrigin,
    p: Omit<Parameters<typeof saveLink>[0], 'origin' | 'state' | 'fingerprint'> & { date: string },
  ): Promise<void> {
    const fingerprint = paymentFingerprint({ amountCents: p.amountCents, date: p.date });
    return saveLink({ ...p, origin, state: 'linked', fingerprint });
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

  /** QuickBooks' payment methods: a connection fact (issue 12), read again when a name is missing. */
  async function paymentMethods(
    connectionId: string,
    refresh = false,
  ): Promise<Array<{ Id: string; Name: string }>> {
    const facts = await connectionFacts(
      deps,
      connectionId,
      ['paymentMethods'],
      refresh ? ['paymentMethods'] : [],
    );
    return facts.paymentMethods ?? [];
  }

  /** The active method of this name (PAY-1), the cached list read again once on a miss. */
  async function methodNamed(
    connectionId: string,
    name: string,
  ): Promise<{ Id: string; Name: string } | undefined> {
    const find = (ms: Array<{ Id: string; Name: string }>) => ms.find((m) => sameName(m.Name, name));
    return find(await paymentMethods(connectionId)) ?? find(await paymentMethods(connectionId, true));
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
      const methods = needNames ? await paymentMethods(connectionId) : [];
      const qboViews = payments.map((p): QboPaymentView => qboView(p, invoice.Id, methods));
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
          links: await paymentLinksOfInvoice(deps.pool, connectionId, jobUuid, invoice.Id),
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
      /** PAY-8: the part applied to the invoice (its open balance), the rest left unapplied; default all. */
      appliedCents?: number;
      date: string | null;
      method: string;
      requestId: string;
    }): Promise<
      | {
          ok: true;
          qboPaymentId: string;
          adopted: boolean;
          methodMapped: boolean;
          /** PAY-8: what the payment in QuickBooks applies to the invoice, and leaves unapplied. */
          appliedCents?: number;
          unappliedCents?: number;
        }
      | Refusal
    > {
      const { connectionId } = input;
      const known = await linkedQboPayment(deps.pool, connectionId, input.sm8Uuid);
      if (known) return { ok: true, qboPaymentId: known, adopted: true, methodMapped: true };
      const qbo = qboFor(connectionId);
      // Issue 12: the invoice's payments are searched for our marker only when an earlier attempt recorded
      // its intent (its answer may have been lost); the create's requestid covers a plain retry.
      let payment: QboPaymentRecord | undefined;
      if (await recordCreateIntent(deps.pool, connectionId, 'qbo', 'payment', input.sm8Uuid)) {
        const invoice = await qbo.read<QboInvoiceRecord>('Invoice', input.qboInvoiceId);
        payment = (await paymentsOfInvoice(qbo, invoice)).find(
          (p) => markedSm8Uuid(p.PrivateNote) === input.sm8Uuid,
        );
      }
      const adopted = payment !== undefined;
      let methodMapped = true;
      if (!payment) {
        const method = input.method.trim() ? await methodNamed(connectionId, input.method) : undefined;
        methodMapped = !input.method.trim() || method !== undefined;
        const body = {
          CustomerRef: { value: input.customerId },
          TotalAmt: centsToAmount(input.amountCents),
          ...(input.date ? { TxnDate: input.date } : {}),
          ...(method ? { PaymentMethodRef: { value: method.Id } } : {}),
          PrivateNote: `ServiceM8 payment ${sm8PaymentMarker(input.sm8Uuid)}`,
          Line: [
            {
              Amount: centsToAmount(Math.min(input.appliedCents ?? input.amountCents, input.amountCents)),
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
      // PAY-8: our payment stands for the whole ServiceM8 payment, its unapplied rest included.
      const appliedCents = appliedTo(payment, input.qboInvoiceId);
      const unappliedCents = appliedCents > 0 ? (toCents(payment.UnappliedAmt ?? 0) ?? 0) : 0;
      const fp = paymentFingerprint({
        amountCents: appliedCents + unappliedCents,
        date: payment.TxnDate ?? input.date,
      });
      const methods = (await connectionFacts(deps, connectionId, [])).paymentMethods ?? [];
      await keepQboPaymentWrite(
        deps.pool,
        connectionId,
        input.jobUuid,
        input.qboInvoiceId,
        payment,
        qboView(payment, input.qboInvoiceId, methods),
      );
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
      return { ok: true, qboPaymentId: payment.Id, adopted, methodMapped, appliedCents, unappliedCents };
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
      const found = await linkedSm8Payment(
        deps.pool,
        input.connectionId,
        input.qboPaymentId,
        input.qboInvoiceId,
      );
      if (found !== null) return { sm8Uuid: found };
      const ref = input.refNum ? ` ref ${input.refNum}` : '';
      const written = {
        job_uuid: input.jobUuid,
        amount: centsToSm8Amount(input.amountCents),
        timestamp: `${input.date} 00:00:00`,
        method: input.method ?? '',
        note: `QuickBooks payment ${input.qboPaymentId}${ref} ${qboPaymentMarker(input.qboPaymentId, input.qboInvoiceId)}`,
        active: 1,
      };
      await recordSm8PaymentWrite(deps.pool, input.connectionId, input.sm8Uuid, written);
      await sm8For(input.connectionId).create('jobpayment', input.sm8Uuid, written);
      await saveWrittenSm8Link('qbo', input);
      await keepSm8PaymentWrite(deps.pool, input.connectionId, input.jobUuid, input.sm8Uuid, {
        amountCents: input.amountCents,
        date: input.date,
        method: written.method,
        note: written.note,
        active: true,
      });
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
      const written = {
        amount: centsToSm8Amount(input.amountCents),
        ...(input.writeDate ? { timestamp: `${input.date} 00:00:00` } : {}),
        ...(input.activate ? { active: 1 } : {}),
      };
      await recordSm8PaymentWrite(deps.pool, input.connectionId, input.sm8Uuid, written);
      await sm8For(input.connectionId).update('jobpayment', input.sm8Uuid, written);
      await saveWrittenSm8Link(input.origin, input);
      await keepSm8PaymentWrite(deps.pool, input.connectionId, input.jobUuid, input.sm8Uuid, {
        amountCents: input.amountCents,
        ...(input.writeDate ? { date: input.date } : {}),
        ...(input.activate ? { active: true } : {}),
      });
    },

    /** PAY-3: the QuickBooks payment was deleted, voided or unapplied: the ServiceM8 payment goes (active = 0). */
    async removeSm8Payment(input: {
      connectionId: string;
      sm8Uuid: string;
      active: boolean;
      jobUuid?: string;
    }): Promise<void> {
      if (input.active) {
        await recordSm8PaymentWrite(deps.pool, input.connectionId, input.sm8Uuid, { active: 0 });
        try {
          await sm8For(input.connectionId).remove('jobpayment', input.sm8Uuid);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        if (input.jobUuid)
          await keepSm8PaymentWrite(deps.pool, input.connectionId, input.jobUuid, input.sm8Uuid, {
            active: false,
          });
      }
      await markPaymentLinkDeleted(deps.pool, input.connectionId, input.sm8Uuid);
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
  };
}
