/**
 * Per-connection API rate governor, shared by every worker process through PostgreSQL
 * (design note: docs/rate-governor.md; tables and the check-and-grant function: migrations/003).
 *
 * Every API call takes a permit first. A permit is granted only when every sliding window of that API
 * (and of 'qbo' for a 'qbo-batch' call) has room, no 429 cooldown is running and, where the API limits
 * concurrency, a slot is free. The check and the grant happen in one round trip, atomically per
 * (connection, API family) across all processes: one busy connection never delays or throttles another,
 * and any number of workers together stay within the limits.
 */
import { Client, type Pool } from 'pg';

export type GovernedApi = 'sm8' | 'qbo' | 'qbo-batch';

export interface RateLimits {
  perSecond?: number;
  perMinute?: number;
  perDay?: number;
  concurrent?: number;
}

/** The documented limits (docs/servicem8-api.md §2, docs/quickbooks-api.md §3), per connection. */
export const API_LIMITS: Record<GovernedApi, RateLimits> = {
  sm8: { perMinute: 180, perDay: 20_000 },
  qbo: { perSecond: 10, perMinute: 500, concurrent: 10 },
  'qbo-batch': { perMinute: 40 },
};

/** A 'qbo-batch' call is also a 'qbo' call: it is checked against, and recorded in, both budgets. */
const PARENT: Partial<Record<GovernedApi, GovernedApi>> = { 'qbo-batch': 'qbo' };

export interface WindowLengths {
  second: number;
  minute: number;
  day: number;
}

/**
 * The per-second window is judged over 1.1 s, not 1 s: the calls of a burst reach the API a few
 * milliseconds after their permits, unevenly, so calls granted just over a second apart arrived within one
 * API second and drew a 429 (bench/governor.ts). 9 calls per 1.1 s still exceeds the 475/minute budget,
 * so throughput is unchanged; the minute and day windows have whole calls of slack already.
 */
export const DEFAULT_WINDOWS_MS: WindowLengths = { second: 1_100, minute: 60_000, day: 86_400_000 };

export interface GovernorOptions {
  /**
   * Overrides per API. An entry REPLACES that API's documented limits entirely (it is not merged), so a
   * test or benchmark states exactly which windows apply.
   */
  limits?: Partial<Record<GovernedApi, RateLimits>>;
  /** Fraction of each limit we allow ourselves (floored, at least 1). Default 0.95. */
  safety?: number;
  /** A concurrency permit not released by then (crashed worker) frees itself. Default 120 000 (QBO's own request timeout). */
  leaseMs?: number;
  /**
   * Local clock (ms), used for maxWaitMs deadlines only. Windows, leases and cooldowns are judged by the
   * database's clock_timestamp(), the one clock every worker shares, and sleep durations come from it too.
   */
  now?: () => number;
  /** acquire() gives up with RateGovernorTimeout after this. Default 10 minutes. */
  maxWaitMs?: number;
  /** Window lengths; tests shrink them. Defaults to the real 1 s / 60 s / 1 day. */
  windowsMs?: Partial<WindowLengths>;
  /** How often (at most) a successful acquire triggers a background prune(). Default 15 minutes. */
  pruneEveryMs?: number;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** Overrides GovernorOptions.maxWaitMs for this call. */
  maxWaitMs?: number;
}

export interface Permit {
  /** Frees the concurrency slot. Idempotent; a no-op for APIs without a concurrency limit. */
  release(): Promise<void>;
}

export interface GovernorStats {
  lastSecond: number;
  lastMinute: number;
  lastDay: number;
  inFlight: number;
  cooldownUntil: Date | null;
}

/**
 * acquire() could not get a permit within maxWaitMs. `retryAfterMs` is the least time until a permit
 * could be granted when that is known (a window or a cooldown), so a caller such as a Temporal activity
 * can retry then (e.g. ApplicationFailure nextRetryDelay) instead of holding a worker slot.
 */
export class RateGovernorTimeout extends Error {
  override readonly name = 'RateGovernorTimeout';
  constructor(
    readonly connectionId: string,
    readonly api: GovernedApi,
    readonly waitedMs: number,
    readonly blockedBy: string,
    readonly retryAfterMs: number | null,
  ) {
    super(
      `No ${api} permit for connection ${connectionId} after ${Math.round(waitedMs)} ms (blocked by ${blockedBy}` +
        (retryAfterMs === null ? ')' : `; earliest in ${Math.round(retryAfterMs)} ms)`),
    );
  }
}

const NOTIFY_CHANNEL = 'rate_governor_release';
/** Spreads waiters of different processes that wake for the same freed slot. */
const JITTER_MS = 10;
/** Re-check a concurrency wait at least this often even when listening (a notification could be lost). */
const LISTENING_POLL_MS = 1_000;
/** Without a working LISTEN connection, releases by other processes are only seen by polling. */
const DEGRADED_POLL_MS = 100;
const MAX_TIMER_MS = 2_147_483_647;
/** After the LISTEN connection failed, do not try to reopen it for this long. */
const LISTEN_RETRY_MS = 5_000;

/** What the SQL function must check and record for one API (see migrations/003_rate_governor.sql). */
interface Plan {
  family: GovernedApi;
  record: GovernedApi[];
  hold: boolean;
  cooldown: GovernedApi[];
  winApi: GovernedApi[];
  winMs: number[];
  winLimit: number[];
  winName: string[];
  concApi: GovernedApi[];
  concLimit: number[];
  longestWindowMs: number;
}

interface Attempt {
  permit_ids: string[] | null;
  wait_ms: number;
  blocked_by: string | null;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`RateGovernor: ${name} must be a positive number`);
  return v;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

export class RateGovernor {
  private readonly plans: Map<GovernedApi, Plan>;
  private readonly leaseMs: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly windows: WindowLengths;
  private readonly pruneEveryMs: number;
  private lastPruneAt: number;
  private pruning: Promise<void> | null = null;
  /** Tail of the local FIFO per (connection, api): only its head queries the database (no herd). */
  private readonly tails = new Map<string, Promise<void>>();
  /** What the head of each local queue last waited for, for the timeout message of those behind it. */
  private readonly lastBlocked = new Map<string, string>();
  /** Release events per (connection, family): counter and sleepers to wake. */
  private readonly releaseEpoch = new Map<string, number>();
  private readonly sleepers = new Map<string, Set<() => void>>();
  private listen: { client: Client; ready: Promise<boolean> } | null = null;
  private listenRetryAt = 0;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    opts: GovernorOptions = {},
  ) {
    const safety = positive('safety', opts.safety, 0.95);
    if (safety > 1) throw new RangeError('RateGovernor: safety must be at most 1');
    this.leaseMs = positive('leaseMs', opts.leaseMs, 120_000);
    this.maxWaitMs = opts.maxWaitMs ?? 600_000;
    if (!(this.maxWaitMs >= 0)) throw new RangeError('RateGovernor: maxWaitMs must be >= 0');
    this.now = opts.now ?? Date.now;
    this.windows = {
      second: positive('windowsMs.second', opts.windowsMs?.second, DEFAULT_WINDOWS_MS.second),
      minute: positive('windowsMs.minute', opts.windowsMs?.minute, DEFAULT_WINDOWS_MS.minute),
      day: positive('windowsMs.day', opts.windowsMs?.day, DEFAULT_WINDOWS_MS.day),
    };
    this.pruneEveryMs = positive('pruneEveryMs', opts.pruneEveryMs, 15 * 60_000);
    this.lastPruneAt = this.now();

    // floor(limit × safety), at least 1: 180/min → 171, 20 000/day → 19 000, QBO 10/s → 9, 10 in flight → 9.
    const effective = (api: GovernedApi, key: keyof RateLimits): number | null => {
      const raw = (opts.limits?.[api] ?? API_LIMITS[api])[key];
      if (raw === undefined) return null;
      return Math.max(1, Math.floor(positive(`limits.${api}.${key}`, raw, 1) * safety));
    };
    this.plans = new Map();
    for (const api of Object.keys(API_LIMITS) as GovernedApi[]) {
      const parent = PARENT[api];
      const series: GovernedApi[] = parent ? [parent, api] : [api];
      const plan: Plan = {
        family: series[0] ?? api,
        record: series,
        hold: false,
        cooldown: series,
        winApi: [],
        winMs: [],
        winLimit: [],
        winName: [],
        concApi: [],
        concLimit: [],
        longestWindowMs: Math.max(this.windows.second, this.windows.minute, this.windows.day),
      };
      for (const s of series) {
        const windows: [keyof RateLimits, number, string][] = [
          ['perSecond', this.windows.second, 'second'],
          ['perMinute', this.windows.minute, 'minute'],
          ['perDay', this.windows.day, 'day'],
        ];
        for (const [key, ms, name] of windows) {
          const limit = effective(s, key);
          if (limit === null) continue;
          plan.winApi.push(s);
          plan.winMs.push(ms);
          plan.winLimit.push(limit);
          plan.winName.push(`${s}/${name}`);
        }
        const concurrent = effective(s, 'concurrent');
        if (concurrent !== null) {
          plan.concApi.push(s);
          plan.concLimit.push(concurrent);
        }
      }
      // Only permits that occupy a concurrency slot need a release round trip; the others are born released.
      plan.hold = plan.concApi.length > 0;
      this.plans.set(api, plan);
    }
  }

  private plan(api: GovernedApi): Plan {
    const plan = this.plans.get(api);
    if (!plan) throw new TypeError(`RateGovernor: unknown API ${String(api)}`);
    return plan;
  }

  /**
   * Waits (sleeping, abortably) until every window of `api` has room, then records the permit. Callers
   * of one process queue FIFO per (connection, api); processes race fairly through the database.
   */
  async acquire(connectionId: string, api: GovernedApi, opts: AcquireOptions = {}): Promise<Permit> {
    const plan = this.plan(api);
    const { signal } = opts;
    signal?.throwIfAborted();
    const started = this.now();
    const deadline = started + (opts.maxWaitMs ?? this.maxWaitMs);
    const queueKey = `${connectionId}\u0000${api}`;
    const familyKey = `${connectionId}\u0000${plan.family}`;
    const leave = await this.takeTurn(queueKey, signal, deadline, () => {
      const blockedBy = this.lastBlocked.get(queueKey) ?? 'earlier callers';
      return new RateGovernorTimeout(connectionId, api, this.now() - started, blockedBy, null);
    });
    try {
      for (;;) {
        signal?.throwIfAborted();
        const epoch = this.releaseEpoch.get(familyKey) ?? 0;
        const attempt = await this.tryOnce(connectionId, plan);
        if (attempt.permit_ids) {
          this.lastBlocked.delete(queueKey);
          this.maybePrune();
          const permit = this.makePermit(familyKey, plan, attempt.permit_ids);
          if (signal?.aborted) {
            // Aborted while the grant was on its way: hand the slot back now rather than at lease expiry.
            await permit.release().catch(() => undefined);
            throw abortReason(signal);
          }
          return permit;
        }
        const blockedBy = attempt.blocked_by ?? 'unknown';
        this.lastBlocked.set(queueKey, blockedBy);
        const remaining = deadline - this.now();
        if (blockedBy.endsWith('/concurrent')) {
          // A slot frees at a release (any process) or at the earliest lease expiry (wait_ms), whichever
          // comes first; releases arrive through LISTEN/NOTIFY, so we sleep until one instead of polling.
          if (remaining <= 0) {
            throw new RateGovernorTimeout(connectionId, api, this.now() - started, blockedBy, null);
          }
          const listening = await this.ensureListener();
          if ((this.releaseEpoch.get(familyKey) ?? 0) !== epoch) continue; // released while we looked
          const cap = listening ? LISTENING_POLL_MS : DEGRADED_POLL_MS;
          await this.pause(Math.min(attempt.wait_ms + 1, cap, remaining), signal, familyKey);
        } else {
          // Window or cooldown: wait_ms is exact (DB clock), and nobody can make it shorter. Fail fast
          // when it exceeds the deadline rather than hold the caller for nothing.
          if (attempt.wait_ms > remaining) {
            throw new RateGovernorTimeout(
              connectionId,
              api,
              this.now() - started,
              blockedBy,
              attempt.wait_ms,
            );
          }
          await this.pause(attempt.wait_ms + 1 + Math.random() * JITTER_MS, signal);
        }
      }
    } finally {
      leave();
    }
  }

  /** acquire, fn, release (also when fn throws). */
  async run<T>(
    connectionId: string,
    api: GovernedApi,
    fn: () => Promise<T>,
    opts: AcquireOptions = {},
  ): Promise<T> {
    const permit = await this.acquire(connectionId, api, opts);
    try {
      return await fn();
    } finally {
      // A failed release (database blip) must not mask fn's outcome: the lease frees the slot anyway.
      await permit.release().catch(() => undefined);
    }
  }

  /** After a 429: every worker holds off (connection, api) for retryAfterMs. Never shortens a running cooldown. */
  async penalize(connectionId: string, api: GovernedApi, retryAfterMs: number): Promise<void> {
    this.plan(api);
    const ms = Number.isFinite(retryAfterMs) ? Math.max(0, retryAfterMs) : 0;
    await this.pool.query(
      `INSERT INTO rate_cooldowns (connection_id, api, until)
       VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (connection_id, api) DO UPDATE
         SET until = greatest(rate_cooldowns.until, excluded.until), updated_at = now()`,
      [connectionId, api, ms],
    );
  }

  /**
   * Permits counted in each window of `api`'s own budget (for 'qbo' that includes batch calls), calls in
   * flight, and the cooldown that blocks `api` (for 'qbo-batch' also a 'qbo' cooldown).
   */
  async stats(connectionId: string, api: GovernedApi): Promise<GovernorStats> {
    const plan = this.plan(api);
    const { rows } = await this.pool.query<{
      last_second: string;
      last_minute: string;
      last_day: string;
      in_flight: string;
      cooldown_until: Date | null;
    }>(
      `WITH t AS (SELECT clock_timestamp() AS now)
       SELECT
         (SELECT count(*) FILTER (WHERE p.granted_at > t.now - $3 * interval '1 millisecond')
            FROM rate_permits p WHERE p.connection_id = $1 AND p.api = $2
             AND p.granted_at > t.now - $6 * interval '1 millisecond') AS last_second,
         (SELECT count(*) FILTER (WHERE p.granted_at > t.now - $4 * interval '1 millisecond')
            FROM rate_permits p WHERE p.connection_id = $1 AND p.api = $2
             AND p.granted_at > t.now - $6 * interval '1 millisecond') AS last_minute,
         (SELECT count(*) FILTER (WHERE p.granted_at > t.now - $5 * interval '1 millisecond')
            FROM rate_permits p WHERE p.connection_id = $1 AND p.api = $2
             AND p.granted_at > t.now - $6 * interval '1 millisecond') AS last_day,
         (SELECT count(*) FROM rate_permits p
           WHERE p.connection_id = $1 AND p.api = $2 AND p.released_at IS NULL AND p.lease_until > t.now) AS in_flight,
         (SELECT max(c.until) FROM rate_cooldowns c
           WHERE c.connection_id = $1 AND c.api = ANY ($7::text[]) AND c.until > t.now) AS cooldown_until
       FROM t`,
      [
        connectionId,
        api,
        this.windows.second,
        this.windows.minute,
        this.windows.day,
        plan.longestWindowMs,
        plan.cooldown,
      ],
    );
    const r = rows[0];
    if (!r) throw new Error('RateGovernor.stats: no row');
    return {
      lastSecond: Number(r.last_second),
      lastMinute: Number(r.last_minute),
      lastDay: Number(r.last_day),
      inFlight: Number(r.in_flight),
      cooldownUntil: r.cooldown_until,
    };
  }

  /**
   * Deletes permits older than `olderThanMs` (never less than the longest window: a permit still inside a
   * window must be counted) that no longer hold a slot, and expired cooldowns. Returns the permits deleted.
   */
  async prune(olderThanMs?: number): Promise<number> {
    const longest = Math.max(this.windows.second, this.windows.minute, this.windows.day);
    const age = Math.max(olderThanMs ?? longest, longest);
    const { rows } = await this.pool.query<{ deleted: string }>(
      `WITH t AS (SELECT clock_timestamp() AS now),
       gone AS (
         DELETE FROM rate_permits p USING t
          WHERE p.granted_at < t.now - $1 * interval '1 millisecond'
            AND (p.released_at IS NOT NULL OR p.lease_until < t.now)
         RETURNING 1),
       cool AS (DELETE FROM rate_cooldowns c USING t WHERE c.until < t.now RETURNING 1)
       SELECT count(*) AS deleted FROM gone`,
      [age],
    );
    return Number(rows[0]?.deleted ?? 0);
  }

  /** Stops the LISTEN connection and waits for a background prune. Does not end the pool (the caller owns it). */
  async close(): Promise<void> {
    this.closed = true;
    const listen = this.listen;
    this.listen = null;
    if (listen) await listen.client.end().catch(() => undefined);
    await this.pruning;
  }

  // ---------------------------------------------------------------------------------------------------

  private async tryOnce(connectionId: string, plan: Plan): Promise<Attempt> {
    const { rows } = await this.pool.query<Attempt>(
      `SELECT permit_ids, wait_ms, blocked_by
         FROM rate_governor_try_acquire($1, $2, $3::text[], $4, $5, $6::text[], $7::text[], $8::float8[],
                                        $9::int[], $10::text[], $11::text[], $12::int[])`,
      [
        connectionId,
        `${connectionId}:${plan.family}`,
        plan.record,
        plan.hold,
        this.leaseMs,
        plan.cooldown,
        plan.winApi,
        plan.winMs,
        plan.winLimit,
        plan.winName,
        plan.concApi,
        plan.concLimit,
      ],
    );
    const row = rows[0];
    if (!row) throw new Error('rate_governor_try_acquire returned no row');
    return { permit_ids: row.permit_ids, wait_ms: Number(row.wait_ms), blocked_by: row.blocked_by };
  }

  private makePermit(familyKey: string, plan: Plan, ids: string[]): Permit {
    if (!plan.hold) return { release: () => Promise.resolve() };
    let released = false;
    let pending: Promise<void> | null = null;
    return {
      release: () => {
        if (released) return Promise.resolve();
        pending ??= this.pool
          .query(
            `WITH released AS (
               UPDATE rate_permits SET released_at = clock_timestamp()
                WHERE id = ANY ($1::bigint[]) AND released_at IS NULL
               RETURNING connection_id, api)
             SELECT pg_notify('${NOTIFY_CHANNEL}', json_build_array(connection_id, api)::text) FROM released`,
            [ids],
          )
          .then(
            () => {
              released = true;
              // Wake local waiters at once; other processes hear the NOTIFY.
              this.wake(familyKey);
            },
            (err: unknown) => {
              pending = null; // let the caller retry a failed release
              throw err;
            },
          );
        return pending;
      },
    };
  }

  /**
   * Waits for the previous caller of the same (connection, api) in this process to finish acquiring.
   * Returns the function that hands the turn on. An aborted or timed-out waiter hands on its turn only
   * after its predecessor, so the queue never has two heads.
   */
  private async takeTurn(
    key: string,
    signal: AbortSignal | undefined,
    deadline: number,
    timeoutError: () => Error,
  ): Promise<() => void> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let leave: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => (leave = resolve));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(timeoutError()),
          Math.min(Math.max(0, deadline - this.now()), MAX_TIMER_MS),
        );
        if (signal) {
          onAbort = () => reject(abortReason(signal));
          signal.addEventListener('abort', onAbort, { once: true });
        }
        void prev.then(resolve);
      });
    } catch (err) {
      leave();
      throw err;
    } finally {
      clearTimeout(timer);
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    }
    return leave;
  }

  /** Sleeps ms; a release event for wakeKey ends it early; abort rejects. */
  private pause(ms: number, signal: AbortSignal | undefined, wakeKey?: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (wakeKey) {
          const set = this.sleepers.get(wakeKey);
          set?.delete(finish);
          if (set?.size === 0) this.sleepers.delete(wakeKey);
        }
      };
      const finish = () => {
        cleanup();
        resolve();
      };
      const onAbort = () => {
        cleanup();
        reject(signal ? abortReason(signal) : new Error('aborted'));
      };
      // setTimeout fires at once beyond 2^31-1 ms; a longer wait (a huge Retry-After) just re-checks then.
      const timer = setTimeout(finish, Math.min(Math.max(0, ms), MAX_TIMER_MS));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (wakeKey) {
        let set = this.sleepers.get(wakeKey);
        if (!set) this.sleepers.set(wakeKey, (set = new Set()));
        set.add(finish);
      }
    });
  }

  private wake(familyKey: string): void {
    this.releaseEpoch.set(familyKey, (this.releaseEpoch.get(familyKey) ?? 0) + 1);
    const set = this.sleepers.get(familyKey);
    if (set) for (const fn of [...set]) fn();
  }

  private onNotification(payload: string | undefined): void {
    try {
      const parsed: unknown = JSON.parse(payload ?? '');
      if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') return;
      const api = parsed[1] as GovernedApi;
      this.wake(`${parsed[0]}\u0000${PARENT[api] ?? api}`);
    } catch {
      // Not ours or malformed: the poll cap still bounds every wait.
    }
  }

  /**
   * One LISTEN connection per governor, opened on the first concurrency wait. A separate Client (same
   * settings as the pool) so it never occupies a pool slot. If it fails, waits fall back to polling.
   */
  private ensureListener(): Promise<boolean> {
    if (this.listen) return this.listen.ready;
    if (this.closed || this.now() < this.listenRetryAt) return Promise.resolve(false);
    const client = new Client(this.pool.options);
    const entry = { client, ready: Promise.resolve(false) };
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (this.listen === entry) {
        this.listen = null;
        this.listenRetryAt = this.now() + LISTEN_RETRY_MS;
      }
      void client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (msg) => {
      if (msg.channel === NOTIFY_CHANNEL) this.onNotification(msg.payload);
    });
    entry.ready = client
      .connect()
      .then(() => client.query(`LISTEN ${NOTIFY_CHANNEL}`))
      .then(
        () => !dropped,
        () => {
          drop();
          return false;
        },
      );
    this.listen = entry;
    return entry.ready;
  }

  private maybePrune(): void {
    if (this.pruning || this.now() - this.lastPruneAt < this.pruneEveryMs) return;
    this.lastPruneAt = this.now();
    // Housekeeping only: a failure is retried at the next interval and never affects the caller.
    this.pruning = this.prune().then(
      () => {
        this.pruning = null;
      },
      () => {
        this.pruning = null;
      },
    );
  }
}
