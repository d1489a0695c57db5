/**
 * The rate governor's policy: the documented limits, the options, and the plan of each API (which windows
 * and concurrency limits a permit is checked against, and which budgets it is recorded in). The waiting and
 * the local queue are apis/governor/rate-governor.ts's; the SQL is store/rate-permits.ts's.
 */
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

/** A 'qbo-batch' call is also a 'qbo' call: it is checked against, and recorded in, both budgets. */
export const PARENT: Partial<Record<GovernedApi, GovernedApi>> = { 'qbo-batch': 'qbo' };

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

/** What the SQL function must check and record for one API (see migrations/003_rate_governor.sql). */
export interface Plan extends PermitRequest {
  family: GovernedApi;
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

/** The plan of every API for these options (windows already validated). */
export function buildPlans(
  opts: GovernorOptions,
  safety: number,
  lengths: WindowLengths,
): Map<GovernedApi, Plan> {
  // floor(limit × safety), at least 1: 180/min → 171, 20 000/day → 19 000, QBO 10/s → 9, 10 in flight → 9.
  const effective = (api: GovernedApi, key: keyof RateLimits): number | null => {
    const raw = (opts.limits?.[api] ?? API_LIMITS[api])[key];
    if (raw === undefined) return null;
    return Math.max(1, Math.floor(positive(`limits.${api}.${key}`, raw, 1) * safety));
  };
  const plans = new Map<GovernedApi, Plan>();
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
      longestWindowMs: Math.max(lengths.second, lengths.minute, lengths.day),
    };
    for (const s of series) {
      const windows: [keyof RateLimits, number, string][] = [
        ['perSecond', lengths.second, 'second'],
        ['perMinute', lengths.minute, 'minute'],
        ['perDay', lengths.day, 'day'],
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
    plans.set(api, plan);
  }
  return plans;
}
