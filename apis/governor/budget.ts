/**
 * The budget view of one connection (issue 12): each API's calls in the last minute and the last 24 hours
 * against the limits the governor allows itself, by lane, the slowdown after a 429, a running cooldown, and
 * whether bulk work is paused by the daily plan (with the reason in a bookkeeper's words). Read from the
 * tables every worker's governor shares (store/rate-permits.ts budgetFacts), in one round trip.
 */
import type { Pool } from 'pg';
import { LANES, type BudgetUsage, type Lane } from '../../domain/lanes';
import { budgetFacts } from '../../store/rate-permits';
import {
  bulkPauseReason,
  dayLimit,
  recoverPerMs,
  type GovernedApi,
  type Plan,
  type WindowLengths,
} from './policy';

export async function budgetUsage(
  pool: Pool,
  connectionId: string,
  plan: (api: GovernedApi, lane: Lane) => Plan,
  windows: WindowLengths,
): Promise<BudgetUsage[]> {
  const apis = ['sm8', 'qbo'] as const;
  const bulkDay = apis.flatMap((api) => {
    const limit = dayLimit(plan(api, 'bulk'));
    return limit === null ? [] : [{ api, limit }];
  });
  const facts = await budgetFacts(pool, connectionId, windows, recoverPerMs(windows.minute), bulkDay);
  return apis.map((api): BudgetUsage => {
    const full = plan(api, 'interactive');
    const minute = full.winName.indexOf(`${api}/minute`);
    const perDayLimit = dayLimit(full);
    const rows = facts.counts.filter((c) => c.api === api);
    const byLane = LANES.map((lane) => {
      const mine = rows.filter((r) => r.lane === lane);
      return {
        lane,
        today: mine.reduce((n, r) => n + r.today, 0),
        lastMinute: mine.reduce((n, r) => n + r.lastMinute, 0),
      };
    });
    const today = byLane.reduce((n, l) => n + l.today, 0);
    const cooldown = facts.cooldowns
      .filter((c) => c.api === api)
      .reduce<Date | null>((max, c) => (max && max > c.until ? max : c.until), null);
    const edge = facts.dayEdges.find((d) => d.api === api)?.until ?? null;
    const bulkLimit = bulkDay.find((d) => d.api === api)?.limit;
    return {
      api,
      perMinuteLimit: full.winLimit[minute] ?? 0,
      perDayLimit,
      lastMinute: byLane.reduce((n, l) => n + l.lastMinute, 0),
      today,
      byLane,
      slowdown: Math.round((facts.factors.find((f) => f.family === api)?.factor ?? 1) * 100) / 100,
      cooldownUntil: cooldown ? cooldown.toISOString() : null,
      bulkPaused:
        edge && bulkLimit !== undefined && perDayLimit !== null
          ? { reason: bulkPauseReason(api, today, bulkLimit, perDayLimit), until: edge.toISOString() }
          : null,
    };
  });
}
