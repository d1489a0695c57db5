/** Text output of the CLI: fixed-width tables that fit the terminal, money, label/value blocks. */
import { formatMoney } from '../../domain/money';

/** No column is wider than this, even off a terminal (a long reason is cut with "…"; --json has it whole). */
const MAX_COLUMN = 60;
/** A column shrunk to fit the terminal keeps at least this many characters. */
const MIN_COLUMN = 6;
const GAP = 2;

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.replace(/\s*\n\s*/g, ' ');
}

/** The text cut to `width` characters, its last one "…" when something was cut. */
export function fit(s: string, width: number): string {
  if (s.length <= width) return s;
  return width <= 0 ? '' : `${s.slice(0, width - 1)}…`;
}

/**
 * Fixed-width table of the given columns. Columns are at most 60 characters; with `width` (the terminal's,
 * when stdout is one) the widest columns give way first until a line fits. Cut cells end with "…".
 */
export function table(
  rows: Array<Record<string, unknown>>,
  columns: string[],
  opts: { width?: number; headers?: Record<string, string> } = {},
): string {
  const header = (c: string) => opts.headers?.[c] ?? c;
  const widths = columns.map((c) =>
    Math.min(MAX_COLUMN, Math.max(header(c).length, ...rows.map((r) => cellText(r[c]).length))),
  );
  if (opts.width !== undefined) {
    const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1);
    while (total() > opts.width) {
      const widest = widths.indexOf(Math.max(...widths));
      if ((widths[widest] ?? 0) <= MIN_COLUMN) break;
      widths[widest] = (widths[widest] ?? 0) - 1;
    }
  }
  const line = (values: string[]) =>
    values
      .map((v, i) => fit(v, widths[i] ?? 0).padEnd(widths[i] ?? 0))
      .join(' '.repeat(GAP))
      .trimEnd();
  return [
    line(columns.map(header)),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => cellText(r[c])))),
  ].join('\n');
}

/** Cents (a number, or a bigint column as text) as "1,234.50"; "" when unknown. */
export function money(cents: unknown): string {
  if (cents === null || cents === undefined || cents === '') return '';
  const n = Number(cents);
  return Number.isFinite(n) ? formatMoney(n) : '';
}

/** "label   value" lines, values aligned on the longest label; rows whose value is empty are left out. */
export function labelled(
  rows: Array<[string, string | null | undefined]>,
  indent = '',
  minWidth = 0,
): string[] {
  const width = Math.max(minWidth, ...rows.map(([k]) => k.length));
  const shown = rows.filter((r): r is [string, string] => typeof r[1] === 'string' && r[1] !== '');
  return shown.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`);
}
