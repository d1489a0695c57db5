/**
 * The reads behind /metrics and the status page (client/metrics.ts, client/status-page.ts), and the one
 * write they need (when the sync first saw a job approved). Every read is one cheap, indexed query.
 */
import type { Pool } from 'pg';
import { STUCK_AFTER_ATTEMPTS, STUCK_AFTER_MS, stuckRecordOf } from '../domain/stuck';
import { listStuckSteps } from './stuck-steps';

/** Invoice states the bookkeeper has to act on (a reason says why), as opposed to exported or not approved. */
export const HELD_INVOICE_STATES = [
  'BLOCKED',
  'RESYNC_BLOCKED',
  'NEEDS_ATTENTION_IN_QBO',
  'WAITING_FOR_REAUTH',
] as const;

/** An approved job neither exported nor held this long after it was seen is stuck (its sync keeps failing). */
export const STUCK_AFTER_MINUTES = 15;

/** Records the first time the sync saw a job approved (later sightings keep the first). */
export async function recordApprovalSeen(pool: Pool, connectionId: string, jobUuid: string): Promise<void> {
  await pool.query(
    `INSERT INTO invoice_approvals (connection_id, job_uuid) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    [connectionId, jobUuid],
  );
}

export interface PermitCounts {
  connectionId: string;
  api: string;
  /** The lane that took the permits (interactive, live, bulk; issue 12). */
  lane: string;
  lastMinute: number;
  lastDay: number;
}

/** Permits granted per connection, API and lane in the last minute and the last 24 hours (the governor's table). */
export async function permitCounts(pool: Pool): Promise<PermitCounts[]> {
  const r = await pool.query<{
    connection_id: string;
    api: string;
    lane: string;
    minute: string;
    day: string;
  }>(
    `SELECT connection_id, api, lane,
            count(*) FILTER (WHERE granted_at > clock_timestamp() - interval '1 minute') AS minute,
            count(*) AS day
       FROM rate_permits WHERE granted_at > clock_timestamp() - interval '1 day'
      GROUP BY connection_id, api, lane`,
  );
  return r.rows.map((row) => ({
    connectionId: row.connection_id,
    api: row.api,
    lane: row.lane,
    lastMinute: Number(row.minute),
    lastDay: Number(row.day),
  }));
}

export type RecordCategory = 'exported' | 'held' | 'stuck';

export interface RecordCount {
  connectionId: string;
  kind: string;
  category: RecordCategory;
  count: number;
}

/** Exported and held invoices, merged links (held), stuck approved jobs and stuck steps, per connection. */
export async function recordCounts(pool: Pool): Promise<RecordCount[]> {
  const r = await pool.query<{ connection_id: string; kind: string; category: RecordCategory; n: string }>(
    `SELECT connection_id, 'invoice' AS kind,
            CASE WHEN state = 'EXPORTED' THEN 'exported' ELSE 'held' END AS category, count(*) AS n
       FROM invoice_exports WHERE state = 'EXPORTED' OR state = ANY ($1::text[])
      GROUP BY 1, 2, 3
     UNION ALL
     SELECT connection_id, entity_type, 'held', count(*) FROM links WHERE state = 'merged' GROUP BY 1, 2
     UNION ALL
     SELECT a.connection_id, 'invoice', 'stuck', count(*)
       FROM invoice_approvals a
       LEFT JOIN invoice_exports e ON e.connection_id = a.connection_id AND e.job_uuid = a.job_uuid
      WHERE a.seen_at < now() - make_interval(mins => $2)
        AND (e.state IS NULL OR e.state = 'NOT_APPROVED')
      GROUP BY 1
     UNION ALL
     SELECT connection_id, split_part(workflow_id, '/', 1), 'stuck', count(*) FROM stuck_steps
      WHERE dismissed_at IS NULL
        AND (attempts >= $3 OR first_failed_at <= now() - $4::int * interval '1 millisecond')
      GROUP BY 1, 2`,
    [HELD_INVOICE_STATES, STUCK_AFTER_MINUTES, STUCK_AFTER_ATTEMPTS, STUCK_AFTER_MS],
  );
  return r.rows.map((row) => ({
    connectionId: row.connection_id,
    kind: row.kind,
    category: row.category,
    count: Number(row.n),
  }));
}

export interface LatencyBuckets {
  connectionId: string;
  /** Cumulative counts, one per upper bound (seconds), as Prometheus histograms want them. */
  counts: number[];
  count: number;
  sumSeconds: number;
}

/**
 * Approval seen -> exported, per connection, over every exported invoice whose approval was seen. One pass:
 * PostgreSQL counts each row's `k`, the number of bounds >= its latency (width_bucket over the negated bounds),
 * and the cumulative `le` counts are summed here.
 */
export async function syncLatencyBuckets(pool: Pool, bounds: number[]): Promise<LatencyBuckets[]> {
  const negated = bounds.map((b) => -b).reverse();
  const r = await pool.query<{ connection_id: string; k: number; n: string; sum: number }>(
    `SELECT connection_id, width_bucket(-s, $1::float8[]) AS k, count(*) AS n, sum(s) AS sum
       FROM (SELECT e.connection_id, extract(epoch FROM e.exported_at - a.seen_at)::float8 AS s
               FROM invoice_exports e
               JOIN invoice_approvals a ON a.connection_id = e.connection_id AND a.job_uuid = e.job_uuid
              WHERE e.exported_at IS NOT NULL AND a.seen_at <= e.exported_at) l
      GROUP BY 1, 2`,
    [negated],
  );
  const byConnection = new Map<string, LatencyBuckets>();
  for (const row of r.rows) {
    let h = byConnection.get(row.connection_id);
    if (!h) {
      h = { connectionId: row.connection_id, counts: bounds.map(() => 0), count: 0, sumSeconds: 0 };
      byConnection.set(row.connection_id, h);
    }
    const n = Number(row.n);
    h.count += n;
    h.sumSeconds += Number(row.sum);
    // k bounds are >= the latency: the largest k bounds (indexes n-k … n-1) each count these rows.
    for (let i = bounds.length - row.k; i < bounds.length; i += 1) h.counts[i] = (h.counts[i] ?? 0) + n;
  }
  return [...byConnection.values()];
}

export interface HeldRecord {
  kind: string;
  jobUuid: string | null;
  label: string;
  state: string;
  reason: string;
  since: Date;
}

/** What the bookkeeper has to look at on one connection: stuck steps, held invoices, merged links, stuck jobs. */
export async function heldRecords(pool: Pool, connectionId: string, limit = 50): Promise<HeldRecord[]> {
  const r = await pool.query<{
    kind: string;
    job_uuid: string | null;
    label: string;
    state: string;
    reason: string | null;
    since: Date;
  }>(
    `(SELECT 'invoice' AS kind, job_uuid, COALESCE('Job ' || generated_job_id, 'A job without a number') AS label,
             state, reason_text AS reason, updated_at AS since
        FROM invoice_exports WHERE connection_id = $1 AND state = ANY ($2::text[])
       ORDER BY updated_at DESC LIMIT $4)
     UNION ALL
     (SELECT entity_type, NULL, initcap(entity_type) || ' ' || COALESCE('QuickBooks #' || qbo_id, ''), 'MERGED',
             'merged into another record in QuickBooks', updated_at
        FROM links WHERE connection_id = $1 AND state = 'merged' ORDER BY updated_at DESC LIMIT $4)
     UNION ALL
     (SELECT 'stuck', a.job_uuid, COALESCE('Job ' || e.generated_job_id, 'An approved job'), 'STUCK',
             NULL, a.seen_at
        FROM invoice_approvals a
        LEFT JOIN invoice_exports e ON e.connection_id = a.connection_id AND e.job_uuid = a.job_uuid
       WHERE a.connection_id = $1 AND a.seen_at < now() - make_interval(mins => $3)
         AND (e.state IS NULL OR e.state = 'NOT_APPROVED')
       ORDER BY a.seen_at LIMIT $4)`,
    [connectionId, HELD_INVOICE_STATES, STUCK_AFTER_MINUTES, limit],
  );
  // Issue 13: steps that keep failing, with the failure in words; they stand for the job's bare "stuck" row.
  const steps = (await listStuckSteps(pool, { connectionId, limit })).map((step) => ({
    kind: 'stuck',
    ...stuckRecordOf(step.workflowId),
    state: 'STUCK',
    reason: step.reason,
    since: step.firstFailedAt,
  }));
  const explained = new Set(steps.map((s) => s.jobUuid).filter(Boolean));
  const rows = r.rows
    .filter((row) => !(row.kind === 'stuck' && explained.has(row.job_uuid)))
    .map((row) => ({
      kind: row.kind,
      jobUuid: row.job_uuid,
      label: row.label,
      state: row.state,
      reason: row.reason ?? '',
      since: row.since,
    }));
  return [...steps, ...rows];
}

export interface RecentExport {
  label: string;
  totalCents: number | null;
  exportedAt: Date;
  latencySeconds: number | null;
}

/** The connection's latest exports, with the time from approval seen to export when known. */
export async function recentExports(pool: Pool, connectionId: string, limit = 10): Promise<RecentExport[]> {
  const r = await pool.query<{
    label: string;
    total: string | null;
    exported_at: Date;
    latency: number | null;
  }>(
    `SELECT COALESCE('Job ' || e.generated_job_id, 'A job without a number') AS label,
            COALESCE(e.qbo_total_cents, e.sm8_total_cents) AS total, e.exported_at,
            CASE WHEN a.seen_at <= e.exported_at THEN extract(epoch FROM e.exported_at - a.seen_at)::float8 END AS latency
       FROM invoice_exports e
       LEFT JOIN invoice_approvals a ON a.connection_id = e.connection_id AND a.job_uuid = e.job_uuid
      WHERE e.connection_id = $1 AND e.exported_at IS NOT NULL
      ORDER BY e.exported_at DESC LIMIT $2`,
    [connectionId, limit],
  );
  return r.rows.map((row) => ({
    label: row.label,
    totalCents: row.total === null ? null : Number(row.total),
    exportedAt: row.exported_at,
    latencySeconds: row.latency,
  }));
}

export interface WebhookHealth {
  lastReceivedAt: Date | null;
  pending: number;
  failed: number;
  unrouted: number;
}

/** The webhook inbox of one connection: last event received, and events waiting or not routed. */
export async function webhookHealth(pool: Pool, connectionId: string): Promise<WebhookHealth> {
  const r = await pool.query<{ last: Date | null; pending: string; failed: string; unrouted: string }>(
    `SELECT max(received_at) AS last,
            count(*) FILTER (WHERE state = 'pending') AS pending,
            count(*) FILTER (WHERE state = 'failed') AS failed,
            count(*) FILTER (WHERE state = 'unrouted') AS unrouted
       FROM webhook_inbox WHERE connection_id = $1`,
    [connectionId],
  );
  const row = r.rows[0];
  return {
    lastReceivedAt: row?.last ?? null,
    pending: Number(row?.pending ?? 0),
    failed: Number(row?.failed ?? 0),
    unrouted: Number(row?.unrouted ?? 0),
  };
}
