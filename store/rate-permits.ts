/**
 * The rate governor's tables (migrations/003_rate_governor.sql, 013_governor_lanes.sql): permits granted
 * (`rate_permits`, with the lane that took each), 429 cooldowns (`rate_cooldowns`), slowdowns after a 429
 * (`rate_slowdowns`), the atomic check-and-grant function `rate_governor_try_acquire`, and the NOTIFY channel
 * on which a release wakes waiters in every process. The decisions (which windows, limits
 * and waits) are apis/governor/rate-governor.ts's; this module only talks to PostgreSQL.
 */
import { Client, type Pool } from 'pg';

/** The channel a release notifies: payload `[connection_id, api]` as JSON. */
export const RELEASE_CHANNEL = 'rate_governor_release';

/** What the SQL function must check and record for one API (see migrations/003_rate_governor.sql). */
export interface PermitRequest {
  family: string;
  lane: string;
  record: string[];
  hold: boolean;
  cooldown: string[];
  winApi: string[];
  winMs: number[];
  winLimit: number[];
  winName: string[];
  /** Whether each window is scaled by the connection's slowdown factor (halved after a 429, migrations/013 and 020). */
  winSlowed: boolean[];
  concApi: string[];
  concLimit: number[];
}

export interface PermitAttempt {
  permit_ids: string[] | null;
  wait_ms: number;
  blocked_by: string | null;
}

/** One check-and-grant round trip: permit ids when granted, else how long to wait and what blocks. */
export async function tryAcquirePermit(
  pool: Pool,
  connectionId: string,
  plan: PermitRequest,
  leaseMs: number,
  recoverPerMs: number,
): Promise<PermitAttempt> {
  const { rows } = await pool.query<PermitAttempt>(
    `SELECT permit_ids, wait_ms, blocked_by
         FROM rate_governor_try_acquire($1, $2, $3, $4::text[], $5, $6, $7::text[], $8::text[], $9::float8[],
                                        $10::int[], $11::text[], $12::bool[], $13::text[], $14::int[], $15)`,
    [
      connectionId,
      plan.family,
      plan.lane,
      plan.record,
      plan.hold,
      leaseMs,
      plan.cooldown,
      plan.winApi,
      plan.winMs,
      plan.winLimit,
      plan.winName,
      plan.winSlowed,
      plan.concApi,
      plan.concLimit,
      recoverPerMs,
    ],
  );
  const row = rows[0];
  if (!row) throw new Error('rate_governor_try_acquire returned no row');
  return { permit_ids: row.permit_ids, wait_ms: Number(row.wait_ms), blocked_by: row.blocked_by };
}

/** Frees the concurrency slots of these permits and notifies RELEASE_CHANNEL for each. */
export async function releasePermits(pool: Pool, ids: string[]): Promise<void> {
  await pool.query(
    `WITH released AS (
               UPDATE rate_permits SET released_at = clock_timestamp()
                WHERE id = ANY ($1::bigint[]) AND released_at IS NULL
               RETURNING connection_id, api)
             SELECT pg_notify('${RELEASE_CHANNEL}', json_build_array(connection_id, api)::text) FROM released`,
    [ids],
  );
}

/** Holds off (connection, api) for ms from now; never shortens a running cooldown. */
export async function recordCooldown(
  pool: Pool,
  connectionId: string,
  api: string,
  ms: number,
): Promise<void> {
  await pool.query(
    `INSERT INTO rate_cooldowns (connection_id, api, until)
       VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (connection_id, api) DO UPDATE
         SET until = greatest(rate_cooldowns.until, excluded.until), updated_at = now()`,
    [connectionId, api, ms],
  );
}

/**
 * Multiplicative decrease after a 429 without Retry-After: the family's factor becomes
 * max(floor, current × multiplier), shared by every worker. Returns the new factor.
 */
export async function recordSlowdown(
  pool: Pool,
  connectionId: string,
  family: string,
  multiplier: number,
  floor: number,
  recoverPerMs: number,
): Promise<number> {
  const { rows } = await pool.query<{ factor: number }>(
    'SELECT rate_governor_slow_down($1, $2, $3, $4, $5) AS factor',
    [connectionId, family, multiplier, floor, recoverPerMs],
  );
  return Number(rows[0]?.factor ?? 1);
}

export interface PermitCounts {
  lastSecond: number;
  lastMinute: number;
  lastDay: number;
  inFlight: number;
  cooldownUntil: Date | null;
}

/**
 * Permits of (connection, api) granted within each window, those holding a slot now, and the latest
 * running cooldown of any of `cooldownApis`. Judged by the database's clock.
 */
export async function permitCounts(
  pool: Pool,
  connectionId: string,
  api: string,
  windowsMs: { second: number; minute: number; day: number },
  longestWindowMs: number,
  cooldownApis: string[],
): Promise<PermitCounts> {
  const { rows } = await pool.query<{
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
    [connectionId, api, windowsMs.second, windowsMs.minute, windowsMs.day, longestWindowMs, cooldownApis],
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
 * Deletes permits granted more than ageMs ago that no longer hold a slot, and expired cooldowns. Returns
 * the permits deleted.
 */
export async function prunePermits(pool: Pool, ageMs: number, connectionId?: string): Promise<number> {
  const { rows } = await pool.query<{ deleted: string }>(
    `WITH t AS (SELECT clock_timestamp() AS now),
       gone AS (
         DELETE FROM rate_permits p USING t
          WHERE p.granted_at < t.now - $1 * interval '1 millisecond'
            AND (p.released_at IS NOT NULL OR p.lease_until < t.now)
            AND ($2::text IS NULL OR p.connection_id = $2)
         RETURNING 1),
       cool AS (DELETE FROM rate_cooldowns c USING t
                 WHERE c.until < t.now AND ($2::text IS NULL OR c.connection_id = $2) RETURNING 1),
       -- A slowdown has recovered fully within a minute (floor 0.1, doubling every 10 s): an hour-old row is spent.
       slow AS (DELETE FROM rate_slowdowns s USING t
                 WHERE s.updated_at < t.now - interval '1 hour' AND ($2::text IS NULL OR s.connection_id = $2)
                RETURNING 1)
       SELECT count(*) AS deleted FROM gone`,
    [ageMs, connectionId ?? null],
  );
  return Number(rows[0]?.deleted ?? 0);
}

/**
 * A client of its own (same settings as the pool, so it never occupies a pool slot) for LISTEN on
 * RELEASE_CHANNEL; `listenForReleases` connects it and starts listening.
 */
export function releaseListenerClient(pool: Pool): Client {
  return new Client(pool.options);
}

export async function listenForReleases(client: Client): Promise<void> {
  await client.connect();
  await client.query(`LISTEN ${RELEASE_CHANNEL}`);
}

/** What the budget view needs of one connection, read in one round trip (DB clock). */
export interface BudgetFacts {
  /** Permits per series and lane in the last minute and the last day. */
  counts: Array<{ api: string; lane: string; lastMinute: number; today: number }>;
  /** Latest running cooldown per series. */
  cooldowns: Array<{ api: string; until: Date }>;
  /** Current slowdown factor per family (families without a 429 are absent: 1). */
  factors: Array<{ family: string; factor: number }>;
  /**
   * Per asked (series, limit): when the window of that limit frees a slot, if all lanes together have used
   * `limit` permits in the last day (null: there is room).
   */
  dayEdges: Array<{ api: string; until: Date | null }>;
  now: Date;
}

export async function budgetFacts(
  pool: Pool,
  connectionId: string,
  windowsMs: { minute: number; day: number },
  recoverPerMs: number,
  dayLimits: Array<{ api: string; limit: number }>,
): Promise<BudgetFacts> {
  const { rows } = await pool.query<{ facts: Omit<BudgetFacts, 'now'> & { now: string } }>(
    `WITH t AS (SELECT clock_timestamp() AS now)
     SELECT json_build_object(
       'now', (SELECT now FROM t),
       'counts', coalesce((
         SELECT json_agg(json_build_object('api', api, 'lane', lane, 'lastMinute', last_minute, 'today', today))
           FROM (SELECT p.api, p.lane,
                        count(*) FILTER (WHERE p.granted_at > t.now - $2 * interval '1 millisecond') AS last_minute,
                        count(*) AS today
                   FROM rate_permits p, t
                  WHERE p.connection_id = $1 AND p.granted_at > t.now - $3 * interval '1 millisecond'
                  GROUP BY p.api, p.lane) x), '[]'::json),
       'cooldowns', coalesce((
         SELECT json_agg(json_build_object('api', c.api, 'until', c.until))
           FROM rate_cooldowns c, t WHERE c.connection_id = $1 AND c.until > t.now), '[]'::json),
       'factors', coalesce((
         SELECT json_agg(json_build_object('family', s.family,
                                           'factor', rate_governor_factor(s.factor, s.updated_at, t.now, $4)))
           FROM rate_slowdowns s, t WHERE s.connection_id = $1), '[]'::json),
       'dayEdges', coalesce((
         SELECT json_agg(json_build_object('api', d.api, 'until', (
                  SELECT p.granted_at + $3 * interval '1 millisecond'
                    FROM rate_permits p, t
                   WHERE p.connection_id = $1 AND p.api = d.api
                     AND p.seq = (SELECT max(q.seq) FROM rate_permits q
                                   WHERE q.connection_id = $1 AND q.api = d.api) - d.lim + 1
                     AND p.granted_at > t.now - $3 * interval '1 millisecond')))
           FROM unnest($5::text[], $6::int[]) AS d(api, lim)), '[]'::json)
     ) AS facts`,
    [
      connectionId,
      windowsMs.minute,
      windowsMs.day,
      recoverPerMs,
      dayLimits.map((d) => d.api),
      dayLimits.map((d) => d.limit),
    ],
  );
  const f = rows[0]?.facts;
  if (!f) throw new Error('budgetFacts: no row');
  return {
    now: new Date(f.now),
    counts: f.counts.map((c) => ({ ...c, lastMinute: Number(c.lastMinute), today: Number(c.today) })),
    cooldowns: f.cooldowns.map((c) => ({ api: c.api, until: new Date(c.until) })),
    factors: f.factors.map((x) => ({ family: x.family, factor: Number(x.factor) })),
    dayEdges: f.dayEdges.map((d) => ({ api: d.api, until: d.until ? new Date(d.until) : null })),
  };
}
