/**
 * INV-3 after QuickBooks refused an invoice with 610 (something it names is inactive or gone) while the
 * customer is fine: which linked product/service it is, in a bookkeeper's words (activities/invoice-pass.ts).
 * A gone item (merged away with its webhook lost, CM-10; or deleted) loses its link, so the next look links
 * its material by name. Reads the invoice's items: only on this rare path.
 */
import { GENERIC_ITEM_KEY, genericItem } from '../domain/clients-materials/item';
import { reasons } from '../domain/invoice/reasons';
import { isNotFound } from '../apis/errors';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { sm8NameOf } from './support/party-lookups';
import type { Refusal } from './invoice-parties';
import type { ActivityDeps } from './support/deps';

/** The refusal of the first linked item that is gone or inactive; null when every one reads active. */
export async function itemRefusal(
  deps: ActivityDeps,
  connectionId: string,
  itemIds: string[],
): Promise<Refusal | null> {
  const qbo = new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  for (const id of [...new Set(itemIds)]) {
    const link = await deps.links.byQbo(connectionId, 'item', id);
    const material =
      link?.sm8Uuid && link.sm8Uuid !== GENERIC_ITEM_KEY
        ? ((await sm8NameOf(sm8, 'material', link.sm8Uuid)) ?? link.sm8Uuid)
        : genericItem('').Name;
    let item: { Name: string; Active?: boolean } | null;
    try {
      item = await qbo.read<{ Id: string; Name: string; Active?: boolean }>('Item', id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      item = null;
    }
    if (!item) {
      if (link) await deps.links.remove(link.id);
      return { ok: false, reason: reasons.itemGone(material, id) };
    }
    if (item.Active === false) return { ok: false, reason: reasons.itemInactive(item.Name, material) };
  }
  return null;
}
