/**
 * Helpers of the payments tests (test/payments*.test.ts): starting the file's world, both users' actions on
 * the simulators, routing an event as the inbox would, and waiting for a job's payments owner to settle.
 * One world per test file, started by `startPaymentWorld` in the file's beforeAll; jest loads this module
 * once per test file, so `ctx` below is that file's world (and its connection its own API budget).
 */
import axios from 'axios';
import { routeEntityEvent, signalInvoice, type EntityEvent } from '../../routing/routes';
import { toCents } from '../../domain/money';
import { sm8PaymentMarker } from '../../domain/payments';
import { invoiceWorkflowId, paymentsWorkflowId } from '../../domain/workflow-ids';
import type { Json } from '../../simulators/quickbooks/types';
import { invoiceStatusQuery, paymentsStatusQuery, type PaymentsStatus } from '../../workflows/messages';
import { startConnectedWorld, type ConnectedWorld } from './connected-world';
import crypto from 'node:crypto';
import { waitFor } from './wait';

export interface PaymentWorld extends ConnectedWorld {
  conn: string;
}

const ctx = {} as PaymentWorld;

/** Starts the world of a payments test file, with its own connection `conn` (call it in beforeAll). */
export async function startPaymentWorld(
  conn: string,
  opts: Parameters<typeof startConnectedWorld>[1],
): Promise<PaymentWorld> {
  return Object.assign(ctx, { conn }, await startConnectedWorld(conn, opts));
}

export const payStatus = (job: string): Promise<PaymentsStatus> =>
  ctx.w.h.client.workflow.getHandle(paymentsWorkflowId(ctx.conn, job)).query(paymentsStatusQuery);

export async function syncsOf(job: string): Promise<number> {
  try {
    return (await payStatus(job)).syncs;
  } catch {
    return 0;
  }
}

/** Waits until the job's payments owner has looked again since `before` and is idle. */
export function settled(job: string, before: number): Promise<PaymentsStatus> {
  return waitFor(`the payments of ${job} to settle`, async () => {
    const s = await payStatus(job);
    return s.idle && s.syncs > before && s;
  });
}

/** Routes one event as the inbox would; a look-up workflow (payment-route/…) is awaited. */
export async function route(ev: Omit<EntityEvent, 'connectionId'>): Promise<string> {
  const routed = await routeEntityEvent(
    {
      temporal: ctx.w.h.client,
      links: ctx.w.h.deps.links,
      taskQueue: ctx.w.h.taskQueue,
      pool: ctx.w.h.pool,
    },
    { ...ev, connectionId: ctx.conn },
  );
  if (routed.startsWith('payment-route/')) await ctx.w.h.client.workflow.getHandle(routed).result();
  return routed;
}

/** An event about something, then the owners of `jobs` settle. */
export async function eventAndSettle(
  jobs: string[],
  ev: Omit<EntityEvent, 'connectionId'>,
): Promise<PaymentsStatus[]> {
  const before = await Promise.all(jobs.map(syncsOf));
  await route(ev);
  return Promise.all(jobs.map((job, i) => settled(job, before[i] ?? 0)));
}

export const sm8Event = (uuid: string) => ({
  source: 'sm8' as const,
  entity: 'jobpayment',
  entityId: uuid,
  operation: null,
});
export const qboEvent = (id: string, operation: string | null = 'updated') => ({
  source: 'qbo' as const,
  entity: 'payment',
  entityId: id,
  operation,
});

/** An approved job exported to QuickBooks (the invoice workflow, as in production). */
export async function exportedJob(
  clientName: string,
  opts: { client?: string; qty?: string; approved?: boolean; before?: (job: string) => void } = {},
): Promise<{ job: string; invoiceId: string; client: string }> {
  const client = opts.client ?? ctx.f.client(clientName);
  const job = ctx.f.job({
    clientUuid: client,
    approved: false,
    lines: [{ name: 'Labour', qty: opts.qty ?? '2', unit: '90', tax: 'GST' }],
  });
  opts.before?.(job);
  ctx.f.approve(job);
  await signalInvoice(ctx.w.h.client, ctx.w.h.taskQueue, ctx.conn, job, 'sm8JobChanged');
  const s = await waitFor('the export', async () => {
    const st = await ctx.w.h.client.workflow
      .getHandle(invoiceWorkflowId(ctx.conn, job))
      .query(invoiceStatusQuery);
    return st.idle && st.state === 'EXPORTED' && st;
  });
  // PAY-1: the export woke the job's payments owner; its first look is over before the test goes on.
  await waitFor('the payments owner after export', async () => {
    const st = await payStatus(job);
    return st.idle && st.syncs > 0 && st.state === 'IN_STEP';
  });
  return { job, invoiceId: s.qboInvoiceId as string, client };
}

export function sm8Payment(
  job: string,
  amount: string,
  opts: { method?: string; timestamp?: string; note?: string } = {},
) {
  const uuid = crypto.randomUUID();
  ctx.w.sm8.control.insert('jobpayment', {
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

export const sm8PaymentsOf = (job: string): Json[] =>
  ctx.w.sm8.store.list('jobpayment').filter((p) => p.job_uuid === job) as Json[];
export const activeSm8Cents = (job: string) =>
  sm8PaymentsOf(job)
    .filter((p) => p.active === 1)
    .reduce((sum, p) => sum + (toCents(p.amount) ?? 0), 0);
export const qboPayments = (): Json[] => ctx.w.qbo.store.list('Payment', ctx.realm);
export const qboPaymentsMarked = (sm8Uuid: string) =>
  qboPayments().filter((p) => String(p.PrivateNote ?? '').includes(sm8PaymentMarker(sm8Uuid)));
export const qboInvoice = (id: string): Json => ctx.w.qbo.store.get('Invoice', id, ctx.realm) as Json;
/** What QuickBooks applied to an invoice: TotalAmt − Balance, in cents. */
export const qboPaidCents = (invoiceId: string) => {
  const inv = qboInvoice(invoiceId);
  return (toCents(inv.TotalAmt) ?? 0) - (toCents(inv.Balance) ?? 0);
};
export const methodId = (name: string) =>
  String(ctx.w.qbo.store.list('PaymentMethod', ctx.realm).find((m) => m.Name === name)?.Id);

/** A payment a bookkeeper records in the QuickBooks UI. */
export function qboPayment(
  customerId: string,
  lines: Array<[invoiceId: string, amount: number]>,
  total?: number,
): Json {
  return ctx.w.qbo.control.upsertRecord(
    'Payment',
    {
      CustomerRef: { value: customerId },
      TotalAmt: total ?? lines.reduce((s, [, a]) => s + a, 0),
      TxnDate: '2026-11-22',
      PaymentMethodRef: { value: methodId('Cheque') },
      PaymentRefNum: 'CHQ-881',
      Line: lines.map(([id, amount]) => ({
        Amount: amount,
        LinkedTxn: [{ TxnId: id, TxnType: 'Invoice' }],
      })),
    },
    ctx.realm,
  );
}

/** Deletes or voids a payment through the API, as the QuickBooks UI does. */
export async function qboPaymentOp(id: string, op: 'delete' | 'void'): Promise<void> {
  const p = ctx.w.qbo.store.get('Payment', id, ctx.realm) as Json;
  const access = await ctx.w.h.deps.qboTokens.getAccess(ctx.conn);
  const query = op === 'delete' ? 'operation=delete' : 'operation=update&include=void';
  // The UI is not throttled, but this stand-in shares the ctx.realm's API limits with the sync: wait out a 429.
  for (let attempt = 0; ; attempt += 1) {
    const res = await axios.post(
      `${ctx.w.qbo.url}/v3/company/${ctx.realm}/payment?${query}`,
      { Id: p.Id, SyncToken: p.SyncToken, ...(op === 'void' ? { sparse: true } : {}) },
      { headers: { Authorization: `Bearer ${access.accessToken}` }, validateStatus: () => true },
    );
    if (res.status === 200) return;
    if (res.status !== 429 || attempt > 20)
      throw new Error(`${op} of payment ${id}: ${res.status} ${JSON.stringify(res.data)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const customerOf = (invoiceId: string) => String((qboInvoice(invoiceId).CustomerRef as Json).value);
