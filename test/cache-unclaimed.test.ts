/**
 * Issue 12 and 13: the record cache and the ServiceM8 records no link claims yet (clients and materials that
 * go to QuickBooks with their first invoice, CM-3).
 * - Onboarding keeps its candidate lists, and a poll keeps what it listed, so an export does not read those
 *   records again by uuid (issue 12: at connect, the first poll's jobs exported with one company and one
 *   material read each).
 * - An edit to such a record afterwards wakes nobody, but must make the copy stale: otherwise the export sends
 *   the old name or price to QuickBooks, silently (issue 13).
 * Both simulators with webhooks, the real Temporal server, onboarding as in production.
 */
import crypto from 'node:crypto';
import { ACCOUNT_IDS } from '../simulators/quickbooks';
import { onboardingWorkflowId } from '../domain/workflow-ids';
import { pollConnectionWorkflow } from '../workflows/poll';
import { ANY_COMPANY, COMPANY_CONTACTS, markCopyStale, RecordCache } from '../store/record-cache';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { untilSettled, waitFor } from './helpers/wait';

const CONN = 'cache-unclaimed';
let w: World;
let fx: Sm8Fixtures;
let realm: string;
let cache: RecordCache;

const newRealmId = () => `9342${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}`;
type Rec = Record<string, unknown>;

beforeAll(async () => {
  w = await startWorld({ webhooks: true, onboarding: true });
  fx = new Sm8Fixtures(w.sm8);
  fx.taxRate('GST', '10');
  cache = new RecordCache(w.h.pool);
  realm = w.qbo.control.createRealm({ companyName: 'Unclaimed Trades', realmId: newRealmId() });
  // One record of each kind in QuickBooks, so onboarding lists ServiceM8's candidates (CM-7).
  w.qbo.control.upsertRecord('Customer', { DisplayName: 'Someone Else Pty Ltd' }, realm);
  w.qbo.control.upsertRecord(
    'Item',
    {
      Name: 'Someone Else Part',
      Type: 'Service',
      UnitPrice: 5,
      IncomeAccountRef: { value: ACCOUNT_IDS.sales },
    },
    realm,
  );
}, 120_000);
afterAll(async () => {
  await w.close();
});

/** Waits until the webhooks about these records have been routed (or judged unroutable). */
async function routed(ids: string[]): Promise<void> {
  await waitFor(
    `the webhooks about ${ids.join(', ')} routed`,
    async () => {
      const r = await w.h.pool.query<{ n: string }>(
        `SELECT count(DISTINCT entity_id) AS n FROM webhook_inbox
          WHERE connection_id = $1 AND entity_id = ANY($2::text[]) AND state <> 'pending'
            AND received_at > now() - interval '1 minute'`,
        [CONN, ids],
      );
      return Number(r.rows[0]?.n) === ids.length;
    },
    60_000,
  );
}

/** The QuickBooks invoice of a job, once exported, with its customer and first line's item. */
async function exported(jobUuid: string): Promise<{ customer: Rec; item: Rec }> {
  const invoice = await waitFor(
    `the invoice of job ${jobUuid}`,
    async () => {
      const exp = await w.h.pool.query<{ qbo_invoice_id: string | null }>(
        'SELECT qbo_invoice_id FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2',
        [CONN, jobUuid],
      );
      const id = exp.rows[0]?.qbo_invoice_id;
      return id ? w.qbo.control.listRecords('Invoice', realm).find((i) => String(i.Id) === id) : undefined;
    },
    60_000,
  );
  const line = (invoice.Line as Rec[]).find((l) => l.DetailType === 'SalesItemLineDetail') as Rec;
  const itemId = String(((line.SalesItemLineDetail as Rec).ItemRef as Rec).value);
  const customerId = String((invoice.CustomerRef as Rec).value);
  return {
    customer: w.qbo.control.listRecords('Customer', realm).find((c) => String(c.Id) === customerId) as Rec,
    item: w.qbo.control.listRecords('Item', realm).find((i) => String(i.Id) === itemId) as Rec,
  };
}

const ref = (object: string, recordId: string) => ({
  connectionId: CONN,
  side: 'sm8' as const,
  object,
  recordId,
});

describe('the record cache and records no link claims', () => {
  let client: string;
  let material: string;
  let early: string;

  it('CM-7: onboarding keeps the ServiceM8 candidates it listed (the copies an export would use)', async () => {
    client = fx.client('Bob Smit');
    material = fx.material('Copper Pipe', '10.00');
    // Approved before the connection existed: found by the first poll pass, announced by no webhook.
    early = fx.job({
      clientUuid: fx.client('Early Bird'),
      lines: [{ name: 'Labour', qty: '1', unit: '80.00', tax: 'GST' }],
    });
    await w.connect(CONN, { realmId: realm });
    await w.h.client.workflow.getHandle(onboardingWorkflowId(CONN)).result();
    await untilSettled(w, CONN);
    expect((await cache.get<Rec>(ref('company', client)))?.record.name).toBe('Bob Smit');
    expect((await cache.get<Rec>(ref('material', material)))?.record.name).toBe('Copper Pipe');
  }, 120_000);

  it('CM-3, INV-5: a client and a material edited in ServiceM8 before their first invoice go to QuickBooks as they are now, not as onboarding listed them', async () => {
    w.sm8.control.update('company', client, { name: 'Bob Smith' });
    w.sm8.control.update('material', material, { name: 'Copper Pipe 15mm', price: '12.00' });
    await routed([client, material]);
    // The copies are stale (nobody is woken: no link claims them).
    expect(await cache.get(ref('company', client))).toBeNull();
    expect(await cache.get(ref('material', material))).toBeNull();

    const job = fx.job({
      clientUuid: client,
      lines: [{ name: 'Pipe', qty: '1', unit: '12.00', tax: 'GST', materialUuid: material }],
    });
    const { customer, item } = await exported(job);
    expect(customer.DisplayName).toBe('Bob Smith');
    expect({ name: item.Name, price: item.UnitPrice }).toEqual({ name: 'Copper Pipe 15mm', price: 12 });
  }, 120_000);

  it('issue 12: a client and a material a poll listed are not read again by uuid when their job exports; TRG-2: a first pass suspects no lost webhook', async () => {
    const carla = fx.client('Carla Jones');
    const tap = fx.material('Brass Tap', '30.00');
    await routed([carla, tap]);
    const pass = await w.h.client.workflow.execute(pollConnectionWorkflow, {
      workflowId: `poll/${CONN}/manual-${crypto.randomUUID()}`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN }],
    });
    // TRG-2: the connection's first pass: what it finds was made before any webhook subscription existed, so
    // none of it suggests lost webhooks (no fast polling: at connect it spent onboarding's budget).
    expect(pass.sm8?.objects?.job?.routed).toBeGreaterThanOrEqual(1); // the early job
    expect({ sm8: pass.sm8?.unannounced, qbo: pass.qbo?.unannounced }).toEqual({ sm8: 0, qbo: 0 });
    await exported(early);
    const seq = Math.max(0, ...w.sm8.control.calls.list().map((c) => c.seq));
    const job = fx.job({
      clientUuid: carla,
      lines: [{ name: 'Tap', qty: '1', unit: '30.00', tax: 'GST', materialUuid: tap }],
    });
    const { customer, item } = await exported(job);
    expect({ customer: customer.DisplayName, item: item.Name }).toEqual({
      customer: 'Carla Jones',
      item: 'Brass Tap',
    });
    const reads = w.sm8.control.calls
      .list()
      .filter(
        (c) => c.seq > seq && c.operation === 'read' && ['company', 'material'].includes(String(c.object)),
      )
      .map((c) => `${c.object}/${c.uuid}`);
    expect(reads).toEqual([]);
  }, 120_000);
});

describe('RecordCache: copies of records no link claims', () => {
  it('a copy stored as of before its read is stale when an event came during the read', async () => {
    const id = crypto.randomUUID();
    const since = await cache.now();
    await markCopyStale(w.h.pool, ref('material', id)); // the event, while the list was on its way
    await cache.putAbsent(
      CONN,
      'sm8',
      [{ object: 'material', recordId: id, record: { uuid: id, name: 'Old' } }],
      since,
    );
    expect(await cache.get(ref('material', id))).toBeNull();
    // The next list replaces the stale copy; a current one is left alone.
    await cache.putAbsent(
      CONN,
      'sm8',
      [{ object: 'material', recordId: id, record: { uuid: id, name: 'New' } }],
      await cache.now(),
    );
    await cache.putAbsent(
      CONN,
      'sm8',
      [{ object: 'material', recordId: id, record: { uuid: id, name: 'Newer?' } }],
      await cache.now(),
    );
    expect((await cache.get<Rec>(ref('material', id)))?.record.name).toBe('New');
  });

  it("a company's cached contact list stops counting as whole when a contact of an unknown company changes", async () => {
    const company = crypto.randomUUID();
    const contact = { uuid: crypto.randomUUID(), company_uuid: company, email: 'a@b.example' };
    await cache.putContactsOf(CONN, company, [contact]);
    expect(await cache.contactsOf(CONN, company)).toEqual([contact]);
    await markCopyStale(w.h.pool, ref(COMPANY_CONTACTS, ANY_COMPANY));
    expect(await cache.contactsOf(CONN, company)).toBeNull();
    await cache.putContactsOf(CONN, company, [contact]);
    expect(await cache.contactsOf(CONN, company)).toEqual([contact]);
    await markCopyStale(w.h.pool, ref(COMPANY_CONTACTS, company));
    expect(await cache.contactsOf(CONN, company)).toBeNull();
  });
});
