/** The QuickBooks Online entities and shapes the sync reads and writes (field names as in the API). */
export type QboEntityName =
  | 'Customer'
  | 'Item'
  | 'Invoice'
  | 'Payment'
  | 'TaxCode'
  | 'TaxRate'
  | 'Account'
  | 'PaymentMethod'
  | 'Vendor'
  | 'Employee'
  | 'CompanyInfo'
  | 'Preferences';

export interface QboRef {
  value: string;
  name?: string;
}

export interface QboQueryResponse<E extends string, T> {
  QueryResponse: Partial<Record<E, T[]>> & {
    startPosition?: number;
    maxResults?: number;
    totalCount?: number;
  };
  time?: string;
}
