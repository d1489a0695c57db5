import { toCents } from '../money';
import { type Company } from '../store';
import { type Json, asArray, asJson, asString } from '../types';

/**
 * How payments apply money: read from Payment.Line[].LinkedTxn, the single source of truth. A line linked to
 * an Invoice pays it; a line linked to a CreditMemo uses that much of the credit (Intuit: "A Payment can be
 * linked to multiple Invoices and Credit Memos").
 */

export type AppliedTxnType = 'Invoice' | 'CreditMemo';
export const APPLIED_TXN_TYPES: readonly AppliedTxnType[] = ['Invoice', 'CreditMemo'];

export interface Application {
  txnType: AppliedTxnType;
  txnId: string;
  cents: number;
}

export function isAppliedTxnType(value: unknown): value is AppliedTxnType {
  return value === 'Invoice' || value === 'CreditMemo';
}

export function applicationsOf(payment: Json): Application[] {
  const applications: Application[] = [];
  for (const line of asArray(payment.Line)) {
    const lineJson = asJson(line);
    if (!lineJson) continue;
    const cents = toCents(lineJson.Amount) ?? 0;
    for (const link of asArray(lineJson.LinkedTxn)) {
      const linkJson = asJson(link);
      const txnId = linkJson ? asString(linkJson.TxnId) : undefined;
      if (linkJson && txnId !== undefined && isAppliedTxnType(linkJson.TxnType))
        applications.push({ txnType: linkJson.TxnType, txnId, cents });
    }
  }
  return applications;
}

/** Cents applied to one invoice (paid) or credit memo (credit used), optionally leaving one payment out. */
export function appliedTo(
  company: Company,
  txnType: AppliedTxnType,
  txnId: string,
  exceptPaymentId?: string,
): number {
  let total = 0;
  for (const payment of company.all('Payment')) {
    if (payment.data.Id === exceptPaymentId) continue;
    for (const application of applicationsOf(payment.data)) {
      if (application.txnType === txnType && application.txnId === txnId) total += application.cents;
    }
  }
  return total;
}

/** Payments (not voided) that apply money to the transaction. */
export function paymentsLinkedTo(company: Company, txnType: AppliedTxnType, txnId: string): string[] {
  return company
    .all('Payment')
    .filter((payment) => !payment.voided)
    .filter((payment) =>
      applicationsOf(payment.data).some(
        (application) => application.txnType === txnType && application.txnId === txnId,
      ),
    )
    .map((payment) => String(payment.data.Id))
    .sort((a, b) => Number(a) - Number(b));
}
