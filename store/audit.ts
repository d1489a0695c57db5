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
 * Writes the entry unless an entry with the same `onceKey` was already written for this record and action:
 * for a decision logged before the writes it explains, so a retried attempt neither loses nor repeats it.
 * The key is kept in `detail.once`.
 */
export async function writeAuditOnce(
  db: Pool | PoolClient,
  entry: AuditEntry,
  onceKey: string,
): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (connection_id, actor, entity_type, entity_ref, action, detail)
     SELECT $1, $2, $3, $4, $5, $6
      WHERE NOT EXISTS (
        SELECT 1 FROM audit_log
         WHERE connection_id IS NOT DISTINCT FROM $1 AND entity_type IS NOT DISTINCT FROM $3
           AND entity_ref IS NOT DISTINCT FROM $4 AND action = $5 AND detail->>'once' = $7)`,
    [
      entry.connectionId,
      entry.actor ?? 'sync',
      entry.entityType,
      entry.entityRef,
      entry.action,
      JSON.stringify({ ...(entry.detail ?? {}), once: onceKey }),
      onceKey,
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
