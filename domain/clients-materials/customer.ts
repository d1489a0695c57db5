/**
 * ServiceM8 company (+ its billing contact) <-> QuickBooks Customer: the mapped fields both ways.
 * Email and phone live on ServiceM8's companycontact, not on the company.
 */
import { qboSafeName } from '../names';
import { flag, type Sm8Company, type Sm8CompanyContact } from '../servicem8-types';

/** A QuickBooks Customer's billing address (API names). */
export interface QboBillAddr {
  Line1?: string;
  City?: string;
  CountrySubDivisionCode?: string;
  PostalCode?: string;
  Country?: string;
}

export interface QboCustomerFields {
  DisplayName: string;
  CompanyName?: string;
  GivenName?: string;
  FamilyName?: string;
  PrimaryEmailAddr?: { Address: string };
  PrimaryPhone?: { FreeFormNumber: string };
  BillAddr?: QboBillAddr;
}

/** The billing contact: active BILLING type first, then the primary contact, then any active one. */
export function billingContact(contacts: readonly Sm8CompanyContact[]): Sm8CompanyContact | undefined {
  const active = contacts.filter((c) => flag(c.active));
  return (
    active.find((c) => (c.type ?? '').toUpperCase().startsWith('BILLING')) ??
    active.find((c) => flag(c.is_primary_contact)) ??
    active[0]
  );
}

export function customerFromCompany(
  company: Sm8Company,
  contact: Sm8CompanyContact | undefined,
): QboCustomerFields {
  const fields: QboCustomerFields = {
    DisplayName: qboSafeName(company.name),
    CompanyName: company.name.trim().slice(0, 100),
  };
  if (contact?.first?.trim()) fields.GivenName = contact.first.trim().slice(0, 100);
  if (contact?.last?.trim()) fields.FamilyName = contact.last.trim().slice(0, 100);
  if (contact?.email?.trim()) fields.PrimaryEmailAddr = { Address: contact.email.trim() };
  const phone = contact?.phone?.trim() || contact?.mobile?.trim();
  if (phone) fields.PrimaryPhone = { FreeFormNumber: phone };
  const street = company.address_street?.trim() || company.billing_address?.trim() || company.address?.trim();
  if (street) {
    fields.BillAddr = {
      Line1: street.slice(0, 500),
      ...(company.address_city ? { City: company.address_city } : {}),
      ...(company.address_state ? { CountrySubDivisionCode: company.address_state } : {}),
      ...(company.address_postcode ? { PostalCode: company.address_postcode } : {}),
      ...(company.address_country ? { Country: company.address_country } : {}),
    };
  }
  return fields;
}
