/**
 * Issue 13 at export: the customers and items an export needs are found or created once, however many
 * exports race for them, and a name two ServiceM8 records share is held with a reason, never a loop.
 * ServiceM8 simulator -> invoice workflows on the real Temporal server -> QuickBooks simulator.
 */
import crypto from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { createInvoicePartyActivities } from '../activities/invoice-parties';
import { subRequestId } from '../activities/support/own-creates';
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import type { Json } from '../simulators/quickbooks/types';
import { invoiceStatusQuery, type InvoiceStatus } from '../workflows/messages';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitUntil } from './helpers/wait';

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'parties';

beforeAll(async () => {
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w.close();
});

const status = (job: string): Promise<InvoiceStatus> =>
  w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job)).query(invoiceStatusQuery);

/** Approves all jobs at once (one signal each, not waiting in between) and waits until every owner settled. */
async function approveTogether(jobs: string[]): Promise<InvoiceStatus[]> {
  for (const job of jobs) f.approve(job);
  await Promise.all(jobs.map((job) => signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged')));
  return Promise.all(
    jobs.map((job) =>
      waitUntil(
        `the invoice owner of ${job}`,
        () => status(job),
        (s) => s.idle && s.state !== 'NOT_APPROVED' && s.syncs > 0,
        120_000,
      ),
    ),
  );
}

const named = (entity: 'Customer' | 'Item', field: string, name: string): Json[] =>
  w.qbo.store
    .list(entity, realm)
    .filter((r) => String(r[field]).trim().toLowerCase() === name.trim().toLowerCase());

describe('INV-5: the records an export needs are created once', () => {
  it('INV-5: six new clients with free-text lines approved together all export; the item for free-text lines exists once', async () => {
    const jobs = Array.from({ length: 6 }, (_, i) =>
      f.job({
        clientUuid: f.client(`Free Text Client ${i}`),
        approved: false,
        lines: [{ name: 'Labour', qty: '1', unit: String(100 + i), tax: 'GST' }],
      }),
    );
    const settled = await approveTogether(jobs);
    expect(settled.map((s) => [s.state, s.reason?.code ?? null])).toEqual(jobs.map(() => ['EXPORTED', null]));
    expect(named('Item', 'Name', 'ServiceM8 Sales')).toHaveLength(1);
  }, 180_000);

  it('INV-5: three jobs of one new client approved together share one new customer', async () => {
    const client = f.client('Three Jobs Plumbing');
    const jobs = [0, 1, 2].map((i) =>
      f.job({
        clientUuid: client,
        approved: false,
        lines: [{ name: 'Call-out', qty: '1', unit: String(80 + i), tax: 'GST' }],
      }),
    );
    const settled = await approveTogether(jobs);
    expect(settled.map((s) => s.state)).toEqual(['EXPORTED', 'EXPORTED', 'EXPORTED']);
    expect(named('Customer', 'DisplayName', 'Three Jobs Plumbing')).toHaveLength(1);
  }, 180_000);
});

describe('INV-5: a retried create never takes a record another client has claimed', () => {
  it('INV-5: a customer create answered from an earlier attempt (same requestid) with a customer another client has linked since gives the client its own', async () => {
    const parties = createInvoicePartyActivities(w.h.deps);
    const mine = f.client('Replayed Create Plumbing');
    const other = f.client('Replayed Other Plumbing');
    const requestId = crypto.randomUUID();
    // An earlier attempt of the pass created the customer, and its link was lost with the attempt.
    const qbo = new QuickBooksClient(w.h.deps.qboClientDeps(), CONN);
    const lost = await qbo.create<{ Id: string }>(
      'Customer',
      { DisplayName: 'Replayed Create Plumbing' },
      requestId,
    );
    // Since then another client's export linked it, and it was renamed to that client's name (CM-2).
    await w.h.deps.links.link(CONN, 'customer', other, lost.Id);
    w.qbo.control.upsertRecord('Customer', { Id: lost.Id, DisplayName: 'Replayed Other Plumbing' }, realm);

    const r = await parties.ensureCustomer({ connectionId: CONN, companyUuid: mine, requestId });
    if (!r.ok) throw new Error(`held: ${r.reason.text}`);
    expect(r.customerId).not.toBe(lost.Id);
    expect(w.qbo.store.get('Customer', r.customerId, realm)?.DisplayName).toBe('Replayed Create Plumbing');
    expect((await w.h.deps.links.bySm8(CONN, 'customer', mine))?.qboId).toBe(r.customerId);
    expect((await w.h.deps.links.bySm8(CONN, 'customer', other))?.qboId).toBe(lost.Id);
    // A retry of the same attempt gets the same answer: one customer, not a third.
    const again = await parties.ensureCustomer({ connectionId: CONN, companyUuid: mine, requestId });
    expect(again.ok && again.customerId).toBe(r.customerId);
    expect(named('Customer', 'DisplayName', 'Replayed Create Plumbing')).toHaveLength(1);
  }, 60_000);
});

describe('INV-5: a record a lost attempt made is linked, even when it was made inactive since', () => {
  /** Runs a party step as its second attempt (a retry: the first attempt's answer was lost). */
  const retried = <A, R>(fn: (input: A) => Promise<R>, input: A): Promise<R> =>
    new MockActivityEnvironment({ attempt: 2 }).run(fn, input);

  it('INV-5: a customer whose create answer was lost and that the bookkeeper made inactive is linked, and the job held CLIENT_INACTIVE', async () => {
    const parties = createInvoicePartyActivities(w.h.deps);
    const mine = f.client('Lost Answer Plumbing');
    const requestId = crypto.randomUUID();
    // The first attempt's create committed, its answer was lost; the bookkeeper then made it inactive.
    const qbo = new QuickBooksClient(w.h.deps.qboClientDeps(), CONN);
    const lost = await qbo.create<{ Id: string }>(
      'Customer',
      { DisplayName: 'Lost Answer Plumbing' },
      requestId,
    );
    w.qbo.control.upsertRecord('Customer', { Id: lost.Id, Active: false }, realm);

    const r = await retried(parties.ensureCustomer, { connectionId: CONN, companyUuid: mine, requestId });
    expect(r).toMatchObject({ ok: false, reason: { code: 'CLIENT_INACTIVE' } });
    expect((await w.h.deps.links.bySm8(CONN, 'customer', mine))?.qboId).toBe(lost.Id);
    expect(named('Customer', 'DisplayName', 'Lost Answer Plumbing')).toHaveLength(1);
  }, 60_000);

  it('INV-5: an inactive customer of the same name that no attempt of ours made stays unlinked (held CLIENT_INACTIVE)', async () => {
    const parties = createInvoicePartyActivities(w.h.deps);
    const mine = f.client('Old Inactive Plumbing');
    w.qbo.control.upsertRecord('Customer', { DisplayName: 'Old Inactive Plumbing', Active: false }, realm);
    const r = await retried(parties.ensureCustomer, {
      connectionId: CONN,
      companyUuid: mine,
      requestId: crypto.randomUUID(),
    });
    expect(r).toMatchObject({ ok: false, reason: { code: 'CLIENT_INACTIVE' } });
    expect(await w.h.deps.links.bySm8(CONN, 'customer', mine)).toBeNull();
    expect(named('Customer', 'DisplayName', 'Old Inactive Plumbing')).toHaveLength(1);
  }, 60_000);

  it('INV-5: an item whose create answer was lost and that was made inactive is linked, and the job held ITEM_INACTIVE_IN_QBO', async () => {
    const parties = createInvoicePartyActivities(w.h.deps);
    const material = f.material('Lost Answer Valve', '40');
    const requestId = crypto.randomUUID();
    const qbo = new QuickBooksClient(w.h.deps.qboClientDeps(), CONN);
    const lost = await qbo.create<{ Id: string }>(
      'Item',
      { Name: 'Lost Answer Valve', Type: 'Service', IncomeAccountRef: { value: '1' } },
      subRequestId(requestId, material),
    );
    w.qbo.control.upsertRecord('Item', { Id: lost.Id, Active: false }, realm);

    const lines = [{ jobMaterialUuid: crypto.randomUUID(), materialUuid: material }];
    const r = await retried(parties.ensureItems, { connectionId: CONN, lines, requestId });
    expect(r).toMatchObject({ ok: false, reason: { code: 'ITEM_INACTIVE_IN_QBO' } });
    expect((await w.h.deps.links.bySm8(CONN, 'item', material))?.qboId).toBe(lost.Id);
    expect(named('Item', 'Name', 'Lost Answer Valve')).toHaveLength(1);
  }, 60_000);
});

describe('INV-3: a name two ServiceM8 records share is held with a reason, never a loop', () => {
  it('INV-3: "Bob Smith" and "bob smith " approved together: one exports, the other is held saying what to rename', async () => {
    const jobs = ['Bob Smith', 'bob smith '].map((name) =>
      f.job({
        clientUuid: f.client(name),
        approved: false,
        lines: [{ name: 'Labour', qty: '1', unit: '50', tax: 'GST' }],
      }),
    );
    const settled = await approveTogether(jobs);
    expect(settled.map((s) => s.state).sort()).toEqual(['BLOCKED', 'EXPORTED']);
    const held = settled.find((s) => s.state === 'BLOCKED');
    expect(held?.reason?.code).toBe('NAME_SHARED_IN_SM8');
    expect(held?.reason?.text).toMatch(/rename one of the two clients in ServiceM8/);
    expect(named('Customer', 'DisplayName', 'Bob Smith')).toHaveLength(1);
  }, 180_000);

  // The 100-character cut cannot make two names one: ServiceM8 itself keeps company names to 100 characters
  // and material names to 70 (its API refuses longer ones), within QuickBooks' 100.
  it('INV-3: names that become one in QuickBooks (":" replaced) are held saying why', async () => {
    const jobs = ['Smith: Plumbing', 'Smith- Plumbing'].map((name) =>
      f.job({
        clientUuid: f.client(name),
        approved: false,
        lines: [{ name: 'Labour', qty: '1', unit: '50', tax: 'GST' }],
      }),
    );
    const [a] = await approveTogether([jobs[0] as string]);
    expect(a?.state).toBe('EXPORTED');
    const [b] = await approveTogether([jobs[1] as string]);
    expect(b?.reason).toEqual({
      code: 'NAME_SHARED_IN_SM8',
      text: 'Another ServiceM8 client, "Smith: Plumbing", has the name "Smith- Plumbing" in QuickBooks (QuickBooks names have no ":" and at most 100 characters) and is already linked to the QuickBooks customer "Smith- Plumbing"; QuickBooks needs each customer name once: rename one of the two clients in ServiceM8, then sync the job again.',
    });
    expect(named('Customer', 'DisplayName', 'Smith- Plumbing')).toHaveLength(1);
  }, 180_000);
});
