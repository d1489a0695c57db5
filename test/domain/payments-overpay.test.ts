/**
 * PAY-8 in the payments plan (domain/payments.ts): a ServiceM8 payment above the invoice's open balance goes to
 * QuickBooks with the balance applied and the rest unapplied, and that rest is part of the payment from then on
 * (never taken for an edit, never mirrored back, counted as received). Pure, no I/O.
 */
import {
  invoicePaidText,
  overpaymentText,
  paymentFingerprint,
  paymentTotals,
  planPayments,
  sm8PaymentMarker,
  type PaymentLinkView,
  type QboPaymentView,
  type Sm8PaymentView,
} from '../../domain/payments';

const INV = '77';
const S1 = '0b6f1a52-0000-4000-8000-000000000001';
const S2 = '0b6f1a52-0000-4000-8000-000000000002';
const TOTAL = 5997; // the soak's job: 59.97, paid 23.96 then 39.30 in ServiceM8

const sm8 = (p: Partial<Sm8PaymentView> & { uuid: string }): Sm8PaymentView => ({
  amountCents: 2396,
  date: '2026-11-20',
  method: 'Cash',
  note: '',
  active: true,
  ...p,
});
const qbo = (p: Partial<QboPaymentView> & { id: string }): QboPaymentView => ({
  date: '2026-11-20',
  amountCents: 2396,
  privateNote: '',
  methodName: 'Cash',
  refNum: null,
  ...p,
});
const link = (p: Partial<PaymentLinkView> & { sm8Uuid: string }, cents: number): PaymentLinkView => {
  const fp = paymentFingerprint({ amountCents: cents, date: '2026-11-21' });
  return { qboPaymentId: '10', origin: 'sm8', state: 'linked', sm8Fingerprint: fp, qboFingerprint: fp, ...p };
};

/** The state after both payments were sent: 23.96 applied in full, 39.30 as 36.01 applied + 3.29 unapplied. */
const first = qbo({ id: '9', privateNote: `ServiceM8 payment ${sm8PaymentMarker(S1)}` });
const second = qbo({
  id: '10',
  date: '2026-11-21',
  amountCents: 3601,
  unappliedCents: 329,
  privateNote: `ServiceM8 payment ${sm8PaymentMarker(S2)}`,
});
const sent = {
  sm8: [sm8({ uuid: S1 }), sm8({ uuid: S2, amountCents: 3930, date: '2026-11-21' })],
  qbo: [first, second],
  links: [
    {
      ...link({ sm8Uuid: S1, qboPaymentId: '9' }, 2396),
      sm8Fingerprint: paymentFingerprint({ amountCents: 2396, date: '2026-11-20' }),
      qboFingerprint: paymentFingerprint({ amountCents: 2396, date: '2026-11-20' }),
    },
    link({ sm8Uuid: S2 }, 3930),
  ],
};

describe('PAY-8: a ServiceM8 payment above the open balance', () => {
  it('PAY-8: is sent with the open balance applied and the rest unapplied; the earlier payment pays first', () => {
    const actions = planPayments(
      INV,
      {
        // Listed later-first on purpose: the payment dated later is the one that goes over.
        sm8: [sm8({ uuid: S2, amountCents: 3930, date: '2026-11-21' }), sm8({ uuid: S1 })],
        qbo: [],
        links: [],
      },
      { invoiceTotalCents: TOTAL },
    );
    expect(actions).toEqual([
      expect.objectContaining({ kind: 'send_to_qbo', sm8Uuid: S1, amountCents: 2396, appliedCents: 2396 }),
      expect.objectContaining({ kind: 'send_to_qbo', sm8Uuid: S2, amountCents: 3930, appliedCents: 3601 }),
    ]);
  });

  it('PAY-8: the open balance counts what QuickBooks payments already apply (no read: the plan holds them)', () => {
    const actions = planPayments(
      INV,
      {
        sm8: [sm8({ uuid: S1 }), sm8({ uuid: S2, amountCents: 3930, date: '2026-11-21' })],
        qbo: [first],
        links: [sent.links[0] as PaymentLinkView],
      },
      { invoiceTotalCents: TOTAL },
    );
    expect(actions).toEqual([
      expect.objectContaining({ kind: 'send_to_qbo', sm8Uuid: S2, amountCents: 3930, appliedCents: 3601 }),
    ]);
  });

  it('PAY-8: once sent, the echo plans nothing (the unapplied rest is no edit) and the sums agree as received', () => {
    expect(planPayments(INV, sent, { invoiceTotalCents: TOTAL })).toEqual([]);
    expect(paymentTotals(sent)).toEqual({ sm8Cents: 6326, qboCents: 6326, qboAppliedCents: 5997 });
  });

  it('PAY-8 with PAY-4: deleted or edited in ServiceM8, it is put back to the full amount, not the applied part', () => {
    const deleted = planPayments(INV, {
      ...sent,
      sm8: [sent.sm8[0] as Sm8PaymentView, { ...(sent.sm8[1] as Sm8PaymentView), active: false }],
    });
    expect(deleted).toEqual([
      expect.objectContaining({ kind: 'update_sm8', sm8Uuid: S2, cause: 'sm8_deleted', amountCents: 3930 }),
    ]);
    const edited = planPayments(INV, {
      ...sent,
      sm8: [sent.sm8[0] as Sm8PaymentView, { ...(sent.sm8[1] as Sm8PaymentView), amountCents: 4000 }],
    });
    expect(edited).toEqual([
      expect.objectContaining({ kind: 'update_sm8', sm8Uuid: S2, cause: 'sm8_edited', amountCents: 3930 }),
    ]);
  });

  it('PAY-8 with PAY-3: deleted or voided in QuickBooks, it is removed from ServiceM8', () => {
    const voided = { ...second, amountCents: 0, unappliedCents: 0 };
    for (const qboSide of [[first], [first, voided]])
      expect(planPayments(INV, { ...sent, qbo: qboSide })).toEqual([
        { kind: 'remove_from_sm8', sm8Uuid: S2, qboPaymentId: '10', active: true },
      ]);
  });

  it('PAY-8 with PAY-2: the bookkeeper applies the credit to another invoice: this job keeps what stays applied here', () => {
    const actions = planPayments(INV, { ...sent, qbo: [first, { ...second, unappliedCents: 0 }] });
    expect(actions).toEqual([
      expect.objectContaining({ kind: 'update_sm8', sm8Uuid: S2, cause: 'qbo_changed', amountCents: 3601 }),
    ]);
  });

  it('PAY-8 with PAY-2/PAY-5: a QuickBooks-born payment is mirrored with its applied line only, never its unapplied rest', () => {
    const born = qbo({ id: '12', amountCents: 2000, unappliedCents: 1000 });
    expect(planPayments(INV, { sm8: [], qbo: [born], links: [] }, { invoiceTotalCents: TOTAL })).toEqual([
      expect.objectContaining({ kind: 'mirror_to_sm8', qboPaymentId: '12', amountCents: 2000 }),
    ]);
    expect(paymentTotals({ sm8: [], qbo: [born] })).toEqual({
      sm8Cents: 0,
      qboCents: 2000,
      qboAppliedCents: 2000,
    });
  });

  it('PAY-8: an invoice already paid in full in QuickBooks: the payment is held with a reason in words, not sent', () => {
    const extra = sm8({ uuid: S2, amountCents: 1000, date: '2026-11-22' });
    const actions = planPayments(
      INV,
      { sm8: [extra], qbo: [qbo({ id: '12', amountCents: TOTAL })], links: [] },
      { invoiceTotalCents: TOTAL },
    );
    expect(actions).toEqual([
      { kind: 'refuse', sm8Uuid: S2, code: 'PAYMENT_INVOICE_PAID', text: invoicePaidText(extra) },
      expect.objectContaining({ kind: 'mirror_to_sm8', qboPaymentId: '12' }),
    ]);
    expect(invoicePaidText(extra)).toContain('already paid in full');
  });

  it('PAY-8: without the invoice total the plan sends the whole amount applied (as before PAY-8)', () => {
    expect(planPayments(INV, { sm8: [sm8({ uuid: S1, amountCents: 9999 })], qbo: [], links: [] })).toEqual([
      expect.objectContaining({ kind: 'send_to_qbo', amountCents: 9999, appliedCents: 9999 }),
    ]);
  });

  it('PAY-8: the job note says what was applied and what is left as the customer’s credit', () => {
    const text = overpaymentText({ amountCents: 3930, appliedCents: 3601, date: '2026-11-21' });
    expect(text).toMatch(/\$?39\.30/);
    expect(text).toMatch(/36\.01 pays off the invoice/);
    expect(text).toMatch(/3\.29 is kept in QuickBooks as a credit for the customer/);
    expect(text).toMatch(/apply that credit to another invoice of the customer or refund it/);
  });
});
