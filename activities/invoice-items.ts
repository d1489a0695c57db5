/**
 * The items of an invoice's lines (INV-5, CM-7), a step of activities/invoice-parties.ts: each line's
 * material linked, matched by name in QuickBooks, or created there with a requestid; free-text lines share
 * the product's own item (created once per connection). A name QuickBooks refuses or holds elsewhere comes
 * back as an INV-3 reason, not as a failure.
 */
import { GENERIC_ITEM_KEY, genericItem, itemFromMaterial } from '../domain/clients-materials/item';
import {
  isPurchased,
  materialFromQbo,
  materialFromSm8,
  type QboItemRecord,
} from '../domain/clients-materials/item-sync';
import { reasons } from '../domain/invoice/reasons';
import { qboQuote, qboSafeName, sameName } from '../domain/names';
import type { Sm8Material } from '../domain/servicem8-types';
import { isNotFound, validationDetails } from '../apis/errors';
import { QuickBooksClient } from '../apis/quickbooks/client';
import { ServiceM8Client } from '../apis/servicem8/client';
import { taxRateOfCode } from './clients-materials/import';
import { linkSynced } from './clients-materials/links';
import { CmRecords } from './clients-materials/record-reads';
import { connectionFacts } from './support/connection-facts';
import type { ActivityDeps } from './support/deps';
import { inNameTurn } from './support/name-turn';
import { createOwn, lostOwnCreate, subRequestId } from './support/own-creates';
import { sm8NameOf } from './support/party-lookups';
import { invoiceSettings, type Refusal } from './invoice-settings';

interface QboItem {
  Id: string;
  Name: string;
  Active?: boolean;
  SyncToken: string;
}

export function createInvoiceItemSteps(deps: ActivityDeps) {
  const qboFor = (connectionId: string) => new QuickBooksClient(deps.qboClientDeps(), connectionId);
  const sm8For = (connectionId: string) => new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
  /** Exports racing for one name take turns (activities/support/name-turn.ts). */
  const inTurn = <T>(connectionId: string, kind: 'item', name: string, fn: () => Promise<T>) =>
    inNameTurn(deps.pool, connectionId, kind, name, fn);
  return {
    /** INV-5: a QuickBooks item for every line (its material's, linked/matched/created; or the generic one). */
    async ensureItems(input: {
      connectionId: string;
      lines: Array<{ jobMaterialUuid: string; materialUuid: string }>;
      requestId: string;
    }): Promise<{ ok: true; itemIds: Record<string, string> } | Refusal> {
      const sm8 = sm8For(input.connectionId);
      const qbo = qboFor(input.connectionId);
      const byKey = new Map<string, string>();
      // Issue 12: the income account is a connection fact, read once per connection, not per export.
      const incomeAccount = async () =>
        (await invoiceSettings(deps.store, input.connectionId)).incomeAccountId ??
        (await connectionFacts(deps, input.connectionId, ['incomeAccountId'])).incomeAccountId ??
        null;

      for (const line of input.lines) {
        const key = line.materialUuid || GENERIC_ITEM_KEY;
        if (byKey.has(key)) continue;
        const link = await deps.links.bySm8(input.connectionId, 'item', key);
        if (link?.qboId) {
          byKey.set(key, link.qboId);
          continue;
        }
        let material: Sm8Material | undefined;
        if (key !== GENERIC_ITEM_KEY) {
          try {
            material = await new CmRecords(deps, input.connectionId, sm8).sm8Record<Sm8Material>(
              'material',
              key,
            );
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        const name = material ? qboSafeName(material.name) : genericItem('').Name;
        const outcome = await inTurn(
          input.connectionId,
          'item',
          name,
          async (): Promise<Refusal | string> => {
            const again = await deps.links.bySm8(input.connectionId, 'item', key);
            if (again?.qboId) return again.qboId; // made by an export that held the turn before us
            const existing = (
              await qbo.query<'Item', QboItem>(
                'Item',
                `SELECT * FROM Item WHERE Name = ${qboQuote(name)} AND Active IN (true, false)`,
              )
            ).filter((i) => sameName(i.Name, name));
            let item = existing.find((i) => i.Active !== false);
            const matched = Boolean(item);
            if (item) {
              const other = await deps.links.byQbo(input.connectionId, 'item', item.Id);
              if (other?.sm8Uuid && other.sm8Uuid !== key)
                return {
                  ok: false,
                  reason: reasons.nameShared('material', name, item.Name, {
                    mine: material?.name,
                    other: await sm8NameOf(sm8, 'material', other.sm8Uuid),
                  }),
                };
            }
            const inactive = item ? [] : existing.map((i) => i.Name);
            const own = { connectionId: input.connectionId, entity: 'item' as const, sm8Key: key };
            const requestId = subRequestId(input.requestId, key);
            const lost = inactive.length
              ? await lostOwnCreate<QboItem>(deps, { ...own, fields: { Name: name }, requestId }, inactive)
              : null;
            if (lost)
              item = lost; // ours, made inactive since: linked below, then held
            else if (!item && inactive.length)
              return {
                ok: false,
                reason: reasons.itemNameTaken(
                  name,
                  'an inactive product/service has this name: make it active in QuickBooks',
                ),
              };
            if (!item) {
              const account = await incomeAccount();
              if (!account) return { ok: false, reason: reasons.noIncomeAccount() };
              const taxLink = material?.tax_rate_uuid
                ? await deps.links.bySm8(input.connectionId, 'taxcode', material.tax_rate_uuid)
                : null;
              const fields = material
                ? itemFromMaterial(material, {
                    incomeAccountId: account,
                    salesTaxCodeId: taxLink?.qboId ?? undefined,
                  })
                : genericItem(account);
              try {
                item = await createOwn<QboItem>(deps, { ...own, fields, requestId });
              } catch (err) {
                const d = validationDetails(err);
                if (d?.code === '6240')
                  return { ok: false, reason: reasons.itemNameTaken(name, d.detail ?? d.message) };
                throw err;
              }
            }
            if (material) {
              // CM-7 as for customers: a name match's baseline is ServiceM8's side, so QuickBooks wins it.
              const record = item as unknown as QboItemRecord;
              const sm8Side = materialFromSm8(material, isPurchased(record));
              const qboSide = matched
                ? sm8Side
                : materialFromQbo(
                    record,
                    await taxRateOfCode(deps, input.connectionId, record.SalesTaxCodeRef?.value),
                  );
              await linkSynced(
                deps.links,
                input.connectionId,
                'item',
                key,
                item.Id,
                { sm8: sm8Side, qbo: qboSide },
                item.SyncToken,
              );
            } else
              await deps.links.link(input.connectionId, 'item', key, item.Id, {
                qboSyncToken: item.SyncToken,
              });
            if (lost)
              return { ok: false, reason: reasons.itemInactive(item.Name, material?.name ?? item.Name) };
            return item.Id;
          },
        );
        if (typeof outcome !== 'string') return outcome;
        byKey.set(key, outcome);
      }
      const itemIds: Record<string, string> = {};
      for (const line of input.lines)
        itemIds[line.jobMaterialUuid] = byKey.get(line.materialUuid || GENERIC_ITEM_KEY) ?? '';
      return { ok: true, itemIds };
    },
  };
}
