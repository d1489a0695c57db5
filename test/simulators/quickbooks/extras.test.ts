import { AU_TAX_CODE_IDS as TAX, basics, faultCode, salesLine, startTestSim, type TestSim } from './helpers';

describe('QBO simulator: further validation and computed fields', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it('Item: 2040 for ":" in Name; Inventory needs asset account, quantity and start date', async () => {
    expect(faultCode((await t.api.post('/item', { Name: 'A:B', Type: 'NonInventory' })).data)).toBe('2040');
    const inventory = await t.api.post('/item', {
      Name: 'Stock',
      Type: 'Inventory',
      IncomeAccountRef: { value: '1' },
      ExpenseAccountRef: { value: '3' },
    });
    expect(inventory.data.Fault.Error[0]).toMatchObject({ code: '2020', element: 'AssetAccountRef' });
  });

  it('Customer: nesting deeper than 5 levels is 6180; Balance and BalanceWithJobs follow open invoices', async () => {
    let parentId = (await t.api.post('/customer', { DisplayName: 'Level 0' })).data.Customer.Id as string;
    const ids = [parentId];
    for (let level = 1; level <= 4; level++) {
      parentId = (
        await t.api.post('/customer', { DisplayName: `Level ${level}`, ParentRef: { value: parentId } })
      ).data.Customer.Id;
      ids.push(parentId);
    }
    expect(
      faultCode(
        (await t.api.post('/customer', { DisplayName: 'Level 5', ParentRef: { value: parentId } })).data,
      ),
    ).toBe('6180');
    const item = (await basics(t.api)).itemId;
    await t.api.post('/invoice', {
      CustomerRef: { value: ids[1] },
      Line: [salesLine(item, 1, 100, TAX.gst)],
    });
    const root = (await t.api.get(`/customer/${ids[0]}`)).data.Customer;
    expect(root).toMatchObject({ Balance: 0, BalanceWithJobs: 110 });
    expect((await t.api.get(`/customer/${ids[1]}`)).data.Customer).toMatchObject({
      Balance: 110,
      FullyQualifiedName: 'Level 0:Level 1',
    });
  });

  it('PaymentMethod deactivation is reported as Update (it has no Delete event)', async () => {
    const method = (await t.api.post('/paymentmethod', { Name: 'Bitcoin' })).data.PaymentMethod;
    await t.api.post('/paymentmethod', {
      Id: method.Id,
      SyncToken: method.SyncToken,
      sparse: true,
      Active: false,
    });
    const operations = t.sim.control
      .webhookEvents()
      .filter((event) => event.entity === 'PaymentMethod')
      .map((event) => event.operation);
    expect(operations).toEqual(['Create', 'Update']);
  });

  it('query accepts "ORDER BY" in two words and sorts by several fields', async () => {
    for (const name of ['B', 'A', 'C']) await t.api.post('/customer', { DisplayName: name });
    const data = (
      await t.api.get('/query', {
        params: { query: 'select * from Customer order by Active desc, DisplayName asc' },
      })
    ).data;
    expect(data.QueryResponse.Customer.map((c: { DisplayName: string }) => c.DisplayName)).toEqual([
      'A',
      'B',
      'C',
    ]);
  });

  it('batch can void an invoice', async () => {
    const { customerId, itemId } = await basics(t.api);
    const inv = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 10, TAX.gst)],
      })
    ).data.Invoice;
    const response = await t.api.post('/batch', {
      BatchItemRequest: [{ bId: 'v', operation: 'void', Invoice: { Id: inv.Id, SyncToken: inv.SyncToken } }],
    });
    expect(response.data.BatchItemResponse[0].Invoice).toMatchObject({ TotalAmt: 0, PrivateNote: 'Voided' });
  });
});
