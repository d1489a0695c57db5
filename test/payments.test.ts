/**
 * Payments, part one (PAY-1 … PAY-5, INV-8) end to end: ServiceM8 simulator ⇄ payments workflow on the real
 * Temporal server ⇄ QuickBooks simulator, events routed exactly as the webhook inbox and the polls route them
 * (routing/routes.ts), assertions on the other system's data. Part two: test/payments-books.test.ts.
 */
import { ServiceM8Client } from '../apis/servicem8/client';
import { toCents } from '../domain/money';
import { qboPaymentMarker } from '../domain/payments';
import { paymentsWorkflowId } from '../domain/workflow-ids';
import type { Json } from '../simulators/quickbooks/types';
import {
  startPaymentWorld,
  payStatus,
  route,
  eventAndSettle,
  sm8Event,
  qboEvent,
  exportedJob,
  sm8Payment,
  sm8PaymentsOf,
  activeSm8Cents,
  qboPayments,
  qboPaymentsMarked,
  qboInvoice,
  qboPaidCents,
  methodId,
  qboPayment,
  qboPaymentOp,
  customerOf,
  settled,
  syncsOf,
} from './helpers/payments';
import { isIgnored, signalPayments } from '../routing/routes';
import { qboView } from '../activities/support/payment-writes';
import type { QboPaymentRecord } from '../activities/support/payment-records';
import { putPaymentView } from '../store/payment-views';
import { qboBornInvoice } from './helpers/qbo-fixtures';
import type { Sm8Fixtures } from './helpers/sm8-fixtures';
import type { World } from './helpers/world';
import { waitFor } from './helpers/wait';

// Each file's connection shares one ServiceM8 budget (171 calls a minute): tests may wait for permits.
jest.setTimeout(180_000);

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'pay';
const ADMIN_TOKEN = 'pay-admin-token';

beforeAll(async () => {
  ({ w, f, realm } = await startPaymentWorld(CONN, { env: { ADMIN_TOKEN } }));
});
afterAll(async () => {
  await w.close();
});

describe('PAY-1: ServiceM8 payments go to QuickBooks', () => {
  it('PAY-1: an active payment on an exported invoice becomes a QuickBooks Payment applied to it: same amount, date, method by name', async () => {
    const { job, invoiceId } = await exportedJob('Payment One Pty'); // 198.00
    const uuid = sm8Payment(job, '50.00', { method: 'cash', timestamp: '2026-11-21 10:00:00' });
    const [s] = await eventAndSettle([job], sm8Event(uuid));
    const [p] = qboPaymentsMarked(uuid);
    expect(qboPaymentsMarked(uuid)).toHaveLength(1);
    expect(p).toMatchObject({
      TotalAmt: 50,
      TxnDate: '2026-11-21',
      PaymentMethodRef: { value: methodId('Cash') },
      CustomerRef: { value: customerOf(invoiceId) },
    });
    expect((p?.Line as Json[])[0]).toMatchObject({
      Amount: 50,
      LinkedTxn: [{ TxnId: invoiceId, TxnType: 'Invoice' }],
    });
    expect(qboInvoice(invoiceId).Balance).toBe(148);
    expect(s).toMatchObject({
      state: 'IN_STEP',
      sm8PaidCents: 5000,
      qboPaidCents: 5000,
      qboInvoiceId: invoiceId,
    });
    const link = await w.h.pool.query(
      'SELECT origin, qbo_payment_id, state FROM payment_links WHERE sm8_payment_uuid = $1',
      [uuid],
    );
    expect(link.rows).toEqual([{ origin: 'sm8', qbo_payment_id: String(p?.Id), state: 'linked' }]);
  });

  it('PAY-1: a method with no QuickBooks PaymentMethod of that name is sent without one, and the audit log says so', async () => {
    const { job } = await exportedJob('Unmapped Method Co');
    const uuid = sm8Payment(job, '20.00', { method: 'Bitcoin' });
    await eventAndSettle([job], sm8Event(uuid));
    const [p] = qboPaymentsMarked(uuid);
    expect(p?.TotalAmt).toBe(20);
    expect(p?.PaymentMethodRef).toBeUndefined();
    const audit = await w.h.pool.query(
      `SELECT detail FROM audit_log WHERE connection_id = $1 AND action = 'payment_method_unmapped' AND entity_ref = $2`,
      [CONN, uuid],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].detail).toMatchObject({ method: 'Bitcoin', qboPaymentId: String(p?.Id) });
  });

  it('PAY-1: payments recorded before export are sent right after the invoice is exported, with no payment event', async () => {
    let deposit = '';
    const { job, invoiceId } = await exportedJob('Paid Before Export Ltd', {
      before: (j) => {
        deposit = sm8Payment(j, '30.00', { method: 'Credit Card' });
      },
    });
    await waitFor('the deposit in QuickBooks', async () => qboPaymentsMarked(deposit).length === 1);
    const s = await waitFor('the payments owner', async () => {
      const st = await payStatus(job);
      return st.idle && st.state === 'IN_STEP' && st;
    });
    expect(s.qboPaidCents).toBe(3000);
    expect(qboPaymentsMarked(deposit)[0]?.PaymentMethodRef).toMatchObject({ value: methodId('Credit Card') });
    expect(qboInvoice(invoiceId).Balance).toBe(168);
  });

  it('PAY-1: QuickBooks commits the create but the answer is lost: still exactly one payment (marker + requestid)', async () => {
    const { job, invoiceId } = await exportedJob('Lost Payment Answer Pty');
    w.qbo.control.addFault({
      method: 'POST',
      path: `/v3/company/${realm}/payment\\?`,
      commitThenDrop: true,
      count: 1,
    });
    const uuid = sm8Payment(job, '60.00');
    await eventAndSettle([job], sm8Event(uuid));
    expect(qboPaymentsMarked(uuid)).toHaveLength(1);
    expect(qboPaidCents(invoiceId)).toBe(6000);
  });

  it('PAY-1: a payment QuickBooks refuses (a validation fault) is a reason and one job note, not a failed workflow', async () => {
    // An overpayment is no refusal any more (PAY-8, test/payments-overpay.test.ts): QuickBooks' 6000 is injected.
    const { job } = await exportedJob('Refused Payment Ltd'); // 198.00
    w.qbo.control.addFault({
      method: 'POST',
      path: `/v3/company/${realm}/payment\\?`,
      status: 400,
      body: {
        Fault: {
          Error: [
            { Message: 'A business validation error has occurred', Detail: 'Payment refused.', code: '6000' },
          ],
          type: 'ValidationFault',
        },
      },
      count: 100,
    });
    const uuid = sm8Payment(job, '50.00');
    const [s] = await eventAndSettle([job], sm8Event(uuid));
    expect(s).toMatchObject({ state: 'OUT_OF_STEP', sm8PaidCents: 5000, qboPaidCents: 0 });
    expect(s?.problems[0]).toMatchObject({ sm8Uuid: uuid, code: 'PAYMENT_REFUSED' });
    await eventAndSettle([job], sm8Event(uuid));
    expect(f.notesOf(job).filter((n) => n.includes('could not be sent to QuickBooks'))).toHaveLength(1);
    expect(qboPaymentsMarked(uuid)).toHaveLength(0);
    w.qbo.control.clearFaults();
  });
});

describe('PAY-2 / PAY-3: QuickBooks payments come to ServiceM8, and their deletion too', () => {
  it('PAY-2: a QuickBooks payment over two exported invoices becomes one ServiceM8 payment per invoice with that line amount; a later change updates it', async () => {
    const a = await exportedJob('Two Invoice Payer Pty');
    const b = await exportedJob('', { client: a.client });
    const payment = qboPayment(customerOf(a.invoiceId), [
      [a.invoiceId, 100],
      [b.invoiceId, 50],
    ]);
    await eventAndSettle([a.job, b.job], qboEvent(String(payment.Id), 'created'));
    const [pa] = sm8PaymentsOf(a.job);
    const [pb] = sm8PaymentsOf(b.job);
    expect(sm8PaymentsOf(a.job)).toHaveLength(1);
    expect(sm8PaymentsOf(b.job)).toHaveLength(1);
    expect(pa).toMatchObject({ active: 1, method: 'Cheque', timestamp: '2026-11-22 00:00:00' });
    expect(toCents(pa?.amount)).toBe(10000);
    expect(toCents(pb?.amount)).toBe(5000);
    expect(String(pa?.note)).toContain(qboPaymentMarker(String(payment.Id), a.invoiceId));

    // The bookkeeper corrects the amount on invoice A in QuickBooks.
    w.qbo.control.upsertRecord(
      'Payment',
      {
        Id: payment.Id,
        TotalAmt: 130,
        Line: [
          { Amount: 80, LinkedTxn: [{ TxnId: a.invoiceId, TxnType: 'Invoice' }] },
          { Amount: 50, LinkedTxn: [{ TxnId: b.invoiceId, TxnType: 'Invoice' }] },
        ],
      },
      realm,
    );
    await eventAndSettle([a.job, b.job], qboEvent(String(payment.Id)));
    expect(sm8PaymentsOf(a.job)).toHaveLength(1);
    expect(sm8PaymentsOf(a.job)[0]?.uuid).toBe(pa?.uuid);
    expect(toCents(sm8PaymentsOf(a.job)[0]?.amount)).toBe(8000);
    expect(activeSm8Cents(b.job)).toBe(5000);
  });

  it('PAY-3: a QuickBooks payment deleted, or voided, removes its mirrored ServiceM8 payment (active = 0)', async () => {
    const { job, invoiceId } = await exportedJob('Deleted Payment Co');
    const kept = qboPayment(customerOf(invoiceId), [[invoiceId, 40]]);
    const deleted = qboPayment(customerOf(invoiceId), [[invoiceId, 25]]);
    const voided = qboPayment(customerOf(invoiceId), [[invoiceId, 15]]);
    for (const p of [kept, deleted, voided]) await eventAndSettle([job], qboEvent(String(p.Id), 'created'));
    expect(activeSm8Cents(job)).toBe(8000);

    await qboPaymentOp(String(deleted.Id), 'delete');
    await eventAndSettle([job], qboEvent(String(deleted.Id), 'deleted'));
    await qboPaymentOp(String(voided.Id), 'void');
    const [s] = await eventAndSettle([job], qboEvent(String(voided.Id), 'voided'));
    const byNote = (id: unknown) =>
      sm8PaymentsOf(job).find((p) => String(p.note).includes(qboPaymentMarker(String(id), invoiceId)));
    expect(byNote(deleted.Id)?.active).toBe(0);
    expect(byNote(voided.Id)?.active).toBe(0);
    expect(byNote(kept.Id)?.active).toBe(1);
    expect(activeSm8Cents(job)).toBe(4000);
    expect(s).toMatchObject({ state: 'IN_STEP', sm8PaidCents: 4000, qboPaidCents: 4000 });
  });

  it('PAY-3: a QuickBooks payment deleted before its owner linked it (its Delete found no link) is never mirrored from the view the owner kept', async () => {
    const { job, invoiceId } = await exportedJob('Deleted Before Linked Co');
    const p = qboPayment(customerOf(invoiceId), [[invoiceId, 35]]);
    // The router's look-up read it and kept its view for the owner, which has not looked yet.
    await putPaymentView(
      w.h.pool,
      CONN,
      job,
      'qbo',
      String(p.Id),
      qboView(p as unknown as QboPaymentRecord, invoiceId, []),
    );
    await qboPaymentOp(String(p.Id), 'delete');
    expect(await route(qboEvent(String(p.Id), 'deleted'))).toBe(paymentsWorkflowId(CONN, job));
    // The owner's look (the look-up's wake) after the deletion.
    const before = await syncsOf(job);
    await signalPayments(w.h.client, w.h.taskQueue, CONN, job, true);
    const s = await settled(job, before);
    expect(sm8PaymentsOf(job).filter((x) => String(x.note).includes(String(p.Id)) && x.active === 1)).toEqual(
      [],
    );
    expect(s).toMatchObject({ state: 'IN_STEP', sm8PaidCents: 0, qboPaidCents: 0 });
  });
});

describe('a refusal is a reason, not a failed workflow', () => {
  it('PAY-2: ServiceM8 refusing the mirrored payment (400) shows SYNC_REFUSED; the next event completes it', async () => {
    const { job, invoiceId } = await exportedJob('Refused Mirror Pty');
    w.sm8.control.faults.add({
      method: 'POST',
      path: '/api_1.0/jobpayment.json',
      status: 400,
      body: { errorCode: '1000', message: 'jobpayment.amount is invalid' },
      count: 1,
    });
    const p = qboPayment(customerOf(invoiceId), [[invoiceId, 17]]);
    const [s] = await eventAndSettle([job], qboEvent(String(p.Id), 'created'));
    expect(s).toMatchObject({ state: 'OUT_OF_STEP', problems: [{ code: 'SYNC_REFUSED' }] });
    expect(sm8PaymentsOf(job)).toHaveLength(0);
    const described = await w.h.client.workflow.getHandle(paymentsWorkflowId(CONN, job)).describe();
    expect(described.status.name).toBe('RUNNING');
    const [after] = await eventAndSettle([job], qboEvent(String(p.Id)));
    expect(after).toMatchObject({ state: 'IN_STEP', problems: [] });
    expect(activeSm8Cents(job)).toBe(1700);
  });
});

describe('PAY-4 / PAY-5: no deletion in ServiceM8 after sending; no echoes', () => {
  it('PAY-4: a sent payment deleted in ServiceM8 is restored, with ONE job note, however often the event comes', async () => {
    const { job, invoiceId } = await exportedJob('Undeletable Payment Pty');
    const uuid = sm8Payment(job, '45.00');
    await eventAndSettle([job], sm8Event(uuid));
    await new ServiceM8Client(w.h.deps.sm8ClientDeps(), CONN).remove('jobpayment', uuid);
    expect(w.sm8.store.get('jobpayment', uuid)?.active).toBe(0);
    await eventAndSettle([job], sm8Event(uuid));
    await eventAndSettle([job], sm8Event(uuid));
    expect(w.sm8.store.get('jobpayment', uuid)?.active).toBe(1);
    expect(f.notesOf(job).filter((n) => n.includes('Payments must be deleted in QuickBooks'))).toHaveLength(
      1,
    );
    expect(qboPaymentsMarked(uuid)).toHaveLength(1);
    expect(qboPaidCents(invoiceId)).toBe(4500);
  });

  it('PAY-4: an amount edited in ServiceM8 after sending is put back to the QuickBooks figure (audit row with the losing value)', async () => {
    const { job } = await exportedJob('Edited Payment Ltd');
    const uuid = sm8Payment(job, '45.00');
    await eventAndSettle([job], sm8Event(uuid));
    w.sm8.control.update('jobpayment', uuid, { amount: '99.00' });
    await eventAndSettle([job], sm8Event(uuid));
    expect(toCents(w.sm8.store.get('jobpayment', uuid)?.amount)).toBe(4500);
    const audit = await w.h.pool.query(
      `SELECT detail FROM audit_log WHERE action = 'payment_sm8_edited' AND entity_ref = $1`,
      [uuid],
    );
    expect(audit.rows[0]?.detail).toMatchObject({ was: { amountCents: 9900 }, now: { amountCents: 4500 } });
  });

  it('PAY-5: our own writes coming back as events (QuickBooks and ServiceM8) are never mirrored again', async () => {
    const { job, invoiceId } = await exportedJob('Echo Free Pty');
    const fromSm8 = sm8Payment(job, '10.00');
    await eventAndSettle([job], sm8Event(fromSm8));
    const ours = String(qboPaymentsMarked(fromSm8)[0]?.Id);
    const fromQbo = qboPayment(customerOf(invoiceId), [[invoiceId, 12]]);
    await eventAndSettle([job], qboEvent(String(fromQbo.Id), 'created'));
    const mirrored = sm8PaymentsOf(job).find((p) => p.uuid !== fromSm8);
    const qboBefore = qboPayments().length;
    const sm8Before = sm8PaymentsOf(job).length;
    // The echoes: QuickBooks reports our payment, ServiceM8 reports our jobpayment, each twice. Issue 12: an
    // echo the router recognises (QuickBooks' create of our payment) wakes nobody; the others, which say
    // nothing about the change, wake the owner, which finds nothing to do.
    const ignored: string[] = [];
    for (const ev of [
      qboEvent(ours, 'created'),
      sm8Event(String(mirrored?.uuid)),
      qboEvent(ours),
      sm8Event(String(mirrored?.uuid)),
    ]) {
      const before = await syncsOf(job);
      const routed = await route(ev);
      if (isIgnored(routed)) ignored.push(routed);
      else await settled(job, before);
    }
    expect(ignored).toEqual(['ignored: the echo of our own write']);
    expect(qboPayments()).toHaveLength(qboBefore);
    expect(sm8PaymentsOf(job)).toHaveLength(sm8Before);
    expect(sm8PaymentsOf(job)).toHaveLength(2);
    expect(qboPaymentsMarked(String(mirrored?.uuid))).toHaveLength(0);
    expect(activeSm8Cents(job)).toBe(qboPaidCents(invoiceId));
  });

  it('INV-8: a payment on a QuickBooks-born invoice is not mirrored (its event wakes nobody)', async () => {
    const born = qboBornInvoice(w.qbo, realm, 'Payment On QBO Invoice');
    const payment = qboPayment(String((born.CustomerRef as Json).value), [[String(born.Id), 5]]);
    const before = w.sm8.store.count('jobpayment');
    const routed = await route(qboEvent(String(payment.Id), 'created'));
    const result = await w.h.client.workflow.getHandle(routed).result();
    expect(result).toMatchObject({ woken: [], ignored: expect.stringContaining('INV-8') });
    expect(w.sm8.store.count('jobpayment')).toBe(before);
  });
});

describe('STAFF-1', () => {
  it('STAFF-1: the payment sync never called a staff endpoint', () => {
    expect(w.sm8.control.calls.stats().staffCalls).toBe(0);
  });
});
