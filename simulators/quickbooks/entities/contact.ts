import { faults } from '../errors';
import { type Json, asJson, asString } from '../types';
import { type WriteContext } from './common';

/**
 * Email addresses and phone numbers as QBO checks them (README, Contact details):
 * - an address must look like RFC 822 `local@domain.tld`; anything else (a name, two addresses, a space)
 *   is refused with 2210. Nothing is trimmed: integrators report stray spaces as a cause of 2210.
 * - EmailAddress.Address holds at most 100 characters (Intuit XSD), BillEmailCc/Bcc 200; longer → 2050.
 * - TelephoneNumber.FreeFormNumber holds at most 21 characters (Intuit XSD); longer → 2050. Its format is
 *   free, so nothing else is checked.
 */

const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const EMAIL = new RegExp(`^${ATOM}(?:\\.${ATOM})*@(?:${LABEL}\\.)+[A-Za-z]{2,}$`);

export const EMAIL_MAX_LENGTH = 100;
export const EMAIL_LIST_MAX_LENGTH = 200;
const PHONE_FIELDS = ['PrimaryPhone', 'AlternatePhone', 'Mobile', 'Fax'] as const;

export function isEmailAddress(value: string): boolean {
  return EMAIL.test(value);
}

/**
 * Checks `data[holder].Address`. `list` allows several comma-separated addresses (BillEmailCc/Bcc).
 * An empty Address clears the field when `emptyEmailClears` (UNCONFIRMED; otherwise 2210).
 */
export function checkEmailHolder(ctx: WriteContext, data: Json, holder: string, list = false): void {
  const json = asJson(data[holder]);
  if (!json || json.Address === undefined || json.Address === null) return;
  const address = asString(json.Address) ?? '';
  const element = `${holder}.Address`;
  if (address.trim() === '') {
    if (ctx.options.emptyEmailClears) {
      delete data[holder];
      return;
    }
    throw faults.invalidEmail(element, address);
  }
  checkEmailText(element, address, list);
  json.Address = address;
}

/** Validates one address (or a comma-separated list); throws 2050 or 2210 naming `element`. */
export function checkEmailText(element: string, address: string, list = false): void {
  const max = list ? EMAIL_LIST_MAX_LENGTH : EMAIL_MAX_LENGTH;
  if (address.length > max) throw faults.stringLength(element, max, address.length);
  const parts = list ? address.split(',').map((part) => part.trim()) : [address];
  if (parts.some((part) => !isEmailAddress(part))) throw faults.invalidEmail(element, address);
}

/** PrimaryPhone, AlternatePhone, Mobile and Fax: FreeFormNumber within `phoneMaxLength` (0 = no limit). */
export function checkPhones(ctx: WriteContext, data: Json): void {
  const max = ctx.options.phoneMaxLength;
  if (max <= 0) return;
  for (const field of PHONE_FIELDS) {
    const number = asString(asJson(data[field])?.FreeFormNumber);
    if (number !== undefined && number.length > max)
      throw faults.stringLength(`${field}.FreeFormNumber`, max, number.length);
  }
}

/** Email and phones of a Customer, Vendor or Employee. */
export function checkContactDetails(ctx: WriteContext, data: Json): void {
  checkEmailHolder(ctx, data, 'PrimaryEmailAddr');
  checkPhones(ctx, data);
}
