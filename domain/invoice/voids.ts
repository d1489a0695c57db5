/**
 * INV-10, PAY-3: how the sync knows that QuickBooks voided an invoice or a payment, strongest first:
 *
 * 1. The webhook's `Void` operation (legacy `operation: "Void"`, CloudEvents `qbo.<entity>.voided.v1`),
 *    docs/quickbooks-api.md §5.5: the router marks the invoice's link voided (routing/routes.ts).
 * 2. A CDC record in the void's documented shape: "all amounts and quantities are zeroed"
 *    (docs/quickbooks-api.md §4.1, §2.5: CDC returns a voided record whole, not as a tombstone), tested here
 *    without the memo; the poll routes it as a void (activities/poll-quickbooks.ts).
 * 3. Fallback, on a plain read when no event said so: the memo test (`memoSaysVoided`, "Voided" at the start
 *    of PrivateNote with a zero total), whose wording is UNCONFIRMED outside English companies.
 *
 * None of these misreads an invoice the sync exported: it never exports a zero total (INV-2).
 */

interface QboLine {
  Amount?: number;
  DetailType?: string;
  SalesItemLineDetail?: { Qty?: number };
}

export interface QboVoidable {
  TotalAmt?: number;
  PrivateNote?: string;
  Line?: QboLine[];
}

/** An invoice in the void's shape: total 0, and every sales line with amount 0 and quantity 0. */
export function zeroedInvoice(inv: QboVoidable): boolean {
  const sales = (inv.Line ?? []).filter((l) => l.DetailType === 'SalesItemLineDetail');
  return (
    (inv.TotalAmt ?? 0) === 0 &&
    sales.length > 0 &&
    sales.every((l) => (l.Amount ?? 0) === 0 && (l.SalesItemLineDetail?.Qty ?? 0) === 0)
  );
}

/** A payment in the void's shape: total 0 and every line's amount 0 (a payment that applies nothing). */
export function zeroedPayment(p: QboVoidable): boolean {
  const lines = p.Line ?? [];
  return (p.TotalAmt ?? 0) === 0 && lines.length > 0 && lines.every((l) => (l.Amount ?? 0) === 0);
}

/** The fallback (3 above): "Voided" at the start of the memo, with a zero total. */
export function memoSaysVoided(inv: { PrivateNote?: string; TotalAmt?: number }): boolean {
  return /^voided/i.test(inv.PrivateNote ?? '') && (inv.TotalAmt ?? 0) === 0;
}
