/**
 * A read of the webhook inbox (`webhook_inbox`) for routing: the stored payload of a QuickBooks Merge event.
 */
import type { Pool } from 'pg';

/**
 * CM-10: the payload of the newest QuickBooks `merged` event stored for one record (legacy `deletedId`; in
 * CloudEvents `data.deletedId`), or undefined when none is stored.
 */
export async function latestMergePayload(
  pool: Pool,
  connectionId: string,
  entity: string,
  entityId: string,
): Promise<{ deletedId?: unknown; data?: { deletedId?: unknown } } | undefined> {
  const r = await pool.query<{ payload: { deletedId?: unknown; data?: { deletedId?: unknown } } }>(
    `SELECT payload FROM webhook_inbox
      WHERE source = 'qbo' AND connection_id = $1 AND entity = $2 AND entity_id = $3 AND operation = 'merged'
      ORDER BY id DESC LIMIT 1`,
    [connectionId, entity, entityId],
  );
  return r.rows[0]?.payload;
}
