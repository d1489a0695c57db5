/**
 * ServiceM8 records as the API returns them (field names as in the API): decimals are 4-place strings,
 * flags are 0/1 as integers or strings, unset dates are "0000-00-00 00:00:00", unset uuids are "".
 */
export type Flag = 0 | 1 | '0' | '1' | boolean;

export interface Sm8Record {
  uuid: string;
  active: Flag;
  edit_date?: string;
}

export interface Sm8Job extends Sm8Record {
  status: 'Quote' | 'Work Order' | 'Unsuccessful' | 'Completed' | string;
  company_uuid: string;
  generated_job_id: string;
  completion_date?: string;
  date?: string;
  payment_processed: Flag;
  payment_processed_stamp?: string;
  invoice_sent: Flag;
  payment_received?: Flag;
  total_invoice_amount: string;
  billing_address?: string;
  job_address?: string;
  purchase_order_number?: string;
}

export interface Sm8JobMaterial extends Sm8Record {
  job_uuid: string;
  material_uuid: string;
  name: string;
  quantity: string;
  price: string;
  displayed_amount?: string;
  displayed_amount_is_tax_inclusive?: Flag;
  tax_rate_uuid: string;
  sort_order?: string | number;
  cost?: string;
}

export interface Sm8TaxRate extends Sm8Record {
  name: string;
  amount: string;
}

export interface Sm8Company extends Sm8Record {
  name: string;
  billing_address?: string;
  address?: string;
  address_street?: string;
  address_city?: string;
  address_state?: string;
  address_postcode?: string;
  address_country?: string;
  tax_rate_uuid?: string;
  parent_company_uuid?: string;
}

export interface Sm8CompanyContact extends Sm8Record {
  company_uuid: string;
  first?: string;
  last?: string;
  phone?: string;
  mobile?: string;
  email?: string;
  type?: string;
  is_primary_contact?: Flag;
}

export interface Sm8Material extends Sm8Record {
  name: string;
  item_number?: string;
  price?: string;
  cost?: string;
  price_includes_taxes?: Flag;
  tax_rate_uuid?: string;
  item_description?: string;
}

export interface Sm8JobPayment extends Sm8Record {
  job_uuid: string;
  amount: string;
  timestamp: string;
  method?: string;
  note?: string;
  is_deposit?: Flag;
}

export function flag(value: Flag | undefined | null): boolean {
  return value === 1 || value === '1' || value === true;
}

/** "2026-11-26 10:00:00" -> "2026-11-26"; unset ("0000-00-00 …" or "") -> null. */
export function sm8Date(value: string | undefined): string | null {
  if (!value) return null;
  const d = value.slice(0, 10);
  return /^\d{4}-\d{2}-\d{2}$/.test(d) && !d.startsWith('0000') ? d : null;
}
