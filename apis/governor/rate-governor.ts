/**
 * Per-connection API rate governor, shared by every worker process through PostgreSQL
 * (design note: docs/rate-governor.md; tables and the check-and-grant function: migrations/003, 012; their
 * SQL: store/rate-permits.ts; the limits, lane shares, the slowdown after a 429 and each API's plan: apis/governor/policy.ts).
 * This file waits and queues. Every API call takes a permit first. A permit is granted only when the
 * connection is active, every sliding window of that API (and of 'qbo' for a 'qbo-batch' call) has room
 * within the caller's lane share and the connection's slowdown, no 429 cooldown is running and, where the
 * API limits concurrency, a slot is free. The check and the grant happen in one round trip, atomically per
 * (connection, API family) across all processes: one busy connection never delays or throttles another,
 * and any number of workers together stay within the limits.
 */
import { setMaxListeners } from 'node:events';
import type { Pool } from 'pg';
import type { BudgetUsage, Lane } from '../../domain/lanes';
import { currentLaneContext } from '../../infra/lane-context';
import {
  permitCounts,
  prunePermits,
  recordCooldown,
  recordSlowdown,
  tryAcquirePermit,
  type PermitAttempt,
} from '../../store/rate-permits';
import { budgetUsage } from './budget';
import { heartbeatWhileWaiting, LaneQueue, type Waiter } from './lane-queue';
import {
  SLOWDOWN,
  buildPlans,
  ConnectionNotActive,
  DEFAULT_SAFETY,
  DEFAULT_WINDOWS_MS,
  minuteLimit,
  planKey,
  positive,
  RateGovernorTimeout,
  recoverPerMs,
  type AcquireOptions,
  type GovernedApi,
  type GovernorOptions,
  type GovernorStats,
  type Permit,
  type Plan,
  type WindowLengths,
} from './policy';
import { familyKey, permitOf, ReleaseListener } from './release-listener';
import { familyLimits, paceExplains, SlowdownJudge } from './slowdown-judge';

export {
  SLOWDOWN,
  API_LIMITS,
  ConnectionNotActive,
  DEFAULT_WINDOWS_MS,
  LANE_SHARES,
  RateGovernorTimeout,
  type AcquireOptions,
  type GovernedApi,
  type GovernorOptions,
  type GovernorStats,
  type Permit,
  type RateLimits,
  type WindowLengths,
} from './policy';

/** Spreads waiters of different processes that wake for the same freed slot. */
const JITTER_MS = 10;
/** Re-check a concurrency wait at least this often even when listening (a notification could be lost). */
const LISTENING_POLL_MS = 1_000;
/** Without a working LISTEN connection, releases by other processes are only seen by polling. */
const DEGRADED_POLL_MS = 100;
const MAX_TIMER_MS = 2_147_483_647;

const abortReason = (signal: AbortSignal): unknown => signal.reason ?? new Error('aborted');

export class RateGovernor {
  private readonly plans: Map<string, Plan>;
  private readonly leaseMs: number;
  private readonly maxWaitMs: number;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private readonly windows: WindowLengths;
  private readonly recoverPerMs: number;
  private readonly pruneEveryMs: number;
  private lastPruneAt: number;
  private pruning: Promise<void> | null = null;
  /** Waiting callers per (connection, api): only the head of each queue asks the database (no herd). */
  private readonly queues = new Map<string, LaneQueue>();
  private readonly listener: ReleaseListener;
  private readonly judge: SlowdownJudge;
  private seq = 0;

  constructor(
    private readonly pool: Pool,
    opts: GovernorOptions = {},
  ) {
    const safety = positive('safety', opts.safety, DEFAULT_SAFETY);
    if (safety > 1) throw new RangeError('RateGovernor: safety must be at most 1');
    this.leaseMs = positive('leaseMs', opts.leaseMs, 120_000);
    this.maxWaitMs = opts.maxWaitMs ?? Infinity;
    if (!(this.maxWaitMs >= 0)) throw new RangeError('RateGovernor: maxWaitMs must be >= 0');
    this.heartbeatMs = positive('heartbeatMs', opts.heartbeatMs, 10_000);
    this.now = opts.now ?? Date.now;
    this.windows = {
      second: positive('windowsMs.second', opts.windowsMs?.second, DEFAULT_WINDOWS_MS.second),
      minute: positive('windowsMs.minute', opts.windowsMs?.minute, DEFAULT_WINDOWS_MS.minute),
      day: positive('windowsMs.day', opts.windowsMs?.day, DEFAULT_WINDOWS_MS.day),
    };
    this.recoverPerMs = recoverPerMs(this.windows.minute);
    this.pruneEveryMs = positive('pruneEveryMs', opts.pruneEveryMs, 15 * 60_000);
    this.lastPruneAt = this.now();
    this.plans = buildPlans(opts, safety, this.windows);
    this.listener = new ReleaseListener(pool, this.now);
    this.judge = new SlowdownJudge(this.now, this.windows.minute);
  }

  private plan(api: GovernedApi, lane: Lane = 'interactive'): Plan {
    const plan = this.plans.get(planKey(api, lane));
    if (!plan) throw new TypeError(`RateGovernor: unknown API ${String(api)} or lane ${String(lane)}`);
    return plan;
  }

  /**
   * Waits (sleeping, abortably, heartbeating inside an activity) until `api` has room for the caller's
   * lane, then records the permit. Callers of one process are served highest lane first, in arrival order
   * within a lane; processes race fairly through the database, each lane within its share. Rejects with
   * ConnectionNotActive at once (no permit) when the connection is paused or needs re-authorisation.
   */
  async acquire(connectionId: string, api: GovernedApi, opts: AcquireOptions = {}): Promise<Permit> {
    const ctx = currentLaneContext();
    const lane = opts.lane ?? ctx.lane;
    this.plan(api, lane);
    const signals = [opts.signal, ctx.signal].filter((s): s is AbortSignal => s !== undefined);
    for (const s of signals) s.throwIfAborted();
    const started = this.now();
    const maxWait = opts.maxWaitMs ?? this.maxWaitMs;
    const key = `${connectionId}\u0000${api}`;
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new LaneQueue(api === 'sm8' ? 'servicem8' : 'quickbooks')));
    const q = queue;
    return new Promise<Permit>((resolve, reject) => {
      const cleanups: Array<() => void> = [];
      const leave = (): boolean => {
        if (waiter.settled) return false;
        waiter.settled = true;
        q.remove(waiter);
        for (const fn of cleanups) fn();
        return true;
      };
      const waiter: Waiter = {
        lane,
        seq: (this.seq += 1),
        deadline: started + maxWait,
        started,
        settled: false,
        waitedFor: null,
        succeed: (permit) => {
          if (!leave()) return false;
          resolve(permit);
          return true;
        },
        fail: (err) => {
          if (leave()) reject(err);
        },
      };
      if (Number.isFinite(maxWait)) {
        const timer = setTimeout(
          () => {
            // The head is judged by the pump (granted, or refused with its deadline in mind); a waiter that is
            // no longer the head by then is failed by the pump's sweep (expireBehindHead).
            if (q.head() === waiter || q.trying === waiter) return;
            const blockedBy = q.lastBlocked ?? 'earlier callers';
            waiter.fail(new RateGovernorTimeout(connectionId, api, this.now() - started, blockedBy, null));
          },
          Math.min(maxWait, MAX_TIMER_MS),
        );
        cleanups.push(() => clearTimeout(timer));
      }
      for (const s of signals) {
        // One activity may wait for many permits at once (onboarding imports 8 records together): each wait
        // adds a listener and removes it when done, which is not a leak, so the signal's warning limit is lifted.
        setMaxListeners(0, s);
        const onAbort = () => waiter.fail(abortReason(s));
        s.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => s.removeEventListener('abort', onAbort));
      }
      if (ctx.heartbeat)
        cleanups.push(heartbeatWhileWaiting(ctx.heartbeat, api, waiter, q, this.heartbeatMs));
      q.add(waiter);
      // Raised while waiting (a more urgent caller waits for this work's name turn): move up with it.
      if (ctx.onRaise) cleanups.push(ctx.onRaise((raised) => q.promote(waiter, raised)));
      if (!q.pumping)
        void this.pump(key, q, connectionId, api).catch((err: unknown) => {
          // Not expected (every database error is the head's): never leave callers waiting on a dead pump.
          q.pumping = false;
          if (this.queues.get(key) === q) this.queues.delete(key);
          for (const w of [...q.waiters]) w.fail(err);
        });
    });
  }

  /** acquire, fn, release (also when fn throws). */
  async run<T>(
    connectionId: string,
    api: GovernedApi,
    fn: (grant: { waitedFor: string | null }) => Promise<T>,
    opts: AcquireOptions = {},
  ): Promise<T> {
    const permit = await this.acquire(connectionId, api, opts);
    try {
      return await fn({ waitedFor: permit.waitedFor });
    } finally {
      // A failed release (database blip) must not mask fn's outcome: the lease frees the slot anyway.
      await permit.release().catch(() => undefined);
    }
  }

  /**
   * After a 429. With the API's Retry-After (ms): every worker holds off (connection, api) exactly that long
   * (never shortening a running cooldown). Without one: the connection's rate is halved (never below 0.1 of
   * the limits) and doubles back every 10 s without a 429 (SLOWDOWN, policy.ts), shared by every worker.
   */
  async penalize(connectionId: string, api: GovernedApi, retryAfterMs: number | null): Promise<void> {
    const plan = this.plan(api);
    if (retryAfterMs !== null && Number.isFinite(retryAfterMs)) {
      await recordCooldown(this.pool, connectionId, api, Math.max(0, retryAfterMs));
      return;
    }
    const { decrease, floor } = SLOWDOWN;
    await recordSlowdown(this.pool, connectionId, plan.family, decrease, floor, this.recoverPerMs);
  }

  /**
   * A 429 answered to a call (the two clients in apis/): the API's Retry-After is honoured (penalize); without
   * one the connection is slowed down only when our pace explains it or 429s come often (slowdown-judge.ts).
   * Returns whether it was slowed down or held off.
   */
  async refused(connectionId: string, api: GovernedApi, retryAfterMs: number | null): Promise<boolean> {
    const plan = this.plan(this.plan(api).family);
    const pace = await this.stats(connectionId, plan.family);
    const often = this.judge.refusedOften(familyKey(connectionId, api), pace.lastMinute);
    const slow = retryAfterMs !== null || often || paceExplains(pace, familyLimits(plan));
    if (slow) await this.penalize(connectionId, api, retryAfterMs);
    return slow;
  }

  /**
   * Permits counted in each window of `api`'s own budget (for 'qbo' that includes batch calls), calls in
   * flight, and the cooldown that blocks `api` (for 'qbo-batch' also a 'qbo' cooldown).
   */
  async stats(connectionId: string, api: GovernedApi): Promise<GovernorStats> {
    const plan = this.plan(api);
    return permitCounts(this.pool, connectionId, api, this.windows, plan.longestWindowMs, plan.cooldown);
  }

  /** The calls a minute `lane` may make to `api` (its share of the minute window); null without one. */
  minuteLimit(api: GovernedApi, lane: Lane): number | null {
    return minuteLimit(this.plan(api, lane), api);
  }

  /** The connection's budgets as the admin API, the CLI and the status page show them. */
  budget(connectionId: string): Promise<BudgetUsage[]> {
    return budgetUsage(this.pool, connectionId, (api, lane) => this.plan(api, lane), this.windows);
  }

  /**
   * Deletes permits older than `olderThanMs` (never less than the longest window: a permit still inside a
   * window must be counted) that no longer hold a slot, and expired cooldowns and slowdowns: of one connection
   * when given, of all otherwise. Returns the permits deleted.
   */
  async prune(olderThanMs?: number, connectionId?: string): Promise<number> {
    const longest = Math.max(this.windows.second, this.windows.minute, this.windows.day);
    const age = Math.max(olderThanMs ?? longest, longest);
    return prunePermits(this.pool, age, connectionId);
  }

  /**
   * Refuses the callers still waiting, stops the LISTEN connection and waits for a background prune. Does not
   * end the pool (the caller owns it).
   */
  async close(): Promise<void> {
    const closed = new Error('RateGovernor closed');
    for (const queue of this.queues.values()) {
      for (const w of [...queue.waiters]) w.fail(closed);
      queue.kick(); // the pump finds its queue empty and ends (no timer keeps the process alive)
    }
    await this.listener.close();
    await this.pruning;
  }

  // ---------------------------------------------------------------------------------------------------

  /**
   * Serves one queue until it is empty: asks the database for the head's permit; when refused, sleeps until
   * the refusal ends (a window's exact instant, a release, a lease expiry) or the head changes.
   */
  private async pump(key: string, queue: LaneQueue, connectionId: string, api: GovernedApi): Promise<void> {
    queue.pumping = true;
    const fam = familyKey(connectionId, api);
    for (;;) {
      const head = queue.head();
      if (!head) {
        // Synchronously with the check: an acquire() after this starts a new pump.
        queue.pumping = false;
        if (this.queues.get(key) === queue) this.queues.delete(key);
        return;
      }
      const plan = this.plan(api, head.lane);
      const epoch = this.listener.epoch(fam);
      let attempt: PermitAttempt;
      queue.trying = head;
      try {
        attempt = await tryAcquirePermit(this.pool, connectionId, plan, this.leaseMs, this.recoverPerMs);
      } catch (err) {
        head.fail(err);
        continue;
      } finally {
        queue.trying = null;
      }
      if (attempt.permit_ids) {
        const permit = permitOf(this.pool, this.listener, fam, plan, attempt.permit_ids, head.waitedFor);
        // Left while the grant was on its way (cancelled, timed out): hand the slot back now.
        if (!head.succeed(permit)) await permit.release().catch(() => undefined);
        else this.maybePrune();
        continue;
      }
      const blockedBy = attempt.blocked_by ?? 'unknown';
      queue.lastBlocked = blockedBy;
      head.waitedFor = blockedBy;
      // A caller of a higher lane came while we asked: the refusal was for the old head, ask for the new one.
      if (queue.head() !== head && !blockedBy.startsWith('connection/')) continue;
      if (blockedBy.startsWith('connection/')) {
        // Paused or unauthorised: every caller of this queue parks at once, none takes a permit.
        const refusal = new ConnectionNotActive(connectionId, blockedBy.slice('connection/'.length));
        for (const w of [...queue.waiters]) w.fail(refusal);
        continue;
      }
      this.expireBehindHead(queue, connectionId, api);
      const remaining = head.deadline - this.now();
      const timeout = (retryAfterMs: number | null) =>
        new RateGovernorTimeout(connectionId, api, this.now() - head.started, blockedBy, retryAfterMs);
      if (blockedBy.endsWith('/concurrent')) {
        // A slot frees at a release (any process) or at the earliest lease expiry (wait_ms), whichever
        // comes first; releases arrive through LISTEN/NOTIFY, so we sleep until one instead of polling.
        if (remaining <= 0) {
          head.fail(timeout(null));
          continue;
        }
        const listening = await this.listener.ensure();
        if (this.listener.epoch(fam) !== epoch || queue.head() !== head) continue; // released, or a new head
        const cap = listening ? LISTENING_POLL_MS : DEGRADED_POLL_MS;
        await this.listener.sleep(Math.min(attempt.wait_ms + 1, cap, remaining), fam, queue.onKick);
      } else {
        // Window or cooldown: wait_ms is exact (DB clock), and nobody can make it shorter. A caller with a
        // deadline it cannot meet is told at once rather than held for nothing.
        if (attempt.wait_ms > remaining) {
          head.fail(timeout(attempt.wait_ms));
          continue;
        }
        await this.listener.sleep(attempt.wait_ms + 1 + Math.random() * JITTER_MS, undefined, queue.onKick);
      }
    }
  }

  /** Fails the waiters behind the head whose deadline passed while they were the head (their timer skipped). */
  private expireBehindHead(queue: LaneQueue, connectionId: string, api: GovernedApi): void {
    const now = this.now();
    for (const w of queue.waiters.slice(1)) {
      if (w.deadline <= now) {
        const blockedBy = queue.lastBlocked ?? 'earlier callers';
        w.fail(new RateGovernorTimeout(connectionId, api, now - w.started, blockedBy, null));
      }
    }
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
