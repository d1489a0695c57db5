/**
 * PAY-8: a ServiceM8 payment above the invoice's open balance (the soak's overpaid job) reaches QuickBooks as a
 * Payment whose line applies the open balance and whose TotalAmt is the full amount (the rest unapplied, the
 * customer's credit), with one job note in words; nothing echoes back, PAY-4 keeps the full amount, and the
 * sums agree as received. ServiceM8 simulator ⇄ payments workflow on the real Temporal server ⇄ QuickBooks
 * simulator (which refuses a line above the open balance, as QuickBooks does).
 */
import crypto from 'node:crypto';
import { toCents } from '../domain/money';
import { overpaymentText } from '../domain/payments';
import type { Json } from '../simulators/quickbooks/types';
import { reconcileInvoicesWorkflow } from '../workflows/poll';
import {
  startPaymentWorld,
  eventAndSettle,
  sm8Event,
  qboEvent,
  exportedJob,
  sm8Payment,
  sm8PaymentsOf,
  qboPaymentsMarked,
  qboInvoice,
  qboPaidCents,
  route,
} from './helpers/payments';
import type { Sm8Fixtures } from './helpers/sm8-fixtures';
import type { World } from './helpers/world';

jest.setTimeout(180_000);

let w: World;
let f: Sm8Fixtures;
const CONN = `overpay-${crypto.randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  ({ w, f } = await startPaymentWorld(CONN, {}));
});
afterAll(async () => {
  await w.close();
});

const qboWrites = (from: number) =>
  w.qbo.control
    .calls()
    .slice(from)
    .filter((c) => c.method === 'POST' && /\/payment\?/.test(c.url));

describe('PAY-8: a ServiceM8 payment above the open balance', () => {
  it('PAY-8: is sent in full with the open balance applied and the rest unapplied; one note; no echo; PAY-4 and PAY-6 read it whole', async () => {
    const { job, invoiceId } = await exportedJob('Overpaid Fencing Pty'); // 198.00
    const first = sm8Payment(job, '100.00', { timestamp: '2026-11-20 09:00:00' });
    await eventAndSettle([job], sm8Event(first));
    expect(qboPaidCents(invoiceId)).toBe(10000);

    const callsBefore = w.qbo.control.calls().length;
    const over = sm8Payment(job, '130.00', { timestamp: '2026-11-21 09:00:00' });
    const [s] = await eventAndSettle([job], sm8Event(over));
    // The open balance came from what the owner kept: the create is its only QuickBooks call.
    expect(
      w.qbo.control
        .calls()
        .slice(callsBefore)
        .map((c) => c.method),
    ).toEqual(['POST']);
    expect(qboWrites(callsBefore)).toHaveLength(1);

    const [p] = qboPaymentsMarked(over);
    expect(qboPaymentsMarked(over)).toHaveLength(1);
    expect(p).toMatchObject({ TotalAmt: 130, UnappliedAmt: 32 });
    expect(p?.Line as Json[]).toEqual([
      expect.objectContaining({ Amount: 98, LinkedTxn: [{ TxnId: invoiceId, TxnType: 'Invoice' }] }),
    ]);
    expect(qboInvoice(invoiceId).Balance).toBe(0);
    expect(s).toMatchObject({
      state: 'IN_STEP',
      sm8PaidCents: 23000,
      qboPaidCents: 23000,
      qboAppliedCents: 19800,
      problems: [],
    });
    const text = overpaymentText({ amountCents: 13000, appliedCents: 9800, date: '2026-11-21' });
    expect(f.notesOf(job).filter((n) => n.includes('still owing'))).toEqual([`QuickBooks sync: ${text}`]);

    // Its own webhook and the ServiceM8 event again: nothing written, no second note, ServiceM8 keeps 130.00.
    const again = w.qbo.control.calls().length;
    expect(await route(qboEvent(String(p?.Id), 'created'))).toBe('ignored: the echo of our own write');
    await eventAndSettle([job], sm8Event(over));
    expect(qboWrites(again)).toHaveLength(0);
    expect(qboPaymentsMarked(over)).toHaveLength(1);
    expect(
      sm8PaymentsOf(job)
        .map((x) => toCents(x.amount))
        .sort(),
    ).toEqual([10000, 13000]);
    expect(f.notesOf(job).filter((n) => n.includes('still owing'))).toHaveLength(1);

    // PAY-4: deleted in ServiceM8, it comes back whole (130.00, not the 98.00 applied).
    w.sm8.control.update('jobpayment', over, { active: 0 });
    const [back] = await eventAndSettle([job], sm8Event(over));
    expect(w.sm8.store.get('jobpayment', over)).toMatchObject({ active: 1 });
    expect(toCents(w.sm8.store.get('jobpayment', over)?.amount)).toBe(13000);
    expect(back).toMatchObject({ state: 'IN_STEP', sm8PaidCents: 23000, qboPaidCents: 23000 });

    // PAY-6: the nightly check reads the credit as received: no drift for this invoice.
    const r = await w.h.client.workflow.execute(reconcileInvoicesWorkflow, {
      workflowId: `reconcile/${CONN}/pay8-${crypto.randomUUID()}`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN, wake: false }],
    });
    expect(r.paymentDrift?.filter((d) => d.jobUuid === job)).toEqual([]);
  });

  it('PAY-8: a payment on an invoice QuickBooks already has paid in full is held with one note, not sent', async () => {
    const { job, invoiceId } = await exportedJob('Paid Twice Pty'); // 198.00
    const full = sm8Payment(job, '198.00', { timestamp: '2026-11-20 09:00:00' });
    await eventAndSettle([job], sm8Event(full));
    expect(qboInvoice(invoiceId).Balance).toBe(0);

    const twice = sm8Payment(job, '198.00', { timestamp: '2026-11-21 09:00:00' });
    const [s] = await eventAndSettle([job], sm8Event(twice));
    await eventAndSettle([job], sm8Event(twice));
    expect(qboPaymentsMarked(twice)).toHaveLength(0);
    expect(s).toMatchObject({ state: 'OUT_OF_STEP', sm8PaidCents: 39600, qboPaidCents: 19800 });
    expect(s?.problems).toEqual([expect.objectContaining({ sm8Uuid: twice, code: 'PAYMENT_INVOICE_PAID' })]);
    expect(f.notesOf(job).filter((n) => n.includes('already paid in full'))).toHaveLength(1);
  });
});
