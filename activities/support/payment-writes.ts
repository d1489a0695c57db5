/**
 * What the payments activities keep after a read or a write (issue 12): each payment's view in the job's
 * payment views (store/payment-views.ts), and our own writes (store/own-writes.ts), so that neither the
 * owner's next round nor the echo of the write costs a read.
 */
import type { Pool } from 'pg';
import { toCents } from '../../domain/money';
import { qboPaymentVersion, type QboPaymentView, type Sm8PaymentView } from '../../domain/payments';
import { recordOwnWrite } from '../../store/own-writes';
import { paymentViews, putPaymentView } from '../../store/payment-views';
import { appliedTo, type QboPaymentRecord } from './payment-records';

export function qboView(
  p: QboPaymentRecord,
  invoiceId: string,
  methods: ReadonlyArray<{ Id: string; Name: string }>,
): QboPaymentView {
  return {
    id: p.Id,
    date: p.TxnDate ?? '',
    amountCents: appliedTo(p, invoiceId),
    unappliedCents: toCents(p.UnappliedAmt ?? 0) ?? 0,
    privateNote: p.PrivateNote ?? '',
    methodName:
      p.PaymentMethodRef?.name ?? methods.find((m) => m.Id === p.PaymentMethodRef?.value)?.Name ?? null,
    refNum: p.PaymentRefNum ?? null,
    ...versionOf(p),
  };
}

const versionOf = (p: QboPaymentRecord) => {
  const version = qboPaymentVersion(p.MetaData?.LastUpdatedTime, p.SyncToken);
  return version ? { version } : {};
};

/** A QuickBooks Payment we created or changed: its view, our write, and the invoice's balance moved by us. */
export async function keepQboPaymentWrite(
  pool: Pool,
  connectionId: string,
  jobUuid: string,
  invoiceId: string,
  payment: QboPaymentRecord & { MetaData?: { LastUpdatedTime?: string } },
  view: QboPaymentView,
): Promise<void> {
  await putPaymentView(pool, connectionId, jobUuid, 'qbo', payment.Id, view);
  await recordOwnWrite(pool, connectionId, {
    side: 'qbo',
    entity: 'payment',
    recordId: payment.Id,
    fields: ['CustomerRef', 'TotalAmt', 'TxnDate', 'PaymentMethodRef', 'PrivateNote', 'Line'],
    answer: { writeOp: 'create', Id: payment.Id, TotalAmt: payment.TotalAmt },
    syncToken: payment.SyncToken,
    lastUpdated: payment.MetaData?.LastUpdatedTime ?? null,
  });
  // QuickBooks reports the invoice as updated too (its Balance): that is our write's echo as well.
  await recordOwnWrite(pool, connectionId, {
    side: 'qbo',
    entity: 'invoice:balance',
    recordId: invoiceId,
    fields: ['Balance'],
    answer: { writeOp: 'update', paymentId: payment.Id },
    syncToken: null,
    // QuickBooks moves the balance in the payment's own transaction: the invoice's update has its time.
    lastUpdated: payment.MetaData?.LastUpdatedTime ?? null,
  });
}

/**
 * A ServiceM8 jobpayment write about to be sent: recorded first, so that its webhook, which can arrive
 * before the write's answer, is known as our echo (ServiceM8 writes carry the uuid we chose).
 */
export async function recordSm8PaymentWrite(
  pool: Pool,
  connectionId: string,
  uuid: string,
  written: Record<string, unknown>,
): Promise<void> {
  await recordOwnWrite(pool, connectionId, {
    side: 'sm8',
    entity: 'jobpayment',
    recordId: uuid,
    fields: Object.keys(written),
    answer: written,
    syncToken: null,
    lastUpdated: null,
  });
}

/** A ServiceM8 jobpayment we created or changed: its view, merged with what was kept. */
export async function keepSm8PaymentWrite(
  pool: Pool,
  connectionId: string,
  jobUuid: string,
  uuid: string,
  view: Partial<Sm8PaymentView>,
): Promise<void> {
  const kept = (await paymentViews<Sm8PaymentView>(pool, connectionId, jobUuid, 'sm8')).find(
    (v) => v.uuid === uuid,
  );
  const merged: Sm8PaymentView = {
    uuid,
    amountCents: 0,
    date: null,
    method: '',
    note: '',
    active: true,
    ...kept,
    ...view,
  };
  await putPaymentView(pool, connectionId, jobUuid, 'sm8', uuid, merged);
}
