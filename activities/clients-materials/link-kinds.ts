/**
 * What differs between a customer link and an item link in the two-way sync of activities/clients-materials/sync.ts (CM-2 … CM-9):
 * which records are read, how both sides map onto one neutral shape, which QuickBooks fields carry which
 * neutral field, and how ServiceM8 is written (a company plus its billing contact; a material, with the
 * purchase cost only for purchased items, CM-8). The flow itself (gone records, imports, merge, writes,
 * conflicts) is shared and lives in activities/clients-materials/sync.ts.
 */
import {
  clientFromQbo,
  clientFromSm8,
  customerImportSkip,
  existingBillingContact,
  qboCustomerBody,
  sm8BillingContactBody,
  sm8CompanyBody,
  type ClientFields,
  type QboCustomerRecord,
} from '../../domain/clients-materials/customer-sync';
import { GENERIC_ITEM_KEY } from '../../domain/clients-materials/item';
import {
  isPurchased,
  itemImportSkip,
  materialFromQbo,
  materialFromSm8,
  qboItemBody,
  sm8MaterialBody,
  type MaterialFields,
  type QboItemRecord,
} from '../../domain/clients-materials/item-sync';
import type { Sm8Company, Sm8Material } from '../../domain/servicem8-types';
import { importCustomer, importItem, taxRateOfCode, type ImportResult } from './import';
import type { ActivityDeps } from '../support/deps';
import type { CmRecords } from './record-reads';

/** The QuickBooks record fields the shared flow reads. */
export interface QboLinkedRecord {
  Id: string;
  SyncToken: string;
  MetaData?: { CreateTime?: string; LastUpdatedTime?: string };
}

/** A ServiceM8 company or material as the CM-7 candidates need it. */
export type Sm8Record = { uuid: string; active: unknown };

/** Both sides of one link read and mapped, with what the shared flow needs to write each side. */
export interface ComparedLink<Q, F> {
  sides: { sm8: F; qbo: F };
  /** When ServiceM8's side was last edited (its account-local wall time), for CM-9. */
  sm8EditedAt: string | undefined;
  /** The QuickBooks fields carrying `keys` of `target`; `keys` may lose fields that cannot travel. */
  qboPatch(
    target: F,
    keys: Array<keyof F>,
  ): Promise<{ keys: Array<keyof F>; patch: Record<string, unknown> }>;
  /** QuickBooks' answer to an update, mapped. */
  fromQbo(updated: Q): Promise<F>;
  /** Writes `keys` of `target` to ServiceM8. */
  writeSm8(target: F, keys: Array<keyof F>): Promise<void>;
}

/** One kind of link (customer or item) as the shared sync flow of activities/clients-materials/sync.ts sees it. */
export interface LinkKind<Q extends QboLinkedRecord, S extends Sm8Record, F extends object> {
  entity: 'customer' | 'item';
  qboEntity: 'Customer' | 'Item';
  sm8Object: 'company' | 'material';
  /** A ServiceM8 key that names no ServiceM8 record: such a link has nothing to sync. */
  noSm8Record?: string;
  /** CM-6 and the like: why a QuickBooks-born record is not brought into ServiceM8, or null. */
  importSkip(record: Q): string | null;
  /** CM-2 with CM-7: brings a QuickBooks-born record into ServiceM8 under the given link. */
  importInto(record: Q, candidates: S[], linkId: string): Promise<Pick<ImportResult, 'sm8Uuid' | 'outcome'>>;
  /** Maps both sides of a linked record (`link.sm8Uuid` names `sm8Record`). */
  compare(record: Q, sm8Record: S, link: { id: string; sm8Uuid: string }): Promise<ComparedLink<Q, F>>;
}

const latest = (...values: Array<string | undefined>): string | undefined =>
  values
    .filter((v): v is string => Boolean(v))
    .sort()
    .pop();

const CLIENT_CONTACT_FIELDS: Array<keyof ClientFields> = ['first', 'last', 'email', 'phone'];

/**
 * The fields of a full ServiceM8 body that carry the changed neutral fields `keys` (issue 12). An update sends
 * only those: the copy of the record's other fields may be older than ServiceM8's (the record cache), and
 * must not overwrite a change we have not seen yet.
 */
function sparse<K extends string>(
  full: Record<string, string | number>,
  carriers: Partial<Record<K, string[]>>,
  keys: K[],
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k of keys)
    for (const f of carriers[k] ?? []) if (full[f] !== undefined) out[f] = full[f] as string | number;
  return out;
}

const ADDRESS = [
  'address_street',
  'address_city',
  'address_state',
  'address_postcode',
  'address_country',
  'billing_address', // composed of all the address parts: they travel together
];
const COMPANY_CARRIERS: Partial<Record<keyof ClientFields, string[]>> = {
  name: ['name'],
  street: ADDRESS,
  city: ADDRESS,
  state: ADDRESS,
  postcode: ADDRESS,
  country: ADDRESS,
  active: ['active'],
};
const CONTACT_CARRIERS: Partial<Record<keyof ClientFields, string[]>> = {
  first: ['first'],
  last: ['last'],
  email: ['email'],
  phone: ['phone'],
};
const MATERIAL_CARRIERS: Record<keyof MaterialFields, string[]> = {
  name: ['name'],
  sku: ['item_number'],
  price: ['price', 'price_includes_taxes'],
  description: ['item_description'],
  taxRateUuid: ['tax_rate_uuid'],
  cost: ['cost'],
  active: ['active'],
};

/** The QuickBooks Customer fields carrying the given client fields (address parts travel together). */
function qboCustomerPatch(target: ClientFields, keys: Array<keyof ClientFields>): Record<string, unknown> {
  const full = qboCustomerBody(target);
  const pick: Record<keyof ClientFields, string[]> = {
    name: ['DisplayName', 'CompanyName'],
    first: ['GivenName'],
    last: ['FamilyName'],
    email: ['PrimaryEmailAddr'],
    phone: ['PrimaryPhone'],
    street: ['BillAddr'],
    city: ['BillAddr'],
    state: ['BillAddr'],
    postcode: ['BillAddr'],
    country: ['BillAddr'],
    active: ['Active'],
  };
  const out: Record<string, unknown> = {};
  for (const k of keys) for (const f of pick[k]) out[f] = full[f];
  return out;
}

/** A customer link: QuickBooks Customer ⇄ ServiceM8 company and its billing contact. */
export function customerLink(
  deps: ActivityDeps,
  records: CmRecords,
  uuids: { companyUuid: string; contactUuid: string },
): LinkKind<QboCustomerRecord, Sm8Company, ClientFields> {
  const { connectionId, sm8Client: sm8 } = records;
  return {
    entity: 'customer',
    qboEntity: 'Customer',
    sm8Object: 'company',
    importSkip: customerImportSkip,
    importInto: (customer, candidates, linkId) =>
      importCustomer(deps, sm8, connectionId, customer, uuids, candidates, linkId),
    async compare(customer, company, link) {
      const companyUuid = link.sm8Uuid;
      const contacts = await records.contactsOf(companyUuid);
      await deps.links.rememberContacts(
        connectionId,
        link.id,
        contacts.map((c) => c.uuid),
      );
      const contact = existingBillingContact(contacts);
      return {
        sides: { sm8: clientFromSm8(company, contacts), qbo: clientFromQbo(customer) },
        sm8EditedAt: latest(company.edit_date, contact?.edit_date),
        qboPatch: async (target, keys) => ({ keys, patch: qboCustomerPatch(target, keys) }),
        fromQbo: async (updated) => clientFromQbo(updated),
        async writeSm8(target, keys) {
          if (keys.some((k) => !CLIENT_CONTACT_FIELDS.includes(k))) {
            const body = sparse(sm8CompanyBody(target), COMPANY_CARRIERS, keys);
            await records.writeSm8('update', 'company', companyUuid, body);
          }
          if (!keys.some((k) => CLIENT_CONTACT_FIELDS.includes(k))) return;
          const body = sm8BillingContactBody(target, companyUuid);
          if (contact) {
            const changed = sparse(body, CONTACT_CARRIERS, keys);
            await records.writeSm8('update', 'companycontact', contact.uuid, changed);
            return;
          }
          const created = await records.writeSm8('create', 'companycontact', uuids.contactUuid, body);
          await deps.links.rememberContacts(connectionId, link.id, [created]);
        },
      };
    },
  };
}

const ITEM_FIELD: Record<keyof MaterialFields, string> = {
  name: 'Name',
  sku: 'Sku',
  price: 'UnitPrice',
  description: 'Description',
  taxRateUuid: 'SalesTaxCodeRef',
  cost: 'PurchaseCost',
  active: 'Active',
};

/** An item link: QuickBooks Item ⇄ ServiceM8 material (purchase cost only for purchased items, CM-8). */
export function itemLink(
  deps: ActivityDeps,
  records: CmRecords,
  materialUuid: string,
): LinkKind<QboItemRecord, Sm8Material, MaterialFields> {
  const { connectionId, sm8Client: sm8 } = records;
  return {
    entity: 'item',
    qboEntity: 'Item',
    sm8Object: 'material',
    // The generic item of free-text invoice lines (INV-5) has no ServiceM8 material to sync.
    noSm8Record: GENERIC_ITEM_KEY,
    importSkip: itemImportSkip,
    importInto: (item, candidates, linkId) =>
      importItem(deps, sm8, connectionId, item, materialUuid, candidates, linkId),
    async compare(item, material, link) {
      const purchased = isPurchased(item);
      const qboTax = await taxRateOfCode(deps, connectionId, item.SalesTaxCodeRef?.value);
      return {
        sides: { sm8: materialFromSm8(material, purchased), qbo: materialFromQbo(item, qboTax) },
        sm8EditedAt: material.edit_date,
        async qboPatch(target, keys) {
          // A ServiceM8 tax rate with no QuickBooks tax code cannot travel; it stays as it is there.
          let taxCodeId: string | null = null;
          if (keys.includes('taxRateUuid')) {
            const t = target.taxRateUuid
              ? await deps.links.bySm8(connectionId, 'taxcode', target.taxRateUuid)
              : null;
            taxCodeId = t?.qboId ?? null;
            if (!taxCodeId) keys = keys.filter((k) => k !== 'taxRateUuid');
          }
          const full = qboItemBody(target, taxCodeId);
          const patch: Record<string, unknown> = {};
          for (const k of keys)
            if (full[ITEM_FIELD[k]] !== undefined) patch[ITEM_FIELD[k]] = full[ITEM_FIELD[k]];
          return { keys, patch };
        },
        fromQbo: async (updated) =>
          materialFromQbo(updated, await taxRateOfCode(deps, connectionId, updated.SalesTaxCodeRef?.value)),
        async writeSm8(target, keys) {
          const body = sparse(
            sm8MaterialBody(target, item.SalesTaxIncluded === true),
            MATERIAL_CARRIERS,
            keys,
          );
          await records.writeSm8('update', 'material', link.sm8Uuid, body);
        },
      };
    },
  };
}
