import { faults } from '../errors';
import { fromCents } from '../money';
import { type EntityModule } from './common';
import { setHomeAmount } from './currency';
import { appliedTo, paymentsLinkedTo } from './ledger';
import { SALES_FORM_READ_ONLY, paymentLinks, prepareSalesForm } from './sales-form';

/**
 * CreditMemo: a sales form whose positive lines mean "credit" (Intuit XSD: extends SalesTransaction).
 * RemainingCredit ("Non QB-writable") and Balance are the credit not yet used by a Payment that links the
 * credit memo (LinkedTxn TxnType CreditMemo).
 */
export const creditMemoModule: EntityModule = {
  readOnly: [...SALES_FORM_READ_ONLY, 'RemainingCredit', 'DeliveryInfo'],
  recomputed: ['TxnTaxDetail'],

  prepare(ctx, data) {
    const { totalCents } = prepareSalesForm(ctx, data, 'CreditMemo');
    const usedCents = appliedTo(ctx.company, 'CreditMemo', ctx.id);
    if (usedCents > totalCents) {
      throw faults.business(
        'The credit memo total cannot be less than the credit already applied to invoices.',
        'Line',
      );
    }
    data.RemainingCredit = fromCents(totalCents - usedCents);
    data.Balance = data.RemainingCredit;
    setHomeAmount(data, 'HomeBalance', totalCents - usedCents);
    const linked = paymentsLinkedTo(ctx.company, 'CreditMemo', ctx.id);
    if (linked.length > 0) data.LinkedTxn = paymentLinks(linked);
    return data;
  },
};
