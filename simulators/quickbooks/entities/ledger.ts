import { toCents } from '../money';
import { type Company } from '../store';
import { type Json, asArray, asJson, asString } from '../types';

/** How payments are applied to invoices: read from Payment.Line[].LinkedTxn, the single source of truth. */

export interface Application {
  invoiceId: string;
  cents: number;
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
      if (linkJson && txnId !== undefined && linkJson.TxnType === 'Invoice')
        applications.push({ invoiceId: txnId, cents });
    }
  }
  return applications;
}

export function appliedToInvoice(company: Company, invoiceId: string, exceptPaymentId?: string): number {
  let total = 0;
  for (const payment of company.all('Payment')) {
    if (payment.data.Id === exceptPaymentId) continue;
    for (const application of applicationsOf(payment.data)) {
      if (application.invoiceId === invoiceId) total += application.cents;
    }
  }
  return total;
}

/** Payments (not voided) that apply money to the invoice. */
export function paymentsLinkedTo(company: Company, invoiceId: string): string[] {
  return company
    .all('Payment')
    .filter((payment) => !payment.voided)
    .filter((payment) =>
      applicationsOf(payment.data).some((application) => application.invoiceId === invoiceId),
    )
    .map((payment) => String(payment.data.Id))
    .sort((a, b) => Number(a) - Number(b));
}
