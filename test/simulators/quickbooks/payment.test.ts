import { AU_TAX_CODE_IDS as TAX, basics, faultCode, salesLine, startTestSim, type TestSim } from './helpers';

describe('QBO simulator: Payment', () => {
  let t: TestSim;
  let customerId: string;
  let otherCustomerId: string;
  let invoiceId: string;

  beforeEach(async () => {
    t = await startTestSim();
    const ids = await basics(t.api);
    customerId = ids.customerId;
    otherCustomerId = (await t.api.post('/customer', { DisplayName: 'Someone Else' })).data.Customer.Id;
    // 2 × 50 + GST = 110.00
    invoiceId = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(ids.itemId, 2, 50, TAX.gst)],
      })
    ).data.Invoice.Id;
  });
  afterEach(async () => {
    await t.sim.stop();
  });

  const pay = (total: number, applied: number, customer = customerId) => ({
    CustomerRef: { value: customer },
    TotalAmt: total,
    Line: [{ Amount: applied, LinkedTxn: [{ TxnId: invoiceId, TxnType: 'Invoice' }] }],
  });

  it('applied amounts reduce the invoice Balance; the remainder is UnappliedAmt; the invoice links the payment', async () => {
    const payment = (await t.api.post('/payment', pay(60, 40))).data.Payment;
    expect(payment.UnappliedAmt).toBe(20);
    const inv = (await t.api.get(`/invoice/${invoiceId}`)).data.Invoice;
    expect(inv.Balance).toBe(70);
    expect(inv.SyncToken).toBe('1');
    expect(inv.LinkedTxn).toEqual([{ TxnId: payment.Id, TxnType: 'Payment' }]);
  });

  it('PAY-8: an overpayment is the open balance applied and the rest unapplied; a line above the balance is 6000', async () => {
    await t.api.post('/payment', pay(40, 40));
    const refused = (await t.api.post('/payment', pay(100, 70.01))).data;
    expect(faultCode(refused)).toBe('6000');
    expect(refused.Fault.Error[0].Detail).toMatch(/exceeds its open balance \(70\)/);
    const over = (await t.api.post('/payment', pay(100, 70))).data.Payment;
    expect(over).toMatchObject({ TotalAmt: 100, UnappliedAmt: 30 });
    const inv = (await t.api.get(`/invoice/${invoiceId}`)).data.Invoice;
    expect(inv.Balance).toBe(0);
    expect(inv.LinkedTxn).toContainEqual({ TxnId: over.Id, TxnType: 'Payment' });
    expect((await t.api.get(`/payment/${over.Id}`)).data.Payment.UnappliedAmt).toBe(30);
  });

  it('2020: CustomerRef and TotalAmt are required', async () => {
    expect((await t.api.post('/payment', { TotalAmt: 1 })).data.Fault.Error[0].element).toBe('CustomerRef');
    expect(
      (await t.api.post('/payment', { CustomerRef: { value: customerId } })).data.Fault.Error[0].element,
    ).toBe('TotalAmt');
  });

  it('refuses lines summing above TotalAmt, overpaying an invoice, and linking another customer’s invoice', async () => {
    expect(faultCode((await t.api.post('/payment', pay(10, 20))).data)).toBe('6000');
    expect(faultCode((await t.api.post('/payment', pay(200, 110.01))).data)).toBe('6000');
    expect(faultCode((await t.api.post('/payment', pay(10, 10, otherCustomerId))).data)).toBe('6000');
    expect((await t.api.get(`/invoice/${invoiceId}`)).data.Invoice.Balance).toBe(110);
  });

  it('updating a payment moves the invoice Balance accordingly', async () => {
    const payment = (await t.api.post('/payment', pay(110, 110))).data.Payment;
    expect((await t.api.get(`/invoice/${invoiceId}`)).data.Invoice.Balance).toBe(0);
    await t.api.post('/payment', {
      ...pay(110, 30),
      Id: payment.Id,
      SyncToken: payment.SyncToken,
      sparse: true,
    });
    expect((await t.api.get(`/invoice/${invoiceId}`)).data.Invoice.Balance).toBe(80);
  });

  it('delete (?operation=delete) removes it and restores the invoice Balance', async () => {
    const payment = (await t.api.post('/payment', pay(110, 110))).data.Payment;
    const deleted = await t.api.post(
      '/payment',
      { Id: payment.Id, SyncToken: payment.SyncToken },
      { params: { operation: 'delete' } },
    );
    expect(deleted.data.Payment.status).toBe('Deleted');
    expect(faultCode((await t.api.get(`/payment/${payment.Id}`)).data)).toBe('610');
    const inv = (await t.api.get(`/invoice/${invoiceId}`)).data.Invoice;
    expect(inv.Balance).toBe(110);
    expect(inv.LinkedTxn).toBeUndefined();
  });

  it('void (?operation=update&include=void) zeroes it, keeps the record and restores the Balance', async () => {
    const payment = (await t.api.post('/payment', pay(110, 110))).data.Payment;
    const voided = await t.api.post(
      '/payment',
      { Id: payment.Id, SyncToken: payment.SyncToken, sparse: true },
      { params: { operation: 'update', include: 'void' } },
    );
    expect(voided.data.Payment).toMatchObject({ TotalAmt: 0, UnappliedAmt: 0, PrivateNote: 'Voided' });
    expect((await t.api.get(`/invoice/${invoiceId}`)).data.Invoice.Balance).toBe(110);
  });
});
