import { faults } from '../errors';
import { fromCents } from '../money';
import { type Json, refValue } from '../types';
import { type EntityModule, type WriteContext, text } from './common';
import { setHomeAmount } from './currency';
import { appliedTo, paymentsLinkedTo } from './ledger';
import { paysFor } from './payment';
import { SALES_FORM_READ_ONLY, paymentLinks, prepareSalesForm } from './sales-form';

export const invoiceModule: EntityModule = {
  readOnly: [...SALES_FORM_READ_ONLY, 'DeliveryInfo', 'InvoiceLink'],
  recomputed: ['TxnTaxDetail'],

  prepare(ctx, data) {
    refuseCustomerChangeWhilePaid(ctx, data);
    const { totalCents } = prepareSalesForm(ctx, data, 'Invoice');
    const appliedCents = appliedTo(ctx.company, 'Invoice', ctx.id);
    if (appliedCents > totalCents) {
      throw faults.business(
        'The invoice total cannot be less than the payments already applied to it.',
        'Line',
      );
    }
    data.Balance = fromCents(totalCents - appliedCents);
    setHomeAmount(data, 'HomeBalance', totalCents - appliedCents);
    const linked = paymentsLinkedTo(ctx.company, 'Invoice', ctx.id);
    if (linked.length > 0) data.LinkedTxn = paymentLinks(linked);
    data.DueDate = text(data.DueDate) || data.TxnDate;
    data.Deposit ??= 0;
    data.AllowOnlinePayment ??= false;
    return data;
  },
};

/**
 * An invoice with payments applied cannot move to a customer those payments may not pay (another customer
 * than the payment's, or than a sub-customer of it). The rule is the one the Payment side enforces (a payment
 * links only its customer's, or its sub-customers', transactions; Intuit's Payment page); that QBO refuses
 * the invoice's customer change for it, and with this code and text, is UNCONFIRMED (README, Invoice).
 */
function refuseCustomerChangeWhilePaid(ctx: WriteContext, data: Json): void {
  const before = ctx.existing ? refValue(ctx.existing.CustomerRef) : undefined;
  const after = refValue(data.CustomerRef);
  if (before === undefined || after === undefined || before === after) return;
  for (const paymentId of paymentsLinkedTo(ctx.company, 'Invoice', ctx.id)) {
    const payer = refValue(ctx.company.get('Payment', paymentId)?.data.CustomerRef);
    if (payer !== undefined && !paysFor(ctx.company, payer, after))
      throw faults.business(
        `The customer of this invoice cannot be changed: payment ${paymentId} is applied to it, and belongs to another customer. Remove the payment from the invoice first.`,
        'CustomerRef',
      );
  }
}
