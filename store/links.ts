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

  // ---------------------------------------------------------------------------------------------------
  // Clients and materials (CM-2 … CM-10): the mapped fields last synced, QuickBooks-only links, contacts.

  /** The link with the mapped fields of both sides as last synced (`links.synced_fields`). */
  async byIdWithSynced(linkId: string): Promise<(Link & { syncedFields: unknown }) | null> {
    const r = await this.pool.query<Row & { synced_fields: unknown }>('SELECT * FROM links WHERE id = $1', [
      linkId,
    ]);
    const x = r.rows[0];
    if (!x) return null;
    return { ...toLink(x), syncedFields: x.synced_fields };
  }

  /** Stores both sides' mapped fields as synced now (a JSON value). */
  async saveSyncedFields(linkId: string, synced: unknown): Promise<void> {
    await this.pool.query('UPDATE links SET synced_fields = $2 WHERE id = $1', [
      linkId,
      JSON.stringify(synced),
    ]);
  }

  /** Completes a link that so far holds only the QuickBooks id with its ServiceM8 uuid (it keeps its id). */
  async completeQboOnly(linkId: string, sm8Uuid: string, qboId: string): Promise<void> {
    await this.pool.query(
      `UPDATE links SET sm8_uuid = $2, state = 'linked', updated_at = now()
        WHERE id = $1 AND qbo_id = $3 AND sm8_uuid IS NULL`,
      [linkId, sm8Uuid, qboId],
    );
  }

  /**
   * The link a QuickBooks-born record's events go to: its link, or a new one holding only the QuickBooks id
   * until its owner has brought the record into ServiceM8 (one owner from the first event on).
   */
  async forQboRecord(
    connectionId: string,
    entity: Extract<LinkEntity, 'customer' | 'item'>,
    qboId: string,
  ): Promise<{ id: string; sm8Uuid: string | null }> {
    await this.pool.query(
      `INSERT INTO links (connection_id, entity_type, qbo_id) VALUES ($1, $2, $3)
     ON CONFLICT (connection_id, entity_type, qbo_id) DO NOTHING`,
      [connectionId, entity, qboId],
    );
    const r = await this.pool.query<{ id: string; sm8_uuid: string | null }>(
      'SELECT id, sm8_uuid FROM links WHERE connection_id = $1 AND entity_type = $2 AND qbo_id = $3',
      [connectionId, entity, qboId],
    );
    const row = r.rows[0];
    if (!row) throw new Error(`no ${entity} link for QuickBooks ${qboId}`);
    return { id: String(row.id), sm8Uuid: row.sm8_uuid };
  }

  /** Forgets a link (its QuickBooks record is gone and it never had a ServiceM8 side). */
  async remove(linkId: string): Promise<void> {
    await this.pool.query('DELETE FROM links WHERE id = $1', [linkId]);
  }

  /** Links that hold only a QuickBooks id (records born in QuickBooks, not brought in yet). */
  async qboOnly(connectionId: string): Promise<Array<{ id: string; entityType: LinkEntity }>> {
    const r = await this.pool.query<{ id: string; entity_type: LinkEntity }>(
      `SELECT id, entity_type FROM links
        WHERE connection_id = $1 AND sm8_uuid IS NULL AND state = 'linked' AND entity_type IN ('customer', 'item')`,
      [connectionId],
    );
    return r.rows.map((x) => ({ id: String(x.id), entityType: x.entity_type }));
  }

  /** Forgets a link only while it holds no ServiceM8 uuid (no half link left behind). */
  async removeIfQboOnly(linkId: string): Promise<void> {
    await this.pool.query('DELETE FROM links WHERE id = $1 AND sm8_uuid IS NULL', [linkId]);
  }

  /**
   * CM-10: the link moves to the surviving QuickBooks record. The survivor's fields win: the old QuickBooks
   * side is forgotten so the next sync takes QuickBooks' values; the ServiceM8 fingerprint is kept.
   */
  async moveToSurvivor(linkId: string, survivorId: string, sm8Fingerprint: string | null): Promise<void> {
    await this.pool.query(
      `UPDATE links SET qbo_id = $2, qbo_fingerprint = NULL, qbo_sync_token = NULL,
                synced_fields = NULL, state = 'linked', updated_at = now()
          WHERE id = $1`,
      [linkId, survivorId],
    );
    await this.pool.query('UPDATE links SET sm8_fingerprint = $2 WHERE id = $1', [linkId, sm8Fingerprint]);
  }

  /** Remembers the ServiceM8 contacts of a linked company, so their events reach the link's owner. */
  async rememberContacts(connectionId: string, linkId: string, contactUuids: string[]): Promise<void> {
    const unique = [...new Set(contactUuids)]; // one statement may not upsert a row twice
    if (!unique.length) return;
    await this.pool.query(
      `INSERT INTO cm_contacts (connection_id, contact_uuid, link_id)
     SELECT $1, unnest($2::text[]), $3
     ON CONFLICT (connection_id, contact_uuid) DO UPDATE SET link_id = EXCLUDED.link_id`,
      [connectionId, unique, linkId],
    );
  }

  /** The customer link whose company holds this ServiceM8 contact, if known. */
  async ofContact(connectionId: string, contactUuid: string): Promise<string | null> {
    const r = await this.pool.query<{ link_id: string }>(
      'SELECT link_id FROM cm_contacts WHERE connection_id = $1 AND contact_uuid = $2',
      [connectionId, contactUuid],
    );
    return r.rows[0] ? String(r.rows[0].link_id) : null;
  }

  // ---------------------------------------------------------------------------------------------------
  // Tax codes (TAX-1 … TAX-3)

  /**
   * Links a tax rate to a tax code unless either side is already linked to something else (then null);
   * the id of the link either way when this very pair is linked already.
   */
  async linkTaxCode(
    connectionId: string,
    sm8Uuid: string,
    qboId: string,
    fps: { sm8: string | null; qbo: string | null },
    state: 'linked' | 'inactive',
  ): Promise<string | null> {
    const r = await this.pool.query<{ id: string }>(
      `INSERT INTO links (connection_id, entity_type, sm8_uuid, qbo_id, state, sm8_fingerprint, qbo_fingerprint)
       VALUES ($1, 'taxcode', $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING RETURNING id`,
      [connectionId, sm8Uuid, qboId, state, fps.sm8, fps.qbo],
    );
    if (r.rows[0]) return String(r.rows[0].id);
    const existing = await this.bySm8(connectionId, 'taxcode', sm8Uuid);
    return existing?.qboId === qboId ? existing.id : null;
  }
}
