/**
 * Links of customers and items with what was last synced (CM-2, CM-9): the fingerprints of both sides'
 * mapped fields (echoes die on them) and the mapped values themselves (the common ancestor when both
 * sides changed, CM-9). Stored in `links` (fingerprints, SyncToken) and `links.synced_fields`.
 */
import type { Pool } from 'pg';
import { fingerprint } from '../domain/fingerprint';
import type { Link, LinkEntity, LinkStore } from './link-store';

export interface SyncedFields<F> {
  sm8: F;
  qbo: F;
}

/** Links (or re-links) one record and stores both sides' mapped fields as synced now. */
export async function linkSynced<F>(
  pool: Pool,
  links: LinkStore,
  connectionId: string,
  entity: Extract<LinkEntity, 'customer' | 'item'>,
  sm8Uuid: string,
  qboId: string,
  synced: SyncedFields<F>,
  qboSyncToken: string,
): Promise<Link> {
  const link = await links.link(connectionId, entity, sm8Uuid, qboId, {
    sm8Fingerprint: fingerprint(synced.sm8),
    qboFingerprint: fingerprint(synced.qbo),
    qboSyncToken,
  });
  await pool.query('UPDATE links SET synced_fields = $2 WHERE id = $1', [link.id, JSON.stringify(synced)]);
  return link;
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
