/**
 * Issue 12, the governor: priority lanes (in-process order, per-lane shares of every budget across
 * processes), the slowdown after a 429 (Retry-After honoured exactly), ServiceM8's daily plan, waiting that
 * heartbeats and is cancelled but never fails, and a paused connection refused before any permit. Against
 * the real PostgreSQL of the test run; a separate pool stands for another worker process.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'pg';
import { classifyApiError, FailureType } from '../apis/errors';
import {
  ConnectionNotActive,
  RateGovernor,
  RateGovernorTimeout,
  type GovernorOptions,
  type Permit,
} from '../apis/governor/rate-governor';
import { laneMinuteLimit, scaledLimits } from '../apis/governor/policy';
import { inNameTurn } from '../activities/support/name-turn';
import { ServiceM8Client } from '../apis/servicem8/client';
import type { Sm8AuthProvider } from '../apis/servicem8/auth';
import type { BudgetUsage, Lane } from '../domain/lanes';
import { createPool } from '../infra/database';
import { nameTurnWait, permitWaiters } from '../infra/metrics';
import { testEnv } from './helpers/env';

const pool = createPool(testEnv.databaseUrl, 6);
const otherPools: Pool[] = [];
const governors: RateGovernor[] = [];
const PREFIX = `gl-${process.pid}-${Date.now()}`;
let counter = 0;

async function newConnection(): Promise<string> {
  counter += 1;
  const id = `${PREFIX}-${counter}`;
  await pool.query('INSERT INTO connections (id, name) VALUES ($1, $1)', [id]);
  return id;
}

function workerPool(): Pool {
  const p = createPool(testEnv.databaseUrl, 4);
  otherPools.push(p);
  return p;
}

function governor(opts: GovernorOptions, p: Pool = pool): RateGovernor {
  const g = new RateGovernor(p, opts);
  governors.push(g);
  return g;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function track<T>(p: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  const promise = p.finally(() => {
    done = true;
  });
  return { settled: () => done, promise };
}

/** Takes permits of `lane` one by one until refused at once; returns how many and what refused. */
async function takeAll(
  g: RateGovernor,
  c: string,
  api: 'sm8' | 'qbo',
  lane: Lane,
  maxWaitMs = 0,
): Promise<{ granted: Permit[]; blockedBy: string }> {
  const granted: Permit[] = [];
  for (;;) {
    try {
      granted.push(await g.acquire(c, api, { lane, maxWaitMs }));
    } catch (err) {
      if (!(err instanceof RateGovernorTimeout)) throw err;
      return { granted, blockedBy: err.blockedBy };
    }
  }
}

/** Lanes of the permits of one series, in grant order. */
async function lanesInOrder(c: string, api: string): Promise<string[]> {
  const { rows } = await pool.query<{ lane: string }>(
    'SELECT lane FROM rate_permits WHERE connection_id = $1 AND api = $2 ORDER BY seq',
    [c, api],
  );
  return rows.map((r) => r.lane);
}

/** The interactive callers' waits for a customer name's turn so far, from /metrics. */
async function turnWaits(): Promise<{ count: number; sum: number }> {
  const values = (await nameTurnWait.get()).values.filter(
    (v) => v.labels.lane === 'interactive' && v.labels.kind === 'customer',
  );
  const of = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  return { count: of('sm8qbo_name_turn_wait_seconds_count'), sum: of('sm8qbo_name_turn_wait_seconds_sum') };
}

const usage = (all: BudgetUsage[], api: 'sm8' | 'qbo') => {
  const u = all.find((b) => b.api === api);
  if (!u) throw new Error(`no ${api} budget`);
  return u;
};

afterAll(async () => {
  await Promise.all(governors.map((g) => g.close()));
  await pool.query(`DELETE FROM connections WHERE id LIKE $1`, [`${PREFIX}-%`]);
  await Promise.all([pool.end(), ...otherPools.map((p) => p.end())]);
});

describe('governor lanes (issue 12)', () => {
  it('serves the waiting callers of a process interactive first, then live, then bulk, in arrival order within a lane', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 10 } }, safety: 1, windowsMs: { minute: 1000 } });
    await takeAll(g, c, 'sm8', 'interactive');
    const order: string[] = [];
    const wait = (lane: Lane, name: string) =>
      g.acquire(c, 'sm8', { lane }).then(() => {
        order.push(name);
      });
    const all = [
      wait('bulk', 'bulk1'),
      wait('bulk', 'bulk2'),
      wait('live', 'live1'),
      wait('interactive', 'interactive1'),
      wait('live', 'live2'),
      wait('interactive', 'interactive2'),
    ];
    await Promise.all(all);
    expect(order).toEqual(['interactive1', 'interactive2', 'live1', 'live2', 'bulk1', 'bulk2']);
    expect((await lanesInOrder(c, 'sm8')).slice(10)).toEqual([
      'interactive',
      'interactive',
      'live',
      'live',
      'bulk',
      'bulk',
    ]);
  });

  it('a permit says what its caller waited for: nothing, a window of the budget, or the callers ahead of it', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 2 } }, safety: 1, windowsMs: { minute: 400 } });
    const atOnce = [await g.acquire(c, 'sm8'), await g.acquire(c, 'sm8')];
    expect(atOnce.map((p) => p.waitedFor)).toEqual([null, null]);
    // The third is the head and is refused by the minute window; the fourth comes behind it.
    const [third, fourth] = await Promise.all([g.acquire(c, 'sm8'), g.acquire(c, 'sm8')]);
    expect(third?.waitedFor).toBe('sm8/minute');
    // Granted together when the window moved on, or refused once more as the head: never "at once".
    expect(['queue', 'sm8/minute']).toContain(fourth?.waitedFor);
    // run() hands it to the call it governs (the permit-wait metric's waited_for label).
    const seen: Array<string | null> = [];
    await g.run(c, 'sm8', async ({ waitedFor }) => {
      seen.push(waitedFor);
    });
    await sleep(450);
    await g.run(c, 'sm8', async ({ waitedFor }) => {
      seen.push(waitedFor);
    });
    expect(seen).toEqual(['sm8/minute', null]);
  });

  it('interactive work overtakes bulk work waiting for the budget at once (at most one permit behind it)', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 10 } }, safety: 1 });
    expect((await takeAll(g, c, 'sm8', 'bulk')).granted).toHaveLength(8); // bulk's share: 80 %
    const stop = new AbortController();
    const bulk = Array.from({ length: 5 }, () =>
      track(g.acquire(c, 'sm8', { lane: 'bulk', signal: stop.signal })),
    );
    await sleep(50);
    const started = Date.now();
    await g.acquire(c, 'sm8', { lane: 'live' }); // the 9th: live's share is 92 %
    await g.acquire(c, 'sm8', { lane: 'interactive' }); // the 10th
    expect(Date.now() - started).toBeLessThan(500);
    expect(bulk.some((b) => b.settled())).toBe(false); // the bulk callers still wait (a minute)
    stop.abort(new Error('test over'));
    await Promise.allSettled(bulk.map((b) => b.promise));
  });

  it('keeps each lane out of the last part of every budget, across two processes sharing one connection', async () => {
    const c = await newConnection();
    const limits = { sm8: { perMinute: 20 }, qbo: { concurrent: 10 } };
    const a = governor({ limits, safety: 1 }, workerPool());
    const b = governor({ limits, safety: 1 }, workerPool());
    // Per minute: bulk (process A) and live (process B) race; bulk stops at 16 in all, live at 18.
    const [bulk, live] = await Promise.all([takeAll(a, c, 'sm8', 'bulk'), takeAll(b, c, 'sm8', 'live')]);
    expect(bulk.blockedBy).toBe('sm8/minute');
    expect(live.blockedBy).toBe('sm8/minute');
    expect(bulk.granted.length + live.granted.length).toBe(18);
    const interactive = await takeAll(a, c, 'sm8', 'interactive');
    expect(interactive.granted).toHaveLength(2);
    const lanes = await lanesInOrder(c, 'sm8');
    expect(lanes.lastIndexOf('bulk')).toBeLessThan(16);
    expect(lanes.lastIndexOf('live')).toBeLessThan(18);
    // At once (QuickBooks: 10, safety 1): bulk holds at most 6, live 8, interactive the rest.
    const q = await newConnection();
    const bulkQ = await takeAll(a, q, 'qbo', 'bulk', 100);
    expect(bulkQ).toMatchObject({ blockedBy: 'qbo/concurrent' });
    expect(bulkQ.granted).toHaveLength(6);
    expect((await takeAll(b, q, 'qbo', 'live', 100)).granted).toHaveLength(2);
    expect((await takeAll(b, q, 'qbo', 'interactive', 100)).granted).toHaveLength(2);
    const view = usage(await b.budget(q), 'qbo');
    expect(view.byLane).toEqual([
      { lane: 'interactive', today: 2, lastMinute: 2 },
      { lane: 'live', today: 2, lastMinute: 2 },
      { lane: 'bulk', today: 6, lastMinute: 6 },
    ]);
  });

  it("names each lane's calls a minute at the real limits and at raised ones (the bound a benchmark measures against)", () => {
    // 180/min × 0.95 = 171; bulk 80 % of it, live 92 %.
    expect(laneMinuteLimit('sm8', 'interactive')).toBe(171);
    expect(laneMinuteLimit('sm8', 'live')).toBe(157);
    expect(laneMinuteLimit('sm8', 'bulk')).toBe(136);
    expect(laneMinuteLimit('sm8', 'bulk', scaledLimits(4))).toBe(547);
    expect(laneMinuteLimit('qbo', 'bulk')).toBe(380);
    expect(laneMinuteLimit('sm8', 'bulk', { sm8: { perDay: 100 } })).toBeNull();
  });

  it('two processes filling one budget with bulk work take turns and stay within its share', async () => {
    const c = await newConnection();
    const opts = { limits: { sm8: { perMinute: 10 } }, safety: 1, windowsMs: { minute: 300 } };
    const a = governor(opts, workerPool());
    const b = governor(opts, workerPool());
    const order: string[] = [];
    const load = (g: RateGovernor, name: string) =>
      Array.from({ length: 40 }, () => g.acquire(c, 'sm8', { lane: 'bulk' }).then(() => order.push(name)));
    await Promise.all([...load(a, 'A'), ...load(b, 'B')]);
    expect(order).toHaveLength(80);
    // Fair: while both still wait, each process gets a good part of every freed window, not all of it.
    const firstHalf = order.slice(0, 40).filter((n) => n === 'A').length;
    expect(firstHalf).toBeGreaterThanOrEqual(10);
    expect(firstHalf).toBeLessThanOrEqual(30);
    const { rows } = await pool.query<{ ms: number }>(
      `SELECT (extract(epoch FROM granted_at) * 1000)::float8 AS ms FROM rate_permits
        WHERE connection_id = $1 AND api = 'sm8' ORDER BY seq`,
      [c],
    );
    // Never more than bulk's 8 in any 300 ms, whichever process granted them.
    for (let i = 0; i + 8 < rows.length; i += 1)
      expect((rows[i + 8]?.ms ?? 0) - (rows[i]?.ms ?? 0)).toBeGreaterThanOrEqual(300);
  });

  it('a 429 without Retry-After halves the rate of the connection for every worker, never below 0.1, and it recovers', async () => {
    const c = await newConnection();
    const limits = { sm8: { perMinute: 20 } };
    const a = governor({ limits, safety: 1 }, workerPool());
    const b = governor({ limits, safety: 1 }, workerPool());
    await a.penalize(c, 'sm8', null);
    expect(usage(await b.budget(c), 'sm8')).toMatchObject({ slowdown: 0.5, cooldownUntil: null });
    expect((await takeAll(b, c, 'sm8', 'interactive')).granted).toHaveLength(10);
    for (let i = 0; i < 5; i += 1) await a.penalize(c, 'sm8', null);
    expect(usage(await b.budget(c), 'sm8').slowdown).toBe(0.1);

    // Recovery: doubles six times a minute without a 429 (the minute is scaled to 6 s here: every second).
    const r = await newConnection();
    const fast = governor({ limits, safety: 1, windowsMs: { minute: 6000 } });
    for (let i = 0; i < 4; i += 1) await fast.penalize(r, 'sm8', null); // 0.0625, held at the floor 0.1
    expect(usage(await fast.budget(r), 'sm8').slowdown).toBe(0.1);
    await sleep(1500); // × 2^1.5
    const slowdown = usage(await fast.budget(r), 'sm8').slowdown;
    expect(slowdown).toBeGreaterThanOrEqual(0.28);
    expect(slowdown).toBeLessThan(0.8);
    await sleep(2000); // 3.5 s in all: × 2^3.5 = 11.3, capped at 1 (the old +0.5 a minute: 0.39)
    expect(usage(await fast.budget(r), 'sm8').slowdown).toBe(1);
  });

  it('a 429 our pace explains (nine tenths of a window used) slows the connection down; one it does not explain only counts, until 429s are a tenth of the calls', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 20 } }, safety: 1 });
    // 17 of 20 in the last minute: below nine tenths, so a 429 is the API's own refusal, not our pace.
    for (let i = 0; i < 17; i += 1) await g.acquire(c, 'sm8');
    expect(await g.refused(c, 'sm8', null)).toBe(false);
    expect(usage(await g.budget(c), 'sm8').slowdown).toBe(1);
    // The 18th call makes it nine tenths of the minute's limit: a 429 now slows the connection down.
    await g.acquire(c, 'sm8');
    expect(await g.refused(c, 'sm8', null)).toBe(true);
    expect(usage(await g.budget(c), 'sm8').slowdown).toBe(0.5);

    // Frequent unexplained 429s (3 in a minute of 10 calls) slow it down anyway: the documented limits may
    // be wrong for this account.
    const d = await newConnection();
    const h = governor({ limits: { sm8: { perMinute: 1000 } }, safety: 1 });
    for (let i = 0; i < 10; i += 1) await h.acquire(d, 'sm8');
    expect(await h.refused(d, 'sm8', null)).toBe(false);
    expect(await h.refused(d, 'sm8', null)).toBe(false);
    expect(await h.refused(d, 'sm8', null)).toBe(true);
    expect(usage(await h.budget(d), 'sm8').slowdown).toBe(0.5);
    // A Retry-After is always honoured.
    expect(await h.refused(d, 'qbo', 500)).toBe(true);
    expect(usage(await h.budget(d), 'qbo').cooldownUntil).not.toBeNull();
  });

  it('a 429 with Retry-After holds the connection exactly that long and does not slow it down', async () => {
    const c = await newConnection();
    const g = governor({});
    await g.penalize(c, 'sm8', 700);
    const view = usage(await g.budget(c), 'sm8');
    expect(view.slowdown).toBe(1);
    expect(view.cooldownUntil).not.toBeNull();
    const started = Date.now();
    await g.acquire(c, 'sm8');
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(Date.now() - started).toBeLessThan(1200);
  });

  it('the ServiceM8 client answers a 429 by waiting (Retry-After, or a slowdown our pace explains) and sending again, not by failing', async () => {
    let answers: Array<{ status: number; headers?: Record<string, string> }> = [];
    const server = http.createServer((_req, res) => {
      const next = answers.shift() ?? { status: 200 };
      res.writeHead(next.status, { 'Content-Type': 'application/json', ...next.headers });
      res.end(
        next.status === 200
          ? '[]'
          : '{"errorCode":429,"message":"Number of allowed API requests per minute exceeded"}',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const c = await newConnection();
      const g = governor({});
      const auth = { headers: () => Promise.resolve({ 'X-Api-Key': 'k' }) } as unknown as Sm8AuthProvider;
      const client = new ServiceM8Client(
        { apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth, governor: g },
        c,
      );
      answers = [{ status: 429, headers: { 'Retry-After': '1' } }];
      const started = Date.now();
      await expect(client.list('job')).resolves.toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(usage(await g.budget(c), 'sm8').slowdown).toBe(1);

      // Without Retry-After, at a pace far below the limits: sent again at once, the connection not slowed.
      answers = [{ status: 429 }];
      await expect(client.list('job')).resolves.toEqual([]);
      expect(usage(await g.budget(c), 'sm8').slowdown).toBe(1);

      // Refused again and again: the activity fails retryably, after the client's own retries.
      answers = Array.from({ length: 10 }, () => ({ status: 429, headers: { 'Retry-After': '0' } }));
      const err = await rejection(client.list('job'));
      expect(classifyApiError('sm8', err).type).toBe(FailureType.rateLimited);
    } finally {
      server.close();
    }
  });

  it('the clients send a call that failed in passing (5xx, a dropped socket) again, twice at most, and not while the API looks down', async () => {
    let answers: Array<number | 'drop'> = [];
    let served = 0;
    const server = http.createServer((req, res) => {
      served += 1;
      const next = answers.shift() ?? 200;
      if (next === 'drop') return req.socket.destroy();
      res.writeHead(next, { 'Content-Type': 'application/json' });
      res.end(next === 200 ? '[]' : '{"errorCode":500,"message":"An unexpected error occurred."}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const c = await newConnection();
      const auth = { headers: () => Promise.resolve({ 'X-Api-Key': 'k' }) } as unknown as Sm8AuthProvider;
      const client = new ServiceM8Client(
        {
          apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          auth,
          governor: governor({}),
        },
        c,
      );
      // A 503 and a dropped socket, then the answer: one call, three sends, no failure.
      answers = [503, 'drop'];
      served = 0;
      await expect(client.list('job')).resolves.toEqual([]);
      expect(served).toBe(3);
      // Three failures in a row: the third goes to Temporal's backoff as a transient failure.
      answers = [500, 500, 500];
      served = 0;
      const err = await rejection(client.list('job'));
      expect(classifyApiError('sm8', err).type).toBe(FailureType.transient);
      expect(served).toBe(3);
      // Two more in a row (five without an answer): the API looks down, so a failure is not sent again.
      answers = [500, 500];
      served = 0;
      await rejection(client.list('job'));
      expect(served).toBe(2); // the fourth failure was sent again, the fifth not
      answers = [500];
      served = 0;
      await rejection(client.list('job'));
      expect(served).toBe(1);
      // An answer: up again.
      answers = [];
      await expect(client.list('job')).resolves.toEqual([]);
      answers = [500];
      served = 0;
      await expect(client.list('job')).resolves.toEqual([]);
      expect(served).toBe(2);
    } finally {
      server.close();
    }
  });

  it('daily plan: bulk work stops at its share of the day and budget() says why; interactive work still has room', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 1000, perDay: 50 } }, safety: 1 });
    const bulk = await takeAll(g, c, 'sm8', 'bulk');
    expect(bulk.granted).toHaveLength(40);
    expect(bulk.blockedBy).toBe('sm8/day');
    expect((await takeAll(g, c, 'sm8', 'live')).granted).toHaveLength(7); // floor(50 × 0.95) = 47
    const stop = new AbortController();
    const waiting = track(g.acquire(c, 'sm8', { lane: 'bulk', signal: stop.signal })); // no deadline: it waits
    expect((await takeAll(g, c, 'sm8', 'interactive')).granted).toHaveLength(3);
    await sleep(200);
    expect(waiting.settled()).toBe(false);

    const view = usage(await g.budget(c), 'sm8');
    expect(view).toMatchObject({ perMinuteLimit: 1000, perDayLimit: 50, today: 50, lastMinute: 50 });
    expect(view.byLane).toEqual([
      { lane: 'interactive', today: 3, lastMinute: 3 },
      { lane: 'live', today: 7, lastMinute: 7 },
      { lane: 'bulk', today: 40, lastMinute: 40 },
    ]);
    expect(view.bulkPaused?.reason).toContain("ServiceM8's allowance for the day is nearly used up");
    expect(view.bulkPaused?.reason).toContain('the last 10 calls stay free for invoices, payments and edits');
    const until = Date.parse(view.bulkPaused?.until ?? '');
    expect(until - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(usage(await g.budget(await newConnection()), 'sm8').bulkPaused).toBeNull();
    stop.abort(new Error('test over')); // its lane's share frees only in a day
    await expect(waiting.promise).rejects.toThrow('test over');
  });

  it('waiting inside an activity heartbeats, is cancelled by the activity, and never fails on a deadline', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perDay: 1 } }, safety: 1, heartbeatMs: 50 });
    await g.acquire(c, 'sm8'); // the day's only permit: the next one frees in 24 hours
    const env = new MockActivityEnvironment({ taskQueue: 'sync-bulk' });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const waited = env.run(() => g.acquire(c, 'sm8'));
    await sleep(400);
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats[0]).toEqual({ waitingForPermit: 'sm8', lane: 'bulk', blockedBy: 'sm8/day' });
    // The /metrics gauge counts it while it waits (a silent minute is not a finished one), and not after.
    const waiters = async () =>
      (await permitWaiters.get()).values.find(
        (v) => v.labels.system === 'servicem8' && v.labels.lane === 'bulk',
      )?.value ?? 0;
    expect(await waiters()).toBe(1);
    env.cancel();
    const err = await rejection(waited);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(await waiters()).toBe(0);
    expect(await lanesInOrder(c, 'sm8')).toEqual(['interactive']);

    // The lane comes from the activity's task queue.
    const d = await newConnection();
    await new MockActivityEnvironment({ taskQueue: 'sync-live' }).run(() => g.acquire(d, 'sm8'));
    expect(await lanesInOrder(d, 'sm8')).toEqual(['live']);
  });

  it('priority inheritance: a bulk holder of a name turn works in the lane of an interactive caller waiting for that name', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 10 } }, safety: 1 });
    expect((await takeAll(g, c, 'sm8', 'bulk')).granted).toHaveLength(8); // bulk's share is used up for a minute
    // Onboarding's import (bulk) holds the turn of "Acme Plumbing" while it waits for a ServiceM8 permit.
    const order: string[] = [];
    const env = new MockActivityEnvironment({ taskQueue: 'sync-bulk' });
    const holder = track(
      env.run(() =>
        inNameTurn(pool, c, 'customer', 'Acme Plumbing', async () => {
          await g.acquire(c, 'sm8');
          order.push('import wrote the client');
        }),
      ),
    );
    await sleep(600);
    expect(holder.settled()).toBe(false); // alone, it would wait for the minute to move on
    // An approval's export (interactive) needs the same name: it waits for the turn and marks it, the holder
    // takes its permit in the interactive lane, ends its turn, and the export follows at once.
    const waitsBefore = await turnWaits();
    const started = Date.now();
    await inNameTurn(pool, c, 'customer', 'acme  PLUMBING', async () => {
      order.push('export found the client');
    });
    await holder.promise;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(order).toEqual(['import wrote the client', 'export found the client']);
    // The export's wait for the turn is on /metrics, by the waiter's lane (outside an activity: interactive).
    // How long it took depends on when the holder's raise landed (one turn retry, 50 ms, or more): what is
    // certain is that the export's one wait was recorded, and was not nothing.
    expect((await turnWaits()).count - waitsBefore.count).toBe(1);
    expect((await turnWaits()).sum - waitsBefore.sum).toBeGreaterThan(0);
    expect((await lanesInOrder(c, 'sm8')).slice(8)).toEqual(['interactive']);
    // The raise lasts for the turn only: the next bulk caller is bulk again (and refused for the minute).
    const after = await rejection(env.run(() => g.acquire(c, 'sm8', { maxWaitMs: 0 })));
    expect(after).toBeInstanceOf(RateGovernorTimeout);
  });

  it('a paused connection is refused before any permit: every waiting caller parks at once', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 2 } }, safety: 1 });
    await pool.query(`UPDATE connections SET status = 'paused' WHERE id = $1`, [c]);
    const started = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, () => g.acquire(c, 'sm8')));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof ConnectionNotActive)).toBe(
      true,
    );
    const first = outcomes[0] as PromiseRejectedResult;
    expect(classifyApiError('sm8', first.reason).type).toBe(FailureType.paused);
    expect(await lanesInOrder(c, 'sm8')).toEqual([]);
    await pool.query(`UPDATE connections SET status = 'needs_reauth' WHERE id = $1`, [c]);
    const reauth = await rejection(g.acquire(c, 'qbo'));
    expect(classifyApiError('qbo', reauth).type).toBe(FailureType.needsReauth);
    await pool.query(`UPDATE connections SET status = 'active' WHERE id = $1`, [c]);
    await g.acquire(c, 'sm8');
    expect(await lanesInOrder(c, 'sm8')).toEqual(['interactive']);
  });
});
