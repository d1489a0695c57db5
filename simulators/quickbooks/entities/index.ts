import { type EntityName } from '../types';
import { type EntityModule } from './common';
import { customerModule } from './customer';
import { creditMemoModule } from './credit-memo';
import { invoiceModule } from './invoice';
import { itemModule } from './item';
import { paymentModule } from './payment';
import { refundReceiptModule } from './refund-receipt';
import { accountModule, employeeModule, paymentMethodModule, readOnlyModule, vendorModule } from './simple';

export const ENTITY_MODULES: Record<EntityName, EntityModule> = {
  Customer: customerModule,
  Item: itemModule,
  Invoice: invoiceModule,
  Payment: paymentModule,
  CreditMemo: creditMemoModule,
  RefundReceipt: refundReceiptModule,
  Account: accountModule,
  PaymentMethod: paymentMethodModule,
  Vendor: vendorModule,
  Employee: employeeModule,
  TaxCode: readOnlyModule,
  TaxRate: readOnlyModule,
};

export const ENTITY_NAMES = Object.keys(ENTITY_MODULES) as EntityName[];

/** URL segment (lower-case, as QBO's URIs are) → entity. */
export const ENTITY_BY_SEGMENT = new Map<string, EntityName>(
  ENTITY_NAMES.map((name) => [name.toLowerCase(), name]),
);

/** Name-list entities: soft delete via Active=false, and queries return only active rows by default. */
export const NAME_LIST = new Set<EntityName>([
  'Customer',
  'Item',
  'Account',
  'PaymentMethod',
  'Vendor',
  'Employee',
  'TaxCode',
  'TaxRate',
]);

/** Transactions: hard delete (a CDC tombstone) instead of Active=false. */
export const TRANSACTIONS = new Set<EntityName>(['Invoice', 'Payment', 'CreditMemo', 'RefundReceipt']);

/** Not writable through the API (docs/quickbooks-api.md §4.5). */
export const API_READ_ONLY = new Set<EntityName>(['TaxCode', 'TaxRate']);

/** Not available through CDC (docs/quickbooks-api.md §2.5). */
export const CDC_UNSUPPORTED = new Set<string>([
  'TaxCode',
  'TaxRate',
  'JournalCode',
  'TaxAgency',
  'TimeActivity',
]);

export function entityByName(name: string): EntityName | undefined {
  return ENTITY_NAMES.find((entity) => entity.toLowerCase() === name.toLowerCase());
}
