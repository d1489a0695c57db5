/**
 * Money edge cases of the invoice export (issue 13): discounts (negative lines) export with equal totals; a
 * negative total (a credit) and a customer in another currency are held with a reason, never posted wrong.
 * ServiceM8 simulator -> invoice workflow on the real Temporal server -> QuickBooks simulator.
 */
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import type { Json } from '../simulators/quickbooks/types';
import { invoiceStatusQuery, type InvoiceStatus } from '../workflows/messages';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { waitUntil } from './helpers/wait';
import { startWorld, type World } from './helpers/world';

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'money';

beforeAll(async () => {
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w.close();
});

async function exportOf(job: string): Promise<InvoiceStatus> {
  await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
  return waitUntil(
    `the owner of ${job}`,
    () => w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job)).query(invoiceStatusQuery),
    (s) => s.idle && s.syncs > 0,
    60_000,
  );
}
const invoicesOf = (job: string): Json[] =>
  w.qbo.store.list('Invoice', realm).filter((i) => String(i.PrivateNote ?? '').includes(`[sm8:job:${job}]`));

describe('issue 13: money edge cases', () => {
  it('INV-2: a discount line (negative) exports with the same total as ServiceM8', async () => {
    const job = f.job({
      clientUuid: f.client('Discounted Decks'),
      lines: [
        { name: 'Deck oiling', qty: '1', unit: '200', tax: 'GST' },
        { name: 'Loyalty discount', qty: '1', unit: '-20', tax: 'GST' },
      ],
    });
    const s = await exportOf(job);
    expect(s.state).toBe('EXPORTED');
    const [invoice] = invoicesOf(job);
    expect(invoice?.TotalAmt).toBe(198);
    expect(Number(f.get('job', job).total_invoice_amount)).toBe(198);
  });

  it('INV-3: a job whose total is negative (a credit) is held saying so; nothing is posted', async () => {
    const job = f.job({
      clientUuid: f.client('Refunded Roofing'),
      lines: [{ name: 'Credit for unused materials', qty: '1', unit: '-50', tax: 'GST' }],
    });
    const s = await exportOf(job);
    expect(s.state).toBe('BLOCKED');
    expect(s.reason?.code).toBe('NEGATIVE_TOTAL');
    expect(s.reason?.text).toContain("The job's total is negative (-55.00)");
    expect(invoicesOf(job)).toHaveLength(0);
  });

  it('INV-3: a client matched to a QuickBooks customer in another currency is held; nothing is posted in the wrong currency', async () => {
    w.qbo.control.enableMultiCurrency({ realmId: realm });
    w.qbo.control.upsertRecord(
      'Customer',
      { DisplayName: 'Kiwi Builders', CurrencyRef: { value: 'NZD' } },
      realm,
    );
    const job = f.job({
      clientUuid: f.client('Kiwi Builders'),
      lines: [{ name: 'Consulting', qty: '1', unit: '100', tax: 'GST' }],
    });
    const s = await exportOf(job);
    expect(s.state).toBe('BLOCKED');
    expect(s.reason).toEqual({
      code: 'CURRENCY_MISMATCH',
      text: 'The QuickBooks customer "Kiwi Builders" uses NZD, but the job\'s amounts are in AUD, the QuickBooks company\'s home currency, so nothing was sent (the amounts would be read as NZD). Link this client to a customer in AUD (rename one of them), then sync the job again.',
    });
    expect(invoicesOf(job)).toHaveLength(0);
  });
});
