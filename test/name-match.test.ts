/**
 * CM-7, QuickBooks wins a name match (issue 13), in the seed's own words: "A client in ServiceM8 not yet synced
 * with QuickBooks Online will be overwritten if the same client is entered manually into QuickBooks". Both ways
 * a ServiceM8 record meets its QuickBooks namesake: the bookkeeper types the customer into QuickBooks, or an
 * invoice export finds it there by name. Either way the QuickBooks fields win, even when the ServiceM8 record
 * was edited later; nothing is duplicated.
 * ServiceM8 simulator <-> owners on the real Temporal server and PostgreSQL <-> QuickBooks simulator (webhooks).
 */
import { signalClientMaterial } from '../routing/clients-materials';
import { signalInvoice } from '../routing/routes';
import { clientMaterialStatusQuery, invoiceStatusQuery } from '../workflows/messages';
import { customerWorkflowId, invoiceWorkflowId } from '../domain/workflow-ids';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { waitFor, waitUntil } from './helpers/wait';
import { startWorld, type World } from './helpers/world';

type Rec = Record<string, unknown>;
let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'name-match';

beforeAll(async () => {
  w = await startWorld({ webhooks: true });
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w.close();
});

const same = (a: unknown, b: string) => String(a).trim().toLowerCase() === b.trim().toLowerCase();
const companies = (name: string): Rec[] =>
  w.sm8.control.records('company').filter((c) => Number(c.active) === 1 && same(c.name, name));
const contactOf = (companyUuid: string): Rec | undefined =>
  w.sm8.control
    .records('companycontact')
    .find((c) => c.company_uuid === companyUuid && Number(c.active) === 1);
const customer = (id: string): Rec | undefined =>
  w.qbo.control.listRecords('Customer', realm).find((c) => c.Id === id);

describe('CM-7: QuickBooks wins a name match', () => {
  it('CM-7: a ServiceM8 client not yet synced is overwritten when the same client is entered manually into QuickBooks', async () => {
    const client = f.client('Harbour Plumbing', 'old@harbour.example');
    // The bookkeeper types the same client into QuickBooks (other case and spacing, own email).
    const typed = w.qbo.control.upsertRecord(
      'Customer',
      {
        DisplayName: 'harbour plumbing ',
        GivenName: 'Nina',
        FamilyName: 'Booker',
        PrimaryEmailAddr: { Address: 'accounts@harbour.example' },
      },
      realm,
    );
    const contact = await waitFor('the QuickBooks email on the ServiceM8 client', () => {
      const c = contactOf(client);
      return c?.email === 'accounts@harbour.example' ? c : null;
    });
    expect(contact).toMatchObject({ first: 'Nina', last: 'Booker' });
    expect(companies('Harbour Plumbing').map((c) => c.uuid)).toEqual([client]); // overwritten, not duplicated
    // The import writes ServiceM8 first and records the link after, so the email can be seen a moment before it.
    // The owner's link row exists from the webhook on (QuickBooks side only): wait for the ServiceM8 side.
    const link = await waitFor('the link of the typed customer to a ServiceM8 client', async () => {
      const l = await w.h.deps.links.byQbo(CONN, 'customer', String(typed.Id));
      return l?.sm8Uuid ? l : null;
    });
    expect(link.sm8Uuid).toBe(client);
  }, 60_000);

  it('CM-7: a client an invoice export links by name takes the QuickBooks fields, although it was edited later in ServiceM8', async () => {
    // The bookkeeper's customer, then the client typed into ServiceM8 afterwards (the newer edit).
    const existing = w.qbo.control.upsertRecord(
      'Customer',
      { DisplayName: 'Coastal Roofing', PrimaryEmailAddr: { Address: 'books@coastal.example' } },
      realm,
    );
    w.sm8.control.clock.advance(2 * 60_000); // two minutes later, in ServiceM8's clock
    const client = f.client('Coastal Roofing', 'site@coastal.example');
    const job = f.job({
      clientUuid: client,
      approved: true,
      lines: [{ name: 'Gutter repair', qty: '1', unit: '300', tax: 'GST' }],
    });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    await waitUntil(
      'the export',
      () => w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job)).query(invoiceStatusQuery),
      (s) => s.state === 'EXPORTED',
      60_000,
    );
    const link = await w.h.deps.links.bySm8(CONN, 'customer', client);
    expect(link?.qboId).toBe(String(existing.Id)); // linked by name, not duplicated

    // The first sync of the pair: QuickBooks' email wins and reaches ServiceM8; QuickBooks keeps its own.
    await signalClientMaterial(w.h.client, w.h.taskQueue, 'customer', CONN, String(link?.id));
    await waitUntil(
      'the first sync of the linked client',
      () =>
        w.h.client.workflow
          .getHandle(customerWorkflowId(CONN, String(link?.id)))
          .query(clientMaterialStatusQuery),
      (s) => s.syncs > 0 && s.idle,
      60_000,
    );
    await waitFor('the QuickBooks email on the ServiceM8 contact', () =>
      contactOf(client)?.email === 'books@coastal.example' ? true : null,
    );
    expect((customer(String(existing.Id))?.PrimaryEmailAddr as Rec | undefined)?.Address).toBe(
      'books@coastal.example',
    );
    expect(companies('Coastal Roofing')).toHaveLength(1);
  }, 90_000);
});
