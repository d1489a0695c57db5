/**
 * Whether a 429 without Retry-After says we went too fast (docs/rate-governor.md "Which 429s slow us down").
 *
 * Both APIs count per app and account, and every call we send takes a permit in the same windows, so the
 * governor knows the pace the API saw. A 429 while our last second, minute and calls in flight were all below
 * nine tenths of our limits is not about our pace: the API refused that call for a reason of its own (the
 * long soak's random 429s, 3 % of calls, halved the rate each time and held ServiceM8 at ~200 calls a minute
 * of 1,800, so the work of ten minutes piled up for after). Such a 429 costs the call a re-send, not the
 * connection a slowdown; unless they come often (at least MIN_REFUSALS and SHARE of the calls to that API in
 * the last minute): then the documented limits may be wrong for this account, and we slow down anyway.
 */
import { minuteLimit, type GovernorStats, type Plan } from './policy';

/**
 * Our pace explains a 429 from this fraction of a window's limit (safety margin applied) on: near the top of
 * a window our windows and the API's may be out of step by a call or two; further down they cannot be.
 */
export const EXPLAINED_FROM = 0.9;
/** Unexplained 429s slow us down once they are this share of the last minute's calls … */
export const SHARE = 0.1;
/** … and at least this many. */
export const MIN_REFUSALS = 3;

/** The limits of `plan`'s own family (the windows and concurrency it is checked against, safety applied). */
export function familyLimits(plan: Plan): { second?: number; minute?: number; concurrent?: number } {
  const second = plan.winName.indexOf(`${plan.family}/second`);
  return {
    second: second < 0 ? undefined : plan.winLimit[second],
    minute: minuteLimit(plan, plan.family) ?? undefined,
    concurrent: plan.concLimit[plan.concApi.indexOf(plan.family)],
  };
}

/** Our pace at the time of a 429, against the family's limits: at or over EXPLAINED_FROM of any of them. */
export function paceExplains(
  stats: Pick<GovernorStats, 'lastSecond' | 'lastMinute' | 'inFlight'>,
  limits: { second?: number; minute?: number; concurrent?: number },
): boolean {
  const near = (used: number, limit: number | undefined) =>
    limit !== undefined && used >= EXPLAINED_FROM * limit;
  return (
    near(stats.lastSecond, limits.second) ||
    near(stats.lastMinute, limits.minute) ||
    near(stats.inFlight, limits.concurrent)
  );
}

/**
 * This process's 429s of the last minute, per (connection, API family), against every process's calls of that
 * minute (the permits in PostgreSQL). With several workers the share counts only this one's 429s: it slows
 * down later, never sooner, than one process would.
 */
export class SlowdownJudge {
  private readonly refusals = new Map<string, number[]>();

  constructor(
    private readonly now: () => number,
    private readonly minuteMs: number,
  ) {}

  /** Counts a 429; true when 429s were frequent enough in the last minute to slow down whatever the pace. */
  refusedOften(key: string, callsLastMinute: number): boolean {
    const since = this.now() - this.minuteMs;
    const list = (this.refusals.get(key) ?? []).filter((t) => t >= since);
    list.push(this.now());
    this.refusals.set(key, list);
    return list.length >= MIN_REFUSALS && list.length >= SHARE * callsLastMinute;
  }
}
