import QuickBooks from 'node-quickbooks';
import { ACCOUNT_IDS, type RunningQuickBooksSimulator } from '../../../simulators/quickbooks/index';
import { AU_TAX_CODE_IDS as TAX, basics, salesLine, startTestSim } from './helpers';

/* eslint-disable @typescript-eslint/no-explicit-any -- node-quickbooks' typings do not match its callbacks. */

function call(invoke: (callback: (err: any, data: any) => void) => void): Promise<{ err: any; data: any }> {
  return new Promise((resolve) => invoke((err, data) => resolve({ err, data })));
}

/** Credit memos, refund receipts and voids through node-quickbooks, the client the sync's tests use. */
describe('QBO simulator: node-quickbooks credit memos, refund receipts and voids', () => {
  let sim: RunningQuickBooksSimulator;
  let qbo: any;
  let customerId: string;
  let itemId: string;
  const savedBase = QuickBooks.V3_ENDPOINT_BASE_URL;

  beforeAll(async () => {
    const t = await startTestSim();
    sim = t.sim;
    ({ customerId, itemId } = await basics(t.api));
    QuickBooks.V3_ENDPOINT_BASE_URL = sim.accountingBaseUrl;
    qbo = new QuickBooks('id', 'secret', t.accessToken, false, sim.realmId, true, false, '75', '2.0');
  });
  afterAll(async () => {
    QuickBooks.V3_ENDPOINT_BASE_URL = savedBase;
    await sim.stop();
  });

  it('createCreditMemo, getCreditMemo, updateCreditMemo, findCreditMemos, deleteCreditMemo', async () => {
    const created = await call((cb) =>
      qbo.createCreditMemo(
        { CustomerRef: { value: customerId }, Line: [salesLine(itemId, 2, 10, TAX.gst)], DocNumber: 'CM-9' },
        cb,
      ),
    );
    expect(created.err).toBeNull();
    expect(created.data).toMatchObject({ TotalAmt: 22, RemainingCredit: 22 });
    const read = await call((cb) => qbo.getCreditMemo(created.data.Id, cb));
    expect(read.data.DocNumber).toBe('CM-9');
    const updated = await call((cb) =>
      qbo.updateCreditMemo(
        { Id: read.data.Id, SyncToken: read.data.SyncToken, PrivateNote: 'sm8:credit' },
        cb,
      ),
    );
    expect(updated.err).toBeNull();
    expect(updated.data).toMatchObject({ PrivateNote: 'sm8:credit', SyncToken: '1', TotalAmt: 22 });
    const found = await call((cb) => qbo.findCreditMemos({ DocNumber: 'CM-9' }, cb));
    expect(found.data.QueryResponse.CreditMemo).toHaveLength(1);
    const deleted = await call((cb) => qbo.deleteCreditMemo(created.data.Id, cb));
    expect(deleted.err).toBeNull();
    expect(sim.store.get('CreditMemo', created.data.Id)).toBeUndefined();
  });

  it('createPayment applies a credit memo to an invoice', async () => {
    const invoice = (
      await call((cb) =>
        qbo.createInvoice(
          { CustomerRef: { value: customerId }, Line: [salesLine(itemId, 1, 100, TAX.gst)] },
          cb,
        ),
      )
    ).data;
    const credit = (
      await call((cb) =>
        qbo.createCreditMemo(
          { CustomerRef: { value: customerId }, Line: [salesLine(itemId, 1, 10, TAX.gst)] },
          cb,
        ),
      )
    ).data;
    const payment = await call((cb) =>
      qbo.createPayment(
        {
          CustomerRef: { value: customerId },
          TotalAmt: 99,
          Line: [
            { Amount: 110, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] },
            { Amount: 11, LinkedTxn: [{ TxnId: credit.Id, TxnType: 'CreditMemo' }] },
          ],
        },
        cb,
      ),
    );
    expect(payment.err).toBeNull();
    expect((await call((cb) => qbo.getInvoice(invoice.Id, cb))).data.Balance).toBe(0);
    expect((await call((cb) => qbo.getCreditMemo(credit.Id, cb))).data.RemainingCredit).toBe(0);
  });

  it('createRefundReceipt, getRefundReceipt, findRefundReceipts, deleteRefundReceipt', async () => {
    const created = await call((cb) =>
      qbo.createRefundReceipt(
        {
          CustomerRef: { value: customerId },
          Line: [salesLine(itemId, 1, 40, TAX.gst)],
          DepositToAccountRef: { value: ACCOUNT_IDS.bank },
          PaymentMethodRef: { value: '2' },
        },
        cb,
      ),
    );
    expect(created.err).toBeNull();
    expect(created.data).toMatchObject({ TotalAmt: 44, Balance: 0 });
    expect((await call((cb) => qbo.getRefundReceipt(created.data.Id, cb))).data.PaymentMethodRef.name).toBe(
      'Cheque',
    );
    const found = await call((cb) => qbo.findRefundReceipts(cb));
    expect(found.data.QueryResponse.RefundReceipt).toHaveLength(1);
    expect((await call((cb) => qbo.deleteRefundReceipt(created.data.Id, cb))).err).toBeNull();
  });

  it('voidInvoice uses ?operation=void; the voided invoice reads back with TotalAmt 0, Balance 0 and "Voided"', async () => {
    const invoice = (
      await call((cb) =>
        qbo.createInvoice(
          {
            CustomerRef: { value: customerId },
            Line: [salesLine(itemId, 1, 5, TAX.gst)],
            PrivateNote: 'sm8:job',
          },
          cb,
        ),
      )
    ).data;
    const voided = await call((cb) => qbo.voidInvoice(invoice.Id, cb));
    expect(voided.err).toBeNull();
    // voidInvoice does not unwrap the response envelope, unlike the other calls.
    expect(voided.data.Invoice).toMatchObject({ TotalAmt: 0, Balance: 0, PrivateNote: 'Voided - sm8:job' });
  });
});
