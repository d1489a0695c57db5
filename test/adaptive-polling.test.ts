/**
 * Adaptive polling (TRG-2, issue 12): what a settled connection costs in ServiceM8 calls a day at idle, with
 * the poll every minute (before) and with adaptive polling (after: every 10 minutes while webhooks bring every
 * change, every minute while a gap is suspected), and how soon a change made without any webhook arrives.
 *
 * Time is scaled: one test second stands for one real minute (SCALE), and the product's default intervals are
 * divided by it, so the regular interval is 10 s, the fast one 1 s and the tax poll 15 s. Calls counted in a window of W test seconds are W real minutes of calls;
 * a day is 1,440 of them. Counted: every ServiceM8 API call in the simulator's call log.
 */
import { ensureConnectionSchedules } from '../client/schedules';
import { invoiceWorkflowId } from '../domain/workflow-ids';
import { loadConfig } from '../infra/config';
import type { CallRecord } from '../simulators/servicem8/calls';
import { invoiceStatusQuery } from '../workflows/messages';
import type { PollResult } from '../workflows/poll';
import { Sm8Fixtures } from './helpers/sm8-fixtures';
import { startWorld, type World } from './helpers/world';
import { waitFor } from './helpers/wait';

/** Real milliseconds per test millisecond. */
const SCALE = 60;
const CONN = 'adaptive';
/** The product's default intervals (POLL_INTERVAL, POLL_FAST_INTERVAL, TAX_POLL_INTERVAL), scaled. */
const defaults = loadConfig({}).polling;
const REGULAR_MS = defaults.intervalMs / SCALE; // 10 minutes: 10 s
const FAST_MS = defaults.fastIntervalMs / SCALE; // 1 minute: 1 s
const TAX_MS = defaults.taxIntervalMs / SCALE; // 15 minutes: 15 s
const DAY_MINUTES = 24 * 60;

let w: World;
let f: Sm8Fixtures;
let realm: string;

beforeAll(async () => {
  w = await startWorld({
    webhooks: true,
    schedules: true,
    env: {
      POLL_INTERVAL: `${REGULAR_MS}ms`,
      POLL_FAST_INTERVAL: `${FAST_MS}ms`,
      TAX_POLL_INTERVAL: `${TAX_MS}ms`,
      LOG_LEVEL: 'error',
    },
  });
  f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  realm = (await w.connect(CONN)).realmId;
});
afterAll(async () => {
  await w?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const calls = (): CallRecord[] => w.sm8.control.calls.list();
/** A poll pass's ServiceM8 job list (each pass lists jobs first). */
const isJobPoll = (c: CallRecord) => c.method === 'GET' && c.path === '/api_1.0/job.json';

/** Settled: for `quietMs`, ServiceM8 saw no write and no single-record read (only the polls' lists). */
async function settled(quietMs = 12_000): Promise<void> {
  await waitFor(
    'the connection to settle (no ServiceM8 writes or record reads)',
    () => {
      const since = Date.now() - quietMs;
      const recent = calls().filter((c) => Date.parse(c.time) >= since);
      const busy = recent.filter((c) => c.method !== 'GET' || c.operation !== 'list');
      const first = calls()[0];
      return !busy.length && first !== undefined && Date.parse(first.time) < since;
    },
    120_000,
  );
}

/** ServiceM8 calls of `windowMs` test time, scaled to a real day. */
async function measureIdle(windowMs: number): Promise<{ calls: number; passes: number; perDay: number }> {
  w.sm8.control.calls.clear();
  await sleep(windowMs);
  const made = calls();
  const realMinutes = (windowMs * SCALE) / 60_000;
  return {
    calls: made.length,
    passes: made.filter(isJobPoll).length,
    perDay: Math.round((made.length * DAY_MINUTES) / realMinutes),
  };
}

describe('TRG-2: adaptive polling', () => {
  let after: { calls: number; passes: number; perDay: number };

  it('TRG-2: a connection polls at once when it is made (not one interval later)', async () => {
    const connected = calls().find((c) => c.path === '/api_1.0/vendor.json');
    const firstPass = await waitFor('the first poll pass', () => calls().find(isJobPoll), REGULAR_MS);
    expect(connected).toBeDefined();
    expect(Date.parse(firstPass.time) - Date.parse(connected?.time ?? '')).toBeLessThan(REGULAR_MS / 2);
  });

  it('TRG-2: a settled connection at idle costs at most 3,000 ServiceM8 calls a day', async () => {
    await settled();
    after = await measureIdle((60 * 60_000) / SCALE); // one real hour
    process.stderr.write(
      `[adaptive polling] after: ${after.calls} ServiceM8 calls (${after.passes} poll passes) in 60 real minutes = ${after.perDay} calls/day at idle\n`,
    );
    expect(after.passes).toBeLessThanOrEqual(8); // 6 regular passes an hour, and a little jitter
    expect(after.perDay).toBeLessThanOrEqual(3_000);
  }, 180_000);

  it('TRG-2: a change made without a webhook arrives within the regular interval, and fast passes follow it until quiet', async () => {
    w.sm8.control.webhooks.pause(); // ServiceM8 tells us nothing from here on
    const client = f.client('No Webhook Plumbing');
    const job = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '1', unit: '100', tax: 'GST' }] });
    const madeAt = Date.now();
    const handle = w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job));
    await waitFor('a poll pass to route the job', () => handle.describe().then(() => true), 2 * REGULAR_MS);
    const routedAt = Date.now();
    await waitFor(
      'the export',
      async () => (await handle.query(invoiceStatusQuery)).state === 'EXPORTED',
      30_000,
    );
    const lagMs = routedAt - madeAt;
    process.stderr.write(
      `[adaptive polling] a change without webhook routed after ${((lagMs * SCALE) / 60_000).toFixed(1)} real minutes (at most one regular interval, 10)\n`,
    );
    expect(lagMs).toBeLessThanOrEqual(REGULAR_MS + 5_000);
    expect(w.qbo.store.list('Invoice', realm).some((i) => String(i.PrivateNote).includes(job))).toBe(true);
    // The pass that found it suspected a gap: it continued as new after the fast interval, and that chain of
    // fast passes ended once a pass was quiet.
    const chain = await waitFor(
      'the pass that found the change to continue with a fast pass',
      async () => {
        for await (const x of w.h.client.workflow.list({
          query: `WorkflowType = "pollConnectionWorkflow" AND ConnectionId = "${CONN}" AND ExecutionStatus = "ContinuedAsNew"`,
        }))
          if (x.startTime.getTime() >= madeAt - REGULAR_MS) return x;
        return undefined;
      },
      30_000,
    );
    const last = (await w.h.client.workflow.getHandle(chain.workflowId).result()) as PollResult;
    expect(last.next).toMatchObject({ next: 'regular', reason: expect.stringMatching(/^quiet again after/) });
  }, 60_000);

  it('TRG-2: before, the poll every minute cost far more (the same connection, idle)', async () => {
    w.sm8.control.webhooks.resume();
    await ensureConnectionSchedules(w.h.client, {
      connectionId: CONN,
      taskQueue: w.h.taskQueue,
      pollEvery: FAST_MS,
      pollFastEvery: FAST_MS,
      taxEvery: TAX_MS,
    });
    await settled(3_000);
    const before = await measureIdle((20 * 60_000) / SCALE); // 20 real minutes
    process.stderr.write(
      `[adaptive polling] before: ${before.calls} ServiceM8 calls (${before.passes} poll passes) in 20 real minutes = ${before.perDay} calls/day at idle; after: ${after.perDay}\n`,
    );
    expect(before.perDay).toBeGreaterThan(3 * after.perDay);
  }, 60_000);
});
