/**
 * Exact decimal helpers. JSON carries money as numbers (12.34); everything inside the simulator is integer
 * cents or scaled bigints so sums never drift. Rounding is half away from zero, as QBO shows it.
 */

const DECIMAL = /^(-?)(\d*)(?:\.(\d*))?$/;

function decimalString(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    const text = String(value);
    return text.includes('e') ? value.toFixed(12) : text;
  }
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  return undefined;
}

/** The value as an integer count of 10^-scale units (rounded), or undefined when not a decimal. */
export function toScaled(value: unknown, scale: number): bigint | undefined {
  const text = decimalString(value);
  if (text === undefined) return undefined;
  const match = DECIMAL.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return undefined;
  const negative = match[1] === '-';
  const whole = match[2] === '' ? '0' : (match[2] ?? '0');
  const fraction = match[3] ?? '';
  const kept = fraction.slice(0, scale).padEnd(scale, '0');
  let units = BigInt(whole + kept);
  const firstDropped = fraction.charAt(scale);
  if (firstDropped !== '' && firstDropped >= '5') units += 1n;
  return negative ? -units : units;
}

export function toCents(value: unknown): number | undefined {
  const scaled = toScaled(value, 2);
  return scaled === undefined ? undefined : Number(scaled);
}

/** Cents back to a JSON number (1234 -> 12.34). */
export function fromCents(cents: number): number {
  return cents / 100;
}

/** Cents as a fixed two-decimal string for messages (1234 -> "12.34", -5 -> "-0.05"). */
export function centsText(cents: number): string {
  const abs = Math.abs(cents);
  const text = `${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
  return cents < 0 ? `-${text}` : text;
}

/** n / d rounded half away from zero. */
export function divRound(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError('division by zero');
  const negative = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  const q = (an * 2n + ad) / (2n * ad);
  return negative ? -q : q;
}

/** Percent rates are kept with 4 decimals: 10 -> 100000n, 9.975 -> 99750n. */
export const RATE_SCALE = 4;
const RATE_UNIT = 10n ** BigInt(RATE_SCALE);

export function rateToScaled(rate: unknown): bigint {
  return toScaled(rate, RATE_SCALE) ?? 0n;
}

/** Tax on a tax-exclusive amount: round(net * rate%). */
export function taxOnNet(netCents: number, rateScaled: bigint): number {
  return Number(divRound(BigInt(netCents) * rateScaled, 100n * RATE_UNIT));
}

/** Tax contained in a tax-inclusive amount: round(gross * rate / (100 + rate)). */
export function taxInGross(grossCents: number, rateScaled: bigint): number {
  return Number(divRound(BigInt(grossCents) * rateScaled, 100n * RATE_UNIT + rateScaled));
}

/** round(qty * unitPrice) in cents, exactly. */
export function lineAmountCents(qty: unknown, unitPrice: unknown): number | undefined {
  const q = toScaled(qty, 6);
  const p = toScaled(unitPrice, 7);
  if (q === undefined || p === undefined) return undefined;
  return Number(divRound(q * p, 10n ** 11n));
}
