/**
 * The per-connection rate governor against the real PostgreSQL of the test run. Limits and windows are
 * scaled down so that every wait is short; grant times are read back from rate_permits (the database's
 * clock, microsecond precision) so the window assertions do not depend on timer jitter in this process.
 */
import type { Pool } from 'pg';
import type { Governor } from '../apis/governor/governor';
import {
  API_LIMITS,
  RateGovernor,
  RateGovernorTimeout,
  type GovernedApi,
  type GovernorOptions,
  type Permit,
} from '../apis/governor/rate-governor';
import { createPool } from '../infra/database';
import { testEnv } from './helpers/env';

const pool = createPool(testEnv.databaseUrl, 6);
const otherPools: Pool[] = [];
const governors: RateGovernor[] = [];
const PREFIX = `rg-${process.pid}-${Date.now()}`;
let counter = 0;

async function newConnection(): Promise<string> {
  counter += 1;
  const id = `${PREFIX}-${counter}`;
  await pool.query('INSERT INTO connections (id, name) VALUES ($1, $1)', [id]);
  return id;
}

/** A separate pool stands for another worker process: its own sessions, nothing shared but the database. */
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

/** Grant times (ms since epoch, µs precision, DB clock) of one series, in grant order. */
async function grantTimes(connectionId: string, api: GovernedApi): Promise<number[]> {
  const { rows } = await pool.query<{ ms: number }>(
    `SELECT (extract(epoch FROM granted_at) * 1000)::float8 AS ms
       FROM rate_permits WHERE connection_id = $1 AND api = $2 ORDER BY seq`,
    [connectionId, api],
  );
  return rows.map((r) => r.ms);
}

/** The smallest gap between a permit and the one `limit` places after it: >= window means never > limit. */
function tightestWindow(times: number[], limit: number): number {
  let min = Infinity;
  for (let i = 0; i + limit < times.length; i += 1) {
    min = Math.min(min, (times[i + limit] ?? Infinity) - (times[i] ?? 0));
  }
  return min;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves to the rejection of p (fails the test if p resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(p: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  const promise = p.finally(() => {
    done = true;
  });
  return { settled: () => done, promise };
}

afterAll(async () => {
  await Promise.all(governors.map((g) => g.close()));
  await pool.query(`DELETE FROM connections WHERE id LIKE $1`, [`${PREFIX}-%`]);
  await Promise.all([pool.end(), ...otherPools.map((p) => p.end())]);
});

describe('rate governor', () => {
  it('knows the documented limits and fits the Governor interface the API clients use', () => {
    expect(API_LIMITS).toEqual({
      sm8: { perMinute: 180, perDay: 20_000 },
      qbo: { perSecond: 10, perMinute: 500, concurrent: 10 },
      'qbo-batch': { perMinute: 40 },
    });
    const asClientSees: Governor = governor({});
    expect(typeof asClientSees.run).toBe('function');
  });

  it('allows itself floor(limit × safety), at least 1 (default safety 0.95)', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 20 } } }); // 0.95 × 20 = 19
    for (let i = 0; i < 19; i += 1) await g.acquire(c, 'sm8', { maxWaitMs: 0 });
    const err = await rejection(g.acquire(c, 'sm8', { maxWaitMs: 0 }));
    expect(err).toBeInstanceOf(RateGovernorTimeout);
    expect((err as RateGovernorTimeout).blockedBy).toBe('sm8/minute');
    expect((err as RateGovernorTimeout).retryAfterMs).toBeGreaterThan(50_000);

    const c2 = await newConnection();
    const tiny = governor({ limits: { sm8: { perMinute: 1 } }, safety: 0.5 }); // floor(0.5) → 1, not 0
    await tiny.acquire(c2, 'sm8', { maxWaitMs: 0 });
    await expect(tiny.acquire(c2, 'sm8', { maxWaitMs: 0 })).rejects.toBeInstanceOf(RateGovernorTimeout);
    expect(() => governor({ safety: 1.5 })).toThrow(RangeError);
  });

  it('per second: the 5th of 4/s waits until the 1st is one second old, and not much longer', async () => {
    const c = await newConnection();
    const g = governor({ limits: { qbo: { perSecond: 4 } }, safety: 1 });
    await Promise.all(Array.from({ length: 8 }, () => g.run(c, 'qbo', () => Promise.resolve())));
    const t = await grantTimes(c, 'qbo');
    expect(t).toHaveLength(8);
    expect(tightestWindow(t, 4)).toBeGreaterThanOrEqual(1000);
    const fifthWaited = (t[4] ?? 0) - (t[0] ?? 0);
    expect(fifthWaited).toBeLessThan(1000 + 300); // woke when the slot freed, not at some poll tick
  });

  it('per minute: the 21st of 20/min waits until the 1st permit is a window old, sleeping (few queries)', async () => {
    const c = await newConnection();
    const counted = workerPool();
    let queries = 0;
    const realQuery = counted.query.bind(counted) as (...args: unknown[]) => Promise<unknown>;
    (counted as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) => {
      queries += 1;
      return realQuery(...args);
    };
    // The minute window is scaled to 2 s so the test is quick; the logic does not depend on its length.
    const g = governor(
      { limits: { sm8: { perMinute: 20 } }, safety: 1, windowsMs: { minute: 2000 } },
      counted,
    );
    for (let i = 0; i < 20; i += 1) await g.acquire(c, 'sm8');
    const before = queries;
    await g.acquire(c, 'sm8');
    const t = await grantTimes(c, 'sm8');
    const waited = (t[20] ?? 0) - (t[0] ?? 0);
    expect(waited).toBeGreaterThanOrEqual(2000);
    expect(waited).toBeLessThan(2000 + 300);
    // ~1.5 s of waiting cost one "full" answer and one grant, maybe one early wake: no spinning.
    expect(queries - before).toBeLessThanOrEqual(3);
  });

  it('per day: the window of the day budget is honoured the same way', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perDay: 2 } }, safety: 1, windowsMs: { day: 800 } });
    await g.acquire(c, 'sm8');
    await sleep(300);
    await g.acquire(c, 'sm8');
    await g.acquire(c, 'sm8'); // waits for the first to leave the (scaled) day, ~500 ms
    const t = await grantTimes(c, 'sm8');
    expect((t[2] ?? 0) - (t[0] ?? 0)).toBeGreaterThanOrEqual(800);
    expect((t[2] ?? 0) - (t[0] ?? 0)).toBeLessThan(800 + 300);
    expect((await g.stats(c, 'sm8')).lastDay).toBe(2);
  });

  it('concurrency: the 11th waits until a release, also a release by another worker (NOTIFY)', async () => {
    const c = await newConnection();
    const limits = { qbo: { concurrent: 10 } };
    const holder = governor({ limits, safety: 1 }, workerPool());
    const waiter = governor({ limits, safety: 1 });
    const permits: Permit[] = [];
    for (let i = 0; i < 10; i += 1) permits.push(await holder.acquire(c, 'qbo'));
    expect((await waiter.stats(c, 'qbo')).inFlight).toBe(10);

    const eleventh = track(waiter.acquire(c, 'qbo'));
    await sleep(400);
    expect(eleventh.settled()).toBe(false);
    const releasedAt = Date.now();
    await permits[3]?.release();
    await eleventh.promise;
    // Far below the 1 s safety poll: the other process's release woke us.
    expect(Date.now() - releasedAt).toBeLessThan(400);
    expect((await waiter.stats(c, 'qbo')).inFlight).toBe(10);

    // A release in the same process wakes a local waiter too; release() is idempotent.
    const twelfth = track(holder.acquire(c, 'qbo'));
    await sleep(100);
    expect(twelfth.settled()).toBe(false);
    await permits[4]?.release();
    await permits[4]?.release();
    await twelfth.promise;
    expect((await holder.stats(c, 'qbo')).inFlight).toBe(10);
  });

  it('run() releases the permit when fn throws', async () => {
    const c = await newConnection();
    const g = governor({ limits: { qbo: { concurrent: 1 } }, safety: 1 });
    const boom = new Error('API said no');
    await expect(g.run(c, 'qbo', () => Promise.reject(boom))).rejects.toBe(boom);
    await expect(g.run(c, 'qbo', () => Promise.resolve(42), { maxWaitMs: 0 })).resolves.toBe(42);
    expect((await g.stats(c, 'qbo')).inFlight).toBe(0);
  });

  it('lease: a permit never released (crashed worker) frees itself after leaseMs', async () => {
    const c = await newConnection();
    const limits = { qbo: { concurrent: 1 } };
    const crashed = governor({ limits, safety: 1, leaseMs: 600 }, workerPool());
    await crashed.acquire(c, 'qbo'); // never released
    const g = governor({ limits, safety: 1, leaseMs: 600 });
    const started = Date.now();
    await g.acquire(c, 'qbo');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(450);
    expect(waited).toBeLessThan(1500);
    expect((await g.stats(c, 'qbo')).inFlight).toBe(1); // the new one; the expired lease is not counted
  });

  it('qbo-batch counts toward both the batch budget and the qbo budget (windows and concurrency)', async () => {
    const c = await newConnection();
    const g = governor({
      limits: { qbo: { perSecond: 3, concurrent: 2 }, 'qbo-batch': { perMinute: 2 } },
      safety: 1,
      windowsMs: { second: 5000 }, // a roomy "second" so the sequence below fits in one window
    });
    const b1 = await g.acquire(c, 'qbo-batch');
    const b2 = await g.acquire(c, 'qbo-batch');
    const qbo = await g.stats(c, 'qbo');
    expect(qbo.lastSecond).toBe(2);
    expect(qbo.inFlight).toBe(2);
    expect((await g.stats(c, 'qbo-batch')).lastMinute).toBe(2);

    const blocked = await rejection(g.acquire(c, 'qbo', { maxWaitMs: 200 }));
    expect(blocked).toBeInstanceOf(RateGovernorTimeout);
    expect((blocked as RateGovernorTimeout).blockedBy).toBe('qbo/concurrent');

    await b1.release();
    await (await g.acquire(c, 'qbo', { maxWaitMs: 0 })).release(); // 3rd qbo call of the window
    await b2.release();
    const perSecond = await rejection(g.acquire(c, 'qbo', { maxWaitMs: 0 }));
    expect((perSecond as RateGovernorTimeout).blockedBy).toBe('qbo/second');
    // Both a batch window and a qbo window are full: the wait is the later of the two.
    const batch = await rejection(g.acquire(c, 'qbo-batch', { maxWaitMs: 0 }));
    expect((batch as RateGovernorTimeout).blockedBy).toBe('qbo-batch/minute');
    expect((batch as RateGovernorTimeout).retryAfterMs).toBeGreaterThan(50_000);
  });

  it('penalize: a cooldown set by one worker is honoured by another (own pool), never shortened', async () => {
    const c = await newConnection();
    const first = governor({});
    const second = governor({}, workerPool());
    await first.penalize(c, 'sm8', 800);
    const cooldown = (await second.stats(c, 'sm8')).cooldownUntil;
    expect(cooldown).toBeInstanceOf(Date);
    await first.penalize(c, 'sm8', 10); // a shorter Retry-After must not cut the running cooldown
    expect((await second.stats(c, 'sm8')).cooldownUntil).toEqual(cooldown);

    const fast = await rejection(second.acquire(c, 'sm8', { maxWaitMs: 100 }));
    expect((fast as RateGovernorTimeout).blockedBy).toBe('sm8/cooldown');
    const started = Date.now();
    await second.acquire(c, 'sm8');
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect((await second.stats(c, 'sm8')).cooldownUntil).toBeNull();
  });

  it('penalize qbo also holds off qbo-batch calls (they are qbo calls), but not the other way round', async () => {
    const c = await newConnection();
    const g = governor({});
    await g.penalize(c, 'qbo-batch', 5_000);
    await g.acquire(c, 'qbo', { maxWaitMs: 0 });
    expect((await g.stats(c, 'qbo')).cooldownUntil).toBeNull();
    await g.penalize(c, 'qbo', 30_000);
    const err = await rejection(g.acquire(c, 'qbo-batch', { maxWaitMs: 0 }));
    expect((err as RateGovernorTimeout).blockedBy).toBe('qbo/cooldown');
    expect((await g.stats(c, 'qbo-batch')).cooldownUntil).toBeInstanceOf(Date);
  });

  it('two workers hammering one connection never exceed any sliding window, and stay near the limit', async () => {
    const c = await newConnection();
    const opts: GovernorOptions = {
      limits: { qbo: { perSecond: 5, concurrent: 2 }, 'qbo-batch': { perMinute: 100 } },
      safety: 1,
      windowsMs: { second: 500 },
    };
    const a = governor(opts, workerPool());
    const b = governor(opts, workerPool());
    const call = () => sleep(50 + Math.random() * 100);
    const load = (g: RateGovernor) =>
      Array.from({ length: 15 }, (_, i) => g.run(c, i % 3 === 0 ? 'qbo-batch' : 'qbo', call));
    await Promise.all([...load(a), ...load(b)]);

    const { rows } = await pool.query<{ g: number; r: number }>(
      `SELECT (extract(epoch FROM granted_at) * 1000)::float8 AS g, (extract(epoch FROM released_at) * 1000)::float8 AS r
         FROM rate_permits WHERE connection_id = $1 AND api = 'qbo' ORDER BY seq`,
      [c],
    );
    expect(rows).toHaveLength(30);
    expect(await grantTimes(c, 'qbo-batch')).toHaveLength(10);
    const granted = rows.map((row) => row.g);
    expect(tightestWindow(granted, 5)).toBeGreaterThanOrEqual(500);
    // In flight at each grant (the new one included) never exceeds 2.
    const maxInFlight = Math.max(...rows.map((x) => rows.filter((y) => y.g <= x.g && y.r > x.g).length));
    expect(maxInFlight).toBeLessThanOrEqual(2);
    // Throughput: 30 permits at 5 per 500 ms take 2.5 s at the limit; allow a little for wake-ups.
    const span = (granted[29] ?? 0) - (granted[0] ?? 0);
    expect(span).toBeGreaterThanOrEqual(2500);
    expect(span).toBeLessThan(3500);
  });

  it("one connection's load does not delay another connection's acquire", async () => {
    const busy = await newConnection();
    const quiet = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 2 } }, safety: 1 });
    await g.acquire(busy, 'sm8');
    await g.acquire(busy, 'sm8');
    const stop = new AbortController();
    const waiting = Array.from({ length: 5 }, () => track(g.acquire(busy, 'sm8', { signal: stop.signal })));
    await sleep(50);

    const started = Date.now();
    await g.acquire(quiet, 'sm8');
    await g.acquire(quiet, 'sm8');
    expect(Date.now() - started).toBeLessThan(200);
    expect((await g.stats(quiet, 'sm8')).lastMinute).toBe(2);
    expect((await g.stats(busy, 'sm8')).lastMinute).toBe(2);
    expect(waiting.some((w) => w.settled())).toBe(false);
    stop.abort(new Error('test over'));
    await Promise.allSettled(waiting.map((w) => w.promise));
  });

  it('abort: a sleeping head and the callers queued behind it reject at once, and the queue moves on', async () => {
    const c = await newConnection();
    const g = governor({ limits: { sm8: { perMinute: 1 } }, safety: 1 });
    await g.acquire(c, 'sm8');
    const stop = new AbortController();
    const reason = new Error('activity cancelled');
    const head = g.acquire(c, 'sm8', { signal: stop.signal });
    const queued = g.acquire(c, 'sm8', { signal: stop.signal });
    const behind = track(g.acquire(c, 'sm8', { maxWaitMs: 30_000 })); // not aborted: must become head
    await sleep(100);
    const abortedAt = Date.now();
    stop.abort(reason);
    await expect(head).rejects.toBe(reason);
    await expect(queued).rejects.toBe(reason);
    expect(Date.now() - abortedAt).toBeLessThan(100);
    // `behind` now queries as head: the window frees in ~60 s, beyond its 30 s budget → fails fast.
    const err = await rejection(behind.promise);
    expect(err).toBeInstanceOf(RateGovernorTimeout);
    expect(Date.now() - abortedAt).toBeLessThan(500);

    const already = new AbortController();
    already.abort(reason);
    await expect(g.acquire(c, 'sm8', { signal: already.signal })).rejects.toBe(reason);
  });

  it('maxWaitMs: a concurrency wait gives up with RateGovernorTimeout at the deadline', async () => {
    const c = await newConnection();
    const g = governor({ limits: { qbo: { concurrent: 1 } }, safety: 1, maxWaitMs: 300 });
    await g.acquire(c, 'qbo');
    const started = Date.now();
    const err = await rejection(g.acquire(c, 'qbo'));
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(RateGovernorTimeout);
    expect((err as RateGovernorTimeout).blockedBy).toBe('qbo/concurrent');
    expect((err as RateGovernorTimeout).retryAfterMs).toBeNull();
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(1000);
    // A caller queued behind a blocked head times out on its own deadline.
    const headWait = rejection(g.acquire(c, 'qbo', { maxWaitMs: 700 }));
    const queuedStarted = Date.now();
    const queued = await rejection(g.acquire(c, 'qbo', { maxWaitMs: 200 }));
    expect(queued).toBeInstanceOf(RateGovernorTimeout);
    expect((queued as RateGovernorTimeout).blockedBy).toBe('qbo/concurrent');
    expect(Date.now() - queuedStarted).toBeLessThan(800);
    expect(await headWait).toBeInstanceOf(RateGovernorTimeout);
  });

  it('prune deletes permits older than the longest window, keeps those in a window or in flight', async () => {
    const c = await newConnection();
    const g = governor({
      limits: { sm8: { perMinute: 100 }, qbo: { concurrent: 5 } },
      windowsMs: { second: 100, minute: 200, day: 400 },
      safety: 1,
    });
    for (let i = 0; i < 3; i += 1) await g.acquire(c, 'sm8');
    await g.acquire(c, 'qbo'); // still in flight when pruned: kept
    await g.penalize(c, 'sm8', 1);
    await sleep(450);
    await g.acquire(c, 'sm8'); // fresh: inside every window
    // 0 is clamped to the longest window (400 ms). Only this connection's rows: a 400 ms window would prune
    // the permits of other test files' connections running at the same time in the shared database.
    expect(await g.prune(0, c)).toBeGreaterThanOrEqual(3);
    const left = await pool.query<{ api: string; seq: string }>(
      'SELECT api, seq FROM rate_permits WHERE connection_id = $1 ORDER BY api, seq',
      [c],
    );
    expect(left.rows).toEqual([
      { api: 'qbo', seq: '1' },
      { api: 'sm8', seq: '4' },
    ]);
    const cooldowns = await pool.query('SELECT 1 FROM rate_cooldowns WHERE connection_id = $1', [c]);
    expect(cooldowns.rowCount).toBe(0);
    // Numbering continues after a prune, so the windows keep working.
    await g.acquire(c, 'sm8');
    expect((await g.stats(c, 'sm8')).lastDay).toBe(2);
  });
});
