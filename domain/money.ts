/**
 * Money in integer cents. Decimal strings ("5.5000" from ServiceM8, 12.34 from QuickBooks) are parsed
 * exactly with BigInt and rounded half away from zero, never summed as binary floating point.
 * Values that cross into workflows stay plain numbers (JSON has no BigInt).
 */

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** n / d rounded half away from zero. */
export function divRound(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError('division by zero');
  const negative = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  const q = (2n * an + ad) / (2n * ad);
  return negative ? -q : q;
}

/** The decimal as an integer number of 10^-scale units (rounded half away from zero), or null. */
export function parseScaled(value: unknown, scale: number): bigint | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = value.toFixed(Math.min(scale + 6, 20));
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return null;
  }
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const [, sign = '', whole = '', fraction = ''] = m;
  if (whole === '' && fraction === '') return null;
  const digits = BigInt((whole || '0') + (fraction + '0'.repeat(scale + 1)).slice(0, scale + 1));
  const units = divRound(digits, 10n);
  return sign === '-' ? -units : units;
}

/** Cents of a decimal amount, or null when it is not a decimal. */
export function toCents(value: unknown): number | null {
  const s = parseScaled(value, 2);
  return s === null ? null : Number(s);
}

/** Cents as the JSON number QuickBooks expects (1234 -> 12.34). */
export function centsToAmount(cents: number): number {
  return Math.round(cents) / 100;
}

/** "1,234.50" style text for sentences a bookkeeper reads. */
export function formatMoney(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(Math.round(cents));
  const whole = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** Tax rates as ten-thousandths of a percent: 10 -> 100000n, 9.975 -> 99750n. */
export const RATE_SCALE = 4;
export const HUNDRED_PERCENT = 100n * 10n ** BigInt(RATE_SCALE);

export function parseRate(value: unknown): bigint | null {
  return parseScaled(value, RATE_SCALE);
}

/** Tax on a net amount: round(net × rate%). */
export function taxOnNet(netCents: number, rate: bigint): number {
  return Number(divRound(BigInt(netCents) * rate, HUNDRED_PERCENT));
}

/** Tax contained in a gross amount: round(gross × rate / (100 + rate)). */
export function taxInGross(grossCents: number, rate: bigint): number {
  return Number(divRound(BigInt(grossCents) * rate, HUNDRED_PERCENT + rate));
}
