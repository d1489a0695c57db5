/**
 * QuickBooks invoices and payments as the payment activities read them, and pure helpers on them
 * (activities/payments.ts, activities/payment-routing.ts).
 */
import type { QboRef } from '../../domain/quickbooks-types';
import { toCents } from '../../domain/money';

export interface QboInvoiceRecord {
  Id: string;
  SyncToken: string;
  TotalAmt?: number;
  Balance?: number;
  PrivateNote?: string;
  CustomerRef?: QboRef;
  LinkedTxn?: Array<{ TxnId?: string; TxnType?: string }>;
}

export interface QboPaymentLine {
  Amount?: number;
  LinkedTxn?: Array<{ TxnId?: string; TxnType?: string }>;
}

export interface QboPaymentRecord {
  Id: string;
  SyncToken: string;
  TxnDate?: string;
  TotalAmt?: number;
  /** PAY-8: the part of TotalAmt applied to no invoice (read-only, docs/quickbooks-api.md §4.2). */
  UnappliedAmt?: number;
  PrivateNote?: string;
  PaymentRefNum?: string;
  PaymentMethodRef?: QboRef;
  Line?: QboPaymentLine[];
  MetaData?: { LastUpdatedTime?: string };
}

/** Cents as ServiceM8's decimal string ("123.45"), exact. */
export function centsToSm8Amount(cents: number): string {
  const abs = Math.abs(Math.round(cents));
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** The amount a QuickBooks payment applies to one invoice (the sum of its lines linked to it). */
export function appliedTo(payment: QboPaymentRecord, invoiceId: string): number {
  let cents = 0;
  for (const line of payment.Line ?? []) {
    if ((line.LinkedTxn ?? []).some((t) => t.TxnType === 'Invoice' && t.TxnId === invoiceId))
      cents += toCents(line.Amount ?? 0) ?? 0;
  }
  return cents;
}

/** The invoices a QuickBooks payment applies to (its lines' LinkedTxn of type Invoice). */
export function invoicesOf(payment: QboPaymentRecord): string[] {
  const ids = new Set<string>();
  for (const line of payment.Line ?? [])
    for (const t of line.LinkedTxn ?? []) if (t.TxnType === 'Invoice' && t.TxnId) ids.add(t.TxnId);
  return [...ids];
}
