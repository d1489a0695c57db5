/**
 * The admin API's reads of the sync's records (OPS-2): invoice exports and payment links as support sees
 * them. The sync's own reads and writes of these tables live with their stores; these are read-only views
 * for client/admin-routes.ts.
 */
import type { Pool } from 'pg';

/** Invoice exports per connection and state (the counts of `GET /admin/connections`). */
export async function invoiceExportCounts(
  pool: Pool,
): Promise<Array<{ connection_id: string; state: string; n: string }>> {
  const counts = await pool.query<{ connection_id: string; state: string; n: string }>(
    'SELECT connection_id, state, count(*) AS n FROM invoice_exports GROUP BY connection_id, state',
  );
  return counts.rows;
}

/** The most recently changed invoice exports matching the filters. */
export async function listInvoiceExports(
  pool: Pool,
  filter: { connection?: string; state?: string; limit: number },
): Promise<Array<Record<string, unknown> & { connection_id: string; job_uuid: string }>> {
  const r = await pool.query<Record<string, unknown> & { connection_id: string; job_uuid: string }>(
    `SELECT connection_id, job_uuid, generated_job_id, state, reason_code, reason_text, qbo_invoice_id,
            sm8_total_cents, qbo_total_cents, exported_at, updated_at
       FROM invoice_exports
      WHERE ($1::text IS NULL OR connection_id = $1) AND ($2::text IS NULL OR state = $2)
      ORDER BY updated_at DESC LIMIT $3`,
    [filter.connection ?? null, filter.state ?? null, filter.limit],
  );
  return r.rows;
}

/** One job's invoice export row, every column, or null. */
export async function invoiceExportRow(
  pool: Pool,
  connection: string,
  jobUuid: string,
): Promise<Record<string, unknown> | null> {
  const r = await pool.query('SELECT * FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2', [
    connection,
    jobUuid,
  ]);
  return (r.rows[0] as Record<string, unknown> | undefined) ?? null;
}

/** The payments linked for one job, in the order they were linked. */
export async function jobPaymentLinks(
  pool: Pool,
  connection: string,
  jobUuid: string,
): Promise<Array<Record<string, unknown>>> {
  const r = await pool.query(
    `SELECT origin, sm8_payment_uuid, qbo_payment_id, qbo_invoice_id, amount_cents, state FROM payment_links
      WHERE connection_id = $1 AND job_uuid = $2 ORDER BY id`,
    [connection, jobUuid],
  );
  return r.rows as Array<Record<string, unknown>>;
}

/** The invoice export rows of these (connection, job) pairs, as `listInvoiceExports` gives them. */
export async function invoiceExportsOf(
  pool: Pool,
  jobs: Array<{ connection: string; jobUuid: string }>,
): Promise<Array<Record<string, unknown> & { connection_id: string; job_uuid: string }>> {
  if (!jobs.length) return [];
  const r = await pool.query<Record<string, unknown> & { connection_id: string; job_uuid: string }>(
    `SELECT connection_id, job_uuid, generated_job_id, state, reason_code, reason_text, qbo_invoice_id,
            sm8_total_cents, qbo_total_cents, exported_at, updated_at
       FROM invoice_exports
      WHERE (connection_id, job_uuid) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [jobs.map((j) => j.connection), jobs.map((j) => j.jobUuid)],
  );
  return r.rows;
}
