/**
 * The rate governor's tables (migrations/003_rate_governor.sql): permits granted (`rate_permits`), 429
 * cooldowns (`rate_cooldowns`), the atomic check-and-grant function `rate_governor_try_acquire`, and the
 * NOTIFY channel on which a release wakes waiters in every process. The decisions (which windows, limits
 * and waits) are apis/governor/rate-governor.ts's; this module only talks to PostgreSQL.
 */
import { Client, type Pool } from 'pg';

/** The channel a release notifies: payload `[connection_id, api]` as JSON. */
export const RELEASE_CHANNEL = 'rate_governor_release';

/** What the SQL function must check and record for one API (see migrations/003_rate_governor.sql). */
export interface PermitRequest {
  family: string;
  record: string[];
  hold: boolean;
  cooldown: string[];
  winApi: string[];
  winMs: number[];
  winLimit: number[];
  winName: string[];
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
): Promise<PermitAttempt> {
  const { rows } = await pool.query<PermitAttempt>(
    `SELECT permit_ids, wait_ms, blocked_by
         FROM rate_governor_try_acquire($1, $2, $3::text[], $4, $5, $6::text[], $7::text[], $8::float8[],
                                        $9::int[], $10::text[], $11::text[], $12::int[])`,
    [
      connectionId,
      `${connectionId}:${plan.family}`,
      plan.record,
      plan.hold,
      leaseMs,
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
export async function prunePermits(pool: Pool, ageMs: number): Promise<number> {
  const { rows } = await pool.query<{ deleted: string }>(
    `WITH t AS (SELECT clock_timestamp() AS now),
       gone AS (
         DELETE FROM rate_permits p USING t
          WHERE p.granted_at < t.now - $1 * interval '1 millisecond'
            AND (p.released_at IS NOT NULL OR p.lease_until < t.now)
         RETURNING 1),
       cool AS (DELETE FROM rate_cooldowns c USING t WHERE c.until < t.now RETURNING 1)
       SELECT count(*) AS deleted FROM gone`,
    [ageMs],
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
