/**
 * Per-connection API rate governor, shared by every worker process through PostgreSQL
 * (design note: docs/rate-governor.md; tables and the check-and-grant function: migrations/003; their SQL:
 * store/rate-permits.ts; the limits and each API's plan: apis/governor/policy.ts). This file waits and queues.
 * Every API call takes a permit first. A permit is granted only when every sliding window of that API
 * (and of 'qbo' for a 'qbo-batch' call) has room, no 429 cooldown is running and, where the API limits
 * concurrency, a slot is free. The check and the grant happen in one round trip, atomically per
 * (connection, API family) across all processes: one busy connection never delays or throttles another,
 * and any number of workers together stay within the limits.
 */
import type { Client, Pool } from 'pg';
import {
  listenForReleases,
  permitCounts,
  prunePermits,
  recordCooldown,
  releaseListenerClient,
  releasePermits,
  RELEASE_CHANNEL,
  tryAcquirePermit,
  type PermitAttempt,
} from '../../store/rate-permits';
import {
  buildPlans,
  DEFAULT_WINDOWS_MS,
  PARENT,
  positive,
  RateGovernorTimeout,
  type AcquireOptions,
  type GovernedApi,
  type GovernorOptions,
  type GovernorStats,
  type Permit,
  type Plan,
  type WindowLengths,
} from './policy';

export {
  API_LIMITS,
  DEFAULT_WINDOWS_MS,
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
/** After the LISTEN connection failed, do not try to reopen it for this long. */
const LISTEN_RETRY_MS = 5_000;

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
    this.plans = buildPlans(opts, safety, this.windows);
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
    await recordCooldown(this.pool, connectionId, api, ms);
  }

  /**
   * Permits counted in each window of `api`'s own budget (for 'qbo' that includes batch calls), calls in
   * flight, and the cooldown that blocks `api` (for 'qbo-batch' also a 'qbo' cooldown).
   */
  async stats(connectionId: string, api: GovernedApi): Promise<GovernorStats> {
    const plan = this.plan(api);
    return permitCounts(this.pool, connectionId, api, this.windows, plan.longestWindowMs, plan.cooldown);
  }

  /**
   * Deletes permits older than `olderThanMs` (never less than the longest window: a permit still inside a
   * window must be counted) that no longer hold a slot, and expired cooldowns. Returns the permits deleted.
   */
  async prune(olderThanMs?: number): Promise<number> {
    const longest = Math.max(this.windows.second, this.windows.minute, this.windows.day);
    const age = Math.max(olderThanMs ?? longest, longest);
    return prunePermits(this.pool, age);
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

  private tryOnce(connectionId: string, plan: Plan): Promise<PermitAttempt> {
    return tryAcquirePermit(this.pool, connectionId, plan, this.leaseMs);
  }

  private makePermit(familyKey: string, plan: Plan, ids: string[]): Permit {
    if (!plan.hold) return { release: () => Promise.resolve() };
    let released = false;
    let pending: Promise<void> | null = null;
    return {
      release: () => {
        if (released) return Promise.resolve();
        pending ??= releasePermits(this.pool, ids).then(
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
    const client = releaseListenerClient(this.pool);
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
      if (msg.channel === RELEASE_CHANNEL) this.onNotification(msg.payload);
    });
    entry.ready = listenForReleases(client).then(
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
