/**
 * INV-3 and INV-10 in the bookkeeper's words (issue 13, "reason wording"): a total that drops to zero (or
 * below) after export is not "no billable lines" (nor "nothing was sent"); an un-approved job's note says that approving again re-syncs; a second,
 * different reason with the same code gets its own note.
 * ServiceM8 simulator -> invoice workflow on the real Temporal server -> QuickBooks simulator.
 */
import { signalInvoice } from '../routing/routes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { invoiceStatusQuery, type InvoiceStatus } from '../workflows/messages';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { waitUntil } from './helpers/wait';
import { startWorld, type World } from './helpers/world';

let w: World;
let f: Sm8Fixtures;
const CONN = 'wording';

beforeAll(async () => {
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  await w.connect(CONN);
});
afterAll(async () => {
  await w.close();
});

const status = (job: string): Promise<InvoiceStatus> =>
  w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job)).query(invoiceStatusQuery);

/** Signals a change and waits for the pass it causes. */
async function sync(job: string): Promise<InvoiceStatus> {
  const before = await status(job).then(
    (s) => s.syncs,
    () => 0,
  );
  await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
  return waitUntil(
    `the owner of ${job}`,
    () => status(job),
    (s) => s.idle && s.syncs > before,
    60_000,
  );
}

const lineOf = (job: string) => w.sm8.store.list('jobmaterial').find((m) => m.job_uuid === job);

describe('INV-3, INV-10: reasons in the right words', () => {
  it('INV-6: a total that drops to zero after export says the QuickBooks invoice keeps its old total, not "no billable lines"', async () => {
    const job = f.job({
      clientUuid: f.client('Zeroed After Export'),
      lines: [{ name: 'Inspection', qty: '1', unit: '150', tax: 'GST' }],
    });
    const exported = await sync(job);
    expect(exported.state).toBe('EXPORTED');
    w.sm8.control.update('jobmaterial', String(lineOf(job)?.uuid), { quantity: '0' });
    const after = await sync(job);
    expect(after.state).toBe('RESYNC_BLOCKED');
    expect(after.reason).toEqual({
      code: 'ZERO_AFTER_EXPORT',
      text: `The job's total is now zero, but its invoice "${exported.qboInvoiceId}" is already in QuickBooks, which keeps its old lines and total: add the lines back in ServiceM8, or void the invoice in QuickBooks if the work was cancelled.`,
    });
    expect(f.notesOf(job).join('\n')).not.toContain('no billable lines');
  });

  it('INV-6: a total that turns negative after export says the QuickBooks invoice keeps its old total and how to credit it', async () => {
    const job = f.job({
      clientUuid: f.client('Credited After Export'),
      lines: [{ name: 'Fence panels', qty: '2', unit: '100', tax: 'GST' }],
    });
    const exported = await sync(job);
    expect(exported.state).toBe('EXPORTED');
    w.sm8.control.update('jobmaterial', String(lineOf(job)?.uuid), { price: '-100' });
    const after = await sync(job);
    expect(after.state).toBe('RESYNC_BLOCKED');
    expect(after.reason).toEqual({
      code: 'NEGATIVE_TOTAL',
      text: `The job's total is now negative (-220.00), but its invoice "${exported.qboInvoiceId}" is already in QuickBooks, which keeps its old lines and total: QuickBooks takes no negative invoice and this sync does not post credit memos. In QuickBooks, enter a credit memo for the customer and apply it to that invoice (Receive payment); or correct the job in ServiceM8.`,
    });
    expect(f.notesOf(job).join('\n')).not.toContain('so nothing was sent');
  });

  it('INV-10: un-approving after export notes that approving again re-syncs, without advising a void first', async () => {
    const job = f.job({
      clientUuid: f.client('Unapproved After Export'),
      lines: [{ name: 'Service', qty: '1', unit: '80', tax: 'GST' }],
    });
    const exported = await sync(job);
    w.sm8.control.update('job', job, { payment_processed: 0 });
    expect((await sync(job)).state).toBe('NEEDS_ATTENTION_IN_QBO');
    const note = f.notesOf(job).find((n) => n.includes('un-approved'));
    expect(note).toBe(
      `QuickBooks sync: this job was un-approved after its invoice was sent to QuickBooks; the QuickBooks invoice ${exported.qboInvoiceId} was left unchanged. Approve the job again to send its current lines and total to that invoice; void it in QuickBooks only if the work was cancelled.`,
    );
  });

  it('INV-3: a second, different reason with the same code gets its own note; the same one again does not', async () => {
    f.taxRate('GST 13%', '13');
    const job = f.job({
      clientUuid: f.client('Two Reasons Ltd'),
      approved: true,
      lines: [{ name: 'Labour', qty: '1', unit: '100', tax: 'GST 13%' }],
    });
    expect((await sync(job)).reason?.code).toBe('TAX_RATE_UNMAPPED');
    await sync(job); // the same reason again
    w.sm8.control.update('jobmaterial', String(lineOf(job)?.uuid), { name: 'Labour (after hours)' });
    expect((await sync(job)).reason?.text).toContain('Line "Labour (after hours)"');
    const notes = f.notesOf(job).filter((n) => n.includes('GST 13%'));
    expect(notes).toHaveLength(2);
    expect(notes[0]).toContain('Line "Labour" uses');
    expect(notes[1]).toContain('Line "Labour (after hours)" uses');
  });
});
