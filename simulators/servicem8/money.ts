/**
 * Exact decimal arithmetic for ServiceM8's decimal strings ("5.5000").
 *
 * Values are bigints scaled by 10^4 ("ten-thousandths"), the precision ServiceM8 stores money,
 * quantities and rates with. Nothing here ever sums binary floating point numbers.
 */

/** Number of decimal places ServiceM8 prints for money, quantities and rates. */
export const DECIMAL_PLACES = 4;
/** 10^4: one unit expressed in ten-thousandths. */
export const ONE = 10_000n;
/** One cent expressed in ten-thousandths. */
export const CENT = 100n;

const DECIMAL_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Integer division rounding half away from zero (commercial rounding, symmetric for negatives). */
export function divRound(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  // Adding half the divisor before truncating rounds halves up; an odd divisor never leaves an exact half.
  const q = (n + d / 2n) / d;
  return negative ? -q : q;
}

/**
 * Parses "12", "12.5", "-0.125", ".5" or a JS number into ten-thousandths, rounding half away from zero
 * beyond 4 places. Returns null for anything that is not a plain decimal (e.g. "abc", "1e3", "").
 */
export function parseDecimal(input: unknown): bigint | null {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return null;
    text = input.toFixed(8);
  } else if (typeof input === 'string') {
    text = input.trim();
  } else {
    return null;
  }
  const match = DECIMAL_PATTERN.exec(text);
  if (!match) return null;
  const [, sign = '', whole = '', fraction = ''] = match;
  if (whole === '' && fraction === '') return null;
  const padded = (fraction + '0'.repeat(DECIMAL_PLACES + 1)).slice(0, DECIMAL_PLACES + 1);
  // One extra digit decides the rounding of the fourth place.
  const scaledTimesTen = BigInt((whole || '0') + padded);
  const magnitude = divRound(scaledTimesTen, 10n);
  return sign === '-' ? -magnitude : magnitude;
}

/** Formats ten-thousandths as ServiceM8 prints them: always 4 decimal places, "-" for negatives. */
export function formatDecimal(value: bigint): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const whole = magnitude / ONE;
  const fraction = (magnitude % ONE).toString().padStart(DECIMAL_PLACES, '0');
  return `${negative ? '-' : ''}${whole.toString()}.${fraction}`;
}

/** Rounds ten-thousandths to whole cents, returning the amount in cents. */
export function toCents(value: bigint): bigint {
  return divRound(value, CENT);
}

/** Converts cents back to ten-thousandths. */
export function fromCents(cents: bigint): bigint {
  return cents * CENT;
}

/** Rounds ten-thousandths to 2 decimal places, staying in ten-thousandths. */
export function round2(value: bigint): bigint {
  return fromCents(toCents(value));
}

/** Normalises a decimal input to ServiceM8's 4-place string, or null when it is not a decimal. */
export function normaliseDecimalString(input: unknown): string | null {
  const parsed = parseDecimal(input);
  return parsed === null ? null : formatDecimal(parsed);
}
