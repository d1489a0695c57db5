import fc from 'fast-check';
import { divRound, formatDecimal, parseDecimal, round2 } from '../../../simulators/servicem8/money';
import {
  type TotalsLine,
  jobTotals,
  lineAmounts,
  reconcileUnitPrices,
} from '../../../simulators/servicem8/totals';

const d = (text: string): bigint => {
  const value = parseDecimal(text);
  if (value === null) throw new Error(`bad decimal ${text}`);
  return value;
};

const line = (overrides: Partial<TotalsLine>): TotalsLine => ({
  quantity: d('1'),
  price: 0n,
  displayedAmount: 0n,
  taxInclusive: false,
  ratePercent: d('10'),
  active: true,
  ...overrides,
});

describe('money', () => {
  it('parses and prints 4-place decimal strings', () => {
    expect(formatDecimal(d('5.5'))).toBe('5.5000');
    expect(formatDecimal(d('-0.125'))).toBe('-0.1250');
    expect(formatDecimal(d('.5'))).toBe('0.5000');
    expect(formatDecimal(d('12'))).toBe('12.0000');
    expect(formatDecimal(parseDecimal(20.7) ?? 0n)).toBe('20.7000');
    expect(parseDecimal('abc')).toBeNull();
    expect(parseDecimal('1e3')).toBeNull();
    expect(parseDecimal('')).toBeNull();
  });

  it('rounds beyond 4 places and to cents half away from zero', () => {
    expect(formatDecimal(d('1.23455'))).toBe('1.2346');
    expect(formatDecimal(d('-1.23455'))).toBe('-1.2346');
    expect(formatDecimal(round2(d('1.005')))).toBe('1.0100');
    expect(formatDecimal(round2(d('-1.005')))).toBe('-1.0100');
    expect(formatDecimal(round2(d('1.0049')))).toBe('1.0000');
    expect(divRound(5n, 2n)).toBe(3n);
    expect(divRound(-5n, 2n)).toBe(-3n);
    expect(divRound(7n, 3n)).toBe(2n);
  });
});

describe('line amounts', () => {
  it('tax-exclusive line: ex = round2(qty * round2(price)), tax = round2(ex * rate)', () => {
    const amounts = lineAmounts(line({ quantity: d('3'), price: d('33.335'), ratePercent: d('10') }));
    // unit 33.34 (rounded), ex 100.02, tax 10.002 -> 10.00
    expect(amounts).toEqual({ exTaxCents: 10002n, taxCents: 1000n, incTaxCents: 11002n });
  });

  it('tax-inclusive line: inc = round2(qty * displayed), tax = round2(inc * rate / (100 + rate))', () => {
    const amounts = lineAmounts(
      line({ quantity: d('2'), displayedAmount: d('285.00'), price: d('259.09'), taxInclusive: true }),
    );
    // inc 570.00, tax 51.818... -> 51.82, ex 518.18
    expect(amounts).toEqual({ exTaxCents: 51818n, taxCents: 5182n, incTaxCents: 57000n });
  });

  it('fractional quantities round the line, not the unit', () => {
    const amounts = lineAmounts(line({ quantity: d('1.5'), price: d('20.70'), ratePercent: d('10') }));
    // 31.05 ex, 3.105 -> 3.11 tax
    expect(amounts.incTaxCents).toBe(3416n);
  });

  it('zero-rated and negative (discount) lines mirror positive ones', () => {
    expect(lineAmounts(line({ price: d('64.50'), ratePercent: 0n })).incTaxCents).toBe(6450n);
    expect(lineAmounts(line({ quantity: d('-1'), price: d('33.335') })).incTaxCents).toBe(-3667n);
    expect(lineAmounts(line({ quantity: d('1'), price: d('33.335') })).incTaxCents).toBe(3667n);
  });

  it('job total sums active lines only', () => {
    const lines = [
      line({ quantity: d('1'), price: d('100') }),
      line({ quantity: d('2'), displayedAmount: d('11.00'), taxInclusive: true }),
      line({ quantity: d('5'), price: d('1000'), active: false }),
    ];
    expect(jobTotals(lines)).toEqual({ exTaxCents: 12000n, taxCents: 1200n, incTaxCents: 13200n });
  });
});

describe('price consistency ("the system may adjust price")', () => {
  const rate = d('10');

  it('inclusive line: a supplied displayed_amount wins and price is derived, rounded to cents', () => {
    const result = reconcileUnitPrices({
      price: d('999'),
      displayedAmount: d('285.00'),
      taxInclusive: true,
      ratePercent: rate,
      source: 'displayed_amount',
    });
    expect(formatDecimal(result.price)).toBe('259.0900');
    expect(formatDecimal(result.displayedAmount)).toBe('285.0000');
  });

  it('inclusive line with only price supplied derives the displayed amount', () => {
    const result = reconcileUnitPrices({
      price: d('100'),
      displayedAmount: 0n,
      taxInclusive: true,
      ratePercent: rate,
      source: 'price',
    });
    expect(formatDecimal(result.displayedAmount)).toBe('110.0000');
  });

  it('exclusive line shows the ex-tax price', () => {
    const fromPrice = reconcileUnitPrices({
      price: d('20.7'),
      displayedAmount: d('99'),
      taxInclusive: false,
      ratePercent: rate,
      source: 'price',
    });
    expect(formatDecimal(fromPrice.displayedAmount)).toBe('20.7000');
    const fromDisplayed = reconcileUnitPrices({
      price: 0n,
      displayedAmount: d('12.5'),
      taxInclusive: false,
      ratePercent: rate,
      source: 'displayed_amount',
    });
    expect(formatDecimal(fromDisplayed.price)).toBe('12.5000');
  });

  it('switching $1.15 inc to ex moves the total to $1.16 (documented cent drift)', () => {
    const inc = reconcileUnitPrices({
      price: 0n,
      displayedAmount: d('1.15'),
      taxInclusive: true,
      ratePercent: rate,
      source: 'displayed_amount',
    });
    expect(formatDecimal(inc.price)).toBe('1.0500');
    const ex = reconcileUnitPrices({ ...inc, taxInclusive: false, ratePercent: rate, source: 'none' });
    expect(lineAmounts(line({ price: ex.price, displayedAmount: ex.displayedAmount })).incTaxCents).toBe(
      116n,
    );
  });
});

/** Half-up rounding of a positive ratio of safe integers, written independently of money.ts. */
function roundRatio(numerator: number, denominator: number): number {
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}

describe('property: total equals the sum of independently rounded inc-tax line amounts', () => {
  it('holds for random jobs with mixed inc/ex lines and rates', () => {
    const lineArb = fc.record({
      quantityHundredths: fc.integer({ min: 0, max: 10_000 }),
      unitCents: fc.integer({ min: 0, max: 500_000 }),
      rateTenths: fc.constantFrom(0, 100, 125, 150, 200, 70),
      inclusive: fc.boolean(),
      active: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 12 }), (lines) => {
        let expected = 0;
        const totalsLines: TotalsLine[] = lines.map((l) => {
          const unit = BigInt(l.unitCents) * 100n;
          if (l.active) {
            // lineCents = round(qty/100 * unitCents)
            const lineCents = roundRatio(l.quantityHundredths * l.unitCents, 100);
            if (l.inclusive) {
              expected += lineCents;
            } else {
              expected += lineCents + roundRatio(lineCents * l.rateTenths, 1000);
            }
          }
          return {
            quantity: BigInt(l.quantityHundredths) * 100n,
            price: l.inclusive ? 0n : unit,
            displayedAmount: unit,
            taxInclusive: l.inclusive,
            ratePercent: BigInt(l.rateTenths) * 1000n,
            active: l.active,
          };
        });
        const totals = jobTotals(totalsLines);
        expect(totals.incTaxCents).toBe(BigInt(expected));
        expect(totals.exTaxCents + totals.taxCents).toBe(totals.incTaxCents);
      }),
      { numRuns: 300 },
    );
  });
});
