import { AU_TAX_CODE_IDS as TAX, basics, faultCode, salesLine, startTestSim, type TestSim } from './helpers';
import { WebhookReceiver } from './receiver';

interface LegacyEntity {
  name: string;
  id: string;
  operation: string;
}

/** Voids of invoices and payments: the endpoints, the Void webhook and what CDC shows afterwards. */
describe('QBO simulator: voids', () => {
  let t: TestSim;
  let receiver: WebhookReceiver;
  let customerId: string;
  let itemId: string;

  beforeEach(async () => {
    receiver = new WebhookReceiver();
    t = await startTestSim({ webhookUrl: await receiver.start(), webhookFormat: 'legacy' });
    ({ customerId, itemId } = await basics(t.api));
  });
  afterEach(async () => {
    await t.sim.stop();
    await receiver.stop();
  });

  const newInvoice = async () =>
    (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 100, TAX.gst)],
        PrivateNote: 'sm8:job-7',
      })
    ).data.Invoice;
  const sent = async (): Promise<LegacyEntity[]> => {
    await t.sim.control.flushWebhooks();
    return receiver.received.flatMap(
      (post) =>
        (post.json as { eventNotifications: Array<{ dataChangeEvent: { entities: LegacyEntity[] } }> })
          .eventNotifications[0]?.dataChangeEvent.entities ?? [],
    );
  };

  it('an invoice void is sent as operation "Void"; CDC then shows it zeroed with a "Voided" memo', async () => {
    const since = new Date(Date.parse(t.sim.control.now()) - 60_000).toISOString();
    const invoice = await newInvoice();
    const response = await t.api.post('/invoice?operation=void', {
      Id: invoice.Id,
      SyncToken: invoice.SyncToken,
    });
    expect(response.status).toBe(200);
    expect(await sent()).toEqual(
      expect.arrayContaining([
        { name: 'Invoice', id: invoice.Id, operation: 'Void', lastUpdated: expect.any(String) },
      ]),
    );
    const cdc = await t.api.get('/cdc', { params: { entities: 'Invoice', changedSince: since } });
    const row = cdc.data.CDCResponse[0].QueryResponse[0].Invoice.find(
      (inv: { Id: string }) => inv.Id === invoice.Id,
    );
    expect(row).toMatchObject({
      TotalAmt: 0,
      Balance: 0,
      PrivateNote: 'Voided - sm8:job-7',
      SyncToken: '1',
      TxnTaxDetail: { TotalTax: 0 },
    });
    // Intuit's sample of a voided invoice: lines keep item and tax code, with Qty 0, Amount 0 and no UnitPrice.
    expect(row.Line[0]).toMatchObject({
      Amount: 0,
      SalesItemLineDetail: { Qty: 0, TaxCodeRef: { value: TAX.gst } },
    });
    expect(row.Line[0].SalesItemLineDetail.UnitPrice).toBeUndefined();
    expect(row.status).toBeUndefined();
  });

  it('a payment is voided with operation=update&include=void: Payment Void, then the invoice Update', async () => {
    const invoice = await newInvoice();
    const payment = (
      await t.api.post('/payment', {
        CustomerRef: { value: customerId },
        TotalAmt: 110,
        Line: [{ Amount: 110, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
      })
    ).data.Payment;
    const voided = await t.api.post('/payment?operation=update&include=void', {
      Id: payment.Id,
      SyncToken: payment.SyncToken,
      sparse: true,
    });
    expect(voided.data.Payment).toMatchObject({ TotalAmt: 0, PrivateNote: 'Voided' });
    const operations = (await sent()).map((entity) => `${entity.name}:${entity.operation}`);
    expect(operations.slice(-2)).toEqual(['Payment:Void', 'Invoice:Update']);
    expect((await t.api.get(`/invoice/${invoice.Id}`)).data.Invoice.Balance).toBe(110);
  });

  it('POST /payment?operation=void is refused (Fault 500) unless the paymentOperationVoid switch is on', async () => {
    const invoice = await newInvoice();
    const payment = (
      await t.api.post('/payment', {
        CustomerRef: { value: customerId },
        TotalAmt: 10,
        Line: [{ Amount: 10, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
      })
    ).data.Payment;
    const refused = await t.api.post('/payment?operation=void', {
      Id: payment.Id,
      SyncToken: payment.SyncToken,
    });
    expect(refused.status).toBe(400);
    expect(faultCode(refused.data)).toBe('500');
    expect(t.sim.store.get('Payment', payment.Id)?.TotalAmt).toBe(10);

    t.sim.control.configure({ paymentOperationVoid: true });
    const voided = await t.api.post('/payment?operation=void', {
      Id: payment.Id,
      SyncToken: payment.SyncToken,
    });
    expect(voided.data.Payment.TotalAmt).toBe(0);
  });

  it('batch: operation "void" voids an invoice; a payment needs operation "update" with optionsData "void"', async () => {
    const invoice = await newInvoice();
    const payment = (
      await t.api.post('/payment', {
        CustomerRef: { value: customerId },
        TotalAmt: 5,
        Line: [{ Amount: 5, LinkedTxn: [{ TxnId: invoice.Id, TxnType: 'Invoice' }] }],
      })
    ).data.Payment;
    const batch = await t.api.post('/batch', {
      BatchItemRequest: [
        { bId: 'p', operation: 'update', optionsData: 'void', Payment: { Id: payment.Id, SyncToken: '0' } },
        { bId: 'i', operation: 'void', Invoice: { Id: invoice.Id, SyncToken: '2' } },
      ],
    });
    const [p, i] = batch.data.BatchItemResponse;
    expect(p.Payment.TotalAmt).toBe(0);
    expect(i.Invoice.TotalAmt).toBe(0);
  });
  it('switch voidNoteMarked: false leaves the memo as it was; the amounts and quantities are zeroed all the same', async () => {
    t.sim.control.configure({ voidNoteMarked: false });
    const invoice = await newInvoice();
    const voided = (
      await t.api.post('/invoice?operation=void', { Id: invoice.Id, SyncToken: invoice.SyncToken })
    ).data.Invoice;
    expect(voided).toMatchObject({ TotalAmt: 0, Balance: 0, PrivateNote: 'sm8:job-7' });
    expect(voided.Line[0]).toMatchObject({ Amount: 0, SalesItemLineDetail: { Qty: 0 } });
    const payment = (
      await t.api.post('/payment', {
        CustomerRef: { value: customerId },
        TotalAmt: 10,
        PrivateNote: 'cash',
        Line: [{ Amount: 10, LinkedTxn: [{ TxnId: (await newInvoice()).Id, TxnType: 'Invoice' }] }],
      })
    ).data.Payment;
    const paymentVoided = (
      await t.api.post('/payment?operation=update&include=void', {
        Id: payment.Id,
        SyncToken: payment.SyncToken,
        sparse: true,
      })
    ).data.Payment;
    expect(paymentVoided).toMatchObject({ TotalAmt: 0, PrivateNote: 'cash' });
    expect((await sent()).map((e) => e.operation)).toEqual(expect.arrayContaining(['Void']));
  });
});
