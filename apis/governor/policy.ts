/**
 * The rate governor's policy: the documented limits, the options, and the plan of each API (which windows
 * and concurrency limits a permit is checked against, and which budgets it is recorded in). The waiting and
 * the local queue are apis/governor/rate-governor.ts's; the SQL is store/rate-permits.ts's.
 */
import { LANES, type Lane } from '../../domain/lanes';
import type { PermitRequest } from '../../store/rate-permits';
import type { GovernedApi } from './governor';

export type { GovernedApi } from './governor';

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

/**
 * The documented limits times `factor` (GOVERNOR_LIMIT_SCALE, benchmarks on simulators whose limits were
 * raised alike): every window's count; concurrency stays as documented (it is not a rate).
 */
export function scaledLimits(factor: number): Record<GovernedApi, RateLimits> {
  const times = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * factor));
  const out = {} as Record<GovernedApi, RateLimits>;
  for (const [api, l] of Object.entries(API_LIMITS) as Array<[GovernedApi, RateLimits]>) {
    out[api] = {
      ...(l.perSecond !== undefined ? { perSecond: times(l.perSecond) } : {}),
      ...(l.perMinute !== undefined ? { perMinute: times(l.perMinute) } : {}),
      ...(l.perDay !== undefined ? { perDay: times(l.perDay) } : {}),
      ...(l.concurrent !== undefined ? { concurrent: l.concurrent } : {}),
    };
  }
  return out;
}

/** A 'qbo-batch' call is also a 'qbo' call: it is checked against, and recorded in, both budgets. */
export const PARENT: Partial<Record<GovernedApi, GovernedApi>> = { 'qbo-batch': 'qbo' };

/**
 * The share of each budget a lane may fill, counting every lane's permits (docs/rate-governor.md "Lanes").
 * A lane is refused once all lanes together have used its share, so the rest is kept for the lanes above:
 * bulk never takes the last 20 % of a minute (or second) window, live never the last 8 %; of ServiceM8's
 * 19,000 a day bulk may use 15,200 and live 18,050; of QuickBooks' 10 requests at once bulk holds at most 6
 * and live 8 (shares of the documented 10). Interactive work may use everything the safety margin allows.
 */
export const LANE_SHARES: Record<'rate' | 'day' | 'concurrent', Record<Lane, number>> = {
  rate: { interactive: 1, live: 0.92, bulk: 0.8 },
  day: { interactive: 1, live: 0.95, bulk: 0.8 },
  concurrent: { interactive: 1, live: 0.8, bulk: 0.6 },
};

/** Highest first: the order in which waiting callers of one process are served. */
export const LANE_RANK: Record<Lane, number> = { interactive: 0, live: 1, bulk: 2 };

/**
 * After a 429 without Retry-After: the connection's rate limits (second and minute windows) are multiplied
 * by `decrease`, never below `floor` of them, and double `doublingsPerMinute` times a minute without a 429
 * (migrations/020): one 429 is forgotten within 10 s, the floor within 33 s. Both APIs count per minute and
 * the budget is this app's own, so a 429 means our windows and the API's were out of step, not that someone
 * else spends it: the rate comes back fast, and a 429 halves it again at once if it came back too fast.
 */
export const SLOWDOWN = { decrease: 0.5, floor: 0.1, doublingsPerMinute: 6 } as const;

/** The doublings per millisecond the SQL needs, for a minute window of `minuteMs`. */
export function recoverPerMs(minuteMs: number): number {
  return SLOWDOWN.doublingsPerMinute / minuteMs;
}

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

/** The fraction of each documented limit we allow ourselves unless told otherwise. */
export const DEFAULT_SAFETY = 0.95;

export interface GovernorOptions {
  /**
   * Overrides per API. An entry REPLACES that API's documented limits entirely (it is not merged), so a
   * test or benchmark states exactly which windows apply.
   */
  limits?: Partial<Record<GovernedApi, RateLimits>>;
  /** Fraction of each limit we allow ourselves (floored, at least 1). Default DEFAULT_SAFETY (0.95). */
  safety?: number;
  /** A concurrency permit not released by then (crashed worker) frees itself. Default 120 000 (QBO's own request timeout). */
  leaseMs?: number;
  /**
   * Local clock (ms), used for maxWaitMs deadlines only. Windows, leases and cooldowns are judged by the
   * database's clock_timestamp(), the one clock every worker shares, and sleep durations come from it too.
   */
  now?: () => number;
  /**
   * acquire() gives up with RateGovernorTimeout after this. Default: never (waiting is not failure; an
   * activity heartbeats while it waits and is cancelled through its signal). Tools and tests may set one.
   */
  maxWaitMs?: number;
  /** How often a waiting activity heartbeats. Default 10 000. */
  heartbeatMs?: number;
  /** Window lengths; tests shrink them. Defaults to the real 1 s / 60 s / 1 day. */
  windowsMs?: Partial<WindowLengths>;
  /** How often (at most) a successful acquire triggers a background prune(). Default 15 minutes. */
  pruneEveryMs?: number;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** Overrides GovernorOptions.maxWaitMs for this call. */
  maxWaitMs?: number;
  /** The lane of the call; default: the lane of the running code (infra/lane-context.ts). */
  lane?: Lane;
}

export interface Permit {
  /** Frees the concurrency slot. Idempotent; a no-op for APIs without a concurrency limit. */
  release(): Promise<void>;
  /**
   * Why the caller waited before this grant: the last refusal it met at the head of the queue (e.g.
   * 'qbo/concurrent', 'sm8/minute'), 'queue' when it only waited behind other callers of this process, null
   * when it was granted at once. The permit-wait metric carries it, so a slow lane says what held it.
   */
  readonly waitedFor: string | null;
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

/**
 * The connection is paused, needs re-authorisation or is disconnected: no permit is taken (the caller parks,
 * CON-3, without spending the budget). apis/errors.ts turns it into ConnectionPaused / ConnectionNeedsReauth.
 */
export class ConnectionNotActive extends Error {
  override readonly name = 'ConnectionNotActive';
  constructor(
    readonly connectionId: string,
    readonly status: string,
  ) {
    super(`Connection "${connectionId}" is ${status}: no API permit taken`);
  }
}

/** What the SQL function must check and record for one API and lane (migrations/013_governor_lanes.sql). */
export interface Plan extends PermitRequest {
  family: 'sm8' | 'qbo';
  record: GovernedApi[];
  cooldown: GovernedApi[];
  winApi: GovernedApi[];
  concApi: GovernedApi[];
  longestWindowMs: number;
}

export function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`RateGovernor: ${name} must be a positive number`);
  return v;
}

export const planKey = (api: GovernedApi, lane: Lane): string => `${api}:${lane}`;

/** The plan of every API and lane for these options (windows already validated); key: planKey. */
export function buildPlans(opts: GovernorOptions, safety: number, lengths: WindowLengths): Map<string, Plan> {
  const raw = (api: GovernedApi, key: keyof RateLimits): number | undefined => {
    const value = (opts.limits?.[api] ?? API_LIMITS[api])[key];
    return value === undefined ? undefined : positive(`limits.${api}.${key}`, value, 1);
  };
  // floor(limit × safety), at least 1: 180/min → 171, 20 000/day → 19 000, QBO 10/s → 9, 10 in flight → 9.
  const effective = (api: GovernedApi, key: keyof RateLimits): number | null => {
    const value = raw(api, key);
    return value === undefined ? null : Math.max(1, Math.floor(value * safety));
  };
  const share = (limit: number, fraction: number) => Math.max(1, Math.floor(limit * fraction));
  const plans = new Map<string, Plan>();
  for (const api of Object.keys(API_LIMITS) as GovernedApi[]) {
    const parent = PARENT[api];
    const series: GovernedApi[] = parent ? [parent, api] : [api];
    const family = (series[0] ?? api) === 'sm8' ? 'sm8' : 'qbo';
    for (const lane of LANES) {
      const plan: Plan = {
        family,
        lane,
        record: series,
        hold: false,
        cooldown: series,
        winApi: [],
        winMs: [],
        winLimit: [],
        winName: [],
        winSlowed: [],
        concApi: [],
        concLimit: [],
        longestWindowMs: Math.max(lengths.second, lengths.minute, lengths.day),
      };
      for (const s of series) {
        const windows: [keyof RateLimits, number, string, 'rate' | 'day'][] = [
          ['perSecond', lengths.second, 'second', 'rate'],
          ['perMinute', lengths.minute, 'minute', 'rate'],
          ['perDay', lengths.day, 'day', 'day'],
        ];
        for (const [key, ms, name, kind] of windows) {
          const limit = effective(s, key);
          if (limit === null) continue;
          plan.winApi.push(s);
          plan.winMs.push(ms);
          plan.winLimit.push(share(limit, LANE_SHARES[kind][lane]));
          plan.winName.push(`${s}/${name}`);
          // A 429 slows the rate windows down; the day's allowance is the same however fast it is spent.
          plan.winSlowed.push(kind === 'rate');
        }
        const concurrent = effective(s, 'concurrent');
        if (concurrent !== null) {
          // Shares of the documented limit (10 at once: bulk 6, live 8), never above the safety margin's.
          const documented = raw(s, 'concurrent') ?? concurrent;
          plan.concApi.push(s);
          plan.concLimit.push(Math.min(concurrent, share(documented, LANE_SHARES.concurrent[lane])));
        }
      }
      // Only permits that occupy a concurrency slot need a release round trip; the others are born released.
      plan.hold = plan.concApi.length > 0;
      plans.set(planKey(api, lane), plan);
    }
  }
  return plans;
}

/**
 * The calls a minute `lane` may make to `api` at these limits (its share of the safety margin's window): no
 * work in that lane can go faster, so it is the bound a benchmark measures onboarding's writes against.
 */
export function laneMinuteLimit(
  api: GovernedApi,
  lane: Lane,
  limits: Partial<Record<GovernedApi, RateLimits>> = API_LIMITS,
): number | null {
  const plan = buildPlans({ limits }, DEFAULT_SAFETY, DEFAULT_WINDOWS_MS).get(planKey(api, lane));
  return plan ? minuteLimit(plan, api) : null;
}

/** The minute window's limit of `api` in a plan (null when it has none). */
export function minuteLimit(plan: Plan, api: GovernedApi): number | null {
  const i = plan.winName.indexOf(`${api}/minute`);
  return i < 0 ? null : (plan.winLimit[i] ?? null);
}

/** The day window's limit of `lane` in a plan (null when the API has no day window). */
export function dayLimit(plan: Plan): number | null {
  const i = plan.winName.findIndex((n) => n.endsWith('/day'));
  return i < 0 ? null : (plan.winLimit[i] ?? null);
}

/** Why bulk work waits near ServiceM8's daily cap, in a bookkeeper's words. */
export function bulkPauseReason(api: 'sm8' | 'qbo', used: number, bulkLimit: number, limit: number): string {
  const name = api === 'sm8' ? 'ServiceM8' : 'QuickBooks';
  const fmt = (n: number) => n.toLocaleString('en-AU');
  return (
    `${name}'s allowance for the day is nearly used up (${fmt(used)} of ${fmt(limit)} calls in the last 24 hours). ` +
    `Background work (bringing in records, checking for missed changes) waits until earlier calls are a day old, ` +
    `so the last ${fmt(limit - bulkLimit)} calls stay free for invoices, payments and edits.`
  );
}
