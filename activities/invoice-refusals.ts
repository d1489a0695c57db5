/**
 * INV-3 after QuickBooks refused an invoice with 610 (something it names is inactive or gone) while the
 * customer is fine: which linked product/service it is, in a bookkeeper's words (activities/invoice-pass.ts).
 * A gone item was merged away with its webhook lost (CM-10): its link moves to the survivor, found on the
 * invoices exported for the material's jobs; with none to show it the link goes, so the next look links the
 * material by name. Reads the invoice's items: only on this rare path.
 */
import { GENERIC_ITEM_KEY, genericItem } from '../domain/clients-materials/item';
import { reasons } from '../domain/invoice/reasons';
import { isNotFound } from '../apis/errors';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { moveLinkToSurvivor, survivorOfGoneItem } from './clients-materials/merges';
import { sm8NameOf } from './support/party-lookups';
import type { Refusal } from './invoice-settings';
import type { ActivityDeps } from './support/deps';

/** A gone item's survivor: the invoice is made again with `survivor` in place of `gone`. */
export interface ItemSurvivor {
  ok: true;
  gone: string;
  survivor: string;
}

/**
 * The refusal of the first linked item that is gone or inactive, or the survivor of a gone one; null when
 * every one reads active.
 */
export async function itemRefusal(
  deps: ActivityDeps,
  connectionId: string,
  itemIds: string[],
): Promise<Refusal | ItemSurvivor | null> {
  const qbo = new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  for (const id of [...new Set(itemIds)]) {
    const link = await deps.links.byQbo(connectionId, 'item', id);
    const material =
      link?.sm8Uuid && link.sm8Uuid !== GENERIC_ITEM_KEY
        ? ((await sm8NameOf(sm8, 'material', link.sm8Uuid)) ?? link.sm8Uuid)
        : genericItem('').Name;
    const readItem = (itemId: string) =>
      qbo.read<{ Id: string; Name: string; Active?: boolean }>('Item', itemId).catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      });
    const item = await readItem(id);
    if (!item) {
      const survivor =
        link?.sm8Uuid && link.sm8Uuid !== GENERIC_ITEM_KEY
          ? await survivorOfGoneItem(deps, connectionId, link.sm8Uuid, id)
          : null;
      const merged = survivor ? await readItem(survivor) : null;
      if (link && merged) {
        await moveLinkToSurvivor(deps, connectionId, link, merged.Id);
        if (merged.Active === false)
          return { ok: false, reason: reasons.itemInactive(merged.Name, material) };
        return { ok: true, gone: id, survivor: merged.Id };
      }
      if (link) await deps.links.remove(link.id);
      return { ok: false, reason: reasons.itemGone(material, id) };
    }
    if (item.Active === false) return { ok: false, reason: reasons.itemInactive(item.Name, material) };
  }
  return null;
}
