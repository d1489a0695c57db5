/**
 * INV-10 when the void comes first: QuickBooks commits the export, its answer is lost, and the bookkeeper
 * voids the new invoice before the sync's retry finds it. The void's event found no link then (the long soak
 * waited minutes for a later pass); the retry that adopts the invoice sees it voided and says so at once.
 * ServiceM8 simulator -> invoice workflow on the real Temporal server -> QuickBooks simulator (no webhooks).
 */
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { invoiceStatusQuery } from '../workflows/messages';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitUntil } from './helpers/wait';

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'void-early';

beforeAll(async () => {
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w.close();
});

describe('INV-10: voided before the export heard back', () => {
  it('INV-10: an invoice voided between its create and the retry that adopts it settles VOIDED_IN_QBO, with no second invoice', async () => {
    // Every send of the create (the client sends a failed call again twice, apis/transient-retry.ts).
    w.qbo.control.addFault({ method: 'POST', path: '/invoice\\?', commitThenDrop: true, count: 3 });
    const job = f.job({
      clientUuid: f.client('Early Void Electrical'),
      approved: true,
      lines: [{ name: 'Call-out', qty: '1', unit: '150', tax: 'GST' }],
    });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    // The bookkeeper voids it as soon as it exists (the sync's retry comes 2 s after the lost answer).
    const made = await waitUntil(
      'the committed invoice',
      () => w.qbo.store.list('Invoice', realm).filter((i) => String(i.PrivateNote ?? '').includes(job)),
      (list) => list.length > 0,
      30_000,
    );
    w.qbo.control.voidOrDelete({
      action: 'void',
      entity: 'Invoice',
      id: String(made[0]?.Id),
      realmId: realm,
    });

    const settled = await waitUntil(
      'the invoice owner to settle',
      () => w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job)).query(invoiceStatusQuery),
      (s) => s.idle && s.syncs > 0,
      60_000,
    );
    expect([settled.state, settled.qboInvoiceId]).toEqual(['VOIDED_IN_QBO', String(made[0]?.Id)]);
    expect(
      w.qbo.store.list('Invoice', realm).filter((i) => String(i.PrivateNote ?? '').includes(job)),
    ).toHaveLength(1);
  }, 120_000);
});
