/**
 * Links of customers and items with what was last synced (CM-2, CM-9): the fingerprints of both sides'
 * mapped fields (echoes die on them) and the mapped values themselves (the common ancestor when both
 * sides changed, CM-9). Stored in `links` (fingerprints, SyncToken) and `links.synced_fields`.
 */
import type { Pool } from 'pg';
import { fingerprint } from '../../domain/fingerprint';
import type { Link, LinkEntity, LinkStore } from '../../store/links';

export interface SyncedFields<F> {
  sm8: F;
  qbo: F;
}

/**
 * Links (or re-links) one record and stores both sides' mapped fields as synced now. `intoLinkId`: a link
 * that so far holds only the QuickBooks id (a record born in QuickBooks after onboarding, owned by the
 * workflow of that link) is completed in place, so its owner keeps its id.
 */
export async function linkSynced<F>(
  pool: Pool,
  links: LinkStore,
  connectionId: string,
  entity: Extract<LinkEntity, 'customer' | 'item'>,
  sm8Uuid: string,
  qboId: string,
  synced: SyncedFields<F>,
  qboSyncToken: string,
  intoLinkId?: string,
): Promise<Link> {
  const extra = {
    sm8Fingerprint: fingerprint(synced.sm8),
    qboFingerprint: fingerprint(synced.qbo),
    qboSyncToken,
  };
  if (intoLinkId) {
    await pool.query(
      `UPDATE links SET sm8_uuid = $2, state = 'linked', updated_at = now()
        WHERE id = $1 AND qbo_id = $3 AND sm8_uuid IS NULL`,
      [intoLinkId, sm8Uuid, qboId],
    );
  }
  const link = await links.link(connectionId, entity, sm8Uuid, qboId, extra);
  await pool.query('UPDATE links SET synced_fields = $2 WHERE id = $1', [link.id, JSON.stringify(synced)]);
  return link;
}

/**
 * The link a QuickBooks-born record's events go to: its link, or a new one holding only the QuickBooks id
 * until its owner has brought the record into ServiceM8 (one owner from the first event on).
 */
export async function linkForQboRecord(
  pool: Pool,
  connectionId: string,
  entity: Extract<LinkEntity, 'customer' | 'item'>,
  qboId: string,
): Promise<{ id: string; sm8Uuid: string | null }> {
  await pool.query(
    `INSERT INTO links (connection_id, entity_type, qbo_id) VALUES ($1, $2, $3)
     ON CONFLICT (connection_id, entity_type, qbo_id) DO NOTHING`,
    [connectionId, entity, qboId],
  );
  const r = await pool.query<{ id: string; sm8_uuid: string | null }>(
    'SELECT id, sm8_uuid FROM links WHERE connection_id = $1 AND entity_type = $2 AND qbo_id = $3',
    [connectionId, entity, qboId],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`no ${entity} link for QuickBooks ${qboId}`);
  return { id: String(row.id), sm8Uuid: row.sm8_uuid };
}

export async function linkById(
  pool: Pool,
  linkId: string,
): Promise<(Link & { syncedFields: unknown }) | null> {
  const r = await pool.query<{
    id: string;
    connection_id: string;
    entity_type: LinkEntity;
    sm8_uuid: string | null;
    qbo_id: string | null;
    state: Link['state'];
    sm8_fingerprint: string | null;
    qbo_fingerprint: string | null;
    qbo_sync_token: string | null;
    synced_fields: unknown;
  }>('SELECT * FROM links WHERE id = $1', [linkId]);
  const x = r.rows[0];
  if (!x) return null;
  return {
    id: String(x.id),
    connectionId: x.connection_id,
    entityType: x.entity_type,
    sm8Uuid: x.sm8_uuid,
    qboId: x.qbo_id,
    state: x.state,
    sm8Fingerprint: x.sm8_fingerprint,
    qboFingerprint: x.qbo_fingerprint,
    qboSyncToken: x.qbo_sync_token,
    syncedFields: x.synced_fields,
  };
}

/** Stores both sides' mapped fields as synced now on an existing link. */
export async function saveSynced<F>(
  pool: Pool,
  links: LinkStore,
  linkId: string,
  synced: SyncedFields<F>,
  qboSyncToken: string | null,
): Promise<void> {
  await links.update(linkId, {
    sm8Fingerprint: fingerprint(synced.sm8),
    qboFingerprint: fingerprint(synced.qbo),
    ...(qboSyncToken ? { qboSyncToken } : {}),
  });
  await pool.query('UPDATE links SET synced_fields = $2 WHERE id = $1', [linkId, JSON.stringify(synced)]);
}

export async function readSynced<F>(pool: Pool, linkId: string): Promise<SyncedFields<F> | null> {
  const r = await pool.query<{ synced_fields: SyncedFields<F> | null }>(
    'SELECT synced_fields FROM links WHERE id = $1',
    [linkId],
  );
  return r.rows[0]?.synced_fields ?? null;
}

/** Remembers the ServiceM8 contacts of a linked company, so their events reach the link's owner. */
export async function rememberContacts(
  pool: Pool,
  connectionId: string,
  linkId: string,
  contactUuids: string[],
): Promise<void> {
  const unique = [...new Set(contactUuids)]; // one statement may not upsert a row twice
  if (!unique.length) return;
  await pool.query(
    `INSERT INTO cm_contacts (connection_id, contact_uuid, link_id)
     SELECT $1, unnest($2::text[]), $3
     ON CONFLICT (connection_id, contact_uuid) DO UPDATE SET link_id = EXCLUDED.link_id`,
    [connectionId, unique, linkId],
  );
}

/** The customer link whose company holds this ServiceM8 contact, if known. */
export async function linkOfContact(
  pool: Pool,
  connectionId: string,
  contactUuid: string,
): Promise<string | null> {
  const r = await pool.query<{ link_id: string }>(
    'SELECT link_id FROM cm_contacts WHERE connection_id = $1 AND contact_uuid = $2',
    [connectionId, contactUuid],
  );
  return r.rows[0] ? String(r.rows[0].link_id) : null;
}
