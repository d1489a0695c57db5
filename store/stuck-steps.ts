/**
 * Failing steps (issue 13, "nothing retries silently"; migrations/012): every failed attempt of a retried
 * activity is counted per (workflow, activity type); a success deletes the row. Which rows count as stuck,
 * and their words, come from domain/stuck.ts.
 */
import type { Pool } from 'pg';
import { describeFailure, isStuck, STUCK_AFTER_ATTEMPTS, STUCK_AFTER_MS } from '../domain/stuck';

export interface FailedAttempt {
  connectionId: string;
  workflowId: string;
  activityType: string;
  activityId: string;
  /** Temporal's attempt number (1 = the first try). */
  attempt: number;
  failureType: string;
  technical: string;
}

export interface StuckStep {
  id: string;
  connectionId: string;
  workflowId: string;
  activityType: string;
  activityId: string;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  /** The failure in the bookkeeper's words (domain/stuck.ts). */
  reason: string;
  failureType: string;
  technical: string;
  dismissed: boolean;
}

interface Row {
  id: string;
  connection_id: string;
  workflow_id: string;
  activity_type: string;
  activity_id: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  failure_type: string;
  technical: string;
  dismissed_at: Date | null;
}

const toStep = (r: Row): StuckStep => ({
  id: String(r.id),
  connectionId: r.connection_id,
  workflowId: r.workflow_id,
  activityType: r.activity_type,
  activityId: r.activity_id,
  attempts: r.attempts,
  firstFailedAt: r.first_failed_at,
  lastFailedAt: r.last_failed_at,
  reason: describeFailure(r.activity_type, r.failure_type, r.technical),
  failureType: r.failure_type,
  technical: r.technical,
  dismissed: r.dismissed_at !== null,
});

/**
 * Counts one failed attempt. The first attempt of a run of failures starts the row afresh (a new series);
 * a dismissed step shows again when its failure changes. Answers the row as it now stands (is it stuck?).
 */
export async function recordFailedAttempt(
  pool: Pool,
  a: FailedAttempt,
): Promise<{ attempts: number; firstFailedAt: Date; dismissed: boolean }> {
  const r = await pool.query<{ attempts: number; first_failed_at: Date; dismissed: boolean }>(
    `INSERT INTO stuck_steps (connection_id, workflow_id, activity_type, activity_id, attempts, failure_type, technical)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (workflow_id, activity_type) DO UPDATE SET
       activity_id = EXCLUDED.activity_id,
       attempts = EXCLUDED.attempts,
       first_failed_at = CASE WHEN EXCLUDED.attempts <= 1 OR EXCLUDED.activity_id <> stuck_steps.activity_id
                              THEN now() ELSE stuck_steps.first_failed_at END,
       last_failed_at = now(),
       failure_type = EXCLUDED.failure_type,
       technical = EXCLUDED.technical,
       dismissed_at = CASE WHEN EXCLUDED.technical = stuck_steps.technical THEN stuck_steps.dismissed_at END
     RETURNING attempts, first_failed_at, dismissed_at IS NOT NULL AS dismissed`,
    [
      a.connectionId,
      a.workflowId,
      a.activityType,
      a.activityId,
      a.attempt,
      a.failureType,
      a.technical.slice(0, 2000),
    ],
  );
  const row = r.rows[0] as { attempts: number; first_failed_at: Date; dismissed: boolean };
  return { attempts: row.attempts, firstFailedAt: row.first_failed_at, dismissed: row.dismissed };
}

/** The step succeeded: it is no longer failing. */
/** Forgets a step's failures (it succeeded); true when it had any. */
export async function clearStep(pool: Pool, workflowId: string, activityType: string): Promise<boolean> {
  const r = await pool.query('DELETE FROM stuck_steps WHERE workflow_id = $1 AND activity_type = $2', [
    workflowId,
    activityType,
  ]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Stuck steps, newest failure first: of one connection or all, without the dismissed ones unless asked.
 * Only rows past the thresholds (domain/stuck.ts) are stuck; a first failure or two is not.
 */
export async function listStuckSteps(
  pool: Pool,
  opts: { connectionId?: string; workflowIds?: string[]; includeDismissed?: boolean; limit?: number } = {},
): Promise<StuckStep[]> {
  const r = await pool.query<Row>(
    `SELECT * FROM stuck_steps
      WHERE ($1::text IS NULL OR connection_id = $1)
        AND ($2::text[] IS NULL OR workflow_id = ANY ($2::text[]))
        AND ($3 OR dismissed_at IS NULL)
        AND (attempts >= $4 OR first_failed_at <= now() - $5::int * interval '1 millisecond')
      ORDER BY last_failed_at DESC LIMIT $6`,
    [
      opts.connectionId ?? null,
      opts.workflowIds ?? null,
      opts.includeDismissed ?? false,
      STUCK_AFTER_ATTEMPTS,
      STUCK_AFTER_MS,
      opts.limit ?? 100,
    ],
  );
  const now = new Date();
  return r.rows.map(toStep).filter((s) => isStuck(s, now));
}

export async function stuckStep(pool: Pool, id: string): Promise<StuckStep | null> {
  const r = await pool.query<Row>('SELECT * FROM stuck_steps WHERE id = $1', [id]);
  return r.rows[0] ? toStep(r.rows[0]) : null;
}

/** Hides a stuck step from the lists until its failure changes (it keeps retrying). */
export async function dismissStuckStep(pool: Pool, id: string): Promise<boolean> {
  const r = await pool.query('UPDATE stuck_steps SET dismissed_at = now() WHERE id = $1', [id]);
  return (r.rowCount ?? 0) > 0;
}
