import { memoSaysVoided, zeroedInvoice, zeroedPayment } from '../../domain/invoice/voids';

const line = (Amount: number, Qty: number) => ({
  Amount,
  DetailType: 'SalesItemLineDetail',
  SalesItemLineDetail: { Qty },
});
const subtotal = { Amount: 0, DetailType: 'SubTotalLineDetail' };

describe('INV-10, PAY-3: how a void is known from a record (domain/invoice/voids.ts)', () => {
  it('INV-10: an invoice in the void shape (total 0, every sales line amount 0 and qty 0) whatever its memo', () => {
    expect(zeroedInvoice({ TotalAmt: 0, Line: [line(0, 0), line(0, 0), subtotal] })).toBe(true);
    expect(zeroedInvoice({ TotalAmt: 0, PrivateNote: 'Annulé', Line: [line(0, 0)] })).toBe(true);
  });

  it('INV-10: not a void: a line with a quantity or an amount, a non-zero total, no sales line', () => {
    expect(zeroedInvoice({ TotalAmt: 0, Line: [line(0, 2)] })).toBe(false);
    expect(zeroedInvoice({ TotalAmt: 0, Line: [line(10, 1), line(-10, 1)] })).toBe(false);
    expect(zeroedInvoice({ TotalAmt: 5, Line: [line(0, 0)] })).toBe(false);
    expect(zeroedInvoice({ TotalAmt: 0, Line: [subtotal] })).toBe(false);
  });

  it('PAY-3: a payment that applies nothing and totals 0 is voided; a credit-funded 0 payment is not', () => {
    expect(zeroedPayment({ TotalAmt: 0, Line: [{ Amount: 0 }] })).toBe(true);
    expect(zeroedPayment({ TotalAmt: 0, Line: [{ Amount: 50 }, { Amount: 50 }] })).toBe(false);
    expect(zeroedPayment({ TotalAmt: 0, Line: [] })).toBe(false);
  });

  it('INV-10: the memo fallback needs "Voided" first and a zero total', () => {
    expect(memoSaysVoided({ PrivateNote: 'Voided - [sm8:job:x]', TotalAmt: 0 })).toBe(true);
    expect(memoSaysVoided({ PrivateNote: 'Voided', TotalAmt: 10 })).toBe(false);
    expect(memoSaysVoided({ PrivateNote: '[sm8:job:x]', TotalAmt: 0 })).toBe(false);
  });
});
