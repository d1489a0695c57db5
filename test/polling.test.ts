/**
 * TRG-2, the polling safety net, end to end with webhooks switched off on both simulators: ServiceM8
 * simulator -> poll workflow (run by hand, and by its Temporal Schedule) -> invoice workflow -> QuickBooks
 * simulator, and back. Assertions are on the other system's data.
 */
import crypto from 'node:crypto';
import { QuickBooksClient } from '../apis/quickbooks/client';
import {
  QBO_CDC_STREAM,
  SM8_JOB_STREAM,
  shiftIsoKeepingOffset,
  shiftSm8Time,
  sm8TimeIn,
} from '../activities/poll';
import { signalInvoice } from '../routing/routes';
import {
  deleteConnectionSchedules,
  describeConnectionSchedules,
  ensureConnectionSchedules,
  scheduleIds,
} from '../client/schedules';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { loadConfig } from '../infra/config';
import type { Json } from '../simulators/quickbooks/types';
import { invoiceStatusQuery, type InvoiceStatus } from '../workflows/messages';
import {
  pollConnectionWorkflow,
  reconcileInvoicesWorkflow,
  taxPollWorkflow,
  type PollResult,
  type ReconcileWorkflowResult,
} from '../workflows/poll';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { qboBornInvoice } from './helpers/qbo-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitFor } from './helpers/wait';

let w: World;
let f: Sm8Fixtures;
let realm: string;
const CONN = 'trg2';

beforeAll(async () => {
  // Every pass lists each ServiceM8 object that has an owner (job, company, companycontact, material), and
  // this file runs many passes back to back: ServiceM8's documented 180 calls a minute would make its last
  // tests wait for budget, which is not what they measure (the governor has its own tests).
  w = await startWorld({
    sm8: { rateLimitPerMinute: 2000 },
    governorLimits: { sm8: { perMinute: 2000, perDay: 1_000_000 } },
  });
  // Poll only: whatever the world is configured to send, no webhook reaches the product in this file.
  w.sm8.control.webhooks.pause();
  w.qbo.control.pauseWebhooks();
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await deleteConnectionSchedules(w.h.client, CONN).catch(() => undefined);
  await w.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One poll pass, started by hand (the schedule's passes are proven separately). */
async function poll(): Promise<PollResult> {
  return w.h.client.workflow.execute(pollConnectionWorkflow, {
    workflowId: `poll/${CONN}/manual-${crypto.randomUUID()}`,
    taskQueue: w.h.taskQueue,
    args: [{ connectionId: CONN }],
  });
}

async function reconcile(): Promise<ReconcileWorkflowResult> {
  return w.h.client.workflow.execute(reconcileInvoicesWorkflow, {
    workflowId: `reconcile/${CONN}/manual-${crypto.randomUUID()}`,
    taskQueue: w.h.taskQueue,
    args: [{ connectionId: CONN }],
  });
}

async function status(jobUuid: string): Promise<InvoiceStatus | undefined> {
  try {
    return await w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, jobUuid)).query(invoiceStatusQuery);
  } catch {
    return undefined; // not started yet, or between runs
  }
}

const invoicesOfJob = (jobUuid: string): Json[] =>
  w.qbo.store
    .list('Invoice', realm)
    .filter((i) => String(i.PrivateNote ?? '').includes(`[sm8:job:${jobUuid}]`));

async function watermark(stream: string): Promise<string | undefined> {
  const r = await w.h.pool.query<{ value: string }>(
    'SELECT value FROM watermarks WHERE connection_id = $1 AND stream = $2',
    [CONN, stream],
  );
  return r.rows[0]?.value;
}

function approvedJob(client: string, unit = '90'): string {
  return f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '2', unit, tax: 'GST' }] });
}

/** Waits until the job's invoice is exported and its workflow idle; returns the QuickBooks invoice. */
async function exported(jobUuid: string, timeoutMs = 60_000): Promise<Json> {
  const s = await waitFor(
    `the export of job ${jobUuid}`,
    async () => {
      const x = await status(jobUuid);
      return x?.state === 'EXPORTED' && x.idle ? x : undefined;
    },
    timeoutMs,
  );
  const inv = w.qbo.store.get('Invoice', String(s.qboInvoiceId), realm);
  if (!inv) throw new Error(`no QuickBooks invoice ${s.qboInvoiceId}`);
  return inv;
}

/** Runs passes until one routes nothing (every echo of earlier work consumed), waiting for owners between. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) {
    const r = await poll();
    // Jobs only: tax rates (TAX-3) and linked clients/materials (CM-2) have owners other than invoices.
    const jobs = (r.sm8?.routedIds ?? []).filter((id) => w.sm8.store.get('job', id));
    if (!jobs.length && !r.qbo?.routed) return;
    for (const job of jobs) await waitFor(`job ${job} idle`, async () => (await status(job))?.idle);
    await sleep(300);
  }
  throw new Error('the poll did not settle');
}

describe('TRG-2: polling safety net (no webhooks)', () => {
  it('TRG-2: an approved ServiceM8 job reaches QuickBooks by the poll alone', async () => {
    const client = f.client('Poll Only Plumbing');
    const job = approvedJob(client);
    expect(invoicesOfJob(job)).toHaveLength(0);

    const r = await poll();
    expect(r.skipped).toBeUndefined();
    expect(r.sm8?.routedIds).toContain(job);
    const inv = await exported(job);
    expect(inv.TotalAmt).toBe(198);
    expect(invoicesOfJob(job)).toHaveLength(1);
    const row = await w.h.pool.query(
      'SELECT state FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2',
      [CONN, job],
    );
    expect(row.rows[0]?.state).toBe('EXPORTED');
    // Nothing arrived by webhook: the simulators delivered none.
    expect(w.sm8.control.webhooks.deliveries().filter((d) => d.status === 'delivered')).toHaveLength(0);
    expect(w.qbo.control.webhookDeliveries().filter((d) => d.ok)).toHaveLength(0);
  });

  it('TRG-2: an invoice emailed in QuickBooks comes back as invoice_sent = 1 through the CDC poll', async () => {
    const client = f.client('Emailed Invoice Co');
    const job = approvedJob(client, '40');
    await poll();
    const inv = await exported(job);
    expect(f.get('job', job).invoice_sent).toBe(0);

    await new QuickBooksClient(w.h.deps.qboClientDeps(), CONN).sendInvoice(String(inv.Id), 'poll-send-1');
    expect(w.qbo.store.get('Invoice', String(inv.Id), realm)?.EmailStatus).toBe('EmailSent');
    const r = await poll();
    expect(r.qbo?.routedIds).toContain(String(inv.Id));
    await waitFor('invoice_sent = 1 in ServiceM8', () => f.get('job', job).invoice_sent === 1);
    expect(f.get('job', job).invoice_sent).toBe(1);
  });

  it('TRG-2: watermarks advance, and a second pass with nothing new routes nothing', async () => {
    await settle();
    const sm8Before = await watermark(SM8_JOB_STREAM);
    const qboBefore = await watermark(QBO_CDC_STREAM);
    expect(sm8Before).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(qboBefore).toBeDefined();

    const idle = await poll();
    expect(idle.sm8).toMatchObject({ changed: 0, routed: 0, routedIds: [], stored: true });
    expect(idle.qbo).toMatchObject({ changed: 0, routed: 0, routedIds: [], stored: true });
    // Re-reading the overlap is not "new": the ServiceM8 watermark stays; QuickBooks' cursor is its clock.
    expect(idle.sm8?.read).toBeGreaterThan(0);
    expect(await watermark(SM8_JOB_STREAM)).toBe(sm8Before);
    expect(Date.parse(String(await watermark(QBO_CDC_STREAM)))).toBeGreaterThan(
      Date.parse(String(qboBefore)),
    );

    await sleep(1100); // ServiceM8 edit dates have one-second resolution
    const client = f.client('Watermark Advance Ltd');
    const job = approvedJob(client, '10');
    const next = await poll();
    // The job and its new client (company and contact): the poll reads every object with an owner, and the
    // client, not linked to QuickBooks (CM-3), wakes nobody.
    expect(next.sm8).toMatchObject({ changed: 3, routed: 1, routedIds: [job] });
    expect(next.qbo).toMatchObject({ routed: next.qbo?.routedIds.length });
    const sm8After = String(await watermark(SM8_JOB_STREAM));
    expect(sm8After > String(sm8Before)).toBe(true);
    expect(sm8After).toBe(String(f.get('job', job).edit_date));
    const inv = await exported(job);
    expect(inv.TotalAmt).toBe(22);

    // The export is a QuickBooks change (our own echo): one pass sees it (this one, or the previous if
    // the export was quick enough), the next sees nothing.
    const echo = await poll();
    // The export created the invoice and its customer in QuickBooks. Issue 12: the invoice's poll hit carries
    // our own write's time and SyncToken, and the customer's is at the SyncToken its link was made with: both
    // wake nobody.
    const customerId = String((await w.h.deps.links.bySm8(CONN, 'customer', client))?.qboId);
    const changedQbo = [...(next.qbo?.changed ? [next.qbo] : []), echo.qbo];
    expect(changedQbo.reduce((n, p) => n + (p?.changed ?? 0), 0)).toBeGreaterThanOrEqual(2);
    expect([...(next.qbo?.routedIds ?? []), ...(echo.qbo?.routedIds ?? [])]).not.toContain(customerId);
    expect(echo.sm8?.routed).toBe(0);
    await waitFor('the echo to be looked at', async () => (await status(job))?.idle);
    const quiet = await poll();
    expect(quiet.sm8).toMatchObject({ changed: 0, routed: 0 });
    expect(quiet.qbo).toMatchObject({ changed: 0, routed: 0 });
  });

  it('TRG-2: overlapping passes, a webhook-like event and a re-read overlap export one invoice', async () => {
    const client = f.client('Overlap Electrical');
    const job = approvedJob(client, '55');
    // Three passes at once plus the event a webhook would have sent.
    const [a, b, c] = await Promise.all([
      poll(),
      poll(),
      poll(),
      signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged'),
    ]);
    // A pass that lists the job after the event's owner read it leaves it (issue 12: that version was read);
    // one that lists it before routes it. Either way the passes ran alongside the event's owner.
    expect([a, b, c].every((r) => r.sm8?.stored !== undefined)).toBe(true);
    const inv = await exported(job);

    // Forget what was seen, by the poll and by the owners (the versions their passes read): the next pass
    // routes everything in its overlap (the last hour) again.
    await w.h.pool.query(`UPDATE watermarks SET value = '{}' WHERE connection_id = $1 AND stream = $2`, [
      CONN,
      `${SM8_JOB_STREAM}:seen`,
    ]);
    await w.h.pool.query(`DELETE FROM cm_record_cache WHERE connection_id = $1 AND object = 'job-seen'`, [
      CONN,
    ]);
    const again = await poll();
    expect(again.sm8?.routedIds).toContain(job);
    await waitFor('the re-routed job to be looked at', async () => (await status(job))?.idle);
    await sleep(500);
    expect(invoicesOfJob(job)).toHaveLength(1);
    expect(invoicesOfJob(job)[0]?.Id).toBe(inv.Id);
  });

  it('TRG-2 (issue 12): a version of a job its owner already read (a webhook woke it first) is not routed again by the poll; a newer edit is', async () => {
    await settle();
    await poll(); // what earlier tests left in the overlap
    const client = f.client('Seen Version Plumbing');
    const job = approvedJob(client, '30');
    // The event a webhook would have sent: the owner reads the job and exports it.
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    await exported(job);
    await waitFor('the owner to be idle', async () => (await status(job))?.idle);
    const later = await poll();
    expect(later.sm8?.routedIds).not.toContain(job);

    await sleep(1100); // ServiceM8 edit dates have one-second resolution
    w.sm8.control.update('job', job, { job_description: 'Seen version: edited after export' });
    const edited = await poll();
    expect(edited.sm8?.routedIds).toContain(job);
  });

  it('TRG-2: reconciliation reports nothing when in step, and a total edited in QuickBooks as drift with both figures', async () => {
    await settle();
    const clean = await reconcile();
    expect(clean.checked).toBeGreaterThanOrEqual(4);
    expect(clean).toMatchObject({ driftCount: 0, drift: [] });
    expect(clean.inStep).toBe(clean.checked);

    const client = f.client('Drifting Totals Pty');
    const job = approvedJob(client); // 2 x 90 + GST = 198.00
    await poll();
    const inv = await exported(job);
    // A bookkeeper changes the quantity in the QuickBooks UI: 3 x 90 + GST = 297.00.
    const lines = (inv.Line as Json[])
      .filter((l) => l.DetailType === 'SalesItemLineDetail')
      .map((l) => ({
        ...l,
        Amount: 270,
        SalesItemLineDetail: { ...(l.SalesItemLineDetail as Json), Qty: 3 },
      }));
    w.qbo.control.upsertRecord('Invoice', { Id: inv.Id, Line: lines }, realm);
    expect(w.qbo.store.get('Invoice', String(inv.Id), realm)?.TotalAmt).toBe(297);

    const drift = await reconcile();
    expect(drift.driftCount).toBe(1);
    expect(drift.drift).toEqual([
      {
        kind: 'total_differs',
        jobUuid: job,
        qboInvoiceId: String(inv.Id),
        docNumber: String(inv.DocNumber),
        sm8TotalCents: 19800,
        qboTotalCents: 29700,
      },
    ]);
    const audit = await w.h.pool.query<{ entity_type: string; detail: Record<string, unknown> }>(
      `SELECT entity_type, detail FROM audit_log
        WHERE connection_id = $1 AND action = 'reconcile_drift' AND entity_ref = $2`,
      [CONN, job],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({
      entity_type: 'invoice',
      detail: { sm8Total: '198.00', qboTotal: '297.00', qboInvoiceId: String(inv.Id) },
    });
    // After export QuickBooks owns the ledger: waking the owner did not overwrite the bookkeeper's edit.
    await waitFor('the woken owner to be idle', async () => (await status(job))?.idle);
    expect(w.qbo.store.get('Invoice', String(inv.Id), realm)?.TotalAmt).toBe(297);
  });

  it('TRG-2: a CDC answer capped at 1000 objects is paged on from its newest change: nothing is lost', async () => {
    // 1200 invoices born in QuickBooks: every CDC entity has an owner now, and these are the changes whose
    // routing costs no workflow (INV-8: no link, so they are read, looked up and ignored).
    const first = qboBornInvoice(w.qbo, realm, 'CDC Counter Customer');
    await settle();
    const made = (n: number) => {
      for (let i = 0; i < n; i += 1)
        w.qbo.control.upsertRecord(
          'Invoice',
          { CustomerRef: first.CustomerRef, Line: first.Line, PrivateNote: `counter sale ${i}` },
          realm,
        );
    };
    made(600);
    await sleep(1100); // QuickBooks times have one-second resolution: the second batch is a second later
    made(600);
    const cdcCalls = () =>
      w.qbo.control.calls().filter((c) => c.realmId === realm && c.endpoint.includes('/cdc')).length;
    const before = cdcCalls();
    const r = await poll();
    expect(r.qbo).toMatchObject({ changed: 1200, routed: 0, ignored: 1200, collected: {} });
    expect(r.qbo?.gap).toBeUndefined();
    expect(cdcCalls() - before).toBe(2);
    const next = await poll();
    expect(next.qbo).toMatchObject({ changed: 0, routed: 0, collected: {} });
  });

  it('TAX-2: a tax poll pass runs the tax sync and returns its counts (details in tax.test.ts)', async () => {
    const r = await w.h.client.workflow.execute(taxPollWorkflow, {
      workflowId: `tax-poll/${CONN}/manual-${crypto.randomUUID()}`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN }],
    });
    expect(r.skipped).toBeUndefined();
    expect(r).toMatchObject({ connectionId: CONN, failed: 0 });
    // The ServiceM8 "GST" 10 % is QuickBooks' GST: linked (by this pass or an earlier one), not duplicated.
    const links = await w.h.pool.query<{ sm8_uuid: string; qbo_id: string }>(
      `SELECT sm8_uuid, qbo_id FROM links WHERE connection_id = $1 AND entity_type = 'taxcode'`,
      [CONN],
    );
    expect(links.rows).toContainEqual({ sm8_uuid: f.taxRates.GST, qbo_id: '4' });
    const named = (name: string) => w.sm8.store.list('taxrate').filter((t) => t.name === name);
    expect(named('GST')).toHaveLength(1);
    expect(named('GST Free')).toHaveLength(1); // QuickBooks' GST Free, imported once (TAX-1)
  });

  it('TRG-2: ensureConnectionSchedules twice gives one schedule each; a new interval is applied', async () => {
    const base = {
      connectionId: CONN,
      taskQueue: w.h.taskQueue,
      taxEvery: '20m',
      reconcileCron: '30 2 * * *',
    };
    const first = await ensureConnectionSchedules(w.h.client, { ...base, pollEvery: '1h' });
    const second = await ensureConnectionSchedules(w.h.client, { ...base, pollEvery: '1h' });
    const ids = scheduleIds(CONN);
    expect(first.map((s) => [s.scheduleId, s.created])).toEqual([
      [ids.poll, true],
      [ids.taxPoll, true],
      [ids.reconcile, true],
    ]);
    expect(second.every((s) => !s.created)).toBe(true);

    const listed = await waitFor('the schedules to be listed', async () => {
      const found: string[] = [];
      for await (const s of w.h.client.schedule.list())
        if (s.scheduleId.endsWith(`/${CONN}`)) found.push(s.scheduleId);
      return found.length >= 3 ? found : undefined;
    });
    expect(listed.sort()).toEqual([ids.poll, ids.reconcile, ids.taxPoll].sort());

    const d = await describeConnectionSchedules(w.h.client, CONN);
    expect(d.poll?.spec.intervals?.map((i) => i.every)).toEqual([3_600_000]);
    expect(d.poll?.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 3_600_000 });
    expect(d.poll?.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'pollConnectionWorkflow',
      workflowId: ids.poll,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN }],
    });
    expect(d.taxPoll?.spec.intervals?.map((i) => i.every)).toEqual([1_200_000]);
    expect(d.taxPoll?.action).toMatchObject({ workflowType: 'taxPollWorkflow' });
    expect(d.reconcile?.action).toMatchObject({ workflowType: 'reconcileInvoicesWorkflow' });
    expect(d.reconcile?.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 6 * 3_600_000 });
    expect(d.reconcile?.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 2, end: 2, step: 1 }],
      minute: [{ start: 30, end: 30, step: 1 }],
    });

    const updated = await ensureConnectionSchedules(w.h.client, {
      ...base,
      pollEvery: '30m',
      reconcileCron: 'CRON_TZ=Australia/Sydney 15 3 * * *',
    });
    expect(updated.every((s) => !s.created)).toBe(true);
    const after = await describeConnectionSchedules(w.h.client, CONN);
    expect(after.poll?.spec.intervals?.map((i) => i.every)).toEqual([1_800_000]);
    expect(after.poll?.policies.catchupWindow).toBe(1_800_000);
    expect(after.reconcile?.spec.timezone).toBe('Australia/Sydney');
    expect(after.reconcile?.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }] });

    await expect(ensureConnectionSchedules(w.h.client, { ...base, taxEvery: '21m' })).rejects.toThrow(
      /TAX-2/,
    );
  });

  it('TRG-2: the Schedule itself polls: an approval reaches QuickBooks with no webhook and no manual pass', async () => {
    await settle();
    await ensureConnectionSchedules(w.h.client, {
      connectionId: CONN,
      taskQueue: w.h.taskQueue,
      pollEvery: '2s',
      taxEvery: '20m',
    });
    const client = f.client('Scheduled Poll Services');
    const job = f.job({
      clientUuid: client,
      approved: false,
      lines: [{ name: 'Labour', qty: '1', unit: '100', tax: 'GST' }],
    });
    await sleep(3000); // a scheduled pass or two sees the unapproved job (and does nothing)
    expect(invoicesOfJob(job)).toHaveLength(0);

    const approvedAt = Date.now();
    f.approve(job);
    await waitFor(
      'the scheduled poll to export the job',
      () => (invoicesOfJob(job).length ? true : undefined),
      60_000,
    );
    const latencyMs = Date.now() - approvedAt;
    process.stderr.write(`[TRG-2] poll-only latency with a 2 s schedule: ${latencyMs} ms\n`);
    expect(latencyMs).toBeLessThan(30_000);
    expect(invoicesOfJob(job)[0]?.TotalAmt).toBe(110);

    // The passes were started by the schedule, with its ids and search attributes.
    const started = await waitFor('scheduled passes in visibility', async () => {
      const ids: string[] = [];
      for await (const x of w.h.client.workflow.list({
        query: `ConnectionId = "${CONN}" AND EntityType = "poll" AND WorkflowType = "pollConnectionWorkflow"`,
      }))
        if (x.workflowId.startsWith(`${scheduleIds(CONN).poll}-`)) ids.push(x.workflowId);
      return ids.length ? ids : undefined;
    });
    expect(started[0]).toMatch(new RegExp(`^poll/${CONN}-\\d{4}-\\d{2}-\\d{2}T`));

    expect((await deleteConnectionSchedules(w.h.client, CONN)).sort()).toEqual(
      Object.values(scheduleIds(CONN)).sort(),
    );
    expect(await describeConnectionSchedules(w.h.client, CONN)).toEqual({});
    expect(await deleteConnectionSchedules(w.h.client, CONN)).toEqual([]);
  });
});

describe('TRG-2: watermark arithmetic and configuration', () => {
  it('TRG-2: ServiceM8 times shift as wall-clock text; QuickBooks times keep their UTC offset', () => {
    expect(shiftSm8Time('2026-03-01 00:00:30', -65 * 60_000)).toBe('2026-02-28 22:55:30');
    expect(sm8TimeIn(new Date('2026-01-10T00:00:00Z'), 'Australia/Sydney')).toBe('2026-01-10 11:00:00');
    expect(shiftIsoKeepingOffset('2026-01-10T09:29:56.229-07:00', -120_000)).toBe(
      '2026-01-10T09:27:56-07:00',
    );
    expect(shiftIsoKeepingOffset('2026-01-10T00:01:00Z', -120_000)).toBe('2026-01-09T23:59:00Z');
  });

  it('TRG-2 / TAX-2: poll intervals and the reconciliation cron are read from configuration', () => {
    // Adaptive polling: every 10 minutes while webhooks bring every change, every minute while a gap is suspected.
    expect(loadConfig({}).polling).toEqual({
      intervalMs: 10 * 60_000,
      fastIntervalMs: 60_000,
      taxIntervalMs: 15 * 60_000,
      reconcileCron: '30 2 * * *',
    });
    expect(
      loadConfig({ POLL_INTERVAL: '30s', RECONCILE_CRON: 'CRON_TZ=Australia/Sydney 0 3 * * *' }).polling,
    ).toMatchObject({ intervalMs: 30_000, reconcileCron: 'CRON_TZ=Australia/Sydney 0 3 * * *' });
    expect(() => loadConfig({ POLL_INTERVAL: 'often' })).toThrow(/POLL_INTERVAL must be a duration/);
    expect(() => loadConfig({ TAX_POLL_INTERVAL: '21m' })).toThrow(/TAX_POLL_INTERVAL must be a duration/);
    expect(() => loadConfig({ RECONCILE_CRON: 'nightly' })).toThrow(/RECONCILE_CRON must be a cron/);
  });
});
