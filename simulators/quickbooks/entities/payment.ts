import { formatTxnDate } from '../clock';
import { faults } from '../errors';
import { fromCents, toCents } from '../money';
import { type Company } from '../store';
import { type Json, asArray, asJson, asString, refValue } from '../types';
import { ACCOUNT_IDS } from '../company';
import { type EntityModule, homeCurrency, requireActiveRef, text } from './common';
import { appliedToInvoice } from './ledger';

/** True when `customerId` is the invoice's customer or one of its parents (a parent may pay a job's invoice). */
function paysFor(company: Company, customerId: string, invoiceCustomerId: string | undefined): boolean {
  let current = invoiceCustomerId;
  const seen = new Set<string>();
  while (current !== undefined && !seen.has(current)) {
    if (current === customerId) return true;
    seen.add(current);
    current = refValue(company.get('Customer', current)?.data.ParentRef);
  }
  return false;
}

export const paymentModule: EntityModule = {
  readOnly: ['UnappliedAmt', 'HomeTotalAmt'],

  prepare(ctx, data) {
    const customerId = refValue(data.CustomerRef);
    if (customerId === undefined) throw faults.required('CustomerRef');
    requireActiveRef(ctx.company, 'Customer', data.CustomerRef, 'CustomerRef', 'DisplayName');
    if (data.TotalAmt === undefined || data.TotalAmt === null) throw faults.required('TotalAmt');
    const totalCents = toCents(data.TotalAmt);
    if (totalCents === undefined || totalCents < 0) throw faults.invalidNumber('TotalAmt', data.TotalAmt);
    requireActiveRef(ctx.company, 'PaymentMethod', data.PaymentMethodRef, 'PaymentMethodRef', 'Name');
    requireActiveRef(ctx.company, 'Account', data.DepositToAccountRef, 'DepositToAccountRef', 'Name');

    let appliedCents = 0;
    const perInvoice = new Map<string, number>();
    const lines: Json[] = [];
    for (const raw of asArray(data.Line)) {
      const line = asJson(raw);
      if (!line) throw faults.required('Line');
      const cents = toCents(line.Amount);
      if (cents === undefined || cents < 0) throw faults.invalidNumber('Line.Amount', line.Amount);
      line.Amount = fromCents(cents);
      const links = asArray(line.LinkedTxn).map((link) => asJson(link) ?? {});
      if (links.length === 0) throw faults.required('Line.LinkedTxn');
      for (const link of links) {
        const txnId = asString(link.TxnId);
        if (txnId === undefined) throw faults.required('LinkedTxn.TxnId');
        if (link.TxnType !== 'Invoice') throw faults.invalidEnum('LinkedTxn.TxnType', link.TxnType);
        const invoice = ctx.company.get('Invoice', txnId);
        if (!invoice) throw faults.objectNotFound('LinkedTxn');
        if (invoice.voided)
          throw faults.business(
            `Invoice ${txnId} has been voided; a payment cannot be applied to it.`,
            'LinkedTxn',
          );
        // UNCONFIRMED code: QBO refuses applying a payment to another customer's invoice.
        if (!paysFor(ctx.company, customerId, refValue(invoice.data.CustomerRef))) {
          throw faults.business(
            `Invoice ${txnId} belongs to another customer and cannot be linked to this payment.`,
            'LinkedTxn',
          );
        }
        perInvoice.set(txnId, (perInvoice.get(txnId) ?? 0) + cents);
      }
      appliedCents += cents;
      lines.push(line);
    }
    for (const [invoiceId, cents] of perInvoice) {
      const invoice = ctx.company.get('Invoice', invoiceId);
      const open = (toCents(invoice?.data.TotalAmt) ?? 0) - appliedToInvoice(ctx.company, invoiceId, ctx.id);
      // UNCONFIRMED code: applying more than an invoice's open balance is refused.
      if (cents > open) {
        throw faults.business(
          `The payment amount applied to invoice ${invoiceId} (${fromCents(cents)}) exceeds its open balance (${fromCents(open)}).`,
          'Line.Amount',
        );
      }
    }
    if (appliedCents > totalCents) {
      throw faults.business(
        `The amounts applied (${fromCents(appliedCents)}) exceed the payment total (${fromCents(totalCents)}).`,
        'TotalAmt',
      );
    }
    data.Line = lines;
    data.TotalAmt = fromCents(totalCents);
    data.UnappliedAmt = fromCents(totalCents - appliedCents);
    data.TxnDate = text(data.TxnDate) || formatTxnDate(ctx.nowMs);
    data.DepositToAccountRef ??= { value: ACCOUNT_IDS.undepositedFunds };
    data.CurrencyRef ??= homeCurrency(ctx.company);
    data.ProcessPayment ??= false;
    return data;
  },
};

export function voidedPayment(payment: Json): Json {
  const note = text(payment.PrivateNote);
  return {
    ...payment,
    Line: asArray(payment.Line).map((raw) => ({ ...(asJson(raw) ?? {}), Amount: 0 })),
    TotalAmt: 0,
    UnappliedAmt: 0,
    PrivateNote: note ? `Voided - ${note}` : 'Voided',
  };
}
