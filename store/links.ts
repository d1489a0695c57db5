/**
 * Links: the stored pair of ids (ServiceM8 uuid ⇄ QuickBooks Id) of one record, with the fingerprints
 * of both sides as last synced. "Sent to QBO" = the record has a link.
 */
import type { Pool, PoolClient } from 'pg';

export type LinkEntity = 'customer' | 'item' | 'taxcode' | 'invoice' | 'payment' | 'paymentmethod';
export type LinkState = 'linked' | 'inactive' | 'voided' | 'deleted' | 'merged';

export interface Link {
  id: string;
  connectionId: string;
  entityType: LinkEntity;
  sm8Uuid: string | null;
  qboId: string | null;
  state: LinkState;
  sm8Fingerprint: string | null;
  qboFingerprint: string | null;
  qboSyncToken: string | null;
}

interface Row {
  id: string;
  connection_id: string;
  entity_type: LinkEntity;
  sm8_uuid: string | null;
  qbo_id: string | null;
  state: LinkState;
  sm8_fingerprint: string | null;
  qbo_fingerprint: string | null;
  qbo_sync_token: string | null;
}

const toLink = (r: Row): Link => ({
  id: String(r.id),
  connectionId: r.connection_id,
  entityType: r.entity_type,
  sm8Uuid: r.sm8_uuid,
  qboId: r.qbo_id,
  state: r.state,
  sm8Fingerprint: r.sm8_fingerprint,
  qboFingerprint: r.qbo_fingerprint,
  qboSyncToken: r.qbo_sync_token,
});

type Db = Pool | PoolClient;

export class LinkStore {
  constructor(private readonly pool: Pool) {}

  async bySm8(
    connectionId: string,
    entity: LinkEntity,
    sm8Uuid: string,
    db: Db = this.pool,
  ): Promise<Link | null> {
    const r = await db.query<Row>(
      'SELECT * FROM links WHERE connection_id = $1 AND entity_type = $2 AND sm8_uuid = $3',
      [connectionId, entity, sm8Uuid],
    );
    return r.rows[0] ? toLink(r.rows[0]) : null;
  }

  async byQbo(
    connectionId: string,
    entity: LinkEntity,
    qboId: string,
    db: Db = this.pool,
  ): Promise<Link | null> {
    const r = await db.query<Row>(
      'SELECT * FROM links WHERE connection_id = $1 AND entity_type = $2 AND qbo_id = $3',
      [connectionId, entity, qboId],
    );
    return r.rows[0] ? toLink(r.rows[0]) : null;
  }

  async all(connectionId: string, entity: LinkEntity): Promise<Link[]> {
    const r = await this.pool.query<Row>(
      'SELECT * FROM links WHERE connection_id = $1 AND entity_type = $2 ORDER BY id',
      [connectionId, entity],
    );
    return r.rows.map(toLink);
  }

  /**
   * Records that sm8Uuid and qboId are the same record. Idempotent: linking the same pair again only
   * refreshes fingerprints. Linking either id to a different partner fails (one link per record and side).
   */
  async link(
    connectionId: string,
    entity: LinkEntity,
    sm8Uuid: string,
    qboId: string,
    extra: {
      sm8Fingerprint?: string | null;
      qboFingerprint?: string | null;
      qboSyncToken?: string | null;
    } = {},
    db: Db = this.pool,
  ): Promise<Link> {
    // A link holding only the QuickBooks Id (a QuickBooks-born record whose owner has not brought it into
    // ServiceM8 yet, CM-2) is completed rather than duplicated.
    await db.query(
      `UPDATE links SET sm8_uuid = $3, updated_at = now()
        WHERE connection_id = $1 AND entity_type = $2 AND qbo_id = $4 AND sm8_uuid IS NULL`,
      [connectionId, entity, sm8Uuid, qboId],
    );
    const r = await db.query<Row>(
      `INSERT INTO links (connection_id, entity_type, sm8_uuid, qbo_id, sm8_fingerprint, qbo_fingerprint, qbo_sync_token)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (connection_id, entity_type, sm8_uuid) DO UPDATE
         SET sm8_fingerprint = COALESCE(EXCLUDED.sm8_fingerprint, links.sm8_fingerprint),
             qbo_fingerprint = COALESCE(EXCLUDED.qbo_fingerprint, links.qbo_fingerprint),
             qbo_sync_token = COALESCE(EXCLUDED.qbo_sync_token, links.qbo_sync_token),
             updated_at = now()
         WHERE links.qbo_id = EXCLUDED.qbo_id
       RETURNING *`,
      [
        connectionId,
        entity,
        sm8Uuid,
        qboId,
        extra.sm8Fingerprint ?? null,
        extra.qboFingerprint ?? null,
        extra.qboSyncToken ?? null,
      ],
    );
    if (!r.rows[0]) {
      const existing = await this.bySm8(connectionId, entity, sm8Uuid, db);
      throw new Error(
        `${entity} ${sm8Uuid} is already linked to QuickBooks ${existing?.qboId ?? '?'}, not ${qboId}`,
      );
    }
    return toLink(r.rows[0]);
  }

  async update(
    linkId: string,
    fields: Partial<Pick<Link, 'state' | 'sm8Fingerprint' | 'qboFingerprint' | 'qboSyncToken' | 'qboId'>>,
    db: Db = this.pool,
  ): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [linkId];
    const add = (column: string, value: unknown) => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    if (fields.state !== undefined) add('state', fields.state);
    if (fields.sm8Fingerprint !== undefined) add('sm8_fingerprint', fields.sm8Fingerprint);
    if (fields.qboFingerprint !== undefined) add('qbo_fingerprint', fields.qboFingerprint);
    if (fields.qboSyncToken !== undefined) add('qbo_sync_token', fields.qboSyncToken);
    if (fields.qboId !== undefined) add('qbo_id', fields.qboId);
    if (sets.length === 0) return;
    await db.query(`UPDATE links SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, values);
  }
}
