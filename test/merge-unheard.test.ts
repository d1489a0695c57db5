/**
 * CM-10 when the merge was not heard (its webhook lost; CDC shows the merged-away customer only as gone):
 * QuickBooks removes a customer or item only by merging it, so the sync looks for the survivor on the
 * invoices of the client's jobs (a customer) or of the jobs using the material (an item) and moves the link
 * there; with no such invoice the job is held with a reason and the link is removed, so Sync again links the
 * client or material by name. Never an error loop (the soak found one).
 * ServiceM8 simulator -> invoice workflows on the real Temporal server -> QuickBooks simulator; no webhooks
 * in this world, so no merge is ever announced.
 */
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { invoiceStatusQuery, type InvoiceStatus } from '../workflows/messages';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitUntil } from './helpers/wait';

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'merge-unheard';

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

/** Approves the job (or asks for a sync again) and waits until its owner settled a new pass. */
async function sync(job: string, approve = true): Promise<InvoiceStatus> {
  const before = approve ? 0 : (await status(job)).syncs;
  if (approve) f.approve(job);
  await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
  return waitUntil(
    `the invoice owner of ${job}`,
    () => status(job),
    (s) => s.idle && s.state !== 'NOT_APPROVED' && s.syncs > before,
    120_000,
  );
}

const invoiceOf = (s: InvoiceStatus) => w.qbo.store.get('Invoice', String(s.qboInvoiceId), realm);
/** The item of each of the invoice's lines. */
const itemsOf = (s: InvoiceStatus) =>
  (invoiceOf(s)?.Line as Array<Record<string, unknown>>)
    .filter((l) => l.DetailType === 'SalesItemLineDetail')
    .map((l) => ((l.SalesItemLineDetail as Record<string, unknown>).ItemRef as { value: string }).value);
const jobOf = (client: string, unit: string) =>
  f.job({ clientUuid: client, approved: false, lines: [{ name: 'Call-out', qty: '1', unit, tax: 'GST' }] });

describe('CM-10: a merge nobody announced', () => {
  it('CM-10: the next job of the client exports to the survivor, found on the client’s earlier invoice', async () => {
    const client = f.client('Unheard Merge Plumbing');
    const first = await sync(jobOf(client, '120'));
    expect(first.state).toBe('EXPORTED');
    const merged = String(
      invoiceOf(first)?.CustomerRef && (invoiceOf(first)?.CustomerRef as { value: string }).value,
    );
    const survivor = w.qbo.control.upsertRecord('Customer', { DisplayName: 'Unheard Merge Holdings' }, realm);
    w.qbo.control.merge({ entity: 'Customer', fromId: merged, toId: String(survivor.Id), realmId: realm });

    const second = await sync(jobOf(client, '130'));
    expect([second.state, second.reason?.code ?? null]).toEqual(['EXPORTED', null]);
    expect((invoiceOf(second)?.CustomerRef as { value: string }).value).toBe(String(survivor.Id));
    const link = await w.h.deps.links.bySm8(CONN, 'customer', client);
    expect(link?.qboId).toBe(String(survivor.Id));
    const audit = await w.h.deps.pool.query(
      `SELECT detail FROM audit_log WHERE connection_id = $1 AND action = 'merged' AND entity_ref = $2`,
      [CONN, `${client}|${String(survivor.Id)}`],
    );
    expect(audit.rows.map((r) => r.detail)).toEqual([{ from: merged, to: String(survivor.Id) }]);
  }, 240_000);

  it('CM-10: with no invoice to show the survivor, the job is held with the reason, and Sync again links the client by name', async () => {
    const client = f.client('Untraced Merge Electrical');
    // Linked as onboarding links a name match, to a customer no invoice of the client uses.
    const old = w.qbo.control.upsertRecord('Customer', { DisplayName: 'Untraced Merge Electrical' }, realm);
    await w.h.deps.links.link(CONN, 'customer', client, String(old.Id));
    const into = w.qbo.control.upsertRecord('Customer', { DisplayName: 'Untraced Parent Co' }, realm);
    w.qbo.control.merge({
      entity: 'Customer',
      fromId: String(old.Id),
      toId: String(into.Id),
      realmId: realm,
    });

    const job = jobOf(client, '140');
    const held = await sync(job);
    expect([held.state, held.reason?.code]).toEqual(['BLOCKED', 'CUSTOMER_GONE_IN_QBO']);
    expect(held.reason?.text).toContain(`(Id ${String(old.Id)}) no longer exists in QuickBooks`);
    expect(await w.h.deps.links.bySm8(CONN, 'customer', client)).toBeNull();

    const again = await sync(job, false);
    expect([again.state, again.reason?.code ?? null]).toEqual(['EXPORTED', null]);
    const customer = (invoiceOf(again)?.CustomerRef as { value: string }).value;
    expect(w.qbo.store.get('Customer', customer, realm)?.DisplayName).toBe('Untraced Merge Electrical');
  }, 240_000);

  it('CM-10 for items: the next job using the material exports on the survivor, found on the material’s earlier invoice', async () => {
    const client = f.client('Unheard Item Merge Roofing');
    const material = f.material('Unheard Gutter Guard', '45.00');
    const line = { name: 'Gutter guard', qty: '2', unit: '45', tax: 'GST', materialUuid: material };
    // Another line on the same invoice, whose item stays: the survivor is the merged line's, not any line's.
    const other = f.material('Unheard Downpipe', '30.00');
    const otherLine = { name: 'Downpipe', qty: '1', unit: '30', tax: 'GST', materialUuid: other };
    const first = await sync(f.job({ clientUuid: client, approved: false, lines: [otherLine, line] }));
    expect(first.state).toBe('EXPORTED');
    const merged = String((await w.h.deps.links.bySm8(CONN, 'item', material))?.qboId);
    const into = w.qbo.control.upsertRecord(
      'Item',
      { Name: 'Gutter Guard (all sizes)', Type: 'Service', IncomeAccountRef: { value: '1' } },
      realm,
    );
    w.qbo.control.merge({ entity: 'Item', fromId: merged, toId: String(into.Id), realmId: realm });

    const second = await sync(f.job({ clientUuid: client, approved: false, lines: [line] }));
    expect([second.state, second.reason?.code ?? null]).toEqual(['EXPORTED', null]);
    expect(itemsOf(second)).toEqual([String(into.Id)]);
    expect((await w.h.deps.links.bySm8(CONN, 'item', material))?.qboId).toBe(String(into.Id));
    const audit = await w.h.deps.pool.query(
      `SELECT detail FROM audit_log WHERE connection_id = $1 AND action = 'merged' AND entity_ref = $2`,
      [CONN, `${material}|${String(into.Id)}`],
    );
    expect(audit.rows.map((r) => r.detail)).toEqual([{ from: merged, to: String(into.Id) }]);
  }, 240_000);

  it('CM-10 for items: with no invoice to show the survivor, the job is held with the reason, and Sync again links the material by name', async () => {
    const client = f.client('Untraced Item Merge Roofing');
    const material = f.material('Untraced Ridge Cap', '25.00');
    // Linked as onboarding links a name match, to an item no invoice uses.
    const old = w.qbo.control.upsertRecord(
      'Item',
      { Name: 'Untraced Ridge Cap', Type: 'Service', IncomeAccountRef: { value: '1' } },
      realm,
    );
    await w.h.deps.links.link(CONN, 'item', material, String(old.Id));
    const into = w.qbo.control.upsertRecord(
      'Item',
      { Name: 'Ridge Caps (all)', Type: 'Service', IncomeAccountRef: { value: '1' } },
      realm,
    );
    w.qbo.control.merge({ entity: 'Item', fromId: String(old.Id), toId: String(into.Id), realmId: realm });

    const line = { name: 'Ridge cap', qty: '2', unit: '25', tax: 'GST', materialUuid: material };
    const job = f.job({ clientUuid: client, approved: false, lines: [line] });
    const held = await sync(job);
    expect([held.state, held.reason?.code]).toEqual(['BLOCKED', 'ITEM_GONE_IN_QBO']);
    expect(held.reason?.text).toContain(
      `The QuickBooks product/service of the material "Untraced Ridge Cap" (Id ${String(old.Id)}) no longer exists`,
    );
    expect(await w.h.deps.links.bySm8(CONN, 'item', material)).toBeNull();

    const again = await sync(job, false);
    expect([again.state, again.reason?.code ?? null]).toEqual(['EXPORTED', null]);
    const [itemId] = itemsOf(again);
    expect(w.qbo.store.get('Item', String(itemId), realm)?.Name).toBe('Untraced Ridge Cap');
  }, 240_000);

  it('INV-6 after a merge nobody announced: a new total re-syncs the invoice onto the survivor', async () => {
    const client = f.client('Resync Merge Glazing');
    const job = jobOf(client, '150');
    const first = await sync(job);
    expect(first.state).toBe('EXPORTED');
    const merged = (invoiceOf(first)?.CustomerRef as { value: string }).value;
    const survivor = w.qbo.control.upsertRecord('Customer', { DisplayName: 'Resync Merge Group' }, realm);
    w.qbo.control.merge({ entity: 'Customer', fromId: merged, toId: String(survivor.Id), realmId: realm });
    f.line(job, { name: 'Extra pane', qty: '1', unit: '50', tax: 'GST' }, 2);

    const after = await sync(job, false);
    expect([after.state, after.reason?.text ?? null]).toEqual(['EXPORTED', null]);
    expect(after.qboInvoiceId).toBe(first.qboInvoiceId);
    expect(invoiceOf(after)).toMatchObject({ TotalAmt: 220, CustomerRef: { value: String(survivor.Id) } });
  }, 240_000);

  it('INV-6 with the customer made inactive: a new total is held in words, not in QuickBooks error 610', async () => {
    const client = f.client('Resync Inactive Fencing');
    const job = jobOf(client, '160');
    const first = await sync(job);
    expect(first.state).toBe('EXPORTED');
    const customer = (invoiceOf(first)?.CustomerRef as { value: string }).value;
    w.qbo.control.upsertRecord('Customer', { Id: customer, Active: false }, realm);
    f.line(job, { name: 'Extra post', qty: '1', unit: '40', tax: 'GST' }, 2);

    const held = await sync(job, false);
    expect([held.state, held.reason?.code]).toEqual(['RESYNC_BLOCKED', 'CLIENT_INACTIVE']);
    expect(held.reason?.text).toBe(
      'The job\'s client "Resync Inactive Fencing" is inactive in QuickBooks: make the customer active in QuickBooks or pick another client.',
    );
    expect(invoiceOf(held)?.TotalAmt).toBe(176);
  }, 240_000);

  it('an inactive QuickBooks product/service is named in the reason, with what to do', async () => {
    const client = f.client('Inactive Item Joinery');
    const material = f.material('Inactive Dowel Pack', '12.00');
    const line = { name: 'Dowels', qty: '1', unit: '12', tax: 'GST', materialUuid: material };
    expect((await sync(f.job({ clientUuid: client, approved: false, lines: [line] }))).state).toBe(
      'EXPORTED',
    );
    const itemId = String((await w.h.deps.links.bySm8(CONN, 'item', material))?.qboId);
    w.qbo.control.upsertRecord('Item', { Id: itemId, Active: false }, realm);
    const held = await sync(f.job({ clientUuid: client, approved: false, lines: [line] }));
    expect([held.state, held.reason?.code]).toEqual(['BLOCKED', 'ITEM_INACTIVE_IN_QBO']);
    expect(held.reason?.text).toBe(
      'The QuickBooks product/service "Inactive Dowel Pack" of the material "Inactive Dowel Pack" is inactive in QuickBooks: make it active in QuickBooks, or use another material on the job.',
    );
  }, 240_000);
});
