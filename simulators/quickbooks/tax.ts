import { faults } from './errors';
import { centsText, fromCents, rateToScaled, taxInGross, taxOnNet } from './money';
import { type Company } from './store';
import { type Json, asArray, asJson, refValue } from './types';

/**
 * Sales tax for an invoice, in integer cents.
 *
 * Non-US model (docs/quickbooks-api.md §4.5): every SalesItemLineDetail line carries a TaxCodeRef; the code's
 * SalesTaxRateList names the rates. Tax is computed and rounded PER LINE (half away from zero), then summed
 * per rate into the TaxLine entries: QBO's global editions round line by line (consensus of integrators, e.g.
 * the 1-cent differences reported in quickbooks-ruby#547), which is why a sum of rounded line taxes can
 * differ by a cent from the rate applied to the total.
 *  - TaxExcluded: line Amount is net; tax = round(net × rate%).
 *  - TaxInclusive (default reading, after public evidence about the real API: quickbooks-ruby#346, #569): line
 *    Amount is NET and SalesItemLineDetail.TaxInclusiveAmt is the GROSS.
 *      · with TaxInclusiveAmt: tax = round(gross × rate / (100 + rate)), net = gross − tax, and Amount must
 *        equal that net to the cent (else 6070, UNCONFIRMED code/text);
 *      · without it: tax = round(net × rate%), gross = net + tax (TaxInclusiveAmt is added to the response).
 *  - TaxInclusive with `amountIsGross` (switch `taxInclusiveAmountIsGross`, the simulator's old reading): line
 *    Amount is gross; tax = round(gross × rate / (100 + rate)), net = gross − tax; TaxInclusiveAmt = Amount.
 *  - NotApplicable: no tax.
 * In TaxInclusive a code with several rates is taxed on the combined rate, rounded once per line, and split
 * across its rates (each rate but the last gets round(net × its rate), the last the remainder). Using the
 * combined rate both ways keeps net → gross → net stable, so a line echoed back from a response validates.
 * Either way TotalAmt = Σ net − discount + TotalTax, and TotalTax = Σ TaxLine.Amount.
 *
 * A DiscountLineDetail discount (UNCONFIRMED algorithm) is spread over the lines in proportion to their net
 * amounts and, when taken before tax (always outside the US; US: ApplyTaxAfterDiscount), each line is taxed
 * again on its net less its share, rounded per line and rate.
 *
 * US model: lines say TAX or NON; the rate comes from TxnTaxDetail.TxnTaxCodeRef applied to TAX lines
 * (Automated Sales Tax is not simulated).
 */

export type TaxMode = 'TaxExcluded' | 'TaxInclusive' | 'NotApplicable';

export interface TaxableLine {
  /** The line Amount as sent. */
  amountCents: number;
  /** SalesItemLineDetail.TaxInclusiveAmt as sent (read only for TaxInclusive when Amount is net). */
  grossCents?: number | undefined;
  taxCodeId: string | undefined;
}

export interface TaxOptions {
  /** US: the code whose rate applies to TAX lines. */
  txnTaxCodeId?: string | undefined;
  /** TaxInclusive: read Amount as the gross and ignore TaxInclusiveAmt (switch `taxInclusiveAmountIsGross`). */
  amountIsGross?: boolean;
  /** A transaction-level discount (DiscountLineDetail), in cents; taken off the total. */
  discountCents?: number;
  /** Tax is computed on the discounted amounts (default true; US: ApplyTaxAfterDiscount). */
  discountBeforeTax?: boolean;
}

/**
 * Splits `cents` across lines in proportion to their amounts, largest remainders first, so the shares add up
 * exactly. Lines adding up to 0 get nothing.
 */
export function allocate(cents: number, weights: readonly number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total === 0) return weights.map(() => 0);
  const exact = weights.map((weight) => (BigInt(cents) * BigInt(weight)) / BigInt(total));
  const shares = exact.map(Number);
  let left = cents - shares.reduce((sum, share) => sum + share, 0);
  const step = left > 0 ? 1 : -1;
  const order = weights
    .map((weight, index) => ({
      index,
      rest: Math.abs(Number((BigInt(cents) * BigInt(weight)) % BigInt(total))),
    }))
    .sort((a, b) => b.rest - a.rest || a.index - b.index);
  for (let i = 0; left !== 0 && order.length > 0; i = (i + 1) % order.length) {
    const entry = order[i];
    if (entry) shares[entry.index] = (shares[entry.index] ?? 0) + step;
    left -= step;
  }
  return shares;
}

export interface TaxSummary {
  totalTaxCents: number;
  netSubtotalCents: number;
  totalCents: number;
  /** Net amount of each input line, in input order. */
  lineNetCents: number[];
  /** Net + tax of each input line, in input order (TaxInclusiveAmt for TaxInclusive). */
  lineGrossCents: number[];
  taxLines: Array<{ rateId: string; percent: number; netCents: number; taxCents: number }>;
}

interface Rate {
  id: string;
  percent: number;
  scaled: bigint;
}

function salesRates(company: Company, taxCodeId: string): Rate[] {
  const code = company.get('TaxCode', taxCodeId);
  if (!code) return [];
  const details = asArray(asJson(code.data.SalesTaxRateList)?.TaxRateDetail);
  const rates: Rate[] = [];
  for (const detail of details) {
    const rateId = refValue(asJson(detail)?.TaxRateRef);
    const rate = rateId === undefined ? undefined : company.get('TaxRate', rateId);
    if (!rate || rateId === undefined) continue;
    const percent = Number(rate.data.RateValue ?? 0);
    rates.push({ id: rateId, percent, scaled: rateToScaled(rate.data.RateValue ?? 0) });
  }
  return rates;
}

export function computeTax(
  company: Company,
  lines: TaxableLine[],
  mode: TaxMode,
  options: TaxOptions = {},
): TaxSummary {
  const byRate = new Map<string, { percent: number; netCents: number; taxCents: number }>();
  const lineNetCents: number[] = [];
  const lineGrossCents: number[] = [];
  const us = company.country === 'US';
  const usRates = us && options.txnTaxCodeId !== undefined ? salesRates(company, options.txnTaxCodeId) : [];

  const perLine: Array<{ rates: Rate[]; net: number; perRate: number[] }> = [];
  for (const line of lines) {
    let rates: Rate[] = [];
    if (mode !== 'NotApplicable' && line.taxCodeId !== undefined) {
      rates = us ? (line.taxCodeId === 'TAX' ? usRates : []) : salesRates(company, line.taxCodeId);
    }
    const inclusive = mode === 'TaxInclusive' && !us;
    let net = line.amountCents;
    const perRate: number[] = [];
    if (inclusive) {
      const combined = rates.reduce((sum, rate) => sum + rate.scaled, 0n);
      let lineTax: number;
      if (options.amountIsGross === true) {
        lineTax = taxInGross(line.amountCents, combined);
        net = line.amountCents - lineTax;
      } else if (line.grossCents !== undefined) {
        lineTax = taxInGross(line.grossCents, combined);
        net = line.grossCents - lineTax;
        if (net !== line.amountCents) {
          throw faults.taxInclusiveAmountMismatch(
            centsText(line.amountCents),
            centsText(net),
            centsText(line.grossCents),
            centsText(lineTax),
          );
        }
      } else {
        lineTax = taxOnNet(net, combined);
      }
      // Split the line's tax across its rates; the last rate takes the rounding remainder.
      let remaining = lineTax;
      rates.forEach((rate, index) => {
        const share = index === rates.length - 1 ? remaining : taxOnNet(net, rate.scaled);
        remaining -= share;
        perRate.push(share);
      });
    } else {
      for (const rate of rates) perRate.push(taxOnNet(net, rate.scaled));
    }
    lineNetCents.push(net);
    lineGrossCents.push(net + perRate.reduce((sum, share) => sum + share, 0));
    perLine.push({ rates, net, perRate });
  }

  // A transaction discount taken before tax lowers each line's taxable amount by its pro-rata share; the
  // line's tax is then computed again on what is left (TaxInclusiveAmt stays the undiscounted gross).
  const discountCents = options.discountCents ?? 0;
  const taxedAfterDiscount = discountCents !== 0 && options.discountBeforeTax !== false;
  const shares = taxedAfterDiscount ? allocate(discountCents, lineNetCents) : lineNetCents.map(() => 0);
  perLine.forEach(({ rates, net, perRate }, index) => {
    const share = shares[index] ?? 0;
    const taxable = net - share;
    const taxes = share === 0 ? perRate : rates.map((rate) => taxOnNet(taxable, rate.scaled));
    rates.forEach((rate, rateIndex) => {
      const entry = byRate.get(rate.id) ?? { percent: rate.percent, netCents: 0, taxCents: 0 };
      entry.netCents += taxable;
      entry.taxCents += taxes[rateIndex] ?? 0;
      byRate.set(rate.id, entry);
    });
  });

  const taxLines = [...byRate].map(([rateId, entry]) => ({ rateId, ...entry }));
  const totalTaxCents = taxLines.reduce((sum, line) => sum + line.taxCents, 0);
  const netSubtotalCents = lineNetCents.reduce((sum, net) => sum + net, 0);
  return {
    totalTaxCents,
    netSubtotalCents,
    totalCents: netSubtotalCents - discountCents + totalTaxCents,
    lineNetCents,
    lineGrossCents,
    taxLines,
  };
}

export function txnTaxDetailJson(summary: TaxSummary, txnTaxCodeId?: string): Json {
  const detail: Json = {};
  if (txnTaxCodeId !== undefined) detail.TxnTaxCodeRef = { value: txnTaxCodeId };
  detail.TotalTax = fromCents(summary.totalTaxCents);
  if (summary.taxLines.length > 0) {
    detail.TaxLine = summary.taxLines.map((line) => ({
      Amount: fromCents(line.taxCents),
      DetailType: 'TaxLineDetail',
      TaxLineDetail: {
        TaxRateRef: { value: line.rateId },
        PercentBased: true,
        TaxPercent: line.percent,
        NetAmountTaxable: fromCents(line.netCents),
      },
    }));
  }
  return detail;
}

/** Validates a line's TaxCodeRef for the company's tax model. */
export function checkLineTaxCode(company: Company, taxCodeId: string | undefined, mode: TaxMode): void {
  if (company.country === 'US') {
    if (taxCodeId !== undefined && taxCodeId !== 'TAX' && taxCodeId !== 'NON')
      throw faults.invalidLineTaxCode(taxCodeId);
    return;
  }
  if (mode === 'NotApplicable') return;
  if (taxCodeId === undefined) {
    // Global editions refuse sales lines without a tax code (the UI's "Make sure all your transactions have a GST rate").
    throw faults.business('Make sure all your transactions have a GST rate before you save.', 'TaxCodeRef');
  }
  const code = company.get('TaxCode', taxCodeId);
  if (!code) throw faults.invalidReference('TaxCode', taxCodeId, 'TaxCodeRef');
  if (code.data.Active === false) throw faults.objectNotFound('TaxCodeRef');
}
