/** The payments plan (domain/payments.ts): which side wins, what is ours, what is mirrored. Pure, no I/O. */
import {
  markedQboPayment,
  markedSm8Uuid,
  paymentFingerprint,
  planPayments,
  qboPaymentMarker,
  sm8PaymentMarker,
  type PaymentLinkView,
  type QboPaymentView,
  type Sm8PaymentView,
} from '../../domain/payments';

const INV = '77';
const S1 = '0b6f1a52-0000-4000-8000-000000000001';
const S2 = '0b6f1a52-0000-4000-8000-000000000002';

const sm8 = (p: Partial<Sm8PaymentView> & { uuid: string }): Sm8PaymentView => ({
  amountCents: 5000,
  date: '2026-11-20',
  method: 'Cash',
  note: '',
  active: true,
  ...p,
});
const qbo = (p: Partial<QboPaymentView> & { id: string }): QboPaymentView => ({
  date: '2026-11-20',
  amountCents: 5000,
  privateNote: '',
  methodName: 'Cash',
  refNum: null,
  ...p,
});
const link = (p: Partial<PaymentLinkView> & { sm8Uuid: string }): PaymentLinkView => {
  const fp = paymentFingerprint({ amountCents: 5000, date: '2026-11-20' });
  return { qboPaymentId: '9', origin: 'sm8', state: 'linked', sm8Fingerprint: fp, qboFingerprint: fp, ...p };
};

describe('payments plan', () => {
  it('PAY-1: an unlinked active ServiceM8 payment is sent; inactive, zero and negative ones are not', () => {
    const actions = planPayments(INV, {
      sm8: [
        sm8({ uuid: S1 }),
        sm8({ uuid: 'inactive', active: false }),
        sm8({ uuid: 'zero', amountCents: 0 }),
        sm8({ uuid: 'refund', amountCents: -500 }),
      ],
      qbo: [],
      links: [],
    });
    expect(actions.map((a) => [a.kind, 'sm8Uuid' in a ? a.sm8Uuid : null])).toEqual([
      ['send_to_qbo', S1],
      ['refuse', 'refund'],
    ]);
  });

  it('PAY-7: a negative ServiceM8 payment (a refund) is held with a reason in words, never sent', () => {
    const actions = planPayments(INV, {
      sm8: [sm8({ uuid: 'refund', amountCents: -1250, date: '2026-11-23' })],
      qbo: [],
      links: [],
    });
    expect(actions).toEqual([
      {
        kind: 'refuse',
        sm8Uuid: 'refund',
        code: 'PAYMENT_NEGATIVE',
        text: "the payment of -12.50 on 2026-11-23 is a refund, so it was not sent to QuickBooks: QuickBooks has no negative payments, and a refund there (a refund receipt, or a cheque against a credit memo) needs the account the money was paid from, which ServiceM8 does not record. Record the refund in QuickBooks. This payment stays as it is in ServiceM8, so the invoice's payments in the two programs differ by 12.50.",
      },
    ]);
  });

  it('PAY-2: an unlinked QuickBooks payment is mirrored with the amount applied to this invoice', () => {
    const actions = planPayments(INV, { sm8: [], qbo: [qbo({ id: '12', amountCents: 1234 })], links: [] });
    expect(actions).toEqual([
      expect.objectContaining({ kind: 'mirror_to_sm8', qboPaymentId: '12', amountCents: 1234 }),
    ]);
  });

  it('PAY-2: a QuickBooks amount change updates the linked ServiceM8 payment', () => {
    const actions = planPayments(INV, {
      sm8: [sm8({ uuid: S1 })],
      qbo: [qbo({ id: '9', amountCents: 4000 })],
      links: [link({ sm8Uuid: S1, origin: 'qbo' })],
    });
    expect(actions).toEqual([
      expect.objectContaining({
        kind: 'update_sm8',
        amountCents: 4000,
        cause: 'qbo_changed',
        activate: false,
      }),
    ]);
  });

  it('PAY-3: a linked QuickBooks payment gone from the invoice (deleted, voided) removes the ServiceM8 payment', () => {
    const gone = planPayments(INV, { sm8: [sm8({ uuid: S1 })], qbo: [], links: [link({ sm8Uuid: S1 })] });
    expect(gone).toEqual([{ kind: 'remove_from_sm8', sm8Uuid: S1, qboPaymentId: '9', active: true }]);
    const voided = planPayments(INV, {
      sm8: [sm8({ uuid: S1 })],
      qbo: [qbo({ id: '9', amountCents: 0 })],
      links: [link({ sm8Uuid: S1 })],
    });
    expect(voided).toEqual(gone);
    // Already removed: nothing more.
    expect(
      planPayments(INV, {
        sm8: [sm8({ uuid: S1, active: false })],
        qbo: [],
        links: [link({ sm8Uuid: S1, state: 'deleted' })],
      }),
    ).toEqual([]);
  });

  it('PAY-4: a sent payment deleted or edited in ServiceM8 is put back to QuickBooks figures', () => {
    const deleted = planPayments(INV, {
      sm8: [sm8({ uuid: S1, active: false })],
      qbo: [qbo({ id: '9' })],
      links: [link({ sm8Uuid: S1 })],
    });
    expect(deleted).toEqual([
      expect.objectContaining({
        kind: 'update_sm8',
        activate: true,
        cause: 'sm8_deleted',
        amountCents: 5000,
      }),
    ]);
    const edited = planPayments(INV, {
      sm8: [sm8({ uuid: S1, amountCents: 100 })],
      qbo: [qbo({ id: '9' })],
      links: [link({ sm8Uuid: S1 })],
    });
    expect(edited).toEqual([
      expect.objectContaining({ kind: 'update_sm8', cause: 'sm8_edited', amountCents: 5000 }),
    ]);
  });

  it('PAY-5: our own copies (markers) are adopted when their link was lost, never mirrored back', () => {
    const ours = planPayments(INV, {
      sm8: [
        sm8({ uuid: S1 }),
        sm8({ uuid: S2, note: `QuickBooks payment 12 ${qboPaymentMarker('12', INV)}` }),
      ],
      qbo: [qbo({ id: '9', privateNote: `x ${sm8PaymentMarker(S1)}` }), qbo({ id: '12' })],
      links: [],
    });
    expect(ours.filter((a) => a.kind === 'adopt')).toEqual([
      { kind: 'adopt', sm8Uuid: S2, qboPaymentId: '12', origin: 'qbo' },
      { kind: 'adopt', sm8Uuid: S1, qboPaymentId: '9', origin: 'sm8' },
    ]);
    expect(ours.some((a) => a.kind === 'send_to_qbo' || a.kind === 'mirror_to_sm8')).toBe(false);
    // Our payment for another job's ServiceM8 payment, moved to this invoice in QuickBooks, is mirrored here
    // (the other job's owner removes it there): the books of both invoices agree.
    const moved = planPayments(INV, {
      sm8: [],
      qbo: [qbo({ id: '14', privateNote: sm8PaymentMarker(S2) })],
      links: [],
    });
    expect(moved).toEqual([expect.objectContaining({ kind: 'mirror_to_sm8', qboPaymentId: '14' })]);
    // A ServiceM8 payment carrying our QuickBooks marker is never sent to QuickBooks (it would count twice there).
    expect(
      planPayments(INV, {
        sm8: [sm8({ uuid: S2, note: qboPaymentMarker('15', 'another invoice') })],
        qbo: [],
        links: [],
      }),
    ).toEqual([]);
    // Echo of our own write: both sides agree with the stored fingerprints: nothing at all.
    expect(
      planPayments(INV, {
        sm8: [sm8({ uuid: S1 })],
        qbo: [qbo({ id: '9' })],
        links: [link({ sm8Uuid: S1 })],
      }),
    ).toEqual([]);
  });

  it('PAY-5: a ServiceM8 payment without a date is not taken for an edit once QuickBooks dated it', () => {
    expect(
      planPayments(INV, {
        sm8: [sm8({ uuid: S1, date: null })],
        qbo: [qbo({ id: '9' })],
        links: [link({ sm8Uuid: S1 })],
      }),
    ).toEqual([]);
  });

  it('markers round-trip', () => {
    expect(markedSm8Uuid(`ServiceM8 payment ${sm8PaymentMarker(S1)}`)).toBe(S1);
    expect(markedQboPayment(`ref ${qboPaymentMarker('123', '45')}`)).toEqual({
      qboPaymentId: '123',
      qboInvoiceId: '45',
    });
    expect(markedSm8Uuid('Voided - nothing')).toBeNull();
  });
});
