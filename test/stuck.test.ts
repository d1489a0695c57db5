/**
 * Issue 13, "nothing retries silently, by construction": a step that keeps failing is shown as stuck, with
 * the failure in words, in the admin API, `sm8qbo stuck`, `sm8qbo show` and the status page; it keeps
 * retrying, can be retried now or dismissed, and clears itself once it succeeds.
 * ServiceM8 simulator -> invoice workflow on the real Temporal server -> QuickBooks simulator that answers
 * 500 to every invoice write until the test lifts the fault.
 */
import crypto from 'node:crypto';
import axios from 'axios';
import { runCli } from '../client/cli';
import { SyncState } from '../domain/search-attributes';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { signalInvoice, signalPayments } from '../routing/routes';
import { heldRecords } from '../store/metrics';
import type { StuckStep } from '../store/stuck-steps';
import { invoiceStatusQuery } from '../workflows/messages';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { waitUntil } from './helpers/wait';
import { startWorld, type World } from './helpers/world';

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'stuck';

beforeAll(async () => {
  w = await startWorld();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w.close();
});

const admin = () => ({ headers: { Authorization: `Bearer ${w.adminToken}` }, validateStatus: () => true });
const stuckList = async (query = ''): Promise<StuckStep[]> =>
  (await axios.get<StuckStep[]>(`${w.apiUrl}/admin/stuck?connection=${CONN}${query}`, admin())).data;

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(['--url', w.apiUrl, ...args], (s) => lines.push(s), {
    env: { ...process.env, ADMIN_TOKEN: w.adminToken },
    err: () => undefined,
  });
  return { code, out: lines.join('\n') };
}

describe('OPS-5: a step that keeps failing is visible, retryable and clears itself', () => {
  it('OPS-5: an export QuickBooks keeps refusing with 500 shows as stuck in words, then clears when QuickBooks recovers', async () => {
    const fault = w.qbo.control.addFault({ method: 'POST', path: '/invoice', status: 500 });
    const job = f.job({
      clientUuid: f.client('Stuck Plumbing'),
      approved: true,
      lines: [{ name: 'Call-out', qty: '1', unit: '120', tax: 'GST' }],
    });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    const workflowId = invoiceWorkflowId(CONN, job);

    // Stuck after three failed attempts, in words, in the admin API …
    const [step] = await waitUntil(
      'the export to show as stuck',
      () => stuckList(),
      (list) => list.some((s) => s.workflowId === workflowId),
      60_000,
    );
    // The invoice's pass is one activity (issue 12): the step is the pass, the failure says what failed.
    expect(step).toMatchObject({ workflowId, activityType: 'invoicePass', connectionId: CONN });
    expect(step?.attempts).toBeGreaterThanOrEqual(3);
    expect(step?.reason).toBe(
      'Stuck while syncing the invoice with QuickBooks: QuickBooks answered with a server error (HTTP 500). The sync keeps trying by itself.',
    );
    const id = step?.id as string;

    // … in the Temporal Web UI: SyncState STUCK, and the words in the owner's memo.
    const describe = () => w.h.client.workflow.getHandle(workflowId).describe();
    const inUi = await waitUntil(
      'SyncState STUCK in Temporal',
      describe,
      (d) => d.typedSearchAttributes.get(SyncState) === 'STUCK',
      30_000,
    );
    expect(inUi.memo?.stuck).toBe(step?.reason);

    // … in the CLI, in `show`, and on the status page's list of what needs attention.
    const listed = await cli('stuck', '--connection', CONN);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('syncing the invoice with QuickBooks');
    const shown = await cli('show', CONN, job);
    expect(shown.out).toMatch(/Stuck\s+Stuck while syncing the invoice with QuickBooks/);
    expect(shown.out).toContain(`sm8qbo stuck retry ${id}`);
    const metrics = await axios.get<string>(`${w.apiUrl}/metrics`, admin());
    expect(metrics.data).toMatch(
      new RegExp(`sm8qbo_records\\{connection="${CONN}",kind="invoice",state="stuck"\\} 1`),
    );
    const held = await heldRecords(w.h.deps.pool, CONN);
    expect(held.find((r) => r.state === 'STUCK')).toMatchObject({
      jobUuid: job,
      reason: expect.stringContaining('server error (HTTP 500)'),
    });

    // Dismissed: hidden from the list (not from --all); it keeps retrying meanwhile.
    expect((await cli('stuck', 'dismiss', id)).code).toBe(0);
    expect((await stuckList()).map((s) => s.id)).not.toContain(id);
    expect((await stuckList('&all=true')).map((s) => s.id)).toContain(id);

    // Retry now: Temporal runs the step again at once, its attempts counted from 1 again.
    const retried = await cli('stuck', 'retry', id);
    expect(retried).toMatchObject({ code: 0, out: `Step ${id} runs again now.` });
    await waitUntil(
      'the retried attempt to fail afresh',
      async () =>
        (
          await w.h.deps.pool.query<{ attempts: number }>('SELECT attempts FROM stuck_steps WHERE id = $1', [
            id,
          ])
        ).rows[0]?.attempts,
      (attempts) => attempts !== undefined && attempts < 3,
      30_000,
    );

    // QuickBooks recovers: the next attempt exports, and the step is gone by itself.
    w.qbo.control.clearFaults();
    await waitUntil(
      'the export once QuickBooks answers again',
      () => w.h.client.workflow.getHandle(workflowId).query(invoiceStatusQuery),
      (s) => s.state === 'EXPORTED',
      60_000,
    );
    await waitUntil(
      'the stuck step to clear',
      () => stuckList('&all=true'),
      (list) => !list.some((s) => s.workflowId === workflowId),
      10_000,
    );
    expect(fault.id).toBeTruthy();
    expect((await cli('stuck', '--connection', CONN)).out).toBe('Nothing is stuck.');
    // The Web UI shows the invoice's own state again.
    const after = await waitUntil(
      'SyncState EXPORTED in Temporal',
      describe,
      (d) => d.typedSearchAttributes.get(SyncState) === 'EXPORTED',
      30_000,
    );
    expect(after.memo?.stuck ?? null).toBeNull();
  }, 120_000);

  it('OPS-5: an owner whose pass fails with an error no step handles does not fail: it is stuck with the error and a resync after the fix exports', async () => {
    // 403 is a refusal no retry changes (non-retryable); the invoice steps do not expect it on a create.
    w.qbo.control.addFault({ method: 'POST', path: '/invoice', status: 403 });
    const job = f.job({
      clientUuid: f.client('Forbidden Electrical'),
      approved: true,
      lines: [{ name: 'Call-out', qty: '1', unit: '90', tax: 'GST' }],
    });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    const workflowId = invoiceWorkflowId(CONN, job);
    const [step] = await waitUntil(
      'the owner pass to show as stuck',
      () => stuckList(),
      (list) => list.some((s) => s.workflowId === workflowId && s.activityType === 'ownerPass'),
      60_000,
    ).then((list) => list.filter((s) => s.workflowId === workflowId && s.activityType === 'ownerPass'));
    expect(step?.reason).toBe(
      'Stuck while working on this record: QuickBooks refused the request (HTTP 403, no permission for it). The sync tries again by itself (after 1, 5 and 15 minutes, then hourly) and after any change to the record.',
    );
    expect((await w.h.client.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');

    w.qbo.control.clearFaults();
    expect((await cli('resync', CONN, job)).code).toBe(0);
    await waitUntil(
      'the export after the resync',
      () => w.h.client.workflow.getHandle(workflowId).query(invoiceStatusQuery),
      (s) => s.state === 'EXPORTED',
      60_000,
    );
    await waitUntil(
      'the stuck owner pass to clear',
      () => stuckList('&all=true'),
      (list) => !list.some((s) => s.workflowId === workflowId),
      10_000,
    );
  }, 120_000);

  it('OPS-5: a stuck invoice says so on itself (STUCK in `sm8qbo invoices` and `show`, one job note) and shows its own state again once the step succeeds', async () => {
    w.qbo.control.addFault({ method: 'POST', path: '/invoice', status: 500 });
    const job = f.job({
      clientUuid: f.client('Stuck On Itself Pty'),
      approved: true,
      lines: [{ name: 'Service', qty: '1', unit: '75', tax: 'GST' }],
    });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    const workflowId = invoiceWorkflowId(CONN, job);
    // Four failed attempts: the note was due on the third and again on the fourth (it must be written once).
    const step = await waitUntil(
      'the export to fail four times',
      () => stuckList().then((list) => list.find((s) => s.workflowId === workflowId)),
      (s) => (s?.attempts ?? 0) >= 4,
      60_000,
    ).then((s) => s as StuckStep);
    const words =
      'Stuck while syncing the invoice with QuickBooks: QuickBooks answered with a server error (HTTP 500). The sync keeps trying by itself.';
    expect(step.reason).toBe(words);

    // `sm8qbo invoices`: the invoice (no pass of it has stored anything yet) is listed as STUCK, with why.
    type Row = { job_uuid: string; state: string; reason_code: string | null; reason_text: string | null };
    const invoices = async (...opts: string[]): Promise<Row[]> =>
      JSON.parse((await cli('invoices', '--connection', CONN, '--json', ...opts)).out) as Row[];
    expect((await invoices()).find((r) => r.job_uuid === job)).toMatchObject({
      state: 'STUCK',
      reason_code: 'STEP_STUCK',
      reason_text: words,
    });
    expect((await invoices('--state', 'stuck')).map((r) => r.job_uuid)).toContain(job);
    // `sm8qbo show`: the invoice's state and reason are the stuck step's.
    const shown = (await cli('show', CONN, job)).out;
    expect(shown).toMatch(/Invoice\s+STUCK: a step keeps failing and the sync keeps trying by itself/);
    expect(shown).toMatch(/Reason\s+Stuck while syncing the invoice with QuickBooks: .* \(STEP_STUCK\)/);

    // QuickBooks recovers: the state is the pass's own again, and the job got exactly one note about it.
    w.qbo.control.clearFaults();
    await waitUntil(
      'the export once QuickBooks answers again',
      () => w.h.client.workflow.getHandle(workflowId).query(invoiceStatusQuery),
      (s) => s.state === 'EXPORTED' && s.idle,
      60_000,
    );
    expect((await invoices()).find((r) => r.job_uuid === job)).toMatchObject({
      state: 'EXPORTED',
      reason_code: null,
    });
    expect((await invoices('--state', 'stuck')).map((r) => r.job_uuid)).not.toContain(job);
    expect((await cli('show', CONN, job)).out).toMatch(/Invoice\s+EXPORTED: in QuickBooks/);
    expect(f.notesOf(job).filter((n) => n.includes('Stuck while'))).toEqual([`QuickBooks sync: ${words}`]);
  }, 120_000);

  it('OPS-5: a payment QuickBooks keeps refusing: the payments owner shows STUCK in the Web UI and the job gets one note, until QuickBooks recovers', async () => {
    const job = f.job({
      clientUuid: f.client('Stuck Payments Co'),
      approved: true,
      lines: [{ name: 'Service', qty: '1', unit: '90', tax: 'GST' }],
    });
    // A deposit recorded before the export: the payments owner's first look after the export sends it, and
    // the refusal is the first thing its run has to show (once an empty memo: STUCK without words).
    w.qbo.control.addFault({ method: 'POST', path: '/payment', status: 500 });
    const paid = crypto.randomUUID();
    w.sm8.control.insert('jobpayment', {
      uuid: paid,
      job_uuid: job,
      amount: '40.00',
      timestamp: '2026-11-23 09:00:00',
      method: 'Cash',
      active: 1,
    });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    await waitUntil(
      'the export',
      () => w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job)).query(invoiceStatusQuery),
      (s) => s.state === 'EXPORTED' && s.idle,
      60_000,
    );
    const workflowId = await signalPayments(w.h.client, w.h.taskQueue, CONN, job);
    const words =
      "Stuck while syncing the job's payments: QuickBooks answered with a server error (HTTP 500). The sync keeps trying by itself.";
    const describe = () => w.h.client.workflow.getHandle(workflowId).describe();
    const inUi = await waitUntil(
      'the payments owner to show STUCK',
      describe,
      (d) => d.typedSearchAttributes.get(SyncState) === 'STUCK',
      60_000,
    );
    expect(inUi.memo?.stuck).toBe(words);
    await waitUntil(
      'the job note',
      () => f.notesOf(job).filter((n) => n.includes('Stuck while')),
      (notes) => notes.length > 0,
      30_000,
    );

    // QuickBooks recovers; the bookkeeper asks for the step now rather than at its next backoff.
    w.qbo.control.clearFaults();
    const step = (await stuckList()).find((s) => s.workflowId === workflowId) as StuckStep;
    expect((await cli('stuck', 'retry', step.id)).code).toBe(0);
    await waitUntil(
      'the payment in QuickBooks',
      () => w.qbo.store.list('Payment', realm).find((p) => String(p.PrivateNote ?? '').includes(paid)),
      (p) => p !== undefined,
      60_000,
    );
    const after = await waitUntil(
      'the payments owner to show its own state again',
      describe,
      (d) => d.typedSearchAttributes.get(SyncState) !== 'STUCK',
      30_000,
    );
    expect(after.memo?.stuck ?? null).toBeNull();
    expect(f.notesOf(job).filter((n) => n.includes('Stuck while'))).toEqual([`QuickBooks sync: ${words}`]);
  }, 150_000);

  it('OPS-5: an exported invoice whose step is stuck lists as STUCK over its stored state (not under that state), dismissed or cleared it lists as stored again', async () => {
    const job = crypto.randomUUID();
    const workflowId = invoiceWorkflowId(CONN, job);
    await w.h.pool.query(
      `INSERT INTO invoice_exports (connection_id, job_uuid, generated_job_id, state, qbo_invoice_id, updated_at)
       VALUES ($1, $2, 'J-77', 'EXPORTED', '9077', now() - interval '1 day')`,
      [CONN, job],
    );
    await w.h.pool.query(
      `INSERT INTO stuck_steps (connection_id, workflow_id, activity_type, activity_id, attempts, failure_type, technical)
       VALUES ($1, $2, 'invoicePass', '1', 3, 'ApiTransient', 'QBO POST /invoice: 503 Service Unavailable')`,
      [CONN, workflowId],
    );
    type Row = { job_uuid: string; state: string; reason_code: string | null; stored_state?: string };
    const invoices = async (...opts: string[]): Promise<Row[]> =>
      JSON.parse((await cli('invoices', '--connection', CONN, '--json', ...opts)).out) as Row[];
    const rowOf = async (...opts: string[]) => (await invoices(...opts)).find((r) => r.job_uuid === job);
    expect(await rowOf()).toMatchObject({
      state: 'STUCK',
      reason_code: 'STEP_STUCK',
      stored_state: 'EXPORTED',
    });
    // Listed first although its row is the oldest, and not under its stored state while stuck.
    expect((await invoices())[0]?.job_uuid).toBe(job);
    expect(await rowOf('--state', 'EXPORTED')).toBeUndefined();
    expect(await rowOf('--state', 'STUCK')).toMatchObject({ stored_state: 'EXPORTED' });

    const [step] = (await stuckList()).filter((st) => st.workflowId === workflowId);
    expect((await cli('stuck', 'dismiss', String(step?.id))).code).toBe(0);
    expect(await rowOf()).toMatchObject({ state: 'EXPORTED', reason_code: null });
    // The step's first success deletes its row (activities/support/stuck-watch.ts).
    await w.h.pool.query('DELETE FROM stuck_steps WHERE workflow_id = $1', [workflowId]);
    expect(await rowOf('--state', 'EXPORTED')).toMatchObject({ state: 'EXPORTED' });
    await w.h.pool.query('DELETE FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2', [
      CONN,
      job,
    ]);
  });

  it('OPS-5: retry and dismiss of an unknown step answer 404, bad ids are refused, the list needs the token', async () => {
    expect((await axios.post(`${w.apiUrl}/admin/stuck/999999/retry`, {}, admin())).status).toBe(404);
    expect((await axios.post(`${w.apiUrl}/admin/stuck/999999/dismiss`, {}, admin())).status).toBe(404);
    expect((await axios.post(`${w.apiUrl}/admin/stuck/abc/dismiss`, {}, admin())).status).toBe(400);
    expect((await axios.get(`${w.apiUrl}/admin/stuck`, { validateStatus: () => true })).status).toBe(401);
  });
});
