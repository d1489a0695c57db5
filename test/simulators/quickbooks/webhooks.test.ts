import { createHmac } from 'node:crypto';
import { type RunningQuickBooksSimulator } from '../../../simulators/quickbooks/index';
import { AU_TAX_CODE_IDS as TAX, basics, salesLine, startTestSim, type TestSim } from './helpers';
import { WebhookReceiver } from './receiver';

interface CloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  time: string;
  intuitentityid: string;
  intuitaccountid: string;
  datacontenttype: string;
  data: Record<string, unknown>;
}

describe('QBO simulator: webhooks', () => {
  let receiver: WebhookReceiver;
  let t: TestSim;
  let sim: RunningQuickBooksSimulator;

  async function start(options: Parameters<typeof startTestSim>[0] = {}): Promise<void> {
    receiver = new WebhookReceiver();
    const url = await receiver.start();
    t = await startTestSim({
      webhookUrl: url,
      webhookVerifier: 'verifier-123',
      webhookBatchWindowMs: 30,
      webhookRetryScale: 0.001,
      ...options,
    });
    sim = t.sim;
  }
  afterEach(async () => {
    await sim.stop();
    await receiver.stop();
  });

  const events = (index: number): CloudEvent[] => receiver.received[index]?.json as CloudEvent[];

  it('POSTs a signed CloudEvents array for API writes (batched within the window)', async () => {
    // A window wide enough for two API calls in a row on a loaded machine (30 ms was not, under a full run).
    await start({ webhookBatchWindowMs: 1000 });
    const { customerId, itemId } = await basics(t.api);
    await receiver.waitFor(1);
    const post = receiver.received[0];
    expect(post?.headers['content-type']).toBe('application/cloudevents+json');
    const expected = createHmac('sha256', 'verifier-123')
      .update(post?.body ?? '')
      .digest('base64');
    expect(post?.headers['intuit-signature']).toBe(expected);
    const batch = events(0);
    expect(batch.map((event) => event.type)).toEqual(['qbo.customer.created.v1', 'qbo.item.created.v1']);
    expect(batch[0]).toMatchObject({
      specversion: '1.0',
      intuitentityid: customerId,
      intuitaccountid: sim.realmId,
      datacontenttype: 'application/json',
      data: {},
    });
    expect(batch[1]?.intuitentityid).toBe(itemId);
    expect(new Set(batch.map((event) => event.id)).size).toBe(2);
  });

  it('reports updated, voided, deleted and emailed invoices; no events for TaxCode changes', async () => {
    await start();
    const { customerId, itemId } = await basics(t.api);
    const inv = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        BillEmail: { Address: 'a@b.com' },
        Line: [salesLine(itemId, 1, 10, TAX.gst)],
      })
    ).data.Invoice;
    await t.api.post(`/invoice/${inv.Id}/send`);
    sim.control.markInvoicePrinted(inv.Id);
    const current = (await t.api.get(`/invoice/${inv.Id}`)).data.Invoice;
    await t.api.post(
      '/invoice',
      { Id: inv.Id, SyncToken: current.SyncToken },
      { params: { operation: 'void' } },
    );
    const second = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 10, TAX.gst)],
      })
    ).data.Invoice;
    await t.api.post(
      '/invoice',
      { Id: second.Id, SyncToken: second.SyncToken },
      { params: { operation: 'delete' } },
    );
    sim.control.upsertTaxCode({ Name: 'GST 12%', RateValue: 12 });
    await sim.control.flushWebhooks();
    const types = receiver.received.flatMap((post) => (post.json as CloudEvent[]).map((event) => event.type));
    expect(types.filter((type) => type.startsWith('qbo.invoice'))).toEqual([
      'qbo.invoice.created.v1',
      'qbo.invoice.emailed.v1',
      'qbo.invoice.updated.v1',
      'qbo.invoice.voided.v1',
      'qbo.invoice.created.v1',
      'qbo.invoice.deleted.v1',
    ]);
    expect(types.some((type) => type.includes('taxcode') || type.includes('taxrate'))).toBe(false);
  });

  it('merges fire a Merge event carrying deletedId; the merged customer is gone and its invoices moved', async () => {
    await start();
    const { customerId, itemId } = await basics(t.api);
    const survivor = (await t.api.post('/customer', { DisplayName: 'Survivor' })).data.Customer;
    const inv = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 10, TAX.gst)],
      })
    ).data.Invoice;
    await sim.control.flushWebhooks();
    sim.control.merge({ entity: 'Customer', fromId: customerId, toId: survivor.Id });
    await sim.control.flushWebhooks();
    const last = receiver.received.flatMap((post) => post.json as CloudEvent[]);
    const merged = last.find((event) => event.type === 'qbo.customer.merged.v1');
    expect(merged).toMatchObject({ intuitentityid: survivor.Id, data: { deletedId: customerId } });
    expect((await t.api.get(`/invoice/${inv.Id}`)).data.Invoice.CustomerRef.value).toBe(survivor.Id);
    expect((await t.api.get(`/customer/${customerId}`)).status).toBe(400);
  });

  it('legacy format switch: eventNotifications per realm with name/id/operation/lastUpdated', async () => {
    await start({ webhookFormat: 'legacy' });
    await t.api.post('/customer', { DisplayName: 'Legacy Co' });
    await receiver.waitFor(1);
    expect(receiver.received[0]?.headers['content-type']).toBe('application/json');
    const body = receiver.received[0]?.json as {
      eventNotifications: Array<{ realmId: string; dataChangeEvent: { entities: unknown[] } }>;
    };
    expect(body.eventNotifications[0]?.realmId).toBe(sim.realmId);
    expect(body.eventNotifications[0]?.dataChangeEvent.entities[0]).toMatchObject({
      name: 'Customer',
      id: '1',
      operation: 'Create',
    });
  });

  it('retries a failed delivery (non-2xx or no answer in time) with the same event ids, holding later events behind it', async () => {
    await start({ webhookTimeoutMs: 200 });
    receiver.script = [500, 'hang'];
    await t.api.post('/customer', { DisplayName: 'First' });
    await receiver.waitFor(1);
    await t.api.post('/customer', { DisplayName: 'Second' });
    await receiver.waitFor(4, 8000);
    const [a, b, c, d] = [0, 1, 2, 3].map((index) => events(index));
    expect(a?.map((event) => event.id)).toEqual(b?.map((event) => event.id));
    expect(c?.map((event) => event.id)).toEqual(a?.map((event) => event.id));
    expect(d?.[0]?.intuitentityid).toBe('2');
    // The simulator records a delivery once its answer is back, a moment after the receiver saw the POST.
    for (let i = 0; i < 100 && sim.control.webhookDeliveries().length < 4; i += 1)
      await new Promise((r) => setTimeout(r, 20));
    const deliveries = sim.control.webhookDeliveries();
    expect(deliveries.map((delivery) => delivery.ok)).toEqual([false, false, true, true]);
    expect(deliveries[1]?.error).toMatch(/no answer/);
  });

  it('the retry schedule runs on the simulated clock (10 s after the second failure)', async () => {
    await start({ webhookRetryScale: 1 });
    receiver.script = [500, 500];
    await t.api.post('/customer', { DisplayName: 'Slow Retry' });
    await receiver.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received).toHaveLength(2);
    sim.control.advanceClock(10_000);
    await receiver.waitFor(3);
    // The simulator records a delivery once its answer is back, a moment after the receiver saw the POST.
    for (let i = 0; i < 100 && sim.control.webhookDeliveries().length < 3; i += 1)
      await new Promise((r) => setTimeout(r, 20));
    expect(sim.control.webhookDeliveries().map((delivery) => delivery.attempt)).toEqual([1, 2, 3]);
  });

  it('pause/resume, drop, duplicate and reorder', async () => {
    await start();
    sim.control.pauseWebhooks();
    await t.api.post('/customer', { DisplayName: 'P1' });
    await t.api.post('/customer', { DisplayName: 'P2' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received).toHaveLength(0);
    sim.control.webhookChaos({ reorderNext: 1, duplicateNext: 1 });
    sim.control.resumeWebhooks();
    await receiver.waitFor(2);
    expect(events(0).map((event) => event.intuitentityid)).toEqual(['2', '1']);
    expect(receiver.received[1]?.body).toBe(receiver.received[0]?.body);

    sim.control.webhookChaos({ dropNext: 1 });
    await t.api.post('/customer', { DisplayName: 'Dropped' });
    await sim.control.flushWebhooks();
    expect(receiver.received).toHaveLength(2);
    expect(sim.control.webhookDeliveries().at(-1)?.dropped).toBe(true);
  });

  it('deactivating a customer reports Delete (switchable to Update); a payment reports its invoice as updated', async () => {
    await start();
    const { customerId, itemId } = await basics(t.api);
    const inv = (
      await t.api.post('/invoice', {
        CustomerRef: { value: customerId },
        Line: [salesLine(itemId, 1, 10, TAX.gst)],
      })
    ).data.Invoice;
    await t.api.post('/payment', {
      CustomerRef: { value: customerId },
      TotalAmt: 11,
      Line: [{ Amount: 11, LinkedTxn: [{ TxnId: inv.Id, TxnType: 'Invoice' }] }],
    });
    const other = (await t.api.post('/customer', { DisplayName: 'To Deactivate' })).data.Customer;
    await t.api.post('/customer', { Id: other.Id, SyncToken: other.SyncToken, sparse: true, Active: false });
    sim.control.configure({ deactivateOperation: 'Update' });
    await t.api.post('/customer', { Id: customerId, SyncToken: '0', sparse: true, Active: false });
    await sim.control.flushWebhooks();
    const all = receiver.received
      .flatMap((post) => post.json as CloudEvent[])
      .map((event) => `${event.type}:${event.intuitentityid}`);
    expect(all).toEqual(
      expect.arrayContaining([
        `qbo.payment.created.v1:1`,
        `qbo.invoice.updated.v1:${inv.Id}`,
        `qbo.customer.deleted.v1:${other.Id}`,
        `qbo.customer.updated.v1:${customerId}`,
      ]),
    );
  });

  it('delay chaos holds each send for the given real time', async () => {
    await start();
    sim.control.webhookChaos({ delayMs: 300 });
    const started = Date.now();
    await t.api.post('/customer', { DisplayName: 'Delayed' });
    await receiver.waitFor(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });
});
