import QuickBooks from 'node-quickbooks';
import { type RunningQuickBooksSimulator } from '../../../simulators/quickbooks/index';
import { AU_TAX_CODE_IDS as TAX, startTestSim } from './helpers';

/* eslint-disable @typescript-eslint/no-explicit-any -- node-quickbooks' typings do not match its callbacks. */

/** node-quickbooks is callback-based; this turns one call into a promise of [err, data]. */
function call(invoke: (callback: (err: any, data: any) => void) => void): Promise<{ err: any; data: any }> {
  return new Promise((resolve) => invoke((err, data) => resolve({ err, data })));
}

describe('QBO simulator: node-quickbooks against the simulator', () => {
  let sim: RunningQuickBooksSimulator;
  let qbo: any;
  let refreshToken: string;
  const saved = {
    base: QuickBooks.V3_ENDPOINT_BASE_URL,
    token: QuickBooks.TOKEN_URL,
    revoke: QuickBooks.REVOKE_URL,
  };

  beforeAll(async () => {
    const t = await startTestSim();
    sim = t.sim;
    refreshToken = t.refreshToken;
    // node-quickbooks reads its URLs from static properties; point them at the simulator.
    QuickBooks.V3_ENDPOINT_BASE_URL = sim.accountingBaseUrl;
    QuickBooks.TOKEN_URL = sim.oauthEndpoints.tokenEndpoint;
    QuickBooks.REVOKE_URL = sim.oauthEndpoints.revokeEndpoint;
    qbo = new QuickBooks(
      'qbo-sim-client-id',
      'qbo-sim-client-secret',
      t.accessToken,
      false,
      sim.realmId,
      true,
      false,
      '75',
      '2.0',
      refreshToken,
    );
  });
  afterAll(async () => {
    QuickBooks.V3_ENDPOINT_BASE_URL = saved.base;
    QuickBooks.TOKEN_URL = saved.token;
    QuickBooks.REVOKE_URL = saved.revoke;
    await sim.stop();
  });

  let customer: any;
  let item: any;
  let invoice: any;

  it('creates a customer and an item, and finds customers with criteria', async () => {
    customer = (
      await call((cb) =>
        qbo.createCustomer(
          { DisplayName: "Grace O'Brien", PrimaryEmailAddr: { Address: 'g@example.com' } },
          cb,
        ),
      )
    ).data;
    expect(customer.Id).toBeDefined();
    item = (
      await call((cb) =>
        qbo.createItem(
          { Name: 'Labour', Type: 'Service', UnitPrice: 95, IncomeAccountRef: { value: '2' } },
          cb,
        ),
      )
    ).data;
    expect(item.Name).toBe('Labour');

    const byArray = await call((cb) =>
      qbo.findCustomers([{ field: 'DisplayName', value: "Grace O'Brien", operator: '=' }], cb),
    );
    expect(byArray.err).toBeNull();
    expect(byArray.data.QueryResponse.Customer[0].Id).toBe(customer.Id);
    const byLike = await call((cb) =>
      qbo.findCustomers(
        [
          { field: 'DisplayName', value: '%Brien%', operator: 'LIKE' },
          { field: 'fetchAll', value: true },
        ],
        cb,
      ),
    );
    expect(byLike.data.QueryResponse.Customer).toHaveLength(1);
    const count = await call((cb) => qbo.findCustomers({ count: true }, cb));
    expect(count.data.QueryResponse.totalCount).toBe(1);
    const items = await call((cb) => qbo.findItems({ Type: 'Service' }, cb));
    expect(items.data.QueryResponse.Item[0].Id).toBe(item.Id);
  });

  it('creates an invoice, sparse-updates it, gets 5010 on a stale SyncToken, and sends it', async () => {
    const line = {
      DetailType: 'SalesItemLineDetail',
      Amount: 190,
      SalesItemLineDetail: {
        ItemRef: { value: item.Id },
        Qty: 2,
        UnitPrice: 95,
        TaxCodeRef: { value: TAX.gst },
      },
    };
    invoice = (
      await call((cb) =>
        qbo.createInvoice({ CustomerRef: { value: customer.Id }, Line: [line], DocNumber: 'NQ-1' }, cb),
      )
    ).data;
    expect(invoice.TotalAmt).toBe(209);

    const updated = await call((cb) =>
      qbo.updateInvoice({ Id: invoice.Id, SyncToken: invoice.SyncToken, PrivateNote: 'sm8:job-1' }, cb),
    );
    expect(updated.err).toBeNull();
    expect(updated.data).toMatchObject({ PrivateNote: 'sm8:job-1', TotalAmt: 209, SyncToken: '1' });

    const stale = await call((cb) =>
      qbo.updateInvoice({ Id: invoice.Id, SyncToken: '0', PrivateNote: 'late' }, cb),
    );
    // node-quickbooks hands over the axios error; the QBO Fault is its response body.
    expect(stale.err.response.status).toBe(400);
    expect(stale.err.response.data.Fault.Error[0].code).toBe('5010');

    const sent = await call((cb) => qbo.sendInvoicePdf(invoice.Id, 'billing@example.com', cb));
    expect(sent.err).toBeNull();
    expect(sent.data).toMatchObject({
      EmailStatus: 'EmailSent',
      BillEmail: { Address: 'billing@example.com' },
    });
    invoice = sent.data;
  });

  it('records a payment against the invoice and voids it', async () => {
    const payment = await call((cb) =>
      qbo.createPayment(
        {
          CustomerRef: { value: customer.Id },
          TotalAmt: 100,
          Line: [{ Amount: 100, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
        },
        cb,
      ),
    );
    expect(payment.err).toBeNull();
    expect((await call((cb) => qbo.getInvoice(invoice.Id, cb))).data.Balance).toBe(109);
    const voided = await call((cb) =>
      qbo.voidPayment({ Id: payment.data.Id, SyncToken: payment.data.SyncToken }, cb),
    );
    expect(voided.err).toBeNull();
    expect(voided.data.TotalAmt).toBe(0);
    expect((await call((cb) => qbo.getInvoice(invoice.Id, cb))).data.Balance).toBe(209);
  });

  it('reads changes through changeDataCapture, then deletes the invoice (tombstone in CDC)', async () => {
    const since = new Date(Date.parse(sim.control.now()) - 60_000);
    const cdc = await call((cb) => qbo.changeDataCapture(['Invoice', 'Customer'], since, cb));
    expect(cdc.err).toBeNull();
    const [invoices, customers] = cdc.data.CDCResponse[0].QueryResponse;
    expect(invoices.Invoice.map((inv: any) => inv.Id)).toContain(invoice.Id);
    expect(customers.Customer[0].Id).toBe(customer.Id);

    const deleted = await call((cb) => qbo.deleteInvoice(invoice.Id, cb));
    expect(deleted.err).toBeNull();
    const after = await call((cb) => qbo.changeDataCapture('Invoice', since.toISOString(), cb));
    expect(
      after.data.CDCResponse[0].QueryResponse[0].Invoice.find((inv: any) => inv.Id === invoice.Id).status,
    ).toBe('Deleted');
  });

  it('reads CompanyInfo and Preferences, runs a batch and refreshes its access token', async () => {
    expect((await call((cb) => qbo.getCompanyInfo(sim.realmId, cb))).data.Country).toBe('AU');
    expect((await call((cb) => qbo.getPreferences(cb))).data.TaxPrefs.UsingSalesTax).toBe(true);
    const batch = await call((cb) =>
      qbo.batch(
        [
          { bId: '1', operation: 'create', Customer: { DisplayName: 'From Batch' } },
          { bId: '2', Query: 'select * from Customer' },
        ],
        cb,
      ),
    );
    expect(batch.data.BatchItemResponse[0].Customer.DisplayName).toBe('From Batch');
    const before = qbo.token;
    const refreshed = await call((cb) => qbo.refreshAccessToken(cb));
    expect(refreshed.err).toBeNull();
    expect(qbo.token).not.toBe(before);
    expect((await call((cb) => qbo.getPreferences(cb))).err).toBeNull();
    expect(sim.control.stats().tokenRefreshes[sim.realmId]).toBe(1);
  });
});
