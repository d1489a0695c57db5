/**
 * Whether a 429 without Retry-After says we went too fast (docs/rate-governor.md "Which 429s slow us down").
 *
 * Both APIs count per app and account, and every call we send takes a permit in the same windows, so the
 * governor knows the pace the API saw. A 429 while our last second, minute and calls in flight were all below
 * half the documented limits is not about our pace: the API refused that call for a reason of its own (the
 * long soak's random 429s, 3 % of calls, halved the rate each time and held ServiceM8 at ~200 calls a minute
 * of 1,800, so the work of ten minutes piled up for after). Such a 429 costs the call a re-send, not the
 * connection a slowdown; unless they come often (at least MIN_REFUSALS and SHARE of this process's calls to
 * that API in the last minute): then the documented limits may be wrong, and we slow down anyway.
 */
import type { GovernorStats, Plan } from './policy';

/** Our pace explains a 429 from this fraction of a documented limit on. */
export const EXPLAINED_FROM = 0.5;
/** Unexplained 429s slow us down once they are this share of the last minute's calls … */
export const SHARE = 0.1;
/** … and at least this many. */
export const MIN_REFUSALS = 3;

/** The limits of `plan`'s own family (the windows and concurrency it is checked against, safety applied). */
export function familyLimits(plan: Plan): { second?: number; minute?: number; concurrent?: number } {
  const out: { second?: number; minute?: number; concurrent?: number } = {};
  plan.winApi.forEach((api, i) => {
    if (api !== plan.family) return;
    if (plan.winName[i] === `${api}/second`) out.second = plan.winLimit[i];
    if (plan.winName[i] === `${api}/minute`) out.minute = plan.winLimit[i];
  });
  plan.concApi.forEach((api, i) => {
    if (api === plan.family) out.concurrent = plan.concLimit[i];
  });
  return out;
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

/** This process's grants and 429s of the last minute, per (connection, API family). */
export class SlowdownJudge {
  private readonly seen = new Map<string, { grants: number[]; refusals: number[] }>();

  constructor(
    private readonly now: () => number,
    private readonly minuteMs: number,
  ) {}

  granted(key: string): void {
    this.trimmed(key).grants.push(this.now());
  }

  /** Counts a 429 and says whether 429s were frequent enough in the last minute to slow down whatever the pace. */
  refusedOften(key: string): boolean {
    const s = this.trimmed(key);
    s.refusals.push(this.now());
    return s.refusals.length >= MIN_REFUSALS && s.refusals.length >= SHARE * Math.max(1, s.grants.length);
  }

  private trimmed(key: string): { grants: number[]; refusals: number[] } {
    let s = this.seen.get(key);
    if (!s) this.seen.set(key, (s = { grants: [], refusals: [] }));
    const since = this.now() - this.minuteMs;
    const drop = (list: number[]) => {
      let i = 0;
      while (i < list.length && (list[i] as number) < since) i += 1;
      if (i) list.splice(0, i);
    };
    drop(s.grants);
    drop(s.refusals);
    return s;
  }
}
