import { AU_TAX_CODE_IDS as TAX, basics, faultCode, salesLine, startTestSim, type TestSim } from './helpers';

describe('QBO simulator: CDC', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it('returns full payloads changed since a time, and tombstones for hard-deleted transactions', async () => {
    const { customerId, itemId } = await basics(t.api);
    const since = new Date(Date.parse(t.sim.control.now()) - 1000).toISOString();
    const kept = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 10, TAX.gst)],
      })
    ).data.Invoice;
    const gone = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 20, TAX.gst)],
      })
    ).data.Invoice;
    t.sim.control.advanceClock(5000);
    await t.api.post(
      '/invoice',
      { Id: gone.Id, SyncToken: gone.SyncToken },
      { params: { operation: 'delete' } },
    );
    const response = await t.api.get('/cdc', {
      params: { entities: 'Invoice,Customer', changedSince: since },
    });
    expect(response.status).toBe(200);
    const [invoices, customers] = response.data.CDCResponse[0].QueryResponse;
    expect(invoices.Invoice.find((inv: { Id: string }) => inv.Id === kept.Id).TotalAmt).toBe(11);
    expect(invoices.Invoice.find((inv: { Id: string }) => inv.Id === gone.Id)).toEqual({
      Id: gone.Id,
      status: 'Deleted',
      domain: 'QBO',
      MetaData: { LastUpdatedTime: expect.stringMatching(/-07:00$/) },
    });
    expect(customers.Customer[0].Id).toBe(customerId);
    const later = await t.api.get('/cdc', {
      params: {
        entities: 'Invoice',
        changedSince: new Date(Date.parse(t.sim.control.now()) + 1000).toISOString(),
      },
    });
    expect(later.data.CDCResponse[0].QueryResponse).toEqual([{}]);
  });

  it('refuses changedSince older than 30 days, and TaxCode/TaxRate', async () => {
    const old = new Date(Date.parse(t.sim.control.now()) - 31 * 24 * 3600 * 1000).toISOString();
    expect((await t.api.get('/cdc', { params: { entities: 'Invoice', changedSince: old } })).status).toBe(
      400,
    );
    const tax = await t.api.get('/cdc', {
      params: { entities: 'TaxCode', changedSince: t.sim.control.now() },
    });
    expect(tax.status).toBe(400);
  });

  it('returns at most 1000 objects across entities, the oldest changes first', async () => {
    const since = t.sim.control.now();
    for (let i = 0; i < 1005; i++) {
      t.sim.control.upsertRecord('Customer', { DisplayName: `Bulk ${i}` });
      if (i % 100 === 0) t.sim.control.advanceClock(10);
    }
    const response = await t.api.get('/cdc', { params: { entities: 'Customer', changedSince: since } });
    const customers = response.data.CDCResponse[0].QueryResponse[0].Customer;
    expect(customers).toHaveLength(1000);
    expect(customers[0].DisplayName).toBe('Bulk 0');
  });
});

describe('QBO simulator: batch', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it('runs items serially, echoes bId, answers queries and per-item Faults', async () => {
    const response = await t.api.post('/batch', {
      BatchItemRequest: [
        { bId: 'b1', operation: 'create', Customer: { DisplayName: 'Batch One' } },
        { bId: 'b2', operation: 'create', Customer: { DisplayName: 'Batch One' } },
        { bId: 'b3', Query: "select * from Customer where DisplayName = 'Batch One'" },
        { bId: 'b4', operation: 'update', Customer: { Id: '999', SyncToken: '0', DisplayName: 'x' } },
      ],
    });
    expect(response.status).toBe(200);
    const [one, two, three, four] = response.data.BatchItemResponse;
    expect(one).toMatchObject({ bId: 'b1', Customer: { DisplayName: 'Batch One' } });
    expect(two.bId).toBe('b2');
    expect(two.Fault.Error[0].code).toBe('6240');
    expect(three.QueryResponse.Customer).toHaveLength(1);
    expect(four.Fault.Error[0].code).toBe('610');
  });

  it('refuses more than 30 items with 1040', async () => {
    const items = Array.from({ length: 31 }, (_, i) => ({ bId: String(i), Query: 'select * from Customer' }));
    const response = await t.api.post('/batch', { BatchItemRequest: items });
    expect(response.status).toBe(400);
    expect(faultCode(response.data)).toBe('1040');
  });
});
