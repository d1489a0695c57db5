import { formatTxnDate } from '../clock';
import { faults } from '../errors';
import { fromCents, toCents } from '../money';
import { type Company } from '../store';
import { type Json, asArray, asJson, asString, refValue } from '../types';
import { ACCOUNT_IDS } from '../company';
import { type EntityModule, requireActiveRef, text } from './common';
import { checkTransactionCurrency, currencyOf, setHomeAmount } from './currency';
import { type AppliedTxnType, appliedTo, isAppliedTxnType } from './ledger';

/** True when `customerId` is the transaction's customer or one of its parents (a parent may pay a job's invoice). */
export function paysFor(company: Company, customerId: string, txnCustomerId: string | undefined): boolean {
  let current = txnCustomerId;
  const seen = new Set<string>();
  while (current !== undefined && !seen.has(current)) {
    if (current === customerId) return true;
    seen.add(current);
    current = refValue(company.get('Customer', current)?.data.ParentRef);
  }
  return false;
}

const WHAT: Record<AppliedTxnType, string> = { Invoice: 'invoice', CreditMemo: 'credit memo' };

/**
 * A received payment. Lines link Invoices (money paid) and CreditMemos (credit used); the credit pays invoices
 * too, so TotalAmt = Σ invoice lines − Σ credit memo lines + UnappliedAmt (a credit applied in full gives
 * TotalAmt 0). The code of every refusal below is UNCONFIRMED (6000).
 */
export const paymentModule: EntityModule = {
  readOnly: ['UnappliedAmt', 'HomeTotalAmt'],

  prepare(ctx, data) {
    const customerId = refValue(data.CustomerRef);
    if (customerId === undefined) throw faults.required('CustomerRef');
    const customer = requireActiveRef(
      ctx.company,
      'Customer',
      data.CustomerRef,
      'CustomerRef',
      'DisplayName',
    );
    checkTransactionCurrency(ctx, data, customer, 'Payment');
    const currency = currencyOf(data);
    if (data.TotalAmt === undefined || data.TotalAmt === null) throw faults.required('TotalAmt');
    const totalCents = toCents(data.TotalAmt);
    if (totalCents === undefined || totalCents < 0) throw faults.invalidNumber('TotalAmt', data.TotalAmt);
    requireActiveRef(ctx.company, 'PaymentMethod', data.PaymentMethodRef, 'PaymentMethodRef', 'Name');
    requireActiveRef(ctx.company, 'Account', data.DepositToAccountRef, 'DepositToAccountRef', 'Name');

    const applied: Record<AppliedTxnType, number> = { Invoice: 0, CreditMemo: 0 };
    const perTxn = new Map<string, { txnType: AppliedTxnType; txnId: string; cents: number }>();
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
        const txnType = link.TxnType;
        if (!isAppliedTxnType(txnType)) throw faults.invalidEnum('LinkedTxn.TxnType', txnType);
        const txn = ctx.company.get(txnType, txnId);
        if (!txn) throw faults.objectNotFound('LinkedTxn');
        if (txn.voided)
          throw faults.business(
            `${txnType} ${txnId} has been voided; a payment cannot be applied to it.`,
            'LinkedTxn',
          );
        // UNCONFIRMED code: QBO refuses linking another customer's transaction.
        if (!paysFor(ctx.company, customerId, refValue(txn.data.CustomerRef))) {
          throw faults.business(
            `${txnType} ${txnId} belongs to another customer and cannot be linked to this payment.`,
            'LinkedTxn',
          );
        }
        if (currencyOf(txn.data) !== currency) {
          throw faults.business(
            `${txnType} ${txnId} is in ${String(currencyOf(txn.data))}; this payment is in ${String(currency)}.`,
            'LinkedTxn',
          );
        }
        const key = `${txnType}:${txnId}`;
        const entry = perTxn.get(key) ?? { txnType, txnId, cents: 0 };
        entry.cents += cents;
        perTxn.set(key, entry);
        applied[txnType] += cents;
      }
      lines.push(line);
    }
    for (const { txnType, txnId, cents } of perTxn.values()) {
      const txn = ctx.company.get(txnType, txnId);
      const open = (toCents(txn?.data.TotalAmt) ?? 0) - appliedTo(ctx.company, txnType, txnId, ctx.id);
      if (cents > open) {
        const left = txnType === 'Invoice' ? 'open balance' : 'remaining credit';
        throw faults.business(
          `The payment amount applied to ${WHAT[txnType]} ${txnId} (${fromCents(cents)}) exceeds its ${left} (${fromCents(open)}).`,
          'Line.Amount',
        );
      }
    }
    if (applied.CreditMemo > applied.Invoice) {
      throw faults.business(
        `The credit applied (${fromCents(applied.CreditMemo)}) exceeds the invoice amounts it pays (${fromCents(applied.Invoice)}).`,
        'Line.Amount',
      );
    }
    const netCents = applied.Invoice - applied.CreditMemo;
    if (netCents > totalCents) {
      throw faults.business(
        `The amounts applied (${fromCents(netCents)}) exceed the payment total (${fromCents(totalCents)}).`,
        'TotalAmt',
      );
    }
    data.Line = lines;
    data.TotalAmt = fromCents(totalCents);
    data.UnappliedAmt = fromCents(totalCents - netCents);
    setHomeAmount(data, 'HomeTotalAmt', totalCents);
    data.TxnDate = text(data.TxnDate) || formatTxnDate(ctx.nowMs);
    data.DepositToAccountRef ??= { value: ACCOUNT_IDS.undepositedFunds };
    data.ProcessPayment ??= false;
    return data;
  },
};

/** Intuit: "all amounts and quantities are zeroed and the string, Voided, is injected into PrivateNote". */
export function voidedPayment(payment: Json, markNote = true): Json {
  const note = text(payment.PrivateNote);
  const voided: Json = {
    ...payment,
    Line: asArray(payment.Line).map((raw) => ({ ...(asJson(raw) ?? {}), Amount: 0 })),
    TotalAmt: 0,
    UnappliedAmt: 0,
  };
  // Switch `voidNoteMarked: false`: the memo is left as it was.
  if (markNote) voided.PrivateNote = note ? `Voided - ${note}` : 'Voided';
  return voided;
}
