/** CM-7: names are the same when equal trimmed and case-insensitively (inner white space collapsed). */
export function sameName(a: string | undefined | null, b: string | undefined | null): boolean {
  return normaliseName(a ?? '') === normaliseName(b ?? '');
}

export function normaliseName(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A name as QuickBooks accepts it: no ':' (2040, reserved for Parent:Child paths), at most `max` chars. */
export function qboSafeName(name: string, max = 100): string {
  return name.trim().replace(/\s+/g, ' ').replace(/:/g, '-').slice(0, max);
}

/** A QuickBooks query string literal (backslash-escaped quotes). */
export function qboQuote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
