import { faults } from '../errors';
import { asString } from '../types';
import { type EntityModule, requireActiveRef } from './common';
import { SALES_FORM_READ_ONLY, prepareSalesForm } from './sales-form';

/** Accounts money can be refunded from (Intuit: DepositToAccountRef is a Bank or Other Current Asset account). */
const REFUND_ACCOUNT_TYPES = ['Bank', 'Other Current Asset'];

/**
 * RefundReceipt: money paid back to a customer, shaped like a sales form. DepositToAccountRef (the account the
 * refund is paid from) is required; PaymentMethodRef is optional but must name an active method. It is paid
 * in full when saved, so its Balance is 0.
 */
export const refundReceiptModule: EntityModule = {
  readOnly: [...SALES_FORM_READ_ONLY, 'RemainingCredit'],
  recomputed: ['TxnTaxDetail'],

  prepare(ctx, data) {
    prepareSalesForm(ctx, data, 'RefundReceipt');
    if (data.DepositToAccountRef === undefined || data.DepositToAccountRef === null)
      throw faults.required('DepositToAccountRef');
    const account = requireActiveRef(
      ctx.company,
      'Account',
      data.DepositToAccountRef,
      'DepositToAccountRef',
      'Name',
    );
    if (!account) throw faults.required('DepositToAccountRef');
    const type = asString(account.AccountType) ?? '';
    // UNCONFIRMED code: the account type is checked with a business validation fault.
    if (!REFUND_ACCOUNT_TYPES.includes(type)) {
      throw faults.business(
        `A refund must be paid from a Bank or Other Current Asset account; ${String(account.Name)} is ${type}.`,
        'DepositToAccountRef',
      );
    }
    requireActiveRef(ctx.company, 'PaymentMethod', data.PaymentMethodRef, 'PaymentMethodRef', 'Name');
    data.Balance = 0;
    return data;
  },
};
