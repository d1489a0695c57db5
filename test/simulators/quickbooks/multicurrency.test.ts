import {
  DEMO_EXCHANGE_RATES,
  DEMO_FOREIGN_CUSTOMERS,
  startQuickBooksSimulator,
} from '../../../simulators/quickbooks/index';
import {
  AU_TAX_CODE_IDS as TAX,
  NO_THROTTLE,
  basics,
  faultCode,
  faultDetail,
  rawClient,
  salesLine,
  startTestSim,
  type TestSim,
} from './helpers';

describe('QBO simulator: multicurrency', () => {
  let t: TestSim;
  let customerId: string;
  let itemId: string;

  beforeEach(async () => {
    t = await startTestSim();
    ({ customerId, itemId } = await basics(t.api));
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  const invoice = (customer: string, extra: Record<string, unknown> = {}) => ({
    CustomerRef: { value: customer },
    Line: [salesLine(itemId, 1, 100, TAX.gstFree)],
    ...extra,
  });
  const enable = async () => {
    const response = await rawClient(t.sim).post('/__sim/multicurrency', {});
    expect(response.status).toBe(200);
    return response.data;
  };
  const usdCustomer = async (name = 'Pacific Client') =>
    (await t.api.post('/customer', { DisplayName: name, CurrencyRef: { value: 'USD' } })).data.Customer;

  it('by default the company is single-currency AUD: another currency is refused and no ExchangeRate appears', async () => {
    const prefs = (await t.api.get('/preferences')).data.Preferences;
    expect(prefs.CurrencyPrefs).toEqual({ MultiCurrencyEnabled: false, HomeCurrency: { value: 'AUD' } });
    const customer = await t.api.post('/customer', { DisplayName: 'US', CurrencyRef: { value: 'USD' } });
    expect(faultCode(customer.data)).toBe('6000');
    expect(faultDetail(customer.data)).toContain('Multicurrency is not turned on in this company');
    const inv = await t.api.post('/invoice', invoice(customerId, { CurrencyRef: { value: 'USD' } }));
    expect(faultCode(inv.data)).toBe('6000');
    const ok = (await t.api.post('/invoice', invoice(customerId))).data.Invoice;
    expect(ok.CurrencyRef).toEqual({ value: 'AUD', name: 'Australian Dollar' });
    expect(ok.ExchangeRate).toBeUndefined();
    expect(ok.HomeTotalAmt).toBeUndefined();
  });

  it('/__sim/multicurrency turns it on for good (Preferences change) with the demo exchange rates', async () => {
    const prefs = await enable();
    expect(prefs.CurrencyPrefs).toEqual({ MultiCurrencyEnabled: true, HomeCurrency: { value: 'AUD' } });
    expect(prefs.SyncToken).toBe('1');
    expect((await t.api.get('/preferences')).data.Preferences.CurrencyPrefs.MultiCurrencyEnabled).toBe(true);
  });

  it('a foreign customer’s invoice is in its currency, at the company rate or the one sent; HomeTotalAmt and HomeBalance in AUD', async () => {
    await enable();
    const customer = await usdCustomer();
    expect(customer.CurrencyRef).toEqual({ value: 'USD', name: 'United States Dollar' });
    const inv = (await t.api.post('/invoice', invoice(customer.Id))).data.Invoice;
    expect(inv).toMatchObject({
      CurrencyRef: { value: 'USD' },
      ExchangeRate: DEMO_EXCHANGE_RATES.USD,
      TotalAmt: 100,
      HomeTotalAmt: 152,
      HomeBalance: 152,
    });
    const sentRate = (await t.api.post('/invoice', invoice(customer.Id, { ExchangeRate: 1.6123 }))).data
      .Invoice;
    expect(sentRate).toMatchObject({ ExchangeRate: 1.6123, HomeTotalAmt: 161.23 });
    // A payment in USD lowers the balance; HomeBalance follows.
    await t.api.post('/payment', {
      CustomerRef: { value: customer.Id },
      TotalAmt: 40,
      Line: [{ Amount: 40, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
    });
    expect((await t.api.get(`/invoice/${inv.Id}`)).data.Invoice).toMatchObject({
      Balance: 60,
      HomeBalance: 91.2,
    });
    // An AUD customer's transactions carry ExchangeRate 1.
    const home = (await t.api.post('/invoice', invoice(customerId))).data.Invoice;
    expect(home).toMatchObject({ ExchangeRate: 1, HomeTotalAmt: home.TotalAmt });
  });

  it('a transaction whose currency is not its customer’s is refused (6000), nothing is saved', async () => {
    await enable();
    const customer = await usdCustomer();
    const inv = await t.api.post('/invoice', invoice(customer.Id, { CurrencyRef: { value: 'AUD' } }));
    expect(faultCode(inv.data)).toBe('6000');
    expect(faultDetail(inv.data)).toBe(
      'Business Validation Error: The currency of this Invoice (AUD) is not the currency of customer Pacific Client (USD).',
    );
    const cm = await t.api.post('/creditmemo', invoice(customerId, { CurrencyRef: { value: 'NZD' } }));
    expect(faultCode(cm.data)).toBe('6000');
    const payment = await t.api.post('/payment', {
      CustomerRef: { value: customer.Id },
      CurrencyRef: { value: 'AUD' },
      TotalAmt: 5,
    });
    expect(faultCode(payment.data)).toBe('6000');
    expect(t.sim.store.list('Invoice')).toHaveLength(0);
    expect(t.sim.store.list('Payment')).toHaveLength(0);
  });

  it('a customer’s currency is fixed once it has transactions; jobs share the parent’s; unknown codes are 2500', async () => {
    await enable();
    const customer = await usdCustomer();
    const changed = await t.api.post('/customer', {
      Id: customer.Id,
      SyncToken: customer.SyncToken,
      sparse: true,
      CurrencyRef: { value: 'NZD' },
    });
    expect(changed.data.Customer.CurrencyRef.value).toBe('NZD');
    await t.api.post('/invoice', invoice(customer.Id));
    const locked = await t.api.post('/customer', {
      Id: customer.Id,
      SyncToken: changed.data.Customer.SyncToken,
      sparse: true,
      CurrencyRef: { value: 'USD' },
    });
    expect(faultCode(locked.data)).toBe('6000');
    expect(faultDetail(locked.data)).toContain('cannot be changed from NZD to USD');

    const job = (await t.api.post('/customer', { DisplayName: 'Job', ParentRef: { value: customer.Id } }))
      .data.Customer;
    expect(job.CurrencyRef.value).toBe('NZD');
    const wrongJob = await t.api.post('/customer', {
      DisplayName: 'Job 2',
      ParentRef: { value: customer.Id },
      CurrencyRef: { value: 'AUD' },
    });
    expect(faultCode(wrongJob.data)).toBe('6000');
    const unknown = await t.api.post('/customer', { DisplayName: 'X', CurrencyRef: { value: 'XYZ' } });
    expect(faultCode(unknown.data)).toBe('2500');
  });

  it('credit memos and payments in a foreign currency apply to each other', async () => {
    await enable();
    const customer = await usdCustomer();
    const inv = (await t.api.post('/invoice', invoice(customer.Id))).data.Invoice;
    const cm = (await t.api.post('/creditmemo', invoice(customer.Id))).data.CreditMemo;
    expect(cm).toMatchObject({ CurrencyRef: { value: 'USD' }, HomeTotalAmt: 152 });
    const payment = await t.api.post('/payment', {
      CustomerRef: { value: customer.Id },
      TotalAmt: 0,
      Line: [
        { Amount: 100, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] },
        { Amount: 100, LinkedTxn: [{ TxnId: cm.Id, TxnType: 'CreditMemo' }] },
      ],
    });
    expect(payment.status).toBe(200);
    expect(payment.data.Payment).toMatchObject({
      CurrencyRef: { value: 'USD' },
      ExchangeRate: 1.52,
      HomeTotalAmt: 0,
    });
  });

  it('switch currencyRefRequired: a transaction without CurrencyRef is 2020 in a multicurrency company', async () => {
    await enable();
    t.sim.control.configure({ currencyRefRequired: true });
    expect(faultCode((await t.api.post('/invoice', invoice(customerId))).data)).toBe('2020');
    const explicit = await t.api.post('/invoice', invoice(customerId, { CurrencyRef: { value: 'AUD' } }));
    expect(explicit.status).toBe(200);
  });

  it('/__sim/seed {multiCurrency:true} adds the foreign customers and an NZD invoice; the plain demo stays AUD only', async () => {
    await rawClient(t.sim).post('/__sim/reset', {});
    await rawClient(t.sim).post('/__sim/seed', { world: 'demo' });
    const plain = t.sim.store.list('Customer');
    expect(plain.every((customer) => (customer.CurrencyRef as { value: string }).value === 'AUD')).toBe(true);
    expect(t.sim.store.list('Invoice').every((inv) => inv.ExchangeRate === undefined)).toBe(true);

    await rawClient(t.sim).post('/__sim/reset', {});
    await rawClient(t.sim).post('/__sim/seed', { world: 'demo', multiCurrency: true });
    const customers = t.sim.store.list('Customer');
    for (const [name, currency] of DEMO_FOREIGN_CUSTOMERS) {
      const found = customers.find((customer) => customer.DisplayName === name);
      expect(found?.CurrencyRef).toMatchObject({ value: currency });
    }
    const nzd = t.sim.store.list('Invoice').find((inv) => inv.DocNumber === 'QB-2001');
    expect(nzd).toMatchObject({
      CurrencyRef: { value: 'NZD' },
      ExchangeRate: 0.915,
      TotalAmt: 960,
      HomeTotalAmt: 878.4,
    });
  });

  it('the start option multiCurrency turns it on (with seedDemo: foreign customers too)', async () => {
    const sim = await startQuickBooksSimulator({
      multiCurrency: true,
      seedDemo: true,
      throttle: NO_THROTTLE,
    });
    try {
      expect(sim.store.preferences()?.CurrencyPrefs).toMatchObject({ MultiCurrencyEnabled: true });
      expect(
        sim.store
          .list('Customer')
          .some((customer) => customer.DisplayName === DEMO_FOREIGN_CUSTOMERS[0]?.[0]),
      ).toBe(true);
    } finally {
      await sim.stop();
    }
  });
});
