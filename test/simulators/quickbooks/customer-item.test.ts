import { faultCode, faultDetail, startTestSim, type TestSim } from './helpers';

describe('QBO simulator: Customer', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it('creates with Id, SyncToken 0, MetaData with offset, and reads back', async () => {
    const created = await t.api.post('/customer', {
      DisplayName: 'Harbour View Cafe',
      PrimaryEmailAddr: { Address: 'a@b.com.au' },
    });
    expect(created.status).toBe(200);
    const customer = created.data.Customer;
    expect(customer).toMatchObject({
      SyncToken: '0',
      Active: true,
      domain: 'QBO',
      FullyQualifiedName: 'Harbour View Cafe',
      Level: 0,
    });
    expect(customer.MetaData.CreateTime).toMatch(/T\d{2}:\d{2}:\d{2}-07:00$/);
    const read = await t.api.get(`/customer/${customer.Id}`);
    expect(read.data.Customer.PrimaryEmailAddr.Address).toBe('a@b.com.au');
  });

  it('6240: DisplayName must be unique across Customer, Vendor and Employee, inactive ones included', async () => {
    await t.api.post('/vendor', { DisplayName: 'Coastal Electrical Wholesalers' });
    await t.api.post('/employee', { GivenName: 'Jordan', FamilyName: 'Reeves' });
    const inactive = (await t.api.post('/customer', { DisplayName: 'Old Harbour Tavern' })).data.Customer;
    await t.api.post('/customer', {
      Id: inactive.Id,
      SyncToken: inactive.SyncToken,
      sparse: true,
      Active: false,
    });
    for (const name of ['Coastal Electrical Wholesalers', 'jordan reeves', 'Old Harbour Tavern']) {
      const response = await t.api.post('/customer', { DisplayName: name });
      expect(response.status).toBe(400);
      expect(faultCode(response.data)).toBe('6240');
      expect(response.data.Fault.Error[0].Message).toBe('Duplicate Name Exists Error');
      expect(faultDetail(response.data)).toBe(
        'The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name.',
      );
    }
  });

  it('2040: a colon in DisplayName is refused; 6080 when no name at all', async () => {
    expect(faultCode((await t.api.post('/customer', { DisplayName: 'Parent:Child' })).data)).toBe('2040');
    expect(faultCode((await t.api.post('/customer', { CompanyName: '' })).data)).toBe('6080');
  });

  it('sub-customers: Job, ParentRef, BillWithParent, Level and FullyQualifiedName "Parent:Child"', async () => {
    const parent = (await t.api.post('/customer', { DisplayName: 'Ridgeway Property Management' })).data
      .Customer;
    const child = (
      await t.api.post('/customer', {
        DisplayName: '12 Ocean St',
        ParentRef: { value: parent.Id },
        BillWithParent: true,
      })
    ).data.Customer;
    expect(child).toMatchObject({
      Job: true,
      BillWithParent: true,
      Level: 1,
      FullyQualifiedName: 'Ridgeway Property Management:12 Ocean St',
    });
    expect(child.ParentRef).toEqual({ value: parent.Id, name: 'Ridgeway Property Management' });
    expect(faultCode((await t.api.post('/customer', { DisplayName: 'Orphan', Job: true })).data)).toBe(
      '2020',
    );
  });

  it('sparse update keeps other fields; full update clears omitted writable fields; stale SyncToken is 5010', async () => {
    const created = (
      await t.api.post('/customer', {
        DisplayName: 'Bondi Beach Bakery',
        CompanyName: 'BBB Pty Ltd',
        Notes: 'gate code 1234',
      })
    ).data.Customer;
    const sparse = (
      await t.api.post('/customer', { Id: created.Id, SyncToken: '0', sparse: true, Notes: 'new code' })
    ).data.Customer;
    expect(sparse).toMatchObject({ SyncToken: '1', CompanyName: 'BBB Pty Ltd', Notes: 'new code' });
    const full = (
      await t.api.post('/customer?operation=update', {
        Id: created.Id,
        SyncToken: '1',
        DisplayName: 'Bondi Beach Bakery',
      })
    ).data.Customer;
    expect(full.SyncToken).toBe('2');
    expect(full.CompanyName).toBeUndefined();
    expect(full.Notes).toBeUndefined();
    const stale = await t.api.post('/customer', {
      Id: created.Id,
      SyncToken: '1',
      sparse: true,
      Notes: 'late',
    });
    expect(stale.status).toBe(400);
    expect(stale.data.Fault.Error[0]).toMatchObject({ code: '5010', Message: 'Stale Object Error' });
    expect(faultDetail(stale.data)).toMatch(/working on this at the same time/);
  });

  it('name-list delete = Active:false; the record stays readable and is hidden from default queries', async () => {
    const created = (await t.api.post('/customer', { DisplayName: 'Manly Wharf Bar' })).data.Customer;
    const deleted = await t.api.post('/customer', {
      Id: created.Id,
      SyncToken: created.SyncToken,
      sparse: true,
      Active: false,
    });
    expect(deleted.data.Customer.Active).toBe(false);
    expect((await t.api.get(`/customer/${created.Id}`)).data.Customer.Active).toBe(false);
    const hard = await t.api.post('/customer?operation=delete', { Id: created.Id, SyncToken: '1' });
    expect(faultCode(hard.data)).toBe('500');
  });
});

describe('QBO simulator: Item', () => {
  let t: TestSim;
  beforeEach(async () => {
    t = await startTestSim();
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  it('creates a Service item with income account and sales tax code', async () => {
    const response = await t.api.post('/item', {
      Name: 'Switchboard Upgrade',
      Type: 'Service',
      Sku: 'SB-1',
      UnitPrice: 1450,
      Description: 'Upgrade',
      IncomeAccountRef: { value: '2' },
      SalesTaxCodeRef: { value: '4' },
    });
    expect(response.status).toBe(200);
    expect(response.data.Item).toMatchObject({
      Name: 'Switchboard Upgrade',
      Type: 'Service',
      Active: true,
      FullyQualifiedName: 'Switchboard Upgrade',
    });
    expect(response.data.Item.IncomeAccountRef).toEqual({ value: '2', name: 'Services' });
  });

  it('2020: IncomeAccountRef is required for Service items', async () => {
    const response = await t.api.post('/item', { Name: 'No Account', Type: 'Service' });
    expect(response.data.Fault.Error[0]).toMatchObject({ code: '2020', element: 'IncomeAccountRef' });
  });

  it('2020: purchase information (PurchaseCost) requires ExpenseAccountRef', async () => {
    const missing = await t.api.post('/item', {
      Name: 'Cable',
      Type: 'NonInventory',
      IncomeAccountRef: { value: '1' },
      PurchaseCost: 1.15,
    });
    expect(missing.data.Fault.Error[0]).toMatchObject({ code: '2020', element: 'ExpenseAccountRef' });
    const ok = await t.api.post('/item', {
      Name: 'Cable',
      Type: 'NonInventory',
      IncomeAccountRef: { value: '1' },
      PurchaseCost: 1.15,
      PurchaseDesc: 'TPS 2.5mm',
      ExpenseAccountRef: { value: '3' },
    });
    expect(ok.data.Item).toMatchObject({ PurchaseCost: 1.15, ExpenseAccountRef: { value: '3' } });
  });

  it('6240: Name is unique among items (inactive included, case-insensitive)', async () => {
    const first = (
      await t.api.post('/item', { Name: 'Call-out Fee', Type: 'Service', IncomeAccountRef: { value: '2' } })
    ).data.Item;
    await t.api.post('/item', { Id: first.Id, SyncToken: first.SyncToken, sparse: true, Active: false });
    const duplicate = await t.api.post('/item', {
      Name: 'call-out fee',
      Type: 'Service',
      IncomeAccountRef: { value: '2' },
    });
    expect(faultCode(duplicate.data)).toBe('6240');
  });

  it('2170: an unknown item Type is refused', async () => {
    expect(faultCode((await t.api.post('/item', { Name: 'Odd', Type: 'Widget' })).data)).toBe('2170');
  });

  it('TaxCode and TaxRate are read/query only: POST answers the unsupported-operation fault', async () => {
    const response = await t.api.post('/taxcode', { Name: 'New GST' });
    expect(response.status).toBe(400);
    expect(faultCode(response.data)).toBe('500');
    const code = (await t.api.get('/taxcode/4')).data.TaxCode;
    expect(code.Name).toBe('GST');
    expect(code.SalesTaxRateList.TaxRateDetail[0].TaxRateRef.value).toBe('1');
    expect((await t.api.get('/taxrate/1')).data.TaxRate).toMatchObject({
      Name: 'GST (sales)',
      RateValue: 10,
    });
  });
});
