import { faults } from '../errors';
import { divRound, fromCents, toScaled } from '../money';
import { type Company } from '../store';
import { type Json, asJson, asString, refValue } from '../types';
import { type WriteContext } from './common';

/**
 * Multicurrency (Intuit, "Manage multiple currencies"): off by default and, once on, never off again; every
 * name-list record and transaction has one currency, the home currency unless said otherwise; a customer's
 * currency is fixed once it has transactions, and a transaction is in its customer's currency. CurrencyRef
 * carries the ISO 4217 code (`{"value":"USD","name":"United States Dollar"}`); ExchangeRate is the number of
 * home units one foreign unit is worth. Error codes and texts for the refusals are UNCONFIRMED (6000).
 */

export const CURRENCY_NAMES: Readonly<Record<string, string>> = {
  AUD: 'Australian Dollar',
  USD: 'United States Dollar',
  NZD: 'New Zealand Dollar',
  GBP: 'British Pound Sterling',
  EUR: 'Euro',
  CAD: 'Canadian Dollar',
  SGD: 'Singapore Dollar',
  HKD: 'Hong Kong Dollar',
  JPY: 'Japanese Yen',
  CNY: 'Chinese Yuan Renminbi',
  INR: 'Indian Rupee',
  FJD: 'Fiji Dollar',
  PGK: 'Papua New Guinean Kina',
  CHF: 'Swiss Franc',
  ZAR: 'South African Rand',
};

const RATE_SCALE = 6;
const RATE_UNIT = 10n ** BigInt(RATE_SCALE);

export function currencyRef(code: string): Json {
  const name = CURRENCY_NAMES[code];
  return name === undefined ? { value: code } : { value: code, name };
}

export function homeCurrencyCode(company: Company): string {
  const prefs = asJson(company.preferences.CurrencyPrefs);
  return refValue(prefs?.HomeCurrency) ?? (company.country === 'AU' ? 'AUD' : 'USD');
}

export function multiCurrencyEnabled(company: Company): boolean {
  return asJson(company.preferences.CurrencyPrefs)?.MultiCurrencyEnabled === true;
}

function currencyCodeOf(ref: unknown): string | undefined {
  const code = refValue(ref);
  return code === undefined ? undefined : code.toUpperCase();
}

function checkKnown(code: string): void {
  if (CURRENCY_NAMES[code] === undefined) throw faults.invalidReference('Currency', code, 'CurrencyRef');
}

function notEnabled(company: Company, code: string): never {
  throw faults.business(
    `Multicurrency is not turned on in this company: everything is in ${homeCurrencyCode(company)}, so ${code} cannot be used.`,
    'CurrencyRef',
  );
}

function customerHasTransactions(company: Company, customerId: string): boolean {
  return (['Invoice', 'Payment', 'CreditMemo', 'RefundReceipt'] as const).some((entity) =>
    company.all(entity).some((txn) => refValue(txn.data.CustomerRef) === customerId),
  );
}

/**
 * A customer's CurrencyRef: the one sent, else the one it had, else its parent's, else the home currency.
 * A job shares its parent's currency; a customer with transactions keeps its currency.
 */
export function checkCustomerCurrency(ctx: WriteContext, data: Json, parent: Json | undefined): void {
  const { company } = ctx;
  const home = homeCurrencyCode(company);
  const before = currencyCodeOf(ctx.existing?.CurrencyRef);
  const parentCode = parent ? currencyCodeOf(parent.CurrencyRef) : undefined;
  const code = currencyCodeOf(data.CurrencyRef) ?? before ?? parentCode ?? home;
  checkKnown(code);
  if (code !== home && !multiCurrencyEnabled(company)) notEnabled(company, code);
  if (parentCode !== undefined && code !== parentCode) {
    throw faults.business(
      `A sub-customer uses its parent's currency (${parentCode}); ${code} was given.`,
      'CurrencyRef',
    );
  }
  if (before !== undefined && code !== before && customerHasTransactions(company, ctx.id)) {
    throw faults.business(
      `The currency of ${String(data.DisplayName)} cannot be changed from ${before} to ${code}: the customer already has transactions.`,
      'CurrencyRef',
    );
  }
  data.CurrencyRef = currencyRef(code);
}

/**
 * A transaction's CurrencyRef must be its customer's currency (omitted: the customer's, unless the switch
 * `currencyRefRequired` asks for it in a multicurrency company). With multicurrency on, ExchangeRate is 1 for
 * the home currency and otherwise the rate sent, else the company's current rate (set through the control
 * API), else 1; `setHomeAmount` then reads it for the Home* amounts. Without multicurrency: no ExchangeRate.
 */
export function checkTransactionCurrency(
  ctx: WriteContext,
  data: Json,
  customer: Json | undefined,
  entity: string,
): void {
  const { company } = ctx;
  const home = homeCurrencyCode(company);
  const customerCode = currencyCodeOf(customer?.CurrencyRef) ?? home;
  const sent = currencyCodeOf(data.CurrencyRef);
  const enabled = multiCurrencyEnabled(company);
  if (sent === undefined && enabled && ctx.options.currencyRefRequired) throw faults.required('CurrencyRef');
  const code = sent ?? customerCode;
  checkKnown(code);
  if (code !== home && !enabled) notEnabled(company, code);
  if (code !== customerCode) {
    throw faults.business(
      `The currency of this ${entity} (${code}) is not the currency of customer ${String(customer?.DisplayName)} (${customerCode}).`,
      'CurrencyRef',
    );
  }
  data.CurrencyRef = currencyRef(code);
  if (!enabled) {
    delete data.ExchangeRate;
    return;
  }
  let rate = RATE_UNIT;
  if (code !== home) {
    const sentRate = data.ExchangeRate;
    const scaled =
      sentRate === undefined || sentRate === null
        ? toScaled(company.exchangeRates.get(code) ?? '1', RATE_SCALE)
        : toScaled(sentRate, RATE_SCALE);
    if (scaled === undefined || scaled <= 0n) throw faults.invalidNumber('ExchangeRate', sentRate);
    rate = scaled;
  }
  data.ExchangeRate = Number(rate) / Number(RATE_UNIT);
}

/** An amount in cents converted at `rate` (10^6 scale) into home cents, rounded half away from zero. */
export function homeCents(cents: number, rate: bigint): number {
  return Number(divRound(BigInt(cents) * rate, RATE_UNIT));
}

/** Sets `field` to the home-currency value of `cents` when the transaction carries an ExchangeRate. */
export function setHomeAmount(data: Json, field: string, cents: number): void {
  const rate = data.ExchangeRate === undefined ? undefined : toScaled(data.ExchangeRate, RATE_SCALE);
  if (rate === undefined) {
    delete data[field];
    return;
  }
  data[field] = fromCents(homeCents(cents, rate));
}

export function currencyOf(txn: Json): string | undefined {
  return asString(asJson(txn.CurrencyRef)?.value);
}
