/**
 * Job totals and jobmaterial price consistency, as the simulator implements them. Pure functions.
 *
 * ServiceM8 does not publish its algorithm. What is documented: `price` is the ex-tax unit price,
 * `displayed_amount` is the unit price shown inc- or ex-tax per `displayed_amount_is_tax_inclusive`, unit
 * prices are rounded to 2 decimal places, "the system may adjust price to keep it consistent with
 * tax-inclusive pricing", switching a line between inc and ex can move the total by a cent ($1.15 inc
 * becomes $1.16), and `total_invoice_amount` is tax-inclusive. The simulator turns that into:
 *
 * Tax-exclusive line (`displayed_amount_is_tax_inclusive` "0"):
 *   unit   = round2(price)
 *   ex     = round2(quantity * unit)
 *   tax    = round2(ex * rate / 100)
 *   inc    = ex + tax
 * Tax-inclusive line ("1"):
 *   unit   = round2(displayed_amount)
 *   inc    = round2(quantity * unit)
 *   tax    = round2(inc * rate / (100 + rate))
 *   ex     = inc - tax
 * Job: total_invoice_amount = sum of `inc` over the job's ACTIVE jobmaterials (inactive lines excluded).
 *
 * Rounding is half away from zero everywhere, so negative (discount) lines mirror positive ones.
 */
import { CENT, ONE, divRound, toCents } from './money';

/** One jobmaterial as the totals need it: all decimals already parsed to ten-thousandths. */
export interface TotalsLine {
  quantity: bigint;
  /** Ex-tax unit price. */
  price: bigint;
  /** Unit price as shown: inc-tax when `taxInclusive`, else ex-tax. */
  displayedAmount: bigint;
  taxInclusive: boolean;
  /** Tax rate as a percentage in ten-thousandths (10% = 100000n). */
  ratePercent: bigint;
  active: boolean;
}

/** Per-line amounts in whole cents. */
export interface LineAmounts {
  exTaxCents: bigint;
  taxCents: bigint;
  incTaxCents: bigint;
}

/** 100% expressed in ten-thousandths of a percent. */
const HUNDRED_PERCENT = 100n * ONE;

/** Amounts of a single line, ignoring whether it is active. */
export function lineAmounts(line: TotalsLine): LineAmounts {
  if (line.taxInclusive) {
    const unitIncCents = toCents(line.displayedAmount);
    const incTaxCents = divRound(line.quantity * unitIncCents, ONE);
    const taxCents = divRound(incTaxCents * line.ratePercent, HUNDRED_PERCENT + line.ratePercent);
    return { exTaxCents: incTaxCents - taxCents, taxCents, incTaxCents };
  }
  const unitExCents = toCents(line.price);
  const exTaxCents = divRound(line.quantity * unitExCents, ONE);
  const taxCents = divRound(exTaxCents * line.ratePercent, HUNDRED_PERCENT);
  return { exTaxCents, taxCents, incTaxCents: exTaxCents + taxCents };
}

/** Sum of the active lines' amounts, in whole cents. `incTaxCents` is the job's total_invoice_amount. */
export function jobTotals(lines: readonly TotalsLine[]): LineAmounts {
  let exTaxCents = 0n;
  let taxCents = 0n;
  let incTaxCents = 0n;
  for (const line of lines) {
    if (!line.active) continue;
    const amounts = lineAmounts(line);
    exTaxCents += amounts.exTaxCents;
    taxCents += amounts.taxCents;
    incTaxCents += amounts.incTaxCents;
  }
  return { exTaxCents, taxCents, incTaxCents };
}

/** Which of a line's two unit prices the writer supplied (or changed) in this write. */
export type PriceSource = 'price' | 'displayed_amount' | 'none';

/**
 * Makes `price` (ex-tax) and `displayed_amount` consistent after a write, the simulator's version of
 * "the system may adjust price". Used for cost/displayed_cost too.
 *
 * - Tax-inclusive line: `displayed_amount` is what the customer sees, so it wins whenever it was supplied;
 *   price = round2(displayed / (1 + rate)). If only `price` was supplied, displayed = round2(price * (1 + rate)).
 * - Tax-exclusive line: the ex-tax price wins whenever it was supplied and displayed = price; if only
 *   `displayed_amount` was supplied, price = displayed.
 * - Nothing supplied (e.g. the tax flag or the tax rate changed): recomputed from `price`, except on an
 *   inclusive line whose rate changed, where the shown amount is kept and price is recomputed.
 */
export function reconcileUnitPrices(input: {
  price: bigint;
  displayedAmount: bigint;
  taxInclusive: boolean;
  ratePercent: bigint;
  source: PriceSource;
  keepDisplayed?: boolean;
}): { price: bigint; displayedAmount: bigint } {
  const { price, displayedAmount, taxInclusive, ratePercent, source } = input;
  if (!taxInclusive) {
    if (source === 'displayed_amount') return { price: displayedAmount, displayedAmount };
    return { price, displayedAmount: price };
  }
  const displayedWins = source === 'displayed_amount' || (source === 'none' && input.keepDisplayed === true);
  if (displayedWins) {
    const priceCents = divRound(displayedAmount * HUNDRED_PERCENT, (HUNDRED_PERCENT + ratePercent) * CENT);
    return { price: priceCents * CENT, displayedAmount };
  }
  const displayedCents = divRound(price * (HUNDRED_PERCENT + ratePercent), HUNDRED_PERCENT * CENT);
  return { price, displayedAmount: displayedCents * CENT };
}
