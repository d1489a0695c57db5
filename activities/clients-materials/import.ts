/**
 * Bringing one QuickBooks customer or item into ServiceM8 (CM-1 import, and CM-2 for records created in
 * QuickBooks later). CM-7: an unlinked ServiceM8 record with the same name (trimmed, case-insensitive) is
 * linked and overwritten with QuickBooks' fields instead of duplicated. Creates use uuids generated in the
 * workflow, so a retried create can only hit the same record; a retry after a create whose link was not
 * stored finds that record by its uuid (or name) and links it.
 *
 * Several workers may bring in or link the same QuickBooks record at once (an onboarding page, the record's
 * owner after a QuickBooks event, an invoice export matching it by name). Each import runs in the turn of
 * its QuickBooks name (activities/support/name-turn.ts) and first looks whether the record was linked
 * meanwhile: then it writes nothing and reports `already_linked`, instead of creating a second ServiceM8
 * record and colliding on the links' unique key.
 *
 * Issue 12: what an import writes is stored as our own record write and cached (activities/clients-materials/
 * record-reads.ts), so the echoes of an import are dropped unread and the record's first sync reads nothing.
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
import { inNameTurn } from '../support/name-turn';
import { CmRecords } from './record-reads';

function isValidation(err: unknown, mentioning: string): boolean {
  return validationMessage(err)?.includes(mentioning) ?? false;
}

export interface ImportResult {
  /** already_linked: another worker linked the QuickBooks record first; nothing was written. */
  outcome: 'created' | 'linked' | 'already_linked';
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
  const cmRecords = new CmRecords(deps, connectionId, sm8);
  const since = await cmRecords.now();
  const [records, linked] = await Promise.all([
    sm8.list<T>(object, [{ field: 'active', op: 'eq', value: 1 }]),
    deps.links.all(connectionId, object === 'company' ? 'customer' : 'item'),
  ]);
  // Kept in the record cache: an export or a sync that needs one of them soon reads nothing (issue 12).
  await cmRecords.cacheSm8(object, records as unknown as Array<{ uuid: string; edit_date?: string }>, since);
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

/**
 * Runs one import in the turn of the record's QuickBooks name. A record linked meanwhile by another worker
 * is taken as it is (nothing written to ServiceM8).
 */
function importOnce(
  deps: ActivityDeps,
  connectionId: string,
  entity: 'customer' | 'item',
  record: { Id: string; name: string },
  run: () => Promise<ImportResult>,
): Promise<ImportResult> {
  return inNameTurn(deps.pool, connectionId, entity, record.name, async () => {
    const held = await deps.links.byQbo(connectionId, entity, record.Id);
    if (held?.sm8Uuid) return { outcome: 'already_linked', sm8Uuid: held.sm8Uuid, linkId: held.id };
    return run();
  });
}

/**
 * The first candidate `matches` accepts that no link claims now: the candidates were listed before this
 * import's turn, and another worker may have linked one since (it leaves the list).
 */
async function freeMatch<T extends { uuid: string }>(
  deps: ActivityDeps,
  connectionId: string,
  entity: 'customer' | 'item',
  candidates: T[],
  matches: (c: T) => boolean,
): Promise<T | undefined> {
  for (;;) {
    const found = candidates.find(matches);
    if (!found || !(await deps.links.bySm8(connectionId, entity, found.uuid))) return found;
    candidates.splice(candidates.indexOf(found), 1);
  }
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
  const record = { Id: customer.Id, name: customer.DisplayName };
  const records = new CmRecords(deps, connectionId, sm8);
  return importOnce(deps, connectionId, 'customer', record, async () => {
    // Our own earlier attempt first (same uuid), then CM-7: the same name.
    const mine = candidates.find((c) => c.uuid === uuids.companyUuid);
    const match =
      mine ??
      (await freeMatch(
        deps,
        connectionId,
        'customer',
        candidates,
        (c) => flag(c.active) && sameName(c.name, fields.name),
      ));
    const companyBody = sm8CompanyBody(fields);
    let companyUuid = match?.uuid ?? uuids.companyUuid;
    companyUuid = await records.writeSm8(match ? 'update' : 'create', 'company', companyUuid, companyBody);
    // A company we just created has no contacts but ours; a matched one's are read (or cached).
    const contacts: Sm8CompanyContact[] = match ? await records.contactsOf(companyUuid) : [];
    if (!match) await records.knowContactsOf(companyUuid, []);
    const contact = existingBillingContact(contacts);
    let contactUuid: string | null = contact?.uuid ?? null;
    const contactBody = sm8BillingContactBody(fields, companyUuid);
    if (contact) {
      await records.writeSm8('update', 'companycontact', contact.uuid, contactBody);
    } else if (hasContact(fields)) {
      contactUuid = await records.writeSm8('create', 'companycontact', uuids.contactUuid, contactBody);
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
  });
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
  const records = new CmRecords(deps, connectionId, sm8);
  return importOnce(deps, connectionId, 'item', { Id: item.Id, name: item.Name }, async () => {
    const mine = candidates.find((m) => m.uuid === materialUuid);
    const match =
      mine ??
      (await freeMatch(
        deps,
        connectionId,
        'item',
        candidates,
        (m) => flag(m.active) && sameName(m.name, fields.name),
      ));
    const uuid = match?.uuid ?? materialUuid;
    // ServiceM8 item numbers are unique among active materials: another material holding it keeps it.
    const skuTaken =
      fields.sku !== '' &&
      candidates.some((m) => m.uuid !== uuid && flag(m.active) && sameName(m.item_number, fields.sku));
    let written: MaterialFields = skuTaken ? { ...fields, sku: '' } : fields;
    const write = async (f: MaterialFields) => {
      const body = sm8MaterialBody(f, item.SalesTaxIncluded === true);
      await records.writeSm8(match ? 'update' : 'create', 'material', uuid, body);
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
  });
}
