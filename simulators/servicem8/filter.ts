/**
 * `$filter` as ServiceM8 implements it: `field op value` conditions (eq, ne, gt, lt) joined by `and`,
 * at most 10. Strings are single-quoted; numbers may be bare or quoted.
 *
 * Gotchas reproduced on purpose:
 * - The parameter must arrive URL-encoded as `%24filter`. A literal `$filter` in the raw query string is
 *   silently ignored and every record comes back (many HTTP clients, axios included, leave `$` unencoded).
 * - A malformed filter, or one naming a field the object does not have, is silently ignored too.
 * - More than 10 conditions is answered with a 400 (the documented limit).
 */
import { validationError } from './errors';
import { parseDecimal } from './money';
import { type ObjectDef } from './schemas';
import { type Sm8Record } from './store';

export const MAX_FILTER_CONDITIONS = 10;

export type FilterOperator = 'eq' | 'ne' | 'gt' | 'lt';

export interface FilterCondition {
  field: string;
  op: FilterOperator;
  value: string;
}

/** What the simulator made of the request's filter, reported in the call log. */
export type FilterOutcome =
  { kind: 'none' } | { kind: 'ignored'; reason: string } | { kind: 'applied'; conditions: FilterCondition[] };

const OPERATORS = new Set<string>(['eq', 'ne', 'gt', 'lt']);
const FIELD_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BARE_NUMBER = /^-?\d+(\.\d+)?$/;

/** Finds the filter in the raw (undecoded) query string, telling encoded and literal `$filter` apart. */
export function findRawFilter(rawUrl: string): { value: string; encoded: boolean } | undefined {
  const queryStart = rawUrl.indexOf('?');
  if (queryStart < 0) return undefined;
  let literal: string | undefined;
  for (const pair of rawUrl.slice(queryStart + 1).split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (key.toLowerCase() === '%24filter') return { value, encoded: true };
    if (key === '$filter' && literal === undefined) literal = value;
  }
  return literal === undefined ? undefined : { value: literal, encoded: false };
}

type Token = { type: 'word'; text: string } | { type: 'string'; text: string };

function tokenize(text: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === "'") {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) return undefined; // unterminated string
        const c = text.charAt(i);
        if (c === "'") {
          if (text.charAt(i + 1) === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += c;
        i += 1;
      }
      tokens.push({ type: 'string', text: value });
    } else {
      let word = '';
      while (i < text.length && !/\s/.test(text.charAt(i)) && text.charAt(i) !== "'") {
        word += text.charAt(i);
        i += 1;
      }
      tokens.push({ type: 'word', text: word });
    }
  }
  return tokens;
}

/** Parses decoded filter text; undefined when malformed. Throws a 400 above 10 conditions. */
export function parseFilterText(text: string): FilterCondition[] | undefined {
  const tokens = tokenize(text);
  if (!tokens || tokens.length === 0) return undefined;
  const conditions: FilterCondition[] = [];
  let i = 0;
  for (;;) {
    const field = tokens[i];
    const op = tokens[i + 1];
    const value = tokens[i + 2];
    if (!field || !op || !value) return undefined;
    if (field.type !== 'word' || !FIELD_PATTERN.test(field.text)) return undefined;
    if (op.type !== 'word' || !OPERATORS.has(op.text.toLowerCase())) return undefined;
    if (value.type === 'word' && !BARE_NUMBER.test(value.text)) return undefined;
    conditions.push({ field: field.text, op: op.text.toLowerCase() as FilterOperator, value: value.text });
    i += 3;
    if (i === tokens.length) break;
    const conjunction = tokens[i];
    if (!conjunction || conjunction.type !== 'word' || conjunction.text.toLowerCase() !== 'and')
      return undefined;
    i += 1;
  }
  if (conditions.length > MAX_FILTER_CONDITIONS) {
    throw validationError(
      `$filter supports at most ${MAX_FILTER_CONDITIONS} conditions joined by 'and'; got ${conditions.length}`,
    );
  }
  return conditions;
}

function decodeQueryValue(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Works out which filter (if any) applies to a list request on this object. */
export function resolveFilter(rawUrl: string, def: ObjectDef): FilterOutcome {
  const raw = findRawFilter(rawUrl);
  if (!raw) return { kind: 'none' };
  if (!raw.encoded) return { kind: 'ignored', reason: 'unencoded $filter (send it as %24filter)' };
  const text = decodeQueryValue(raw.value);
  if (text === undefined) return { kind: 'ignored', reason: 'undecodable $filter' };
  const conditions = parseFilterText(text);
  if (!conditions) return { kind: 'ignored', reason: `malformed $filter: ${text}` };
  const unknown = conditions.find((c) => !def.fields.has(c.field));
  if (unknown) return { kind: 'ignored', reason: `unknown field in $filter: ${unknown.field}` };
  return { kind: 'applied', conditions };
}

/** -1, 0 or 1: the record's value compared with the filter value, by the field's type. */
function compare(def: ObjectDef, field: string, recordValue: unknown, filterValue: string): number {
  const kind = def.fields.get(field)?.kind;
  if (kind === 'decimal') {
    const a = parseDecimal(recordValue);
    const b = parseDecimal(filterValue);
    if (a !== null && b !== null) return a < b ? -1 : a > b ? 1 : 0;
  }
  if (kind === 'intFlag' || kind === 'number' || kind === 'intString') {
    const a = Number(recordValue);
    const b = Number(filterValue);
    if (Number.isFinite(a) && Number.isFinite(b) && filterValue.trim() !== '')
      return a < b ? -1 : a > b ? 1 : 0;
  }
  // Dates compare as strings: "YYYY-MM-DD HH:MM:SS" sorts chronologically.
  const a = String(recordValue);
  return a < filterValue ? -1 : a > filterValue ? 1 : 0;
}

export function matchesFilter(
  def: ObjectDef,
  record: Sm8Record,
  conditions: readonly FilterCondition[],
): boolean {
  return conditions.every((condition) => {
    const order = compare(def, condition.field, record[condition.field], condition.value);
    switch (condition.op) {
      case 'eq':
        return order === 0;
      case 'ne':
        return order !== 0;
      case 'gt':
        return order > 0;
      case 'lt':
        return order < 0;
    }
  });
}
