/**
 * Marks of jobs whose look someone waits for (issue 12, migrations/019): the router marks a job when a
 * change that can approve it comes from a person (a webhook); a look of that job running below the
 * interactive lane takes the mark and raises itself (activities/invoice-pass.ts).
 */
import type { Pool } from 'pg';

/** A mark older than this is stale: the look it was meant for has ended (an interactive look takes none). */
const FRESH_SECONDS = 300;

export async function markLookWanted(pool: Pool, connectionId: string, jobUuid: string): Promise<void> {
  await pool.query(
    `INSERT INTO invoice_look_wanted (connection_id, job_uuid) VALUES ($1, $2)
       ON CONFLICT (connection_id, job_uuid) DO UPDATE SET wanted_at = clock_timestamp()`,
    [connectionId, jobUuid],
  );
}

/**
 * Takes this job's mark: true when a fresh one was there. Stale marks of the connection (left by approvals
 * whose look was interactive anyway) go with it, so the table stays as small as the approvals of minutes.
 */
export async function takeLookWanted(pool: Pool, connectionId: string, jobUuid: string): Promise<boolean> {
  const r = await pool.query<{ job_uuid: string; fresh: boolean }>(
    `DELETE FROM invoice_look_wanted
      WHERE connection_id = $1
        AND (job_uuid = $2 OR wanted_at < clock_timestamp() - make_interval(secs => $3))
      RETURNING job_uuid, wanted_at >= clock_timestamp() - make_interval(secs => $3) AS fresh`,
    [connectionId, jobUuid, FRESH_SECONDS],
  );
  return r.rows.some((row) => row.job_uuid === jobUuid && row.fresh);
}

/**
 * Takes the fresh marks of any of these looks (one statement for every look a worker runs below the
 * interactive lane): the (connection, job) pairs whose mark was there.
 */
export async function takeLooksWanted(
  pool: Pool,
  looks: ReadonlyArray<{ connectionId: string; jobUuid: string }>,
): Promise<Array<{ connectionId: string; jobUuid: string }>> {
  if (looks.length === 0) return [];
  const r = await pool.query<{ connection_id: string; job_uuid: string }>(
    `DELETE FROM invoice_look_wanted w
      USING unnest($1::text[], $2::text[]) AS k(connection_id, job_uuid)
      WHERE w.connection_id = k.connection_id AND w.job_uuid = k.job_uuid
        AND w.wanted_at >= clock_timestamp() - make_interval(secs => $3)
      RETURNING w.connection_id, w.job_uuid`,
    [looks.map((l) => l.connectionId), looks.map((l) => l.jobUuid), FRESH_SECONDS],
  );
  return r.rows.map((row) => ({ connectionId: row.connection_id, jobUuid: row.job_uuid }));
}
