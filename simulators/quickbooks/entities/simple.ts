import { faults } from '../errors';
import { type EntityModule, checkEnum, checkNameFree, checkPersonName, homeCurrency, text } from './common';
import { checkContactDetails } from './contact';

const ACCOUNT_CLASSIFICATION: Record<string, string> = {
  Bank: 'Asset',
  'Accounts Receivable': 'Asset',
  'Other Current Asset': 'Asset',
  'Fixed Asset': 'Asset',
  'Other Asset': 'Asset',
  'Accounts Payable': 'Liability',
  'Credit Card': 'Liability',
  'Other Current Liability': 'Liability',
  'Long Term Liability': 'Liability',
  Equity: 'Equity',
  Income: 'Revenue',
  'Other Income': 'Revenue',
  Expense: 'Expense',
  'Other Expense': 'Expense',
  'Cost of Goods Sold': 'Expense',
};

export const accountModule: EntityModule = {
  readOnly: ['FullyQualifiedName', 'CurrentBalance', 'CurrentBalanceWithSubAccounts', 'Classification'],
  prepare(ctx, data) {
    const name = text(data.Name);
    if (name === undefined || name === '') throw faults.required('Name');
    if (name.includes(':')) throw faults.invalidCharacters('Name', name);
    checkNameFree(ctx.company, 'Account', name, ctx.id, 'account');
    data.Name = name;
    const type = text(data.AccountType);
    if (type === undefined) throw faults.required('AccountType');
    const classification = ACCOUNT_CLASSIFICATION[type];
    if (classification === undefined) throw faults.invalidEnum('AccountType', type);
    data.Classification = classification;
    data.FullyQualifiedName = name;
    data.SubAccount = false;
    data.Active = data.Active !== false;
    data.CurrentBalance = 0;
    data.CurrentBalanceWithSubAccounts = 0;
    data.CurrencyRef ??= homeCurrency(ctx.company);
    return data;
  },
};

export const paymentMethodModule: EntityModule = {
  readOnly: [],
  prepare(ctx, data) {
    const name = text(data.Name);
    if (name === undefined || name === '') throw faults.required('Name');
    checkNameFree(ctx.company, 'PaymentMethod', name, ctx.id, 'payment method');
    data.Name = name;
    data.Type = checkEnum('Type', data.Type, ['CREDIT_CARD', 'NON_CREDIT_CARD'], 'NON_CREDIT_CARD');
    data.Active = data.Active !== false;
    return data;
  },
};

export const vendorModule: EntityModule = {
  readOnly: ['Balance'],
  prepare(ctx, data) {
    data.DisplayName = checkPersonName(ctx, data, 'Vendor');
    checkContactDetails(ctx, data);
    data.Active = data.Active !== false;
    data.Vendor1099 = data.Vendor1099 === true;
    data.Balance = 0;
    data.CurrencyRef ??= homeCurrency(ctx.company);
    data.PrintOnCheckName ??= data.CompanyName ?? data.DisplayName;
    return data;
  },
};

export const employeeModule: EntityModule = {
  readOnly: [],
  prepare(ctx, data) {
    data.DisplayName = checkPersonName(ctx, data, 'Employee');
    checkContactDetails(ctx, data);
    data.Active = data.Active !== false;
    data.PrintOnCheckName ??= data.DisplayName;
    return data;
  },
};

/**
 * TaxCode/TaxRate cannot be written through the API (docs/quickbooks-api.md §4.5); the control API edits
 * them.
 */
export const readOnlyModule: EntityModule = {
  readOnly: [],
  prepare(_ctx, data) {
    data.Active = data.Active !== false;
    return data;
  },
};
