/**
 * The audit log: what the product did and why, for bookkeepers and support (table `audit_log`). One writer,
 * so every row has the same shape whichever rule wrote it; pass a transaction's client to write the row
 * together with the change it explains.
 */
import type { Pool, PoolClient } from 'pg';

export interface AuditEntry {
  connectionId: string | null;
  /** Who acted: 'sync' (the default) for the product itself, 'admin' for an operator. */
  actor?: string;
  entityType: string | null;
  entityRef: string | null;
  action: string;
  detail?: Record<string, unknown>;
}

export async function writeAudit(db: Pool | PoolClient, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (connection_id, actor, entity_type, entity_ref, action, detail)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      entry.connectionId,
      entry.actor ?? 'sync',
      entry.entityType,
      entry.entityRef,
      entry.action,
      JSON.stringify(entry.detail ?? {}),
    ],
  );
}

/**
 * The health check's row: written by the health-check workflow to prove the database round trip.
 * Returns the row's id (undefined if nothing was written).
 */
export async function writeHealthCheckAudit(
  db: Pool | PoolClient,
  requestedBy: string,
  workflowId: string,
): Promise<string | undefined> {
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO audit_log (actor, action, entity_type, entity_ref, detail)
         VALUES ($1, 'health_check', 'workflow', $2, '{}'::jsonb)
         ON CONFLICT DO NOTHING
         RETURNING id`,
    [requestedBy, workflowId],
  );
  return inserted.rows[0]?.id;
}
