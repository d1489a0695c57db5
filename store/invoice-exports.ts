/**
 * Invoice exports (INV-1 … INV-10, table `invoice_exports`): one row per ServiceM8 job the sync knows, with
 * its state, reason, QuickBooks invoice and the totals last synced.
 */
import type { Pool, PoolClient } from 'pg';

type Db = Pool | PoolClient;

export interface InvoiceExportInput {
  connectionId: string;
  jobUuid: string;
  generatedJobId: string | null;
  state: string;
  reason: { code: string; text: string } | null;
  qboInvoiceId: string | null;
  sm8TotalCents: number | null;
  qboTotalCents: number | null;
  lastSyncedTotalCents: number | null;
  /** The owner's passes so far (issue 12: kept across runs, an owner ends when idle); omitted: kept. */
  syncs?: number;
}

export interface StoredInvoiceState {
  state: string;
  qboInvoiceId: string | null;
  lastSyncedTotalCents: number | null;
  reasonCode: string | null;
  syncs: number;
}

export async function saveInvoiceExport(db: Db, input: InvoiceExportInput): Promise<void> {
  await db.query(
    `INSERT INTO invoice_exports (connection_id, job_uuid, generated_job_id, state, reason_code, reason_text,
                                      qbo_invoice_id, sm8_total_cents, qbo_total_cents, last_synced_total_cents,
                                      exported_at, updated_at, syncs)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $7::text IS NOT NULL THEN now() END, now(),
                 COALESCE($11::integer, 0))
         ON CONFLICT (connection_id, job_uuid) DO UPDATE SET
           generated_job_id = COALESCE(EXCLUDED.generated_job_id, invoice_exports.generated_job_id),
           state = EXCLUDED.state, reason_code = EXCLUDED.reason_code, reason_text = EXCLUDED.reason_text,
           qbo_invoice_id = COALESCE(EXCLUDED.qbo_invoice_id, invoice_exports.qbo_invoice_id),
           sm8_total_cents = EXCLUDED.sm8_total_cents, qbo_total_cents = EXCLUDED.qbo_total_cents,
           last_synced_total_cents = COALESCE(EXCLUDED.last_synced_total_cents, invoice_exports.last_synced_total_cents),
           exported_at = COALESCE(invoice_exports.exported_at, EXCLUDED.exported_at),
           syncs = COALESCE($11::integer, invoice_exports.syncs),
           updated_at = now()`,
    [
      input.connectionId,
      input.jobUuid,
      input.generatedJobId,
      input.state,
      input.reason?.code ?? null,
      input.reason?.text ?? null,
      input.qboInvoiceId,
      input.sm8TotalCents,
      input.qboTotalCents,
      input.lastSyncedTotalCents,
      input.syncs ?? null,
    ],
  );
}

export async function loadInvoiceExport(
  db: Db,
  connectionId: string,
  jobUuid: string,
): Promise<StoredInvoiceState | null> {
  const r = await db.query<{
    state: string;
    qbo_invoice_id: string | null;
    last_synced_total_cents: string | null;
    reason_code: string | null;
    syncs: number;
  }>(
    'SELECT state, qbo_invoice_id, last_synced_total_cents, reason_code, syncs FROM invoice_exports WHERE connection_id = $1 AND job_uuid = $2',
    [connectionId, jobUuid],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    state: row.state,
    qboInvoiceId: row.qbo_invoice_id,
    lastSyncedTotalCents: row.last_synced_total_cents === null ? null : Number(row.last_synced_total_cents),
    reasonCode: row.reason_code,
    syncs: row.syncs,
  };
}

/** Of these jobs, those the sync already knows (they have a row). */
export async function knownJobs(db: Db, connectionId: string, jobUuids: string[]): Promise<Set<string>> {
  const r = await db.query<{ job_uuid: string }>(
    'SELECT job_uuid FROM invoice_exports WHERE connection_id = $1 AND job_uuid = ANY($2::text[])',
    [connectionId, jobUuids],
  );
  return new Set(r.rows.map((row) => row.job_uuid));
}

export interface ExportedInvoice {
  job_uuid: string;
  qbo_invoice_id: string;
  generated_job_id: string | null;
}

/** Every exported invoice of a connection (state EXPORTED with a QuickBooks invoice), by job uuid. */
export async function exportedInvoices(db: Db, connectionId: string): Promise<ExportedInvoice[]> {
  const r = await db.query<ExportedInvoice>(
    `SELECT job_uuid, qbo_invoice_id, generated_job_id FROM invoice_exports
            WHERE connection_id = $1 AND state = 'EXPORTED' AND qbo_invoice_id IS NOT NULL
            ORDER BY job_uuid`,
    [connectionId],
  );
  return r.rows;
}

/** Of these jobs, those with an invoice in QuickBooks (any state that has one), as job uuid → invoice Id. */
export async function invoicesOfJobs(
  db: Db,
  connectionId: string,
  jobUuids: string[],
): Promise<Map<string, string>> {
  const r = await db.query<{ job_uuid: string; qbo_invoice_id: string }>(
    `SELECT job_uuid, qbo_invoice_id FROM invoice_exports
      WHERE connection_id = $1 AND job_uuid = ANY($2::text[]) AND qbo_invoice_id IS NOT NULL`,
    [connectionId, jobUuids],
  );
  return new Map(r.rows.map((row) => [row.job_uuid, row.qbo_invoice_id]));
}

/** The jobs held (BLOCKED or RESYNC_BLOCKED) for one of these reason codes. */
export async function jobsHeldFor(
  db: Db,
  connectionId: string,
  reasonCodes: readonly string[],
): Promise<string[]> {
  const r = await db.query<{ job_uuid: string }>(
    `SELECT job_uuid FROM invoice_exports
      WHERE connection_id = $1 AND state IN ('BLOCKED', 'RESYNC_BLOCKED') AND reason_code = ANY($2::text[])
      ORDER BY job_uuid`,
    [connectionId, [...reasonCodes]],
  );
  return r.rows.map((row) => row.job_uuid);
}
