/**
 * QuickBooks Customer ⇄ ServiceM8 company + billing contact, for the two-way sync of clients (CM-1 … CM-9).
 * Both sides are projected onto one neutral shape (`ClientFields`): fingerprints of that shape kill echoes,
 * and a field-by-field comparison with the last synced shape decides conflicts (CM-9). Each projection
 * applies the limits of its own side, so reading back what we wrote gives the same shape.
 */
import { billingContact, type QboBillAddr } from './customer';
import { qboSafeName } from '../names';
import { flag, type Sm8Company, type Sm8CompanyContact } from '../servicem8-types';

export interface ClientFields {
  name: string;
  first: string;
  last: string;
  email: string;
  phone: string;
  street: string;
  city: string;
  state: string;
  postcode: string;
  country: string;
  active: boolean;
}

/** The QuickBooks Customer fields the sync reads (API names). */
export interface QboCustomerRecord {
  Id: string;
  SyncToken: string;
  DisplayName: string;
  GivenName?: string;
  FamilyName?: string;
  Active?: boolean;
  Job?: boolean;
  BillWithParent?: boolean;
  ParentRef?: { value: string };
  PrimaryEmailAddr?: { Address?: string };
  PrimaryPhone?: { FreeFormNumber?: string };
  BillAddr?: QboBillAddr;
  MetaData?: { CreateTime?: string; LastUpdatedTime?: string };
}

const t = (v: string | undefined | null, max: number): string => (v ?? '').trim().slice(0, max);

/** CM-6: why a QuickBooks customer is not imported into ServiceM8, or null when it is. */
export function customerImportSkip(c: QboCustomerRecord): 'inactive' | 'bills_with_parent' | null {
  if (c.Active === false) return 'inactive';
  if (c.Job === true && c.BillWithParent === true) return 'bills_with_parent';
  return null;
}

/** The client as QuickBooks holds it, within ServiceM8's limits (company name ≤ 100). */
export function clientFromQbo(c: QboCustomerRecord): ClientFields {
  return {
    name: t(c.DisplayName, 100),
    first: t(c.GivenName, 100),
    last: t(c.FamilyName, 100),
    email: t(c.PrimaryEmailAddr?.Address, 100),
    phone: t(c.PrimaryPhone?.FreeFormNumber, 30),
    street: t(c.BillAddr?.Line1, 500),
    city: t(c.BillAddr?.City, 100),
    state: t(c.BillAddr?.CountrySubDivisionCode, 100),
    postcode: t(c.BillAddr?.PostalCode, 20),
    country: t(c.BillAddr?.Country, 100),
    active: c.Active !== false,
  };
}

/** The client as ServiceM8 holds it: the company and its billing contact. */
export function clientFromSm8(company: Sm8Company, contacts: readonly Sm8CompanyContact[]): ClientFields {
  const contact = billingContact(contacts);
  return {
    name: t(company.name, 100),
    first: t(contact?.first, 100),
    last: t(contact?.last, 100),
    email: t(contact?.email, 100),
    phone: t(contact?.phone || contact?.mobile, 30),
    street: t(company.address_street, 500),
    city: t(company.address_city, 100),
    state: t(company.address_state, 100),
    postcode: t(company.address_postcode, 20),
    country: t(company.address_country, 100),
    active: flag(company.active),
  };
}

/** One-line billing address for ServiceM8's `billing_address` (what its invoices print). */
export function billingAddressLine(f: ClientFields): string {
  const locality = [f.city, f.state, f.postcode].filter(Boolean).join(' ');
  return [f.street, locality, f.country].filter(Boolean).join(', ').slice(0, 500);
}

/** ServiceM8 company fields carrying `f` (name and billing address). */
export function sm8CompanyBody(f: ClientFields): Record<string, string | number> {
  return {
    name: f.name,
    address_street: f.street,
    address_city: f.city,
    address_state: f.state,
    address_postcode: f.postcode,
    address_country: f.country,
    billing_address: billingAddressLine(f),
    active: f.active ? 1 : 0,
  };
}

/** ServiceM8 billing contact fields carrying `f`. */
export function sm8BillingContactBody(f: ClientFields, companyUuid: string): Record<string, string | number> {
  return {
    company_uuid: companyUuid,
    first: f.first,
    last: f.last,
    email: f.email,
    phone: f.phone,
    type: 'BILLING',
    is_primary_contact: '1',
    active: 1,
  };
}

/** The QuickBooks sparse-update body carrying `f` (empty values clear the field). */
export function qboCustomerBody(f: ClientFields): Record<string, unknown> {
  return {
    DisplayName: qboSafeName(f.name),
    CompanyName: f.name,
    GivenName: f.first,
    FamilyName: f.last,
    PrimaryEmailAddr: { Address: f.email },
    PrimaryPhone: { FreeFormNumber: f.phone },
    BillAddr: {
      Line1: f.street,
      City: f.city,
      CountrySubDivisionCode: f.state,
      PostalCode: f.postcode,
      Country: f.country,
    },
    Active: f.active,
  };
}

/** The billing contact to update in place, if the company has one (see `billingContact`). */
export function existingBillingContact(
  contacts: readonly Sm8CompanyContact[],
): Sm8CompanyContact | undefined {
  return billingContact(contacts);
}
