import { type ResolvedOptions } from '../config';
import { faults } from '../errors';
import { currencyRef, homeCurrencyCode } from './currency';
import { type Company } from '../store';
import { type EntityName, type Json, asJson, asString, refValue } from '../types';

/** What an entity's `prepare` sees: the company, the write being made, and the record as it stands. */
export interface WriteContext {
  company: Company;
  nowMs: number;
  op: 'create' | 'update';
  id: string;
  existing: Json | undefined;
  /** Values of `?include=` (e.g. allowduplicatedocnum). */
  includes: ReadonlySet<string>;
  options: ResolvedOptions;
}

export interface EntityModule {
  /** Fields QBO computes; ignored when a client sends them back. */
  readOnly: readonly string[];
  /** Recomputed on every write, but a client-sent value is still inspected (e.g. Invoice.TxnTaxDetail). */
  recomputed?: readonly string[];
  /** Validates the merged record and fills defaults and computed fields; throws QboFault. */
  prepare(ctx: WriteContext, data: Json): Json;
  /** Adds read-time fields (balances, fully qualified names) to copies about to be returned. */
  decorate?(company: Company, records: Json[]): void;
}

export const SYSTEM_FIELDS = ['Id', 'SyncToken', 'MetaData', 'domain', 'sparse', 'status'] as const;

export function without(data: Json, fields: readonly string[]): Json {
  const copy: Json = { ...data };
  for (const field of fields) delete copy[field];
  return copy;
}

export function text(value: unknown): string | undefined {
  const s = asString(value);
  return s === undefined ? undefined : s.trim();
}

export function nameKey(name: string): string {
  return name.trim().toLowerCase();
}

/**
 * Resolves a reference that must point at an existing, active record. Both failure modes answer 610 with
 * "Something you're trying to use has been made inactive" (docs/quickbooks-api.md §2.9). Fills the ref's
 * `name` like QBO does.
 */
export function requireActiveRef(
  company: Company,
  entity: EntityName,
  ref: unknown,
  element: string,
  nameField: string,
): Json | undefined {
  const id = refValue(ref);
  if (id === undefined) return undefined;
  const record = company.get(entity, id);
  if (!record || record.data.Active === false) throw faults.objectNotFound(element);
  const name = asString(record.data[nameField]);
  const refJson = asJson(ref);
  if (refJson && name !== undefined) refJson.name = name;
  return record.data;
}

/**
 * DisplayName must be unique across Customer, Vendor and Employee, inactive records included
 * (docs/quickbooks-api.md §4.3).
 */
export function checkPersonNameFree(
  company: Company,
  displayName: string,
  self: { entity: EntityName; id: string },
): void {
  const key = nameKey(displayName);
  for (const entity of ['Customer', 'Vendor', 'Employee'] as const) {
    for (const record of company.all(entity)) {
      if (entity === self.entity && record.data.Id === self.id) continue;
      const other = asString(record.data.DisplayName);
      if (other !== undefined && nameKey(other) === key) {
        throw faults.duplicateName(
          'The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name.',
        );
      }
    }
  }
}

/** Name-list records of one entity with unique Name (Item, Account, PaymentMethod). */
export function checkNameFree(
  company: Company,
  entity: EntityName,
  name: string,
  selfId: string,
  what: string,
): void {
  const key = nameKey(name);
  for (const record of company.all(entity)) {
    if (record.data.Id === selfId) continue;
    const other = asString(record.data.Name);
    if (other !== undefined && nameKey(other) === key) {
      throw faults.duplicateName(
        `The name supplied already exists. : Another ${what} is already using this name. Please use a different name.`,
      );
    }
  }
}

/** Display name from the parts QBO composes it from when DisplayName is omitted. */
export function personDisplayName(data: Json): string | undefined {
  const explicit = text(data.DisplayName);
  if (explicit) return explicit;
  const parts = ['Title', 'GivenName', 'MiddleName', 'FamilyName', 'Suffix']
    .map((field) => text(data[field]))
    .filter((part): part is string => part !== undefined && part !== '');
  return parts.length > 0 ? parts.join(' ') : undefined;
}

export function checkPersonName(ctx: WriteContext, data: Json, entity: EntityName): string {
  const displayName = personDisplayName(data);
  if (displayName === undefined) throw faults.noName();
  if (displayName.includes(':')) throw faults.invalidCharacters('DisplayName', displayName);
  if (displayName.length > 500) throw faults.stringLength('DisplayName', 500, displayName.length);
  checkPersonNameFree(ctx.company, displayName, { entity, id: ctx.id });
  return displayName;
}

export function checkEnum(
  element: string,
  value: unknown,
  allowed: readonly string[],
  fallback: string,
): string {
  if (value === undefined || value === null) return fallback;
  const s = asString(value);
  if (s === undefined || !allowed.includes(s)) throw faults.invalidEnum(element, value);
  return s;
}

export function homeCurrency(company: Company): Json {
  return currencyRef(homeCurrencyCode(company));
}
