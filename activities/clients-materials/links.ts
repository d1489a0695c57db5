/**
 * Links of customers and items with what was last synced (CM-2, CM-9): the fingerprints of both sides'
 * mapped fields (echoes die on them) and the mapped values themselves (the common ancestor when both
 * sides changed, CM-9). Stored through LinkStore in `links` (fingerprints, SyncToken) and
 * `links.synced_fields`.
 */
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
  if (intoLinkId) await links.completeQboOnly(intoLinkId, sm8Uuid, qboId);
  const link = await links.link(connectionId, entity, sm8Uuid, qboId, extra);
  await links.saveSyncedFields(link.id, synced);
  return link;
}

/** Stores both sides' mapped fields as synced now on an existing link. */
export async function saveSynced<F>(
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
  await links.saveSyncedFields(linkId, synced);
}
