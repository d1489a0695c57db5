/** Shared types: QBO entities are kept as the JSON the API speaks (PascalCase), not as classes. */

export type Json = { [key: string]: unknown };

export type EntityName =
  | 'Customer'
  | 'Item'
  | 'Invoice'
  | 'Payment'
  | 'CreditMemo'
  | 'RefundReceipt'
  | 'TaxCode'
  | 'TaxRate'
  | 'Account'
  | 'PaymentMethod'
  | 'Vendor'
  | 'Employee';

export type Country = 'AU' | 'US';

/** Webhook / CDC operation names as QBO spells them in the legacy payload. */
export type Operation = 'Create' | 'Update' | 'Delete' | 'Merge' | 'Void' | 'Emailed';

export interface ChangeEvent {
  realmId: string;
  entity: EntityName;
  id: string;
  operation: Operation;
  atMs: number;
  /** Merge only: the Id of the record merged away. */
  deletedId?: string;
}

export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asJson(value: unknown): Json | undefined {
  return isJson(value) ? value : undefined;
}

export function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `{"value":"12","name":"…"}` → "12". */
export function refValue(ref: unknown): string | undefined {
  const json = asJson(ref);
  const value = json ? asString(json.value) : undefined;
  return value === undefined || value === '' ? undefined : value;
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}
