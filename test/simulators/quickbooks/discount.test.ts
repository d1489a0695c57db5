import {
  AU_TAX_CODE_IDS as TAX,
  apiClient,
  basics,
  faultCode,
  faultDetail,
  salesLine,
  startTestSim,
  type TestSim,
} from './helpers';

describe('QBO simulator: DiscountLineDetail and negative lines', () => {
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

  const post = (
    lines: Array<Record<string, unknown>>,
    extra: Record<string, unknown> = {},
    entity = 'invoice',
  ) => t.api.post(`/${entity}`, { CustomerRef: { value: customerId }, Line: lines, ...extra });
  const percent = (value: number, extra: Record<string, unknown> = {}) => ({
    DetailType: 'DiscountLineDetail',
    Amount: 0,
    DiscountLineDetail: { PercentBased: true, DiscountPercent: value, ...extra },
  });
  const amount = (value: number) => ({
    DetailType: 'DiscountLineDetail',
    Amount: value,
    DiscountLineDetail: { PercentBased: false },
  });

  it('a percentage discount comes off the subtotal before GST, spread over the lines pro rata', async () => {
    const response = await post([
      salesLine(itemId, 1, 100, TAX.gst),
      salesLine(itemId, 1, 50, TAX.gstFree),
      percent(10),
    ]);
    expect(response.status).toBe(200);
    const inv = response.data.Invoice;
    // 150 − 15 = 135; GST on 100 − 10 = 90 → 9.00
    expect(inv.TotalAmt).toBe(144);
    expect(inv.TxnTaxDetail.TotalTax).toBe(9);
    expect(
      inv.TxnTaxDetail.TaxLine.map(
        (line: { TaxLineDetail: { NetAmountTaxable: number } }) => line.TaxLineDetail.NetAmountTaxable,
      ),
    ).toEqual([90, 45]);
    // As in Intuit's samples, the subtotal line sits in front of the discount it applies to.
    expect(inv.Line[2]).toEqual({ Amount: 150, DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} });
    expect(inv.Line[3]).toMatchObject({
      Amount: 15,
      DetailType: 'DiscountLineDetail',
      DiscountLineDetail: {
        PercentBased: true,
        DiscountPercent: 10,
        DiscountAccountRef: { value: '12', name: 'Discounts given' },
      },
    });
    expect(inv.Balance).toBe(144);
  });

  it('an amount discount; the pro-rata split keeps every cent (largest remainder)', async () => {
    const one = (await post([salesLine(itemId, 1, 100, TAX.gst), amount(20)])).data.Invoice;
    expect(one).toMatchObject({ TotalAmt: 88, TxnTaxDetail: { TotalTax: 8 } });
    const three = (
      await post([
        salesLine(itemId, 1, 33.33, TAX.gst),
        salesLine(itemId, 1, 33.33, TAX.gst),
        salesLine(itemId, 1, 33.33, TAX.gst),
        amount(10),
      ])
    ).data.Invoice;
    // Shares 3.34 + 3.33 + 3.33; taxable 29.99, 30.00, 30.00 → 3.00 each.
    expect(three.TxnTaxDetail.TaxLine[0].TaxLineDetail.NetAmountTaxable).toBe(89.99);
    expect(three.TxnTaxDetail.TotalTax).toBe(9);
    expect(three.TotalAmt).toBe(98.99);
  });

  it('refuses a discount with neither amount nor percent (6090), above the subtotal, above 100 %, twice, or on a missing account', async () => {
    const missing = await post([
      salesLine(itemId, 1, 100, TAX.gst),
      { DetailType: 'DiscountLineDetail', DiscountLineDetail: {} },
    ]);
    expect(faultCode(missing.data)).toBe('6090');
    expect(faultDetail(missing.data)).toBe('Discount amount or percent should be provided.');
    const tooBig = await post([salesLine(itemId, 1, 100, TAX.gst), amount(100.01)]);
    expect(faultCode(tooBig.data)).toBe('6000');
    expect(faultDetail(tooBig.data)).toBe(
      "Business Validation Error: The discount amount can't be greater than the subtotal.",
    );
    expect(faultCode((await post([salesLine(itemId, 1, 100, TAX.gst), percent(101)])).data)).toBe('6000');
    expect(faultCode((await post([salesLine(itemId, 1, 100, TAX.gst), amount(1), amount(2)])).data)).toBe(
      '6000',
    );
    const account = await post([
      salesLine(itemId, 1, 100, TAX.gst),
      percent(5, { DiscountAccountRef: { value: '999' } }),
    ]);
    expect(faultCode(account.data)).toBe('610');
    expect(t.sim.store.list('Invoice')).toHaveLength(0);
  });

  it('a sparse update without Line keeps the discount and recomputes a percentage on the stored lines', async () => {
    const inv = (await post([salesLine(itemId, 2, 50, TAX.gst), percent(25)])).data.Invoice;
    const updated = await t.api.post('/invoice', {
      Id: inv.Id,
      SyncToken: inv.SyncToken,
      sparse: true,
      PrivateNote: 'x',
    });
    expect(updated.data.Invoice).toMatchObject({ TotalAmt: 82.5, SyncToken: '1' });
  });

  it('credit memos take discounts the same way (shared sales-form code)', async () => {
    const cm = (await post([salesLine(itemId, 1, 100, TAX.gst), amount(10)], {}, 'creditmemo')).data
      .CreditMemo;
    expect(cm).toMatchObject({ TotalAmt: 99, RemainingCredit: 99 });
  });

  it('US: ApplyTaxAfterDiscount decides whether the discount lowers the taxed amount', async () => {
    const realmId = t.sim.control.createRealm({ country: 'US' });
    const tokens = t.sim.control.issueTokens(realmId);
    const us = apiClient(t.sim, tokens.access_token, realmId);
    const customer = (await us.post('/customer', { DisplayName: 'US Customer' })).data.Customer.Id;
    const item = (await us.post('/item', { Name: 'Work', Type: 'Service', IncomeAccountRef: { value: '2' } }))
      .data.Item.Id;
    const body = (applyAfter: boolean) => ({
      CustomerRef: { value: customer },
      ApplyTaxAfterDiscount: applyAfter,
      TxnTaxDetail: { TxnTaxCodeRef: { value: '2' } },
      Line: [salesLine(item, 1, 100, 'TAX'), amount(10)],
    });
    // California 8 %: on 100 → 8.00 (total 98); on 90 → 7.20 (total 97.20).
    expect((await us.post('/invoice', body(false))).data.Invoice.TotalAmt).toBe(98);
    expect((await us.post('/invoice', body(true))).data.Invoice.TotalAmt).toBe(97.2);
  });

  it('negative sales lines (a discount or credit as a line) are accepted and taxed with their own code', async () => {
    const response = await post([
      salesLine(itemId, 1, 100, TAX.gst),
      salesLine(itemId, 1, -20, TAX.gst),
      salesLine(itemId, -1, 5, TAX.gst),
    ]);
    expect(response.status).toBe(200);
    const inv = response.data.Invoice;
    // 100 − 20 − 5 = 75 net, GST 10 − 2 − 0.50 = 7.50
    expect(inv).toMatchObject({ TotalAmt: 82.5, TxnTaxDetail: { TotalTax: 7.5 } });
    expect(inv.Line.at(-1).Amount).toBe(75);
  });

  it('the total may not go below zero; allowNegativeLines=false refuses any negative line', async () => {
    const negative = await post([salesLine(itemId, 1, 10, TAX.gst), salesLine(itemId, 1, -20, TAX.gst)]);
    expect(faultCode(negative.data)).toBe('6000');
    expect(faultDetail(negative.data)).toContain(
      'would be negative (-11.00). Record a credit as a CreditMemo instead.',
    );
    const zero = await post([salesLine(itemId, 1, 10, TAX.gst), salesLine(itemId, 1, -10, TAX.gst)]);
    expect(zero.data.Invoice.TotalAmt).toBe(0);
    t.sim.control.configure({ allowNegativeLines: false });
    const refused = await post([salesLine(itemId, 1, 100, TAX.gst), salesLine(itemId, 1, -20, TAX.gst)]);
    expect(faultCode(refused.data)).toBe('6000');
    expect(faultDetail(refused.data)).toContain('Line amounts cannot be negative (-20.00)');
  });
});
