import fc from 'fast-check';
import { AU_TAX_CODE_IDS as TAX, basics, faultCode, startTestSim, type TestSim } from './helpers';

/** Independent oracle, integer cents only: GST 10 % (code 4), GST Free 0 % (5), Out Of Scope no tax (7). */
const RATE: Record<string, number | undefined> = {
  [TAX.gst]: 10,
  [TAX.gstFree]: 0,
  [TAX.outOfScope]: undefined,
};

/** n / d rounded half away from zero, for n >= 0 and d > 0. */
function roundDiv(numerator: number, denominator: number): number {
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}

function roundDivBig(numerator: bigint, denominator: bigint): bigint {
  return (2n * numerator + denominator) / (2n * denominator);
}

/** A count of 10^-scale units as a JSON number with exactly that decimal expansion (shortest form). */
function decimal(units: bigint, scale: number): number {
  const unit = 10n ** BigInt(scale);
  return Number(`${units / unit}.${(units % unit).toString().padStart(scale, '0')}`);
}

interface GeneratedLine {
  /** Gross (TaxInclusive with TaxInclusiveAmt) or net (otherwise), in cents. */
  valueCents: number;
  qtyHundredths: number;
  qtyOne: boolean;
  sendGross: boolean;
  code: string;
}

const cents = (value: unknown): number => Math.round(Number(value) * 100);

describe('QBO simulator: invoice tax property', () => {
  let t: TestSim;
  let customerId: string;
  let itemId: string;
  beforeAll(async () => {
    t = await startTestSim();
    ({ customerId, itemId } = await basics(t.api));
  });
  afterAll(async () => {
    await t.sim.stop();
  });

  it('TotalAmt = Σ gross (TaxInclusive) or Σ(net + round(net × r)) (TaxExcluded), to the cent, for random invoices', async () => {
    const line = fc.record({
      valueCents: fc.integer({ min: 0, max: 250_000 }),
      qtyHundredths: fc.integer({ min: 1, max: 5000 }),
      qtyOne: fc.boolean(),
      sendGross: fc.integer({ min: 0, max: 3 }).map((n) => n > 0), // mostly with TaxInclusiveAmt
      code: fc.constantFrom(TAX.gst, TAX.gstFree, TAX.outOfScope),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 8 }),
        fc.constantFrom('TaxExcluded', 'TaxInclusive'),
        async (lines: GeneratedLine[], mode) => {
          const inclusive = mode === 'TaxInclusive';
          const expected = lines.map((l) => {
            const rate = RATE[l.code];
            const withGross = inclusive && l.sendGross;
            if (withGross) {
              const tax = rate === undefined ? 0 : roundDiv(l.valueCents * rate, 100 + rate);
              return { net: l.valueCents - tax, tax, gross: l.valueCents, withGross };
            }
            const tax = rate === undefined ? 0 : roundDiv(l.valueCents * rate, 100);
            return { net: l.valueCents, tax, gross: l.valueCents + tax, withGross };
          });
          const response = await t.api.post('/invoice', {
            CustomerRef: { value: customerId },
            GlobalTaxCalculation: mode,
            Line: lines.map((l, index) => {
              const e = expected[index] ?? { net: 0, gross: 0, withGross: false };
              // UnitPrice with 7 decimals: round(Qty × UnitPrice) = net exactly (|error| ≤ 50 × 0.5e-7).
              const qty = l.qtyOne ? 1 : l.qtyHundredths / 100;
              const unitPrice = l.qtyOne
                ? e.net / 100
                : decimal(roundDivBig(BigInt(e.net) * 10n ** 7n, BigInt(l.qtyHundredths)), 7);
              return {
                DetailType: 'SalesItemLineDetail',
                Amount: e.net / 100,
                SalesItemLineDetail: {
                  ItemRef: { value: itemId },
                  Qty: qty,
                  UnitPrice: unitPrice,
                  TaxCodeRef: { value: l.code },
                  ...(e.withGross ? { TaxInclusiveAmt: e.gross / 100 } : {}),
                },
              };
            }),
          });
          expect(response.status).toBe(200);
          const invoice = response.data.Invoice;

          const expectedTax = expected.reduce((sum, e) => sum + e.tax, 0);
          const expectedNet = expected.reduce((sum, e) => sum + e.net, 0);
          const expectedTotal = expected.reduce((sum, e) => sum + e.gross, 0);

          const taxLines: Array<{ Amount: number; TaxLineDetail: { NetAmountTaxable: number } }> =
            invoice.TxnTaxDetail.TaxLine ?? [];
          const totalTax = cents(invoice.TxnTaxDetail.TotalTax);
          const untaxedNet = lines.reduce(
            (sum, l, index) => sum + (RATE[l.code] === undefined ? (expected[index]?.net ?? 0) : 0),
            0,
          );
          const subtotal =
            taxLines.reduce((sum, tl) => sum + cents(tl.TaxLineDetail.NetAmountTaxable), 0) + untaxedNet;

          expect(cents(invoice.TotalAmt)).toBe(expectedTotal);
          expect(totalTax).toBe(taxLines.reduce((sum, tl) => sum + cents(tl.Amount), 0));
          expect(cents(invoice.TotalAmt)).toBe(subtotal + totalTax);
          expect(totalTax).toBe(expectedTax);
          expect(subtotal).toBe(expectedNet);
          expect(cents(invoice.Balance)).toBe(cents(invoice.TotalAmt));
          const salesLines: Array<{ Amount: number; SalesItemLineDetail: { TaxInclusiveAmt?: number } }> =
            invoice.Line.slice(0, lines.length);
          expect(salesLines.map((l) => cents(l.Amount))).toEqual(expected.map((e) => e.net));
          expect(salesLines.map((l) => l.SalesItemLineDetail.TaxInclusiveAmt)).toEqual(
            expected.map((e) => (inclusive ? e.gross / 100 : undefined)),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('accepts UnitPrice with up to 7 decimals and checks Amount = round(Qty × UnitPrice) exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 9_999_999 }), // Qty in 10^-4 (0.0001 … 999.9999)
        fc.integer({ min: 0, max: 99_999_999_999 }), // UnitPrice in 10^-7 (0 … 9999.9999999)
        fc.integer({ min: 0, max: 7 }), // decimals actually used by UnitPrice
        async (qtyUnits, priceUnitsRaw, decimals) => {
          const drop = 10n ** BigInt(7 - decimals);
          const priceUnits = (BigInt(priceUnitsRaw) / drop) * drop;
          // round(qty × price) in cents: qty·10^-4 × price·10^-7 = units·10^-11 dollars = units·10^-9 cents.
          const amountCents = roundDivBig(BigInt(qtyUnits) * priceUnits, 10n ** 9n);
          const post = (amount: bigint) =>
            t.api.post('/invoice', {
              CustomerRef: { value: customerId },
              Line: [
                {
                  DetailType: 'SalesItemLineDetail',
                  Amount: decimal(amount, 2),
                  SalesItemLineDetail: {
                    ItemRef: { value: itemId },
                    Qty: decimal(BigInt(qtyUnits), 4),
                    UnitPrice: decimal(priceUnits, 7),
                    TaxCodeRef: { value: TAX.gstFree },
                  },
                },
              ],
            });
          const ok = await post(amountCents);
          expect(ok.status).toBe(200);
          expect(cents(ok.data.Invoice.TotalAmt)).toBe(Number(amountCents));
          expect(faultCode((await post(amountCents + 1n)).data)).toBe('6070');
        },
      ),
      { numRuns: 100 },
    );
  });
});
