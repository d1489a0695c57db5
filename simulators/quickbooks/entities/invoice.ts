import { faults } from '../errors';
import { fromCents } from '../money';
import { type EntityModule, text } from './common';
import { setHomeAmount } from './currency';
import { appliedTo, paymentsLinkedTo } from './ledger';
import { SALES_FORM_READ_ONLY, paymentLinks, prepareSalesForm } from './sales-form';

export const invoiceModule: EntityModule = {
  readOnly: [...SALES_FORM_READ_ONLY, 'DeliveryInfo', 'InvoiceLink'],
  recomputed: ['TxnTaxDetail'],

  prepare(ctx, data) {
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
