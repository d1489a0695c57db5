import { ACCOUNT_IDS } from '../../../simulators/quickbooks/index';
import {
  AU_TAX_CODE_IDS as TAX,
  basics,
  faultCode,
  faultDetail,
  salesLine,
  startTestSim,
  type TestSim,
} from './helpers';

describe('QBO simulator: CreditMemo and RefundReceipt', () => {
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

  const creditMemo = (extra: Record<string, unknown> = {}) => ({
    CustomerRef: { value: customerId },
    Line: [salesLine(itemId, 1, 30, TAX.gst)],
    ...extra,
  });
  const invoice = async (unitPrice = 100): Promise<{ Id: string; TotalAmt: number }> =>
    (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, unitPrice, TAX.gst)],
      })
    ).data.Invoice;
  const events = () =>
    t.sim.control.webhookEvents().map((event) => `${event.entity}:${event.id}:${event.operation}`);

  it('creates a credit memo with tax computed like an invoice; Balance = RemainingCredit = TotalAmt', async () => {
    const response = await t.api.post(
      '/creditmemo',
      creditMemo({
        DocNumber: 'CR-1',
        PrivateNote: 'SM8 job 42 credit',
        CustomerMemo: { value: 'Refund for a faulty downlight' },
      }),
    );
    expect(response.status).toBe(200);
    const cm = response.data.CreditMemo;
    expect(cm).toMatchObject({
      DocNumber: 'CR-1',
      TotalAmt: 33,
      Balance: 33,
      RemainingCredit: 33,
      PrivateNote: 'SM8 job 42 credit',
      CustomerMemo: { value: 'Refund for a faulty downlight' },
      CustomerRef: { value: customerId, name: 'Test Customer' },
      CurrencyRef: { value: 'AUD' },
      SyncToken: '0',
    });
    expect(cm.TxnTaxDetail).toMatchObject({
      TotalTax: 3,
      TaxLine: [{ Amount: 3, TaxLineDetail: { TaxPercent: 10, NetAmountTaxable: 30 } }],
    });
    expect(cm.Line.at(-1)).toEqual({ Amount: 30, DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} });
    expect(events()).toContain(`CreditMemo:${cm.Id}:Create`);
    // The customer's balance counts the unused credit against it.
    expect((await t.api.get(`/customer/${customerId}`)).data.Customer.Balance).toBe(-33);
  });

  it('DocNumber is unique among credit memos (6140 naming TxnType CreditMemo), not across invoices', async () => {
    await t.api.post('/invoice', { ...creditMemo(), DocNumber: 'N-1' });
    expect((await t.api.post('/creditmemo', creditMemo({ DocNumber: 'N-1' }))).status).toBe(200);
    const duplicate = await t.api.post('/creditmemo', creditMemo({ DocNumber: 'N-1' }));
    expect(faultCode(duplicate.data)).toBe('6140');
    expect(faultDetail(duplicate.data)).toContain('TxnType=CreditMemo');
  });

  it('refuses what an invoice refuses: no CustomerRef (2020), Amount ≠ Qty × UnitPrice (6070), no lines', async () => {
    expect(faultCode((await t.api.post('/creditmemo', { Line: creditMemo().Line })).data)).toBe('2020');
    expect(
      faultCode(
        (await t.api.post('/creditmemo', creditMemo({ Line: [salesLine(itemId, 2, 10, TAX.gst, 21)] }))).data,
      ),
    ).toBe('6070');
    expect(faultCode((await t.api.post('/creditmemo', creditMemo({ Line: [] }))).data)).toBe('2020');
    expect(t.sim.store.list('CreditMemo')).toHaveLength(0);
  });

  it('a Payment applies the credit to an invoice (LinkedTxn CreditMemo): TotalAmt = invoice − credit', async () => {
    const inv = await invoice(); // 110.00
    const cm = (await t.api.post('/creditmemo', creditMemo())).data.CreditMemo; // 33.00
    const response = await t.api.post('/payment', {
      CustomerRef: { value: customerId },
      TotalAmt: 77,
      Line: [
        { Amount: 110, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] },
        { Amount: 33, LinkedTxn: [{ TxnId: cm.Id, TxnType: 'CreditMemo' }] },
      ],
    });
    expect(response.status).toBe(200);
    const payment = response.data.Payment;
    expect(payment.UnappliedAmt).toBe(0);
    const invAfter = (await t.api.get(`/invoice/${inv.Id}`)).data.Invoice;
    expect(invAfter).toMatchObject({ Balance: 0, LinkedTxn: [{ TxnId: payment.Id, TxnType: 'Payment' }] });
    const cmAfter = (await t.api.get(`/creditmemo/${cm.Id}`)).data.CreditMemo;
    expect(cmAfter).toMatchObject({
      RemainingCredit: 0,
      Balance: 0,
      SyncToken: '1',
      LinkedTxn: [{ TxnId: payment.Id, TxnType: 'Payment' }],
    });
    expect(events()).toContain(`CreditMemo:${cm.Id}:Update`);
    expect((await t.api.get(`/customer/${customerId}`)).data.Customer.Balance).toBe(0);

    // Deleting the payment gives the credit back.
    await t.api.post('/payment?operation=delete', { Id: payment.Id, SyncToken: payment.SyncToken });
    expect((await t.api.get(`/creditmemo/${cm.Id}`)).data.CreditMemo.RemainingCredit).toBe(33);
  });

  it('a credit used in part, with TotalAmt 0, leaves RemainingCredit', async () => {
    const inv = await invoice(10); // 11.00
    const cm = (await t.api.post('/creditmemo', creditMemo())).data.CreditMemo;
    const response = await t.api.post('/payment', {
      CustomerRef: { value: customerId },
      TotalAmt: 0,
      Line: [
        { Amount: 11, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] },
        { Amount: 11, LinkedTxn: [{ TxnId: cm.Id, TxnType: 'CreditMemo' }] },
      ],
    });
    expect(response.status).toBe(200);
    expect((await t.api.get(`/creditmemo/${cm.Id}`)).data.CreditMemo.RemainingCredit).toBe(22);
    expect((await t.api.get(`/invoice/${inv.Id}`)).data.Invoice.Balance).toBe(0);
  });

  it('refuses credit beyond RemainingCredit, credit beyond the invoices paid, and another customer’s credit memo', async () => {
    const inv = await invoice();
    const cm = (await t.api.post('/creditmemo', creditMemo())).data.CreditMemo;
    const other = (await t.api.post('/customer', { DisplayName: 'Other' })).data.Customer.Id;
    const otherCm = (await t.api.post('/creditmemo', { ...creditMemo(), CustomerRef: { value: other } })).data
      .CreditMemo;
    const pay = (lines: Array<[string, string, number]>, total = 0) => ({
      CustomerRef: { value: customerId },
      TotalAmt: total,
      Line: lines.map(([type, id, amount]) => ({
        Amount: amount,
        LinkedTxn: [{ TxnId: id, TxnType: type }],
      })),
    });
    const tooMuch = await t.api.post(
      '/payment',
      pay([
        ['Invoice', inv.Id, 40],
        ['CreditMemo', cm.Id, 40],
      ]),
    );
    expect(faultCode(tooMuch.data)).toBe('6000');
    expect(faultDetail(tooMuch.data)).toContain('exceeds its remaining credit (33)');
    const creditOnly = await t.api.post('/payment', pay([['CreditMemo', cm.Id, 10]]));
    expect(faultDetail(creditOnly.data)).toContain('exceeds the invoice amounts it pays');
    const foreign = await t.api.post(
      '/payment',
      pay([
        ['Invoice', inv.Id, 10],
        ['CreditMemo', otherCm.Id, 10],
      ]),
    );
    expect(faultDetail(foreign.data)).toContain('belongs to another customer');
    expect(t.sim.store.list('Payment')).toHaveLength(0);
  });

  it('a credit memo in use cannot be voided or deleted (6000); otherwise both work, with Void/Delete events and a CDC tombstone', async () => {
    const inv = await invoice();
    const used = (await t.api.post('/creditmemo', creditMemo())).data.CreditMemo;
    await t.api.post('/payment', {
      CustomerRef: { value: customerId },
      TotalAmt: 100,
      Line: [
        { Amount: 110, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] },
        { Amount: 10, LinkedTxn: [{ TxnId: used.Id, TxnType: 'CreditMemo' }] },
      ],
    });
    const current = (await t.api.get(`/creditmemo/${used.Id}`)).data.CreditMemo;
    for (const operation of ['void', 'delete']) {
      const refused = await t.api.post(`/creditmemo?operation=${operation}`, {
        Id: current.Id,
        SyncToken: current.SyncToken,
      });
      expect(faultCode(refused.data)).toBe('6000');
    }

    const toVoid = (await t.api.post('/creditmemo', creditMemo({ PrivateNote: 'wrong' }))).data.CreditMemo;
    const voided = (
      await t.api.post('/creditmemo?operation=void', { Id: toVoid.Id, SyncToken: toVoid.SyncToken })
    ).data.CreditMemo;
    expect(voided).toMatchObject({
      TotalAmt: 0,
      Balance: 0,
      RemainingCredit: 0,
      PrivateNote: 'Voided - wrong',
    });
    const edit = await t.api.post('/creditmemo', {
      Id: voided.Id,
      SyncToken: voided.SyncToken,
      sparse: true,
      PrivateNote: 'x',
    });
    expect(faultCode(edit.data)).toBe('6000');

    const toDelete = (await t.api.post('/creditmemo', creditMemo())).data.CreditMemo;
    const since = new Date(Date.now() - 60_000).toISOString();
    const deleted = await t.api.post('/creditmemo?operation=delete', {
      Id: toDelete.Id,
      SyncToken: toDelete.SyncToken,
    });
    expect(deleted.data.CreditMemo).toEqual({ domain: 'QBO', status: 'Deleted', Id: toDelete.Id });
    expect(events()).toEqual(
      expect.arrayContaining([`CreditMemo:${toVoid.Id}:Void`, `CreditMemo:${toDelete.Id}:Delete`]),
    );
    const cdc = await t.api.get('/cdc', { params: { entities: 'CreditMemo', changedSince: since } });
    const rows = cdc.data.CDCResponse[0].QueryResponse[0].CreditMemo as Array<Record<string, unknown>>;
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Id: toVoid.Id, TotalAmt: 0, PrivateNote: 'Voided - wrong' }),
        expect.objectContaining({ Id: toDelete.Id, status: 'Deleted' }),
      ]),
    );
  });

  it('sparse update keeps the rest and bumps SyncToken; a stale SyncToken is 5010; query by Balance', async () => {
    const cm = (await t.api.post('/creditmemo', creditMemo())).data.CreditMemo;
    const updated = await t.api.post('/creditmemo', {
      Id: cm.Id,
      SyncToken: cm.SyncToken,
      sparse: true,
      PrivateNote: 'now with a note',
    });
    expect(updated.data.CreditMemo).toMatchObject({
      SyncToken: '1',
      PrivateNote: 'now with a note',
      TotalAmt: 33,
    });
    const stale = await t.api.post('/creditmemo', {
      Id: cm.Id,
      SyncToken: '0',
      sparse: true,
      PrivateNote: 'y',
    });
    expect(faultCode(stale.data)).toBe('5010');
    const query = await t.api.get('/query', {
      params: { query: "select * from CreditMemo where Balance > '0'" },
    });
    expect(query.data.QueryResponse.CreditMemo.map((row: { Id: string }) => row.Id)).toEqual([cm.Id]);
  });

  const refund = (extra: Record<string, unknown> = {}) => ({
    CustomerRef: { value: customerId },
    Line: [salesLine(itemId, 1, 50, TAX.gst)],
    DepositToAccountRef: { value: ACCOUNT_IDS.bank },
    PaymentMethodRef: { value: '1' },
    PaymentRefNum: 'REF-77',
    ...extra,
  });

  it('RefundReceipt: TotalAmt with tax, Balance 0, refs named; DepositToAccountRef required and must be a Bank/Other Current Asset account', async () => {
    const response = await t.api.post('/refundreceipt', refund({ PrivateNote: 'card refund' }));
    expect(response.status).toBe(200);
    const rr = response.data.RefundReceipt;
    expect(rr).toMatchObject({
      TotalAmt: 55,
      Balance: 0,
      PaymentRefNum: 'REF-77',
      DepositToAccountRef: { value: ACCOUNT_IDS.bank, name: 'Business Cheque Account' },
      PaymentMethodRef: { value: '1', name: 'Cash' },
      TxnTaxDetail: { TotalTax: 5 },
    });
    expect(events()).toContain(`RefundReceipt:${rr.Id}:Create`);

    const { DepositToAccountRef: _omitted, ...noAccount } = refund();
    const missing = await t.api.post('/refundreceipt', noAccount);
    expect(faultCode(missing.data)).toBe('2020');
    expect(faultDetail(missing.data)).toContain('DepositToAccountRef');
    const income = await t.api.post(
      '/refundreceipt',
      refund({ DepositToAccountRef: { value: ACCOUNT_IDS.services } }),
    );
    expect(faultCode(income.data)).toBe('6000');
    const badMethod = await t.api.post('/refundreceipt', refund({ PaymentMethodRef: { value: '999' } }));
    expect(faultCode(badMethod.data)).toBe('610');
    expect(t.sim.store.list('RefundReceipt')).toHaveLength(1);
  });

  it('RefundReceipt: void (operation=void or update&include=void), delete, and CDC', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const a = (await t.api.post('/refundreceipt', refund())).data.RefundReceipt;
    const b = (await t.api.post('/refundreceipt', refund())).data.RefundReceipt;
    const c = (await t.api.post('/refundreceipt', refund())).data.RefundReceipt;
    const voidA = await t.api.post('/refundreceipt?operation=void', { Id: a.Id, SyncToken: a.SyncToken });
    expect(voidA.data.RefundReceipt).toMatchObject({ TotalAmt: 0, PrivateNote: 'Voided' });
    const voidB = await t.api.post('/refundreceipt?operation=update&include=void', {
      Id: b.Id,
      SyncToken: b.SyncToken,
      sparse: true,
    });
    expect(voidB.data.RefundReceipt.TotalAmt).toBe(0);
    await t.api.post('/refundreceipt?operation=delete', { Id: c.Id, SyncToken: c.SyncToken });
    const cdc = await t.api.get('/cdc', {
      params: { entities: 'RefundReceipt,CreditMemo', changedSince: since },
    });
    const [refunds, credits] = cdc.data.CDCResponse[0].QueryResponse;
    expect(refunds.RefundReceipt).toHaveLength(3);
    expect(credits).toEqual({});
    expect(events()).toEqual(
      expect.arrayContaining([
        `RefundReceipt:${a.Id}:Void`,
        `RefundReceipt:${b.Id}:Void`,
        `RefundReceipt:${c.Id}:Delete`,
      ]),
    );
  });

  it('send and pdf work for credit memos as for invoices (Emailed event)', async () => {
    const cm = (await t.api.post('/creditmemo', creditMemo({ BillEmail: { Address: 'ap@example.com' } })))
      .data.CreditMemo;
    const sent = await t.api.post(`/creditmemo/${cm.Id}/send`);
    expect(sent.data.CreditMemo.EmailStatus).toBe('EmailSent');
    expect(events()).toContain(`CreditMemo:${cm.Id}:Emailed`);
    const pdf = await t.api.get(`/creditmemo/${cm.Id}/pdf`, { responseType: 'arraybuffer' });
    expect(pdf.headers['content-type']).toContain('application/pdf');
  });

  it('merging customers moves their credit memos and refund receipts', async () => {
    const survivor = (await t.api.post('/customer', { DisplayName: 'Survivor' })).data.Customer;
    const cm = (await t.api.post('/creditmemo', creditMemo())).data.CreditMemo;
    const rr = (await t.api.post('/refundreceipt', refund())).data.RefundReceipt;
    t.sim.control.merge({ entity: 'Customer', fromId: customerId, toId: survivor.Id });
    expect(t.sim.store.get('CreditMemo', cm.Id)?.CustomerRef).toMatchObject({ value: survivor.Id });
    expect(t.sim.store.get('RefundReceipt', rr.Id)?.CustomerRef).toMatchObject({ value: survivor.Id });
  });
});
