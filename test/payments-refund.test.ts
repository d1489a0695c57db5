/**
 * PAY-7: a refund recorded in ServiceM8 as a negative payment is held with a reason the bookkeeper understands
 * (one job note, the owner's problems), never posted to QuickBooks as a payment, a refund receipt or anything
 * else; the payments beside it still sync. ServiceM8 simulator (the refund written through its API, which
 * takes a negative amount: docs/servicem8-api.md, jobpayment) ⇄ payments workflow on the real Temporal server
 * ⇄ QuickBooks simulator.
 */
import crypto from 'node:crypto';
import { ServiceM8Client } from '../apis/servicem8/client';
import {
  startPaymentWorld,
  eventAndSettle,
  sm8Event,
  exportedJob,
  sm8Payment,
  qboPayments,
  qboPaymentsMarked,
  qboPaidCents,
} from './helpers/payments';
import type { Sm8Fixtures } from './helpers/sm8-fixtures';
import type { World } from './helpers/world';

jest.setTimeout(180_000);

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = `refund-${crypto.randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  ({ w, f, realm } = await startPaymentWorld(CONN, {}));
});
afterAll(async () => {
  await w.close();
});

describe('PAY-7: a refund recorded in ServiceM8 (a negative payment)', () => {
  it('PAY-7: a negative ServiceM8 payment is held with one job note and a problem in words; nothing is posted for it, the payment beside it still is', async () => {
    const { job, invoiceId } = await exportedJob('Refunded Fencing Pty'); // 198.00
    const paid = sm8Payment(job, '100.00');
    await eventAndSettle([job], sm8Event(paid));
    expect(qboPaidCents(invoiceId)).toBe(10000);

    // The refund, through ServiceM8's API as the app records it.
    const refund = crypto.randomUUID();
    await new ServiceM8Client(w.h.deps.sm8ClientDeps(), CONN).create('jobpayment', refund, {
      job_uuid: job,
      amount: '-20.00',
      timestamp: '2026-11-23 09:30:00',
      method: 'Cash',
      note: 'refund: one panel not installed',
    });
    expect(w.sm8.store.get('jobpayment', refund)?.amount).toBe('-20.0000');
    const refundReceiptsBefore = w.qbo.store.list('RefundReceipt', realm).length;
    const [s] = await eventAndSettle([job], sm8Event(refund));
    await eventAndSettle([job], sm8Event(refund)); // again: nothing new is written, no second note

    const text =
      "the payment of -20.00 on 2026-11-23 is a refund, so it was not sent to QuickBooks: QuickBooks has no negative payments, and a refund there (a refund receipt, or a cheque against a credit memo) needs the account the money was paid from, which ServiceM8 does not record. Record the refund in QuickBooks. This payment stays as it is in ServiceM8, so the invoice's payments in the two programs differ by 20.00.";
    expect(s?.problems).toEqual([{ sm8Uuid: refund, code: 'PAYMENT_NEGATIVE', text }]);
    expect(f.notesOf(job).filter((n) => n.includes('is a refund'))).toEqual([`QuickBooks sync: ${text}`]);
    expect(qboPaymentsMarked(refund)).toHaveLength(0);
    expect(qboPayments().filter((p) => JSON.stringify(p.Line).includes(`"${invoiceId}"`))).toHaveLength(1);
    expect(w.qbo.store.list('RefundReceipt', realm)).toHaveLength(refundReceiptsBefore);
    expect(qboPaidCents(invoiceId)).toBe(10000);
    expect(w.sm8.store.get('jobpayment', refund)).toMatchObject({ active: 1, amount: '-20.0000' });

    // A later payment on the same job still goes.
    const later = sm8Payment(job, '50.00');
    await eventAndSettle([job], sm8Event(later));
    expect(qboPaymentsMarked(later)).toHaveLength(1);
    expect(qboPaidCents(invoiceId)).toBe(15000);
  });
});
