/**
 * Payments (PAY-1 … PAY-6) end to end: ServiceM8 simulator ⇄ payments workflow on the real Temporal server ⇄
 * QuickBooks simulator, events routed exactly as the webhook inbox and the polls route them
 * (client/routing.ts), assertions on the other system's data.
 */
import crypto from 'node:crypto';
import { Worker } from '@temporalio/worker';
import axios from 'axios';
import { ServiceM8Client } from '../activities/servicem8-client';
import { routeEntityEvent, signalInvoice, signalPayments, type EntityEvent } from '../client/routing';
import { toCents } from '../domain/money';
import { qboPaymentMarker, sm8PaymentMarker } from '../domain/payments';
import { invoiceWorkflowId, paymentsWorkflowId } from '../domain/workflow-ids';
import type { Json } from '../simulators/quickbooks/types';
import { invoiceStatusQuery } from '../workflows/invoice';
import { paymentsStatusQuery, type PaymentsStatus } from '../workflows/payments';
import { pollConnectionWorkflow, reconcileInvoicesWorkflow } from '../workflows/poll';
import { recordHistoryIfAsked } from './helpers/histories';
import { qboBornInvoice } from './helpers/qbo-fixtures';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'pay';
const ADMIN_TOKEN = 'pay-admin-token';

beforeAll(async () => {
  w = await startWorld({ env: { ADMIN_TOKEN } });
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w.close();
});

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | false | undefined | null>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const payStatus = (job: string): Promise<PaymentsStatus> =>
  w.h.client.workflow.getHandle(paymentsWorkflowId(CONN, job)).query(paymentsStatusQuery);

async function syncsOf(job: string): Promise<number> {
  try {
    return (await payStatus(job)).syncs;
  } catch {
    return 0;
  }
}

/** Waits until the job's payments owner has looked again since `before` and is idle. */
function settled(job: string, before: number): Promise<PaymentsStatus> {
  return waitFor(`the payments of ${job} to settle`, async () => {
    const s = await payStatus(job);
    return s.idle && s.syncs > before && s;
  });
}

/** Routes one event as the inbox would; a look-up workflow (payment-route/…) is awaited. */
async function route(ev: Omit<EntityEvent, 'connectionId'>): Promise<string> {
  const routed = await routeEntityEvent(
    { temporal: w.h.client, links: w.h.deps.links, taskQueue: w.h.taskQueue, pool: w.h.pool },
    { ...ev, connectionId: CONN },
  );
  if (routed.startsWith('payment-route/')) await w.h.client.workflow.getHandle(routed).result();
  return routed;
}

/** An event about something, then the owners of `jobs` settle. */
async function eventAndSettle(
  jobs: string[],
  ev: Omit<EntityEvent, 'connectionId'>,
): Promise<PaymentsStatus[]> {
  const before = await Promise.all(jobs.map(syncsOf));
  await route(ev);
  return Promise.all(jobs.map((job, i) => settled(job, before[i] ?? 0)));
}

const sm8Event = (uuid: string) => ({
  source: 'sm8' as const,
  entity: 'jobpayment',
  entityId: uuid,
  operation: null,
});
const qboEvent = (id: string, operation: string | null = 'updated') => ({
  source: 'qbo' as const,
  entity: 'payment',
  entityId: id,
  operation,
});

/** An approved job exported to QuickBooks (the invoice workflow, as in production). */
async function exportedJob(
  clientName: string,
  opts: { client?: string; qty?: string; approved?: boolean; before?: (job: string) => void } = {},
): Promise<{ job: string; invoiceId: string; client: string }> {
  const client = opts.client ?? f.client(clientName);
  const job = f.job({
    clientUuid: client,
    approved: false,
    lines: [{ name: 'Labour', qty: opts.qty ?? '2', unit: '90', tax: 'GST' }],
  });
  opts.before?.(job);
  f.approve(job);
  await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
  const s = await waitFor('the export', async () => {
    const st = await w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job)).query(invoiceStatusQuery);
    return st.idle && st.state === 'EXPORTED' && st;
  });
  return { job, invoiceId: s.qboInvoiceId as string, client };
}

function sm8Payment(
  job: string,
  amount: string,
  opts: { method?: string; timestamp?: string; note?: string } = {},
) {
  const uuid = crypto.randomUUID();
  w.sm8.control.insert('jobpayment', {
    uuid,
    job_uuid: job,
    amount,
    timestamp: opts.timestamp ?? '2026-11-21 10:00:00',
    method: opts.method ?? 'Cash',
    note: opts.note ?? '',
    active: 1,
  });
  return uuid;
}

const sm8PaymentsOf = (job: string): Json[] =>
  w.sm8.store.list('jobpayment').filter((p) => p.job_uuid === job) as Json[];
const activeSm8Cents = (job: string) =>
  sm8PaymentsOf(job)
    .filter((p) => p.active === 1)
    .reduce((sum, p) => sum + (toCents(p.amount) ?? 0), 0);
const qboPayments = (): Json[] => w.qbo.store.list('Payment', realm);
const qboPaymentsMarked = (sm8Uuid: string) =>
  qboPayments().filter((p) => String(p.PrivateNote ?? '').includes(sm8PaymentMarker(sm8Uuid)));
const qboInvoice = (id: string): Json => w.qbo.store.get('Invoice', id, realm) as Json;
/** What QuickBooks applied to an invoice: TotalAmt − Balance, in cents. */
const qboPaidCents = (invoiceId: string) => {
  const inv = qboInvoice(invoiceId);
  return (toCents(inv.TotalAmt) ?? 0) - (toCents(inv.Balance) ?? 0);
};
const methodId = (name: string) =>
  String(w.qbo.store.list('PaymentMethod', realm).find((m) => m.Name === name)?.Id);

/** A payment a bookkeeper records in the QuickBooks UI. */
function qboPayment(
  customerId: string,
  lines: Array<[invoiceId: string, amount: number]>,
  total?: number,
): Json {
  return w.qbo.control.upsertRecord(
    'Payment',
    {
      CustomerRef: { value: customerId },
      TotalAmt: total ?? lines.reduce((s, [, a]) => s + a, 0),
      TxnDate: '2026-11-22',
      PaymentMethodRef: { value: methodId('Cheque') },
      PaymentRefNum: 'CHQ-881',
      Line: lines.map(([id, amount]) => ({ Amount: amount, LinkedTxn: [{ TxnId: id, TxnType: 'Invoice' }] })),
    },
    realm,
  );
}

/** Deletes or voids a payment through the API, as the QuickBooks UI does. */
async function qboPaymentOp(id: string, op: 'delete' | 'void'): Promise<void> {
  const p = w.qbo.store.get('Payment', id, realm) as Json;
  const access = await w.h.deps.qboTokens.getAccess(CONN);
  const query = op === 'delete' ? 'operation=delete' : 'operation=update&include=void';
  // The UI is not throttled, but this stand-in shares the realm's API limits with the sync: wait out a 429.
  for (let attempt = 0; ; attempt += 1) {
    const res = await axios.post(
      `${w.qbo.url}/v3/company/${realm}/payment?${query}`,
      { Id: p.Id, SyncToken: p.SyncToken, ...(op === 'void' ? { sparse: true } : {}) },
      { headers: { Authorization: `Bearer ${access.accessToken}` }, validateStatus: () => true },
    );
    if (res.status === 200) return;
    if (res.status !== 429 || attempt > 20)
      throw new Error(`${op} of payment ${id}: ${res.status} ${JSON.stringify(res.data)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const customerOf = (invoiceId: string) => String((qboInvoice(invoiceId).CustomerRef as Json).value);

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

  it('PAY-1: a payment QuickBooks refuses (more than the open balance) is a reason and one job note, not a failed workflow', async () => {
    const { job } = await exportedJob('Overpaid Job Ltd'); // 198.00
    const uuid = sm8Payment(job, '500.00');
    const [s] = await eventAndSettle([job], sm8Event(uuid));
    expect(s).toMatchObject({ state: 'OUT_OF_STEP', sm8PaidCents: 50000, qboPaidCents: 0 });
    expect(s?.problems[0]).toMatchObject({ sm8Uuid: uuid, code: 'PAYMENT_REFUSED' });
    await eventAndSettle([job], sm8Event(uuid));
    expect(f.notesOf(job).filter((n) => n.includes('could not be sent to QuickBooks'))).toHaveLength(1);
    expect(qboPaymentsMarked(uuid)).toHaveLength(0);
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
    // The echoes: QuickBooks reports our payment, ServiceM8 reports our jobpayment, each twice.
    for (const ev of [
      qboEvent(ours, 'created'),
      sm8Event(String(mirrored?.uuid)),
      qboEvent(ours),
      sm8Event(String(mirrored?.uuid)),
    ])
      await eventAndSettle([job], ev);
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

describe('PAY-6: the books agree', () => {
  /** A small deterministic PRNG (mulberry32): a failing sequence can be replayed from its seed. */
  function rng(seed: number) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('PAY-6: a random mix of creates, changes and deletes on both sides, with duplicated and reordered events, ends with equal sums per invoice', async () => {
    const seed = Number(process.env.PAY6_SEED ?? 20261126);
    const rand = rng(seed);
    const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
    const a = await exportedJob('Random Books Pty', { qty: '10' }); // 990.00 each
    const b = await exportedJob('', { client: a.client, qty: '10' });
    const jobs = [a, b];
    const customer = customerOf(a.invoiceId);
    const amount = () => 5 + Math.floor(rand() * 16);
    let pending: Array<Omit<EntityEvent, 'connectionId'>> = [];
    const log: string[] = [];

    const deliver = async () => {
      // Duplicated and reordered, all at once, without waiting in between.
      const batch = pending.flatMap((e) => (rand() < 0.4 ? [e, e] : [e]));
      for (let i = batch.length - 1; i > 0; i -= 1) {
        const j = Math.floor(rand() * (i + 1));
        [batch[i], batch[j]] = [batch[j] as (typeof batch)[number], batch[i] as (typeof batch)[number]];
      }
      pending = [];
      await Promise.all(batch.map((e) => route(e)));
    };

    // Every kind of change, several times, in a random order; a change with nothing to act on yet waits.
    type Op =
      'sm8 create' | 'sm8 delete' | 'sm8 edit' | 'qbo create' | 'qbo change' | 'qbo remove' | 'deliver';
    const ops: Op[] = [
      ...(['sm8 create', 'sm8 create', 'sm8 create', 'sm8 delete', 'sm8 delete', 'sm8 edit'] as const),
      ...([
        'qbo create',
        'qbo create',
        'qbo create',
        'qbo change',
        'qbo change',
        'qbo remove',
        'qbo remove',
      ] as const),
      ...(['deliver', 'deliver', 'deliver', 'deliver'] as const),
    ];
    for (let i = ops.length - 1; i > 0; i -= 1) {
      const j = Math.floor(rand() * (i + 1));
      [ops[i], ops[j]] = [ops[j] as Op, ops[i] as Op];
    }
    for (let step = 0, deferred = 0; step < ops.length && deferred < 40; step += 1) {
      const op = ops[step] as Op;
      const target = pick(jobs) as (typeof jobs)[number];
      const sm8Active = jobs.flatMap((j) => sm8PaymentsOf(j.job)).filter((p) => p.active === 1);
      const qboOn = qboPayments().filter((p) =>
        (p.Line as Json[]).some(
          (l) =>
            (l.LinkedTxn as Json[]).some((t) => jobs.some((j) => j.invoiceId === t.TxnId)) &&
            Number(l.Amount) > 0,
        ),
      );
      const needs =
        op.startsWith('sm8 ') && op !== 'sm8 create'
          ? sm8Active
          : op === 'qbo change' || op === 'qbo remove'
            ? qboOn
            : [1];
      if (!needs.length) {
        ops.push(op);
        deferred += 1;
        continue;
      }
      if (op === 'sm8 create') {
        const uuid = sm8Payment(target.job, `${amount()}.00`);
        pending.push(sm8Event(uuid));
        log.push(`sm8 create ${uuid}`);
      } else if (op === 'sm8 delete' || op === 'sm8 edit') {
        const p = pick(sm8Active) as Json;
        w.sm8.control.update(
          'jobpayment',
          String(p.uuid),
          op === 'sm8 delete' ? { active: 0 } : { amount: `${amount()}.00` },
        );
        pending.push(sm8Event(String(p.uuid)));
        log.push(`${op} ${String(p.uuid)}`);
      } else if (op === 'qbo create') {
        const lines: Array<[string, number]> =
          rand() < 0.5
            ? [[target.invoiceId, amount()]]
            : [
                [a.invoiceId, amount()],
                [b.invoiceId, amount()],
              ];
        const p = qboPayment(customer, lines);
        pending.push(qboEvent(String(p.Id), 'created'));
        log.push(`qbo create ${String(p.Id)}`);
      } else if (op === 'qbo change') {
        const p = pick(qboOn) as Json;
        const lines = (p.Line as Json[]).map((l) => ({ ...l, Amount: amount() }));
        w.qbo.control.upsertRecord(
          'Payment',
          { Id: p.Id, TotalAmt: lines.reduce((s, l) => s + Number(l.Amount), 0), Line: lines },
          realm,
        );
        pending.push(qboEvent(String(p.Id)));
        log.push(`qbo change ${String(p.Id)}`);
      } else if (op === 'qbo remove') {
        const p = pick(qboOn) as Json;
        const how = rand() < 0.5 ? 'delete' : 'void';
        await qboPaymentOp(String(p.Id), how);
        pending.push(qboEvent(String(p.Id), how === 'delete' ? 'deleted' : 'voided'));
        log.push(`qbo ${how} ${String(p.Id)}`);
      } else {
        await deliver();
      }
    }
    await deliver();
    // The sequence really mixes both sides' creates, changes and deletes.
    const kinds = new Set(log.map((l) => l.split(' ').slice(0, 2).join(' ')));
    expect([...kinds].sort()).toEqual(
      expect.arrayContaining(['qbo change', 'qbo create', 'sm8 create', 'sm8 delete', 'sm8 edit']),
    );
    expect(kinds.has('qbo delete') || kinds.has('qbo void')).toBe(true);
    // Quiet: every owner finished; then one more look each (as the next poll would give them).
    for (const j of jobs) await waitFor('idle', async () => (await payStatus(j.job)).idle);
    for (const j of jobs) {
      const before = await syncsOf(j.job);
      await signalPayments(w.h.client, w.h.taskQueue, CONN, j.job);
      await settled(j.job, before);
    }

    for (const j of jobs) {
      const s = await payStatus(j.job);
      const detail = `seed ${seed}: ${log.join('; ')}`;
      expect({ job: j.job, sm8: activeSm8Cents(j.job), detail }).toEqual({
        job: j.job,
        sm8: qboPaidCents(j.invoiceId),
        detail,
      });
      expect(s).toMatchObject({ state: 'IN_STEP', sm8PaidCents: activeSm8Cents(j.job) });
    }
    // Exactly once, both ways: one QuickBooks payment per ServiceM8 payment sent, one ServiceM8 payment per application.
    for (const j of jobs) {
      for (const p of sm8PaymentsOf(j.job))
        expect(qboPaymentsMarked(String(p.uuid)).length).toBeLessThanOrEqual(1);
    }
    const notes = jobs
      .flatMap((j) => sm8PaymentsOf(j.job).map((p) => String(p.note)))
      .filter((n) => n.includes('[qbo:payment:'));
    expect(new Set(notes).size).toBe(notes.length);

    // The nightly reconciliation agrees: no payment drift on these invoices.
    const clean = await w.h.client.workflow.execute(reconcileInvoicesWorkflow, {
      workflowId: `reconcile/${CONN}/pay6-${crypto.randomUUID()}`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN, wake: false }],
    });
    expect(clean.paymentDrift?.filter((d) => jobs.some((j) => j.job === d.jobUuid))).toEqual([]);
  }, 240_000);

  it('PAY-6: the nightly reconciliation reports payment drift (audit reconcile_payment_drift, both figures) and wakes the owner, which closes it', async () => {
    const { job, invoiceId } = await exportedJob('Drifting Payments Pty');
    // A payment whose every event was lost.
    const uuid = sm8Payment(job, '33.00');
    const before = await syncsOf(job);
    const r = await w.h.client.workflow.execute(reconcileInvoicesWorkflow, {
      workflowId: `reconcile/${CONN}/drift-${crypto.randomUUID()}`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN }],
    });
    expect(r.paymentDrift).toContainEqual({
      jobUuid: job,
      qboInvoiceId: invoiceId,
      sm8PaidCents: 3300,
      qboPaidCents: 0,
    });
    const audit = await w.h.pool.query(
      `SELECT detail FROM audit_log WHERE connection_id = $1 AND action = 'reconcile_payment_drift' AND entity_ref = $2`,
      [CONN, job],
    );
    expect(audit.rows[0]?.detail).toMatchObject({ sm8Paid: '33.00', qboPaid: '0.00' });
    await settled(job, before);
    expect(qboPaymentsMarked(uuid)).toHaveLength(1);
    expect(qboPaidCents(invoiceId)).toBe(3300);
  });
});

describe('TRG-2: payments whose every webhook was lost', () => {
  it('TRG-2 (PAY-1, PAY-2): a ServiceM8 payment and a QuickBooks payment arrive through one poll pass (jobpayment watermark, CDC)', async () => {
    const { job, invoiceId } = await exportedJob('Polled Payments Pty');
    const poll = () =>
      w.h.client.workflow.execute(pollConnectionWorkflow, {
        workflowId: `poll/${CONN}/manual-${crypto.randomUUID()}`,
        taskQueue: w.h.taskQueue,
        args: [{ connectionId: CONN }],
      });
    await poll(); // the first pass of the connection sets the watermarks
    const uuid = sm8Payment(job, '11.00');
    const fromQbo = qboPayment(customerOf(invoiceId), [[invoiceId, 22]]);
    const r = await poll();
    expect(r.sm8?.objects?.jobpayment?.routed).toBeGreaterThanOrEqual(1);
    expect(r.qbo?.routedIds).toContain(String(fromQbo.Id));
    await waitFor('both payments on both sides', async () => {
      const s = await payStatus(job);
      return (
        qboPaymentsMarked(uuid).length === 1 &&
        activeSm8Cents(job) === 3300 &&
        s.idle &&
        s.state === 'IN_STEP'
      );
    });
    expect(qboPaidCents(invoiceId)).toBe(3300);
    expect(sm8PaymentsOf(job)).toHaveLength(2);
  });
});

describe('OPS-2: payments in the record view', () => {
  it("OPS-2: the admin record view (sm8qbo show) lists the job's payment links and its payments owner's state", async () => {
    const { job, invoiceId } = await exportedJob('Shown Payments Pty');
    const uuid = sm8Payment(job, '12.50');
    await eventAndSettle([job], sm8Event(uuid));
    const res = await axios.get<Json>(`${w.apiUrl}/admin/records/${CONN}/${job}`, {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.data.payments).toMatchObject({
      workflowId: paymentsWorkflowId(CONN, job),
      status: { state: 'IN_STEP', sm8PaidCents: 1250, qboPaidCents: 1250, qboInvoiceId: invoiceId },
      links: [
        {
          origin: 'sm8',
          sm8_payment_uuid: uuid,
          qbo_payment_id: String(qboPaymentsMarked(uuid)[0]?.Id),
          qbo_invoice_id: invoiceId,
          amount_cents: '1250',
          state: 'linked',
        },
      ],
    });
  });
});

describe('history stays bounded', () => {
  it('PAY-5: continue-as-new carries the owner over: a new run, the same links, nothing sent twice', async () => {
    const { job, invoiceId } = await exportedJob('Long Lived Payments Ltd');
    const handle = w.h.client.workflow.getHandle(paymentsWorkflowId(CONN, job));
    await waitFor('the owner to be idle', async () => (await payStatus(job)).idle);
    // As if it had ended while idle: the next event starts a run that hands over after every pass.
    await handle.terminate('test: end the run as an idle end would');
    const one = sm8Payment(job, '10.00');
    await signalPayments(w.h.client, w.h.taskQueue, CONN, job, { maxSyncsPerRun: 1 });
    await waitFor('the first payment', async () => qboPaymentsMarked(one).length === 1);
    const two = sm8Payment(job, '15.00');
    await route(sm8Event(two));
    await route(sm8Event(one));
    await waitFor('both sent', async () => {
      const st = await payStatus(job);
      return st.idle && st.qboPaidCents === 2500 && st;
    });
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.continuedExecutionRunId).toBeTruthy();
    expect(qboPaymentsMarked(one)).toHaveLength(1);
    expect(qboPaymentsMarked(two)).toHaveLength(1);
    expect(qboPaidCents(invoiceId)).toBe(2500);
  });
});

describe('a payments lifecycle replays deterministically', () => {
  it('records (with RECORD_HISTORIES=1) and replays the history of send -> mirror -> restore', async () => {
    const { job, invoiceId } = await exportedJob('Replay Payments Ltd');
    const uuid = sm8Payment(job, '20.00');
    await eventAndSettle([job], sm8Event(uuid));
    const p = qboPayment(customerOf(invoiceId), [[invoiceId, 5]]);
    await eventAndSettle([job], qboEvent(String(p.Id), 'created'));
    w.sm8.control.update('jobpayment', uuid, { active: 0 });
    await eventAndSettle([job], sm8Event(uuid));
    expect(w.sm8.store.get('jobpayment', uuid)?.active).toBe(1);
    const workflowId = paymentsWorkflowId(CONN, job);
    const history = await w.h.client.workflow.getHandle(workflowId).fetchHistory();
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string } },
        history,
        workflowId,
      ),
    ).resolves.toBeUndefined();
    await recordHistoryIfAsked(w.h.client, workflowId, 'payments-lifecycle.json');
    // The invoice's history with its `payments-after-export` patch marker replays too.
    const invoiceWfId = invoiceWorkflowId(CONN, job);
    const invoiceHistory = await w.h.client.workflow.getHandle(invoiceWfId).fetchHistory();
    expect(
      invoiceHistory.events?.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'),
    ).toBe(true);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string } },
        invoiceHistory,
        invoiceWfId,
      ),
    ).resolves.toBeUndefined();
    await recordHistoryIfAsked(w.h.client, invoiceWfId, 'invoice-payments-after-export.json');
  });
});

describe('STAFF-1', () => {
  it('STAFF-1: the payment sync never called a staff endpoint', () => {
    expect(w.sm8.control.calls.stats().staffCalls).toBe(0);
  });
});
