/**
 * Bringing one QuickBooks customer or item into ServiceM8 (CM-1 import, and CM-2 for records created in
 * QuickBooks later). CM-7: an unlinked ServiceM8 record with the same name (trimmed, case-insensitive) is
 * linked and overwritten with QuickBooks' fields instead of duplicated. Creates use uuids generated in the
 * workflow, so a retried create can only hit the same record; a retry after a create whose link was not
 * stored finds that record by its uuid (or name) and links it.
 */
import {
  clientFromQbo,
  existingBillingContact,
  sm8BillingContactBody,
  sm8CompanyBody,
  type ClientFields,
  type QboCustomerRecord,
} from '../../domain/clients-materials/customer-sync';
import {
  materialFromQbo,
  sm8MaterialBody,
  type MaterialFields,
  type QboItemRecord,
} from '../../domain/clients-materials/item-sync';
import { validationMessage } from '../../apis/errors';
import { sameName } from '../../domain/names';
import {
  flag,
  type Sm8Company,
  type Sm8CompanyContact,
  type Sm8Material,
} from '../../domain/servicem8-types';
import { linkSynced, type SyncedFields } from './links';
import type { ActivityDeps } from '../support/deps';
import type { Link } from '../../store/links';
import type { ServiceM8Client } from '../../apis/servicem8/client';

function isValidation(err: unknown, mentioning: string): boolean {
  return validationMessage(err)?.includes(mentioning) ?? false;
}

export interface ImportResult {
  outcome: 'created' | 'linked';
  sm8Uuid: string;
  linkId: string;
}

/** Active ServiceM8 records of one kind that no link claims yet: the CM-7 candidates. */
export async function unlinkedCandidates<T extends { uuid: string; active: unknown }>(
  deps: ActivityDeps,
  sm8: ServiceM8Client,
  connectionId: string,
  object: 'company' | 'material',
): Promise<T[]> {
  const [records, linked] = await Promise.all([
    sm8.list<T>(object, [{ field: 'active', op: 'eq', value: 1 }]),
    deps.links.all(connectionId, object === 'company' ? 'customer' : 'item'),
  ]);
  const taken = new Set(linked.map((l) => l.sm8Uuid));
  return records.filter((r) => !taken.has(r.uuid));
}

/**
 * Links an imported record as synced, and takes it out of the candidates so a later record of the same page
 * cannot claim it again.
 */
async function claimAndLink<F>(
  deps: ActivityDeps,
  connectionId: string,
  candidates: Array<{ uuid: string }>,
  intoLinkId: string | undefined,
  imported: {
    entity: 'customer' | 'item';
    sm8Uuid: string;
    record: { Id: string; SyncToken: string };
    synced: SyncedFields<F>;
  },
): Promise<Link> {
  const at = candidates.findIndex((c) => c.uuid === imported.sm8Uuid);
  if (at >= 0) candidates.splice(at, 1);
  const { entity, sm8Uuid, record, synced } = imported;
  return linkSynced<F>(
    deps.links,
    connectionId,
    entity,
    sm8Uuid,
    record.Id,
    synced,
    record.SyncToken,
    intoLinkId,
  );
}

/** Whether a contact body carries anything (an empty billing contact is not created). */
function hasContact(f: ClientFields): boolean {
  return Boolean(f.first || f.last || f.email || f.phone);
}

export async function importCustomer(
  deps: ActivityDeps,
  sm8: ServiceM8Client,
  connectionId: string,
  customer: QboCustomerRecord,
  uuids: { companyUuid: string; contactUuid: string },
  candidates: Sm8Company[],
  intoLinkId?: string,
): Promise<ImportResult> {
  const fields = clientFromQbo(customer);
  // Our own earlier attempt first (same uuid), then CM-7: the same name.
  const mine = candidates.find((c) => c.uuid === uuids.companyUuid);
  const match = mine ?? candidates.find((c) => flag(c.active) && sameName(c.name, fields.name));
  const companyUuid = match?.uuid ?? uuids.companyUuid;
  if (match) await sm8.update('company', companyUuid, sm8CompanyBody(fields));
  else await sm8.create('company', companyUuid, sm8CompanyBody(fields));
  const contacts = match
    ? await sm8.list<Sm8CompanyContact>('companycontact', [
        { field: 'company_uuid', op: 'eq', value: companyUuid },
      ])
    : [];
  const contact = existingBillingContact(contacts);
  let contactUuid: string | null = contact?.uuid ?? null;
  if (contact) await sm8.update('companycontact', contact.uuid, sm8BillingContactBody(fields, companyUuid));
  else if (hasContact(fields)) {
    await sm8.create('companycontact', uuids.contactUuid, sm8BillingContactBody(fields, companyUuid));
    contactUuid = uuids.contactUuid;
  }
  const link = await claimAndLink<ClientFields>(deps, connectionId, candidates, intoLinkId, {
    entity: 'customer',
    sm8Uuid: companyUuid,
    record: customer,
    synced: { sm8: fields, qbo: fields },
  });
  await deps.links.rememberContacts(connectionId, link.id, [
    ...contacts.map((c) => c.uuid),
    ...(contactUuid ? [contactUuid] : []),
  ]);
  return { outcome: match && !mine ? 'linked' : 'created', sm8Uuid: companyUuid, linkId: link.id };
}

/** The ServiceM8 tax rate linked to a QuickBooks tax code ('' when none: ServiceM8 then uses its default). */
export async function taxRateOfCode(
  deps: ActivityDeps,
  connectionId: string,
  taxCodeId: string | undefined,
): Promise<string> {
  if (!taxCodeId) return '';
  const link = await deps.links.byQbo(connectionId, 'taxcode', taxCodeId);
  return link?.state === 'linked' ? (link.sm8Uuid ?? '') : '';
}

export async function importItem(
  deps: ActivityDeps,
  sm8: ServiceM8Client,
  connectionId: string,
  item: QboItemRecord,
  materialUuid: string,
  candidates: Sm8Material[],
  intoLinkId?: string,
): Promise<ImportResult> {
  const taxRateUuid = await taxRateOfCode(deps, connectionId, item.SalesTaxCodeRef?.value);
  const fields = materialFromQbo(item, taxRateUuid);
  const mine = candidates.find((m) => m.uuid === materialUuid);
  const match = mine ?? candidates.find((m) => flag(m.active) && sameName(m.name, fields.name));
  const uuid = match?.uuid ?? materialUuid;
  // ServiceM8 item numbers are unique among active materials: another material holding it keeps it.
  const skuTaken =
    fields.sku !== '' &&
    candidates.some((m) => m.uuid !== uuid && flag(m.active) && sameName(m.item_number, fields.sku));
  let written: MaterialFields = skuTaken ? { ...fields, sku: '' } : fields;
  const write = (f: MaterialFields) => {
    const body = sm8MaterialBody(f, item.SalesTaxIncluded === true);
    return match ? sm8.update('material', uuid, body) : sm8.create('material', uuid, body);
  };
  try {
    await write(written);
  } catch (err) {
    // A linked material may hold the item number: import without it rather than not at all.
    if (!written.sku || !isValidation(err, 'item_number')) throw err;
    written = { ...written, sku: '' };
    await write(written);
  }
  const link = await claimAndLink<MaterialFields>(deps, connectionId, candidates, intoLinkId, {
    entity: 'item',
    sm8Uuid: uuid,
    record: item,
    synced: { sm8: written, qbo: fields },
  });
  return { outcome: match && !mine ? 'linked' : 'created', sm8Uuid: uuid, linkId: link.id };
}
