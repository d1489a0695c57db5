import axios from 'axios';
import {
  ACCOUNT_IDS,
  DEMO_COLLIDING_NAMES,
  DEMO_COMPANY_NAME,
  DEMO_SHARED_CUSTOMER_NAMES,
  type RunningQuickBooksSimulator,
  startQuickBooksSimulator,
} from '../../../simulators/quickbooks/index';
import { NO_THROTTLE, apiClient, faultCode, rawClient, startTestSim, type TestSim } from './helpers';

describe('QBO simulator: demo world', () => {
  let sim: RunningQuickBooksSimulator;
  beforeAll(async () => {
    sim = await startQuickBooksSimulator({ seedDemo: true, throttle: NO_THROTTLE });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('is an AU company with GST codes, payment methods, ~50 customers and ~80 items', () => {
    expect(sim.store.companyInfo()?.CompanyName).toBe(DEMO_COMPANY_NAME);
    const codes = sim.store.list('TaxCode').map((code) => code.Name);
    expect(codes).toEqual(expect.arrayContaining(['GST', 'GST Free', 'Out Of Scope']));
    expect(sim.store.list('PaymentMethod').map((method) => method.Name)).toEqual(
      expect.arrayContaining(['Cash', 'Cheque', 'Credit Card', 'EFTPOS', 'Direct Deposit']),
    );
    const customers = sim.store.list('Customer');
    expect(customers.length).toBeGreaterThanOrEqual(45);
    expect(sim.store.list('Item').length).toBeGreaterThanOrEqual(75);
    const names = customers.map((customer) => customer.DisplayName);
    for (const shared of DEMO_SHARED_CUSTOMER_NAMES) expect(names).toContain(shared);
  });

  it('has sub-customers billed with and without the parent, inactive customers and items, purchased and plain items', () => {
    const customers = sim.store.list('Customer');
    expect(customers.some((c) => c.Job === true && c.BillWithParent === true)).toBe(true);
    expect(customers.some((c) => c.Job === true && c.BillWithParent === false)).toBe(true);
    expect(customers.some((c) => c.Active === false)).toBe(true);
    const items = sim.store.list('Item');
    expect(items.some((i) => i.Active === false)).toBe(true);
    expect(items.some((i) => i.ExpenseAccountRef !== undefined && i.PurchaseCost !== undefined)).toBe(true);
    expect(items.some((i) => i.ExpenseAccountRef === undefined)).toBe(true);
    expect(new Set(items.map((i) => i.Type))).toEqual(new Set(['Service', 'NonInventory']));
  });

  it('has a vendor and an employee whose names collide with would-be customers (6240), and QBO-born invoices/payments', async () => {
    const api = apiClient(sim, sim.control.issueTokens().access_token);
    for (const name of DEMO_COLLIDING_NAMES) {
      expect(faultCode((await api.post('/customer', { DisplayName: name })).data)).toBe('6240');
    }
    const invoices = sim.store.list('Invoice');
    expect(invoices.length).toBeGreaterThanOrEqual(3);
    expect(invoices.some((inv) => inv.Balance === 0)).toBe(true);
    expect(sim.store.list('Payment').length).toBeGreaterThanOrEqual(2);
  });

  it('the TaxInclusive demo invoice (QB-1002, 2 × 95.00 inc. GST) totals 190.00 under either reading of Amount', async () => {
    const inclusive = sim.store.list('Invoice').find((inv) => inv.DocNumber === 'QB-1002');
    expect(inclusive).toMatchObject({ GlobalTaxCalculation: 'TaxInclusive', TotalAmt: 190 });
    expect(inclusive?.Line).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Amount: 172.73,
          SalesItemLineDetail: expect.objectContaining({ TaxInclusiveAmt: 190 }),
        }),
      ]),
    );
    const gross = await startQuickBooksSimulator({
      seedDemo: true,
      throttle: NO_THROTTLE,
      taxInclusiveAmountIsGross: true,
    });
    try {
      const old = gross.store.list('Invoice').find((inv) => inv.DocNumber === 'QB-1002');
      expect(old).toMatchObject({ TotalAmt: 190, TxnTaxDetail: { TotalTax: 17.27 } });
    } finally {
      await gross.stop();
    }
  });
});

describe('QBO simulator: control API', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it('records: insert and read bypassing auth (HTTP), as a UI edit that needs no SyncToken', async () => {
    const http = rawClient(t.sim);
    const created = await http.post('/__sim/records/Customer', { DisplayName: 'UI Made' });
    expect(created.status).toBe(200);
    const edited = await http.post('/__sim/records/Customer', { Id: created.data.Id, CompanyName: 'UI Co' });
    expect(edited.data).toMatchObject({ SyncToken: '1', CompanyName: 'UI Co', DisplayName: 'UI Made' });
    const list = await http.get('/__sim/records/Customer');
    expect(list.data).toHaveLength(1);
    const invalid = await http.post('/__sim/records/Customer', { DisplayName: 'Bad:Name' });
    expect(faultCode(invalid.data)).toBe('2040');
  });

  it('clock: advance and set over HTTP', async () => {
    const http = rawClient(t.sim);
    const set = await http.post('/__sim/clock', { set: '2027-01-01T00:00:00.000Z' });
    expect(Date.parse(set.data.now)).toBeGreaterThanOrEqual(Date.parse('2027-01-01T00:00:00.000Z'));
    const advanced = await http.post('/__sim/clock', { advanceMs: 86_400_000 });
    expect(Date.parse(advanced.data.now) - Date.parse(set.data.now)).toBeGreaterThanOrEqual(86_400_000);
  });

  it('fault injection: status with rate/count, latency, and DELETE clears', async () => {
    const http = rawClient(t.sim);
    await http.post('/__sim/faults', { method: 'GET', path: '/preferences', status: 503, count: 2 });
    expect((await t.api.get('/preferences')).status).toBe(503);
    expect((await t.api.get('/preferences')).data.Fault.Error[0].code).toBe('10000');
    expect((await t.api.get('/preferences')).status).toBe(200);
    await http.post('/__sim/faults', { path: '/preferences', status: 500, rate: 0 });
    expect((await t.api.get('/preferences')).status).toBe(200);
    await http.post('/__sim/faults', { path: '/companyinfo', latencyMs: 150, body: { x: 1 } });
    const started = Date.now();
    await t.api.get(`/companyinfo/${t.sim.realmId}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await http.delete('/__sim/faults');
    expect((await http.get('/__sim/faults')).data).toEqual([]);
  });

  it('fault injection: a status fault answers instead of the request, which changes nothing, and is logged with its status', async () => {
    t.sim.control.addFault({ method: 'POST', path: '/customer', status: 500, count: 1 });
    const before = t.sim.store.list('Customer', t.sim.realmId).length;
    const refused = await t.api.post('/customer', { DisplayName: 'Faulted Fiona' });
    expect(refused.status).toBe(500);
    expect(t.sim.store.list('Customer', t.sim.realmId)).toHaveLength(before);
    expect(t.sim.control.calls().at(-1)).toMatchObject({ method: 'POST', status: 500 });
    const created = await t.api.post('/customer', { DisplayName: 'Faulted Fiona' });
    expect(created.status).toBe(200);
    expect(t.sim.store.list('Customer', t.sim.realmId)).toHaveLength(before + 1);
  });

  it('fault injection: a timeout never answers (the client gives up)', async () => {
    t.sim.control.addFault({ path: '/preferences', timeout: true, count: 1 });
    await expect(t.api.get('/preferences', { timeout: 200 })).rejects.toThrow(/timeout/);
    expect((await t.api.get('/preferences')).status).toBe(200);
  });

  it('fault injection: a timeout with hangMs drops the connection after that long', async () => {
    t.sim.control.addFault({ path: '/preferences', timeout: true, hangMs: 50, count: 1 });
    await expect(t.api.get('/preferences', { timeout: 5000 })).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await t.api.get('/preferences')).status).toBe(200);
  });

  it('taxcodes control: add, change and inactivate codes (visible to polling queries)', async () => {
    const http = rawClient(t.sim);
    const added = (await http.post('/__sim/taxcodes', { Name: 'GST 12%', RateValue: 12 })).data;
    const rateId = added.SalesTaxRateList.TaxRateDetail[0].TaxRateRef.value;
    expect((await t.api.get(`/taxrate/${rateId}`)).data.TaxRate.RateValue).toBe(12);
    await http.post('/__sim/taxcodes', { Id: added.Id, Name: 'GST 12 percent' });
    expect((await t.api.get(`/taxcode/${added.Id}`)).data.TaxCode).toMatchObject({
      Name: 'GST 12 percent',
      SyncToken: '1',
    });
    await http.post('/__sim/taxcodes', { Id: added.Id, Active: false });
    const active = await t.api.get('/query', { params: { query: 'select * from TaxCode' } });
    expect(active.data.QueryResponse.TaxCode.map((code: { Id: string }) => code.Id)).not.toContain(added.Id);
    const all = await t.api.get('/query', {
      params: { query: 'select * from TaxCode where Active in (true, false)' },
    });
    expect(all.data.QueryResponse.TaxCode.map((code: { Id: string }) => code.Id)).toContain(added.Id);
  });

  it('void and delete over HTTP, as the bookkeeper does in the UI (webhooks raised, a paid invoice refused)', async () => {
    const http = rawClient(t.sim);
    const customer = t.sim.control.upsertRecord('Customer', { DisplayName: 'Voided Vera' });
    const item = t.sim.control.upsertRecord('Item', {
      Name: 'Void test labour',
      Type: 'Service',
      IncomeAccountRef: { value: ACCOUNT_IDS.services },
    });
    const line = {
      Amount: 10,
      DetailType: 'SalesItemLineDetail',
      SalesItemLineDetail: { ItemRef: { value: item.Id }, TaxCodeRef: { value: '4' } },
    };
    const invoice = t.sim.control.upsertRecord('Invoice', {
      CustomerRef: { value: customer.Id },
      Line: [line],
    });
    const voided = await http.post('/__sim/transactions/void', { entity: 'Invoice', id: invoice.Id });
    expect(voided.status).toBe(200);
    expect(t.sim.control.getRecord('Invoice', String(invoice.Id))).toMatchObject({ TotalAmt: 0 });
    expect(t.sim.control.webhookEvents().some((e) => e.operation === 'Void' && e.id === invoice.Id)).toBe(
      true,
    );
    const paid = t.sim.control.upsertRecord('Invoice', { CustomerRef: { value: customer.Id }, Line: [line] });
    const payment = t.sim.control.upsertRecord('Payment', {
      CustomerRef: { value: customer.Id },
      TotalAmt: 5,
      Line: [{ Amount: 5, LinkedTxn: [{ TxnId: paid.Id, TxnType: 'Invoice' }] }],
    });
    expect((await http.post('/__sim/transactions/void', { entity: 'Invoice', id: paid.Id })).status).toBe(
      400,
    );
    expect(
      (await http.post('/__sim/transactions/delete', { entity: 'Payment', id: payment.Id })).status,
    ).toBe(200);
    expect(t.sim.control.getRecord('Payment', String(payment.Id))).toBeUndefined();
  });

  it('merge over HTTP (items): lines move to the survivor and the merged item disappears', async () => {
    const http = rawClient(t.sim);
    const a = (await t.api.post('/item', { Name: 'A', Type: 'Service', IncomeAccountRef: { value: '2' } }))
      .data.Item;
    const b = (await t.api.post('/item', { Name: 'B', Type: 'Service', IncomeAccountRef: { value: '2' } }))
      .data.Item;
    const c = (await t.api.post('/customer', { DisplayName: 'C' })).data.Customer;
    const inv = (
      await t.api.post('/invoice', {
        CustomerRef: { value: c.Id },
        Line: [
          {
            DetailType: 'SalesItemLineDetail',
            Amount: 5,
            SalesItemLineDetail: { ItemRef: { value: a.Id }, TaxCodeRef: { value: '4' } },
          },
        ],
      })
    ).data.Invoice;
    expect((await http.post('/__sim/merge', { entity: 'Item', fromId: a.Id, toId: b.Id })).status).toBe(200);
    expect(
      (await t.api.get(`/invoice/${inv.Id}`)).data.Invoice.Line[0].SalesItemLineDetail.ItemRef.value,
    ).toBe(b.Id);
    expect(faultCode((await t.api.get(`/item/${a.Id}`)).data)).toBe('610');
  });

  it('revoking a realm over HTTP kills its tokens; calls and stats count endpoints, 429s and metered reads', async () => {
    const http = rawClient(t.sim);
    await t.api.get('/preferences');
    await t.api.get('/query', { params: { query: 'select * from Customer' } });
    await t.api.post('/customer', { DisplayName: 'Writer' });
    t.sim.control.forceThrottle(1);
    await t.api.get('/preferences');
    const stats = (await http.get('/__sim/stats')).data;
    expect(stats.perEndpoint['GET /v3/company/:realmId/preferences']).toBe(2);
    expect(stats.perEndpoint['POST /v3/company/:realmId/customer']).toBe(1);
    expect(stats.throttled).toBe(1);
    expect(stats.meteredReads[t.sim.realmId]).toBe(2);
    const calls = (await http.get('/__sim/calls')).data;
    expect(calls).toHaveLength(4);
    expect(calls[0]).toMatchObject({ method: 'GET', status: 200, realmId: t.sim.realmId });
    await http.post(`/__sim/realms/${t.sim.realmId}/revoke-tokens`);
    expect((await t.api.get('/preferences')).status).toBe(401);
  });

  it('snapshot get/load restores records and tokens; reset empties the world', async () => {
    const http = rawClient(t.sim);
    await t.api.post('/customer', { DisplayName: 'Snap' });
    const snapshot = (await http.get('/__sim/snapshot')).data;
    await http.post('/__sim/reset', {});
    expect(t.sim.store.list('Customer')).toHaveLength(0);
    expect((await t.api.get('/preferences')).status).toBe(401);
    await http.post('/__sim/snapshot', snapshot);
    expect(t.sim.store.list('Customer')).toHaveLength(1);
    expect((await t.api.get('/preferences')).status).toBe(200);
    const next = (await t.api.post('/customer', { DisplayName: 'After Restore' })).data.Customer;
    expect(next.Id).toBe('2');
  });

  it('creates extra realms over HTTP; a US company refuses line tax codes other than TAX/NON (6100)', async () => {
    const http = rawClient(t.sim);
    const realmId = (await http.post('/__sim/realms', { country: 'US' })).data.realmId as string;
    const tokens = (await http.post('/__sim/tokens', { realmId })).data;
    const api = apiClient(t.sim, tokens.access_token, realmId);
    const customer = (await api.post('/customer', { DisplayName: 'US Co' })).data.Customer;
    const line = (code: string) => ({
      DetailType: 'SalesItemLineDetail',
      Amount: 100,
      SalesItemLineDetail: { TaxCodeRef: { value: code } },
    });
    expect(
      faultCode(
        (await api.post('/invoice', { CustomerRef: { value: customer.Id }, Line: [line('4')] })).data,
      ),
    ).toBe('6100');
    const ok = await api.post('/invoice', {
      CustomerRef: { value: customer.Id },
      Line: [line('TAX')],
      TxnTaxDetail: { TxnTaxCodeRef: { value: '2' } },
    });
    expect(ok.data.Invoice).toMatchObject({ TotalAmt: 108, DocNumber: '1001' });
    expect(ok.data.Invoice.GlobalTaxCalculation).toBeUndefined();
  });

  it('the control API answers 400 with a message for bad input', async () => {
    const response = await axios.post(
      `${t.sim.url}/__sim/records/Widget`,
      {},
      { validateStatus: () => true },
    );
    expect(response.status).toBe(400);
    expect(response.data.error).toMatch(/unknown entity Widget/);
  });
});
