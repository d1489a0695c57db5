/**
 * Clients and materials both ways (CM-2 … CM-10) end to end, with both simulators delivering webhooks to the
 * API exactly as the real services would: a user edits a record in one program (through the simulators'
 * UI-like control API), and the test waits for the other program's record to change.
 */
import crypto from 'node:crypto';
import { clientMaterialStatusQuery, connectionRestoredSignal } from '../workflows/messages';
import { customerWorkflowId, onboardingWorkflowId } from '../domain/workflow-ids';
import { ACCOUNT_IDS, AU_TAX_CODE_IDS } from '../simulators/quickbooks';
import { signalInvoice } from '../routing/routes';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitFor, waitUntil } from './helpers/wait';

const CONN = 'cm';
let w: World;
let f: Sm8Fixtures;
let realm: string;
type Rec = Record<string, unknown>;

const newRealmId = () => `9341${String(crypto.randomInt(0, 1e12)).padStart(12, '0')}`;
const sm8One = (object: string, name: string): Rec | undefined =>
  w.sm8.store.list(object as 'company').find((r) => r.name === name);
const contactOf = (companyUuid: unknown): Rec | undefined =>
  w.sm8.store.list('companycontact').find((c) => c.company_uuid === companyUuid && c.active === 1);
const qboGet = (entity: string, id: string): Rec => {
  const r = w.qbo.store.get(entity as 'Customer', id, realm);
  if (!r) throw new Error(`no QuickBooks ${entity} ${id}`);
  return r;
};
const qboNamed = (entity: string, field: string, name: string): Rec[] =>
  w.qbo.store
    .list(entity as 'Customer', realm)
    .filter((r) => String(r[field]).toLowerCase() === name.toLowerCase());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let delta: Rec;
let fuse: Rec;
let cable: Rec;

beforeAll(async () => {
  w = await startWorld({ webhooks: true, onboarding: true });
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = w.qbo.control.createRealm({ companyName: 'CM Trades', realmId: newRealmId() });
  delta = w.qbo.control.upsertRecord(
    'Customer',
    {
      DisplayName: 'CM Delta Electrical',
      GivenName: 'Dana',
      FamilyName: 'Delta',
      PrimaryEmailAddr: { Address: 'dana@delta.example' },
      BillAddr: { Line1: '5 Volt Rd', City: 'Newcastle', CountrySubDivisionCode: 'NSW', PostalCode: '2300' },
    },
    realm,
  );
  fuse = w.qbo.control.upsertRecord(
    'Item',
    {
      Name: 'CM Fuse',
      Type: 'Service',
      UnitPrice: 5,
      IncomeAccountRef: { value: ACCOUNT_IDS.services },
      SalesTaxCodeRef: { value: AU_TAX_CODE_IDS.gst },
    },
    realm,
  );
  cable = w.qbo.control.upsertRecord(
    'Item',
    {
      Name: 'CM Cable',
      Type: 'NonInventory',
      UnitPrice: 9,
      PurchaseCost: 2,
      IncomeAccountRef: { value: ACCOUNT_IDS.sales },
      ExpenseAccountRef: { value: ACCOUNT_IDS.materials },
    },
    realm,
  );
  await w.connect(CONN, { realmId: realm });
  await w.h.client.workflow.getHandle(onboardingWorkflowId(CONN)).result();
  // The seeding's own QuickBooks webhooks may reach the records' owners first: then the owners import them
  // (about 10 s after their creation, see IMPORT_GRACE_MS) and onboarding counts them as theirs.
  await waitFor(
    'the seeded records in ServiceM8',
    () =>
      ['CM Delta Electrical'].every((n) => sm8One('company', n)) &&
      ['CM Fuse', 'CM Cable'].every((n) => sm8One('material', n)),
  );
}, 120_000);
afterAll(async () => {
  await w.close();
});

describe('CM-2: then both ways, fast', () => {
  it('CM-2: a QuickBooks edit of a linked customer reaches the ServiceM8 company and its billing contact', async () => {
    const company = sm8One('company', 'CM Delta Electrical');
    expect(company).toBeDefined();
    w.qbo.control.upsertRecord(
      'Customer',
      {
        Id: delta.Id,
        PrimaryEmailAddr: { Address: 'accounts@delta.example' },
        PrimaryPhone: { FreeFormNumber: '02 4000 1234' },
      },
      realm,
    );
    const contact = await waitFor('the new email in ServiceM8', () => {
      const c = contactOf(company?.uuid);
      return c?.email === 'accounts@delta.example' ? c : null;
    });
    expect(contact.phone).toBe('02 4000 1234');
  });

  it('CM-2: a ServiceM8 edit of a linked company reaches QuickBooks; our own echo changes nothing more', async () => {
    const company = sm8One('company', 'CM Delta Electrical') as Rec;
    w.sm8.control.update('company', String(company.uuid), {
      address_city: 'Maitland',
      address_postcode: '2320',
    });
    const customer = await waitFor('the new city in QuickBooks', () => {
      const c = qboGet('Customer', String(delta.Id));
      return (c.BillAddr as Rec | undefined)?.City === 'Maitland' ? c : null;
    });
    expect((customer.BillAddr as Rec).PostalCode).toBe('2320');
    expect((customer.BillAddr as Rec).Line1).toBe('5 Volt Rd');
    // The QuickBooks webhook of our own write comes back; it must not cause another write anywhere.
    const token = customer.SyncToken;
    const editDate = (sm8One('company', 'CM Delta Electrical') as Rec).edit_date;
    await sleep(4000);
    expect(qboGet('Customer', String(delta.Id)).SyncToken).toBe(token);
    expect((sm8One('company', 'CM Delta Electrical') as Rec).edit_date).toBe(editDate);
  });

  it('CM-2: an email edited on the billing contact in ServiceM8 reaches QuickBooks', async () => {
    const company = sm8One('company', 'CM Delta Electrical') as Rec;
    const contact = contactOf(company.uuid) as Rec;
    w.sm8.control.update('companycontact', String(contact.uuid), { email: 'billing@delta.example' });
    await waitFor(
      'the new email in QuickBooks',
      () =>
        (qboGet('Customer', String(delta.Id)).PrimaryEmailAddr as Rec | undefined)?.Address ===
        'billing@delta.example',
    );
  });

  it('CM-2: a customer and an item created in QuickBooks after onboarding are brought into ServiceM8', async () => {
    w.qbo.control.upsertRecord(
      'Customer',
      { DisplayName: 'CM Newcomer Plumbing', PrimaryEmailAddr: { Address: 'new@comer.example' } },
      realm,
    );
    w.qbo.control.upsertRecord(
      'Item',
      {
        Name: 'CM Tap washer',
        Type: 'Service',
        UnitPrice: 1.5,
        IncomeAccountRef: { value: ACCOUNT_IDS.services },
      },
      realm,
    );
    const company = await waitFor('the new company', () => sm8One('company', 'CM Newcomer Plumbing'));
    await waitFor('its billing contact', () => contactOf(company.uuid)?.email === 'new@comer.example');
    const material = await waitFor('the new material', () => sm8One('material', 'CM Tap washer'));
    expect(Number(material.price)).toBe(1.5);
    await sleep(1500);
    expect(w.sm8.store.list('company').filter((c) => c.name === 'CM Newcomer Plumbing')).toHaveLength(1);
  });

  it('CM-2: a ServiceM8 price change of a linked material reaches the QuickBooks item', async () => {
    const m = sm8One('material', 'CM Fuse') as Rec;
    w.sm8.control.update('material', String(m.uuid), { price: '6.25' });
    await waitFor('the new price in QuickBooks', () => qboGet('Item', String(fuse.Id)).UnitPrice === 6.25);
  });
});

describe('CM-3: ServiceM8-born records go with an invoice', () => {
  it('CM-3: a client created in ServiceM8 is not sent on its own; after its first invoice it syncs both ways', async () => {
    const uuid = f.client('CM Walk In Client');
    w.sm8.control.update('company', uuid, { address_city: 'Gosford' }); // another webhook about it
    await sleep(3000);
    expect(qboNamed('Customer', 'DisplayName', 'CM Walk In Client')).toHaveLength(0);
    expect(await w.h.deps.links.bySm8(CONN, 'customer', uuid)).toBeNull();

    const job = f.job({ clientUuid: uuid, lines: [{ name: 'Labour', qty: '1', unit: '100', tax: 'GST' }] });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    const [customer] = await waitFor('the customer created with the invoice', () => {
      const c = qboNamed('Customer', 'DisplayName', 'CM Walk In Client');
      return c.length ? c : null;
    });
    const link = await waitFor('its link', () => w.h.deps.links.bySm8(CONN, 'customer', uuid));
    expect(link.qboId).toBe(String(customer?.Id));
    // Now a QuickBooks edit comes back to ServiceM8.
    w.qbo.control.upsertRecord(
      'Customer',
      { Id: customer?.Id, PrimaryEmailAddr: { Address: 'walkin@qbo.example' } },
      realm,
    );
    await waitFor('the email in ServiceM8', () => contactOf(uuid)?.email === 'walkin@qbo.example', 30_000);
  });
});

describe('CM-4 / CM-5: removal', () => {
  it('CM-4: a customer made inactive in QuickBooks is removed from ServiceM8 (active = 0)', async () => {
    const c = qboNamed('Customer', 'DisplayName', 'CM Newcomer Plumbing')[0] as Rec;
    w.qbo.control.upsertRecord('Customer', { Id: c.Id, Active: false }, realm);
    await waitFor(
      'the company inactive in ServiceM8',
      () => sm8One('company', 'CM Newcomer Plumbing')?.active === 0,
    );
  });

  it('CM-5: a material removed in ServiceM8 makes its linked item inactive in QuickBooks', async () => {
    const m = sm8One('material', 'CM Tap washer') as Rec;
    w.sm8.control.update('material', String(m.uuid), { active: 0 });
    const item = qboNamed('Item', 'Name', 'CM Tap washer')[0] as Rec;
    await waitFor('the item inactive in QuickBooks', () => qboGet('Item', String(item.Id)).Active === false);
  });
});

describe('CM-8: purchase cost only for purchased items', () => {
  it('CM-8: cost travels both ways for an item with an expense account, never for one without', async () => {
    const pipe = sm8One('material', 'CM Cable') as Rec;
    expect(Number(pipe.cost)).toBe(2);
    w.sm8.control.update('material', String(pipe.uuid), { cost: '2.75' });
    await waitFor(
      'the new purchase cost in QuickBooks',
      () => qboGet('Item', String(cable.Id)).PurchaseCost === 2.75,
    );
    w.qbo.control.upsertRecord('Item', { Id: cable.Id, PurchaseCost: 3.1 }, realm);
    await waitFor(
      'the QuickBooks cost in ServiceM8',
      () => Number(sm8One('material', 'CM Cable')?.cost) === 3.1,
    );

    const fuseM = sm8One('material', 'CM Fuse') as Rec;
    w.sm8.control.update('material', String(fuseM.uuid), { cost: '1.10', item_description: 'Ceramic fuse' });
    await waitFor(
      'the description in QuickBooks',
      () => qboGet('Item', String(fuse.Id)).Description === 'Ceramic fuse',
    );
    expect(qboGet('Item', String(fuse.Id)).PurchaseCost ?? 0).toBe(0);
  });
});

describe('CM-9: conflicts', () => {
  it('CM-9: both sides change the same field between syncs: the later edit wins, the loser is in the audit log', async () => {
    const company = sm8One('company', 'CM Delta Electrical') as Rec;
    // "Between syncs": no sync of this client may run while the two edits land. Events of earlier tests can
    // still be on their way to the owner (already delivered webhooks, the inbox relay), so silencing the
    // webhooks is not enough: the connection is paused (as an administrator would), and the owner is seen
    // idle or parked on the pause before the edits. Any sync then either ended before the edits or waits for
    // the resume, after which it reads both edits at once.
    const link = await w.h.deps.links.bySm8(CONN, 'customer', String(company.uuid));
    const owner = w.h.client.workflow.getHandle(customerWorkflowId(CONN, String(link?.id)));
    await w.h.deps.store.setStatus(CONN, 'paused', 'CM-9 test: both edits between two syncs');
    await waitFor('the owner to be idle or parked', async () => {
      const status = await owner.query(clientMaterialStatusQuery).catch(() => null);
      return !status || status.idle || status.parked;
    });
    w.qbo.control.upsertRecord(
      'Customer',
      { Id: delta.Id, PrimaryPhone: { FreeFormNumber: '111 QBO' }, GivenName: 'Danielle' },
      realm,
    );
    await sleep(1500); // ServiceM8's edit_date has one-second resolution
    const contact = contactOf(company.uuid) as Rec;
    w.sm8.control.update('companycontact', String(contact.uuid), { phone: '222 SM8' });
    // The sync's write to ServiceM8 fails once after its write to QuickBooks: the retry no longer sees the
    // conflict (QuickBooks already holds 222), so the conflict must have been logged before the writes.
    const [fault] = w.sm8.control.faults.add({
      method: 'POST',
      path: `/api_1.0/companycontact/${String(contact.uuid)}.json`,
      status: 500,
      count: 1,
    });
    await w.h.deps.store.setStatus(CONN, 'active');
    await owner.signal(connectionRestoredSignal).catch(() => undefined); // not running: the edits' events start it
    await waitFor(
      'the ServiceM8 phone in QuickBooks',
      () =>
        (qboGet('Customer', String(delta.Id)).PrimaryPhone as Rec | undefined)?.FreeFormNumber === '222 SM8',
    );
    // The field only QuickBooks changed keeps QuickBooks' value and reaches ServiceM8.
    await waitFor(
      'the QuickBooks first name in ServiceM8',
      () => contactOf(company.uuid)?.first === 'Danielle',
    );
    expect(contactOf(company.uuid)?.phone).toBe('222 SM8');
    const audit = await w.h.pool.query(
      `SELECT detail FROM audit_log WHERE connection_id = $1 AND entity_type = 'customer' AND action = 'conflict'`,
      [CONN],
    );
    expect(w.sm8.control.faults.list().find((f) => f.id === fault?.id)?.hits).toBe(1); // the write was retried
    const phoneConflicts = audit.rows.map((r) => r.detail).filter((d) => d.field === 'phone');
    expect(phoneConflicts).toEqual([
      expect.objectContaining({
        field: 'phone',
        kept: 'servicem8',
        lost: '111 QBO',
        quickbooks: '111 QBO',
        servicem8: '222 SM8',
      }),
    ]);
  });
});

describe('CM-10: merges', () => {
  it('CM-10: a QuickBooks customer merged into an unlinked one moves its ServiceM8 link to the survivor', async () => {
    const loser = w.qbo.control.upsertRecord('Customer', { DisplayName: 'CM Merge Loser' }, realm);
    const company = await waitFor('the loser in ServiceM8', () => sm8One('company', 'CM Merge Loser'));
    await sleep(500);
    w.qbo.control.webhookChaos({ dropNext: 1 }); // the survivor's own Create webhook is lost: it stays unlinked
    const survivor = w.qbo.control.upsertRecord(
      'Customer',
      { DisplayName: 'CM Merge Survivor', PrimaryEmailAddr: { Address: 'survivor@merge.example' } },
      realm,
    );
    await sleep(1000);
    expect(await w.h.deps.links.byQbo(CONN, 'customer', String(survivor.Id))).toBeNull();
    w.qbo.control.merge({
      entity: 'Customer',
      fromId: String(loser.Id),
      toId: String(survivor.Id),
      realmId: realm,
    });
    const moved = await waitFor(
      'the link moved to the survivor',
      async () => {
        const l = await w.h.deps.links.bySm8(CONN, 'customer', String(company.uuid));
        return l?.qboId === String(survivor.Id) && l;
      },
      30_000,
    );
    expect(moved.state).toBe('linked');
    await waitFor(
      'the survivor name in ServiceM8',
      () => w.sm8.store.list('company').find((c) => c.uuid === company.uuid)?.name === 'CM Merge Survivor',
    );
    expect(w.sm8.store.list('company').filter((c) => c.name === 'CM Merge Survivor')).toHaveLength(1);
    // OPS-1: the owner's query and search attribute name the survivor too.
    const handle = w.h.client.workflow.getHandle(customerWorkflowId(CONN, moved.id));
    const status = await waitUntil(
      'the owner to name the survivor',
      () => handle.query(clientMaterialStatusQuery),
      (x) => x.qboId === String(survivor.Id),
      15_000,
    );
    expect(['SYNCED', 'IN_SYNC']).toContain(status.state); // IN_SYNC: the echo of its own write came back
  });

  it('CM-10: merged into a customer that is linked already: the merged-away link is marked merged and audited, nothing duplicated', async () => {
    const a = w.qbo.control.upsertRecord('Customer', { DisplayName: 'CM Twin A' }, realm);
    const b = w.qbo.control.upsertRecord('Customer', { DisplayName: 'CM Twin B' }, realm);
    const ca = await waitFor('twin A in ServiceM8', () => sm8One('company', 'CM Twin A'));
    await waitFor('twin B in ServiceM8', () => sm8One('company', 'CM Twin B'));
    const linkA = await waitFor('twin A linked', () =>
      w.h.deps.links.bySm8(CONN, 'customer', String(ca.uuid)),
    );
    w.qbo.control.merge({ entity: 'Customer', fromId: String(a.Id), toId: String(b.Id), realmId: realm });
    await waitFor(
      'twin A marked merged',
      async () => (await w.h.deps.links.bySm8(CONN, 'customer', String(ca.uuid)))?.state === 'merged',
    );
    expect((await w.h.deps.links.byQbo(CONN, 'customer', String(b.Id)))?.state).toBe('linked');
    const audit = await w.h.pool.query(
      `SELECT detail FROM audit_log WHERE connection_id = $1 AND action = 'merged' AND entity_ref LIKE $2`,
      [CONN, `${String(ca.uuid)}|%`],
    );
    expect(audit.rows[0]?.detail).toMatchObject({ mergedInto: String(b.Id) });
    expect(w.sm8.store.list('company').filter((c) => c.name === 'CM Twin B')).toHaveLength(1);
    void linkA;
  });
});
