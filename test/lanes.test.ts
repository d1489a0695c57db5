/**
 * Issue 12, "a wait for budget never blocks other work": activities run on their lane's task queue
 * (`<base>-<lane>`, domain/lanes.ts) with slots of their own (workers/sync-worker.ts). With every bulk slot
 * held by polls that wait (here on a slow ServiceM8 list, as they would on a permit), an approval's export
 * still runs at once, on the interactive lane.
 */
import type { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { routeEntityEvent, signalInvoice, signalPayments } from '../routing/routes';
import { invoiceWorkflowId, paymentsWorkflowId } from '../domain/workflow-ids';
import { LANE_SLOTS, laneTaskQueue, type Lane } from '../domain/lanes';
import { keepAliveHeartbeats, recordHeartbeat } from '../infra/activity-heartbeat';
import { currentLaneContext } from '../infra/lane-context';
import { apiCalls } from '../infra/metrics';
import { invoiceStatusQuery } from '../workflows/messages';
import { pollConnectionWorkflow } from '../workflows/poll';
import { startConnectedWorld } from './helpers/connected-world';
import type { Sm8Fixtures } from './helpers/sm8-fixtures';
import type { World } from './helpers/world';
import { waitFor } from './helpers/wait';

const CONN = 'lanes';
let w: World;
let f: Sm8Fixtures;
const fillers: WorkflowHandle[] = [];

beforeAll(async () => {
  ({ w, f } = await startConnectedWorld(CONN, {}));
});
afterAll(async () => {
  // Closing the world stops the worker, which cancels the filler passes still waiting.
  await w?.close();
});

const { PENDING_ACTIVITY_STATE_STARTED: STARTED, PENDING_ACTIVITY_STATE_SCHEDULED: SCHEDULED } =
  temporal.api.enums.v1.PendingActivityState;

/** The filler polls' ServiceM8 passes: running (holding a bulk slot) and waiting for a slot. */
async function fillerPasses(): Promise<{ running: number; waiting: number }> {
  let running = 0;
  let waiting = 0;
  for (const h of fillers) {
    const d = await h.describe();
    for (const a of d.raw.pendingActivities ?? []) {
      if (a.state === STARTED && a.activityType?.name === 'pollServiceM8Changes') running += 1;
      if (a.state === SCHEDULED) waiting += 1;
    }
  }
  return { running, waiting };
}

/** The activities a workflow scheduled: their type, task queue and timeouts (seconds). */
async function scheduled(
  workflowId: string,
): Promise<Array<{ type: string; queue: string; startToClose: number; heartbeat: number }>> {
  const history = await w.h.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) return [];
    return [
      {
        type: a.activityType?.name ?? '?',
        queue: a.taskQueue?.name ?? '?',
        startToClose: Number(a.startToCloseTimeout?.seconds ?? 0),
        heartbeat: Number(a.heartbeatTimeout?.seconds ?? 0),
      },
    ];
  });
}

/** The task queue of every activity a workflow scheduled, by activity type. */
async function scheduledQueues(workflowId: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const a of await scheduled(workflowId)) out.set(a.type, (out.get(a.type) ?? new Set()).add(a.queue));
  return out;
}

const onLane = (lane: Lane) => new Set([laneTaskQueue(w.h.taskQueue, lane)]);

/** The product's API calls so far (its metrics) whose labels pass `match`, summed by lane. */
async function apiCallsWhere(
  match: (labels: { system: string; endpoint: string }) => boolean,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await apiCalls.get()).values) {
    const l = v.labels as { system: string; endpoint: string; lane: string };
    if (match(l)) out[l.lane] = (out[l.lane] ?? 0) + v.value;
  }
  return out;
}

/**
 * A poll's find of `job` (nobody waits for it: a look on the live lane) whose first QuickBooks customer call is
 * slow, as the live lane's share of the window makes it; a person approves the job during that call. Waits
 * for the export; returns the invoice workflow's id.
 */
async function approvedDuringSlowLook(job: string): Promise<string> {
  const slow = w.qbo.control.addFault({ path: 'Customer|/customer', latencyMs: 2000, count: 1 });
  await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged', { background: true });
  await waitFor('the look in its slow customer call', async () =>
    w.qbo.control.listFaults().every((r) => r.id !== slow.id),
  );
  const routing = { temporal: w.h.client, links: w.h.deps.links, taskQueue: w.h.taskQueue, pool: w.h.pool };
  await routeEntityEvent(routing, {
    source: 'sm8',
    entity: 'job',
    connectionId: CONN,
    entityId: job,
    operation: null,
    hint: { changedFields: ['payment_processed'] },
  });
  const id = invoiceWorkflowId(CONN, job);
  await waitFor('the export', async () => {
    const x = await w.h.client.workflow
      .getHandle(id)
      .query(invoiceStatusQuery)
      .catch(() => undefined);
    return x?.state === 'EXPORTED' && x;
  });
  return id;
}

/** Waits until the invoice owner `id` has exported and is idle. */
function exportSettled(id: string): Promise<unknown> {
  return waitFor('the export', async () => {
    const x = await w.h.client.workflow
      .getHandle(id)
      .query(invoiceStatusQuery)
      .catch(() => undefined);
    return x?.state === 'EXPORTED' && x.idle;
  });
}

describe('issue 12: lanes as task queues', () => {
  it('an approval a poll finds (nobody waits for it: lost webhooks, or approved before connecting) exports on the live lane, behind the approvals people wait for; a resync someone asks for runs interactive', async () => {
    const client = f.client('Lanes Found By Poll');
    const job = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '1', unit: '60', tax: 'GST' }] });
    await w.h.client.workflow.execute(pollConnectionWorkflow, {
      workflowId: `poll/${CONN}/finds-${job}`,
      taskQueue: w.h.taskQueue,
      args: [{ connectionId: CONN }],
    });
    const id = invoiceWorkflowId(CONN, job);
    const passes = async () => (await scheduled(id)).filter((a) => a.type === 'invoicePass');
    const first = await waitFor('the export found by the poll', async () => (await passes())[0]);
    expect(first.queue).toBe(laneTaskQueue(w.h.taskQueue, 'live'));
    await exportSettled(id);
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'resync');
    // The run may have ended after the export (a resync then starts the next): its passes, in either run.
    const interactive = laneTaskQueue(w.h.taskQueue, 'interactive');
    await waitFor('the resync pass, on the interactive lane', async () =>
      (await passes()).find((p) => p.queue === interactive),
    );
  }, 60_000);

  it("a new job's first look (its webhook names status, approval flag and client at once) runs on the live lane; its approval's look runs interactive", async () => {
    const client = f.client('Lanes New Job');
    const job = f.job({
      clientUuid: client,
      approved: false,
      lines: [{ name: 'Labour', qty: '1', unit: '70', tax: 'GST' }],
    });
    const routing = { temporal: w.h.client, links: w.h.deps.links, taskQueue: w.h.taskQueue, pool: w.h.pool };
    const event = (changedFields: string[]) =>
      routeEntityEvent(routing, {
        source: 'sm8',
        entity: 'job',
        connectionId: CONN,
        entityId: job,
        operation: null,
        hint: { changedFields },
      });
    const id = invoiceWorkflowId(CONN, job);
    const passes = async () => (await scheduled(id)).filter((a) => a.type === 'invoicePass');
    await event([
      'status',
      'payment_processed',
      'total_invoice_amount',
      'invoice_sent',
      'active',
      'company_uuid',
    ]);
    // Its lines' total moves right after (a second webhook before its first look stored it): no hurry either.
    await event(['total_invoice_amount']);
    const first = await waitFor("the new job's look", async () => (await passes())[0]);
    expect(first.queue).toBe(laneTaskQueue(w.h.taskQueue, 'live'));
    await waitFor('the look to end', async () => {
      const x = await w.h.client.workflow
        .getHandle(id)
        .query(invoiceStatusQuery)
        .catch(() => undefined);
      return x?.state === 'NOT_APPROVED' && x.idle;
    });
    // No look of the new job ran interactive.
    expect((await passes()).map((p) => p.queue)).not.toContain(laneTaskQueue(w.h.taskQueue, 'interactive'));
    f.approve(job);
    await event(['payment_processed']);
    const interactive = laneTaskQueue(w.h.taskQueue, 'interactive');
    await waitFor("the approval's look, on the interactive lane", async () =>
      (await passes()).find((p) => p.queue === interactive),
    );
    // Its export ends here, not during the next test: that one counts the invoice writes made meanwhile.
    await exportSettled(id);
  }, 60_000);

  it('a look below the interactive lane whose job a person approves meanwhile makes its remaining calls interactive (priority inheritance)', async () => {
    const client = f.client('Lanes Raised Look');
    const job = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '1', unit: '80', tax: 'GST' }] });
    const invoiceCreates = () =>
      apiCallsWhere((l) => l.system !== 'servicem8' && /\/invoice$/.test(l.endpoint));
    const before = await invoiceCreates();
    const id = await approvedDuringSlowLook(job);
    // The look that exported it ran on the live lane; its invoice was written with an interactive permit.
    const passes = (await scheduled(id)).filter((a) => a.type === 'invoicePass');
    expect(passes[0]?.queue).toBe(laneTaskQueue(w.h.taskQueue, 'live'));
    const after = await invoiceCreates();
    expect((after.interactive ?? 0) - (before.interactive ?? 0)).toBe(1);
    expect((after.live ?? 0) - (before.live ?? 0)).toBe(0);
  }, 60_000);

  it('a look below the interactive lane hears its approval wherever it is: the calls after the approval are interactive, not only the invoice write', async () => {
    const client = f.client('Lanes Heard Look');
    const widget = f.material('Lanes Heard Widget', '35');
    const job = f.job({
      clientUuid: client,
      lines: [{ name: 'Lanes Heard Widget', qty: '1', unit: '35', tax: 'GST', materialUuid: widget }],
    });
    // The customer is made before the item (ensureParties): the approval comes during the slow customer call.
    const itemCreates = () => apiCallsWhere((l) => l.system !== 'servicem8' && /\/item$/.test(l.endpoint));
    const before = await itemCreates();
    const id = await approvedDuringSlowLook(job);
    expect((await scheduled(id)).filter((a) => a.type === 'invoicePass')[0]?.queue).toBe(
      laneTaskQueue(w.h.taskQueue, 'live'),
    );
    // The item was made after the approval (the customer call ran 2 s), in the interactive lane.
    const after = await itemCreates();
    expect((after.interactive ?? 0) - (before.interactive ?? 0)).toBe(1);
    expect((after.live ?? 0) - (before.live ?? 0)).toBe(0);
  }, 60_000);

  it('every bulk slot held by waiting polls: an approval still exports at once, on the interactive lane', async () => {
    // Each poll pass's ServiceM8 job list hangs 60 s: the passes hold their bulk slots, as a wait for
    // budget would. More passes than bulk slots, so some wait for a slot.
    w.sm8.control.faults.add({ method: 'GET', path: '^/api_1\\.0/job\\.json$', latencyMs: 60_000 });
    for (let i = 0; i < LANE_SLOTS.bulk + 4; i += 1) {
      fillers.push(
        await w.h.client.workflow.start(pollConnectionWorkflow, {
          workflowId: `poll/${CONN}/filler-${i}`,
          taskQueue: w.h.taskQueue,
          args: [{ connectionId: CONN }],
        }),
      );
    }
    await waitFor(
      'every bulk slot held by a waiting ServiceM8 poll, and more passes waiting for a slot',
      async () => {
        const p = await fillerPasses();
        return p.running === LANE_SLOTS.bulk && p.waiting > 0 && p;
      },
      30_000,
    );

    const client = f.client('Lanes Plumbing');
    const job = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '1', unit: '100', tax: 'GST' }] });
    const started = Date.now();
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    const handle = w.h.client.workflow.getHandle(invoiceWorkflowId(CONN, job));
    const s = await waitFor(
      'the export',
      async () => {
        const x = await handle.query(invoiceStatusQuery).catch(() => undefined);
        return x?.state === 'EXPORTED' && x;
      },
      20_000,
    );
    const tookMs = Date.now() - started;
    console.log(`export while the bulk lane is full: ${tookMs} ms`);
    expect(s.qboInvoiceId).toBeTruthy();
    // The bulk lane was still full the whole time: the export did not merely get in after it emptied.
    expect((await fillerPasses()).running).toBe(LANE_SLOTS.bulk);

    // The lane of each activity, read from the task queue it was scheduled on.
    const invoiceQueues = await scheduledQueues(invoiceWorkflowId(CONN, job));
    expect(invoiceQueues.size).toBeGreaterThan(0);
    for (const [type, queues] of invoiceQueues) expect([type, queues]).toEqual([type, onLane('interactive')]);
    const pollQueues = await scheduledQueues(fillers[0]?.workflowId as string);
    expect([...pollQueues.keys()].sort()).toEqual(
      ['getConnectionStatus', 'pollQuickBooksChanges', 'pollServiceM8Changes'].sort(),
    );
    for (const [type, queues] of pollQueues) expect([type, queues]).toEqual([type, onLane('bulk')]);

    // A wait for budget may be long (2 h start-to-close); a dead worker is noticed by the 30-second heartbeat
    // timeout (owner activities used to have none: a killed worker's activity was retried only after 5 minutes).
    for (const a of await scheduled(invoiceWorkflowId(CONN, job)))
      expect(a).toMatchObject({ startToClose: 2 * 3600, heartbeat: 30 });
  }, 90_000);

  it("a payments owner's first look after an export runs on the live lane, behind approvals; a payment someone recorded runs on the interactive lane", async () => {
    const client = f.client('Lanes Electrical');
    const job = f.job({ clientUuid: client, lines: [{ name: 'Labour', qty: '2', unit: '90', tax: 'GST' }] });
    await signalInvoice(w.h.client, w.h.taskQueue, CONN, job, 'sm8JobChanged');
    const payments = paymentsWorkflowId(CONN, job);
    const passes = async () => (await scheduled(payments)).filter((a) => a.type === 'paymentsPass');
    // Nobody waits for the look for payments recorded before export: it goes behind approvals.
    const first = await waitFor('the first payments pass after the export', async () => (await passes())[0]);
    expect(first.queue).toBe(laneTaskQueue(w.h.taskQueue, 'live'));
    await waitFor('the first pass to end', async () => {
      const d = await w.h.client.workflow.getHandle(payments).describe();
      return (d.raw.pendingActivities ?? []).length === 0;
    });
    // A payment recorded (a router's wake, not in the background): the owner's next look is interactive.
    await signalPayments(w.h.client, w.h.taskQueue, CONN, job, false);
    const second = await waitFor('a second payments pass', async () => (await passes())[1]);
    expect(second.queue).toBe(laneTaskQueue(w.h.taskQueue, 'interactive'));
  }, 60_000);

  it('the worker heartbeats for every running activity, repeating the progress it last reported', async () => {
    const beats: unknown[] = [];
    const ctx = { heartbeat: (d?: unknown) => beats.push(d) } as unknown as Context;
    const inbound = keepAliveHeartbeats(10)(ctx).inbound;
    const result = await inbound?.execute?.({ args: [], headers: {} }, async () => {
      recordHeartbeat(ctx, { page: 3 });
      // A slow step that reports nothing more: the keep-alive beats meanwhile.
      await waitFor('three keep-alive beats', () => beats.length >= 4, 10_000);
      return 'done';
    });
    expect(result).toBe('done');
    expect(beats.every((d) => JSON.stringify(d) === '{"page":3}')).toBe(true);
    const after = beats.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(beats.length).toBe(after); // stopped with the activity
  });

  it('an activity reads its lane from its task queue; the base queue counts as live, no activity as interactive', async () => {
    const laneOn = (taskQueue: string) =>
      new MockActivityEnvironment({ taskQueue }).run(async () => currentLaneContext().lane);
    expect(await laneOn('sm8-qbo-sync-interactive')).toBe('interactive');
    expect(await laneOn('sm8-qbo-sync-live')).toBe('live');
    expect(await laneOn('sm8-qbo-sync-bulk')).toBe('bulk');
    expect(await laneOn('sm8-qbo-sync')).toBe('live');
    expect(currentLaneContext().lane).toBe('interactive');
  });
});
