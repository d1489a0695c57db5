/**
 * Field-level rules: every field's "unset" value and the conversion of incoming values to ServiceM8's
 * wire types (4-place decimal strings, 0/1 integers or strings, "YYYY-MM-DD HH:MM:SS" dates, uuids).
 */
import { ZERO_DATE } from './clock';
import { validationError } from './errors';
import { formatDecimal, parseDecimal } from './money';
import { type FieldDef, type ObjectDef, type ObjectName } from './schemas';
import { type FieldValue, type Sm8Record } from './store';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$/;
const INT_PATTERN = /^-?\d+$/;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

function defaultValue(field: FieldDef): FieldValue {
  switch (field.kind) {
    case 'uuid':
    case 'string':
      return field.name === 'ready_to_invoice' ? '0' : '';
    case 'decimal':
      return formatDecimal(0n);
    case 'date':
      return ZERO_DATE;
    case 'intFlag':
      return field.name === 'active' ? 1 : 0;
    case 'stringFlag':
    case 'intString':
      return '0';
    case 'number':
      return 0;
    case 'json':
      return '[]';
  }
}

/** A record of the given object with every spec field at its "unset" value. */
export function blankRecord(def: ObjectDef): Sm8Record {
  const record: Sm8Record = {};
  for (const field of def.fields.values()) record[field.name] = defaultValue(field);
  return record;
}

export function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) ?? String(value));
}

/** Converts one incoming value to the field's wire type, or throws a 400 naming the field. */
export function normaliseFieldValue(object: ObjectName, field: FieldDef, value: unknown): FieldValue {
  const fail = (expected: string) =>
    validationError(`${object}.${field.name}: expected ${expected}, got ${describe(value)}`);
  if (value === null || value === undefined) throw fail('a value');
  let result: FieldValue;
  switch (field.kind) {
    case 'uuid': {
      if (typeof value !== 'string' || (value !== '' && !isUuid(value))) throw fail('a UUID or ""');
      result = value.toLowerCase();
      break;
    }
    case 'decimal': {
      const parsed = parseDecimal(value);
      if (parsed === null) throw fail('a decimal such as "12.50"');
      result = formatDecimal(parsed);
      break;
    }
    case 'date': {
      if (
        typeof value !== 'string' ||
        (value !== '' && value !== ZERO_DATE && !DATE_TIME_PATTERN.test(value))
      ) {
        throw fail('"YYYY-MM-DD HH:MM:SS"');
      }
      result = value === '' ? ZERO_DATE : value;
      break;
    }
    case 'intFlag': {
      if (value === 0 || value === '0') result = 0;
      else if (value === 1 || value === '1') result = 1;
      else throw fail('0 or 1');
      break;
    }
    case 'stringFlag':
      // Only 1/"1" means yes. ServiceM8 reads anything else, "true" included, as "0"
      // (docs/servicem8-api.md §3: a client that sent "true" saw its inc-tax line turn ex-tax).
      result = value === 1 || value === '1' ? '1' : '0';
      break;
    case 'intString': {
      const text = typeof value === 'number' ? String(value) : value;
      if (typeof text !== 'string' || !INT_PATTERN.test(text.trim())) throw fail('an integer');
      result = String(Number.parseInt(text, 10));
      break;
    }
    case 'number': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isFinite(number)) throw fail('a number');
      result = number;
      break;
    }
    case 'json':
    case 'string': {
      if (typeof value !== 'string' && typeof value !== 'number') throw fail('a string');
      result = String(value);
      break;
    }
  }
  if (field.maxLength !== undefined && typeof result === 'string' && result.length > field.maxLength) {
    throw validationError(`${object}.${field.name} must be at most ${field.maxLength} characters`);
  }
  if (field.enumValues && !field.enumValues.includes(String(result))) {
    throw validationError(
      `${object}.${field.name} must be one of ${field.enumValues.map((v) => `'${v}'`).join(', ')}; got ${describe(value)}`,
    );
  }
  return result;
}

/** The incoming body reduced to writable, known fields in wire types. Unknown fields are ignored. */
export function normaliseBody(def: ObjectDef, body: Record<string, unknown>, trusted: boolean): Sm8Record {
  const out: Sm8Record = {};
  for (const [name, value] of Object.entries(body)) {
    const field = def.fields.get(name);
    if (!field || name === 'uuid' || name === 'edit_date') continue;
    if (field.readOnly && !trusted) continue;
    out[name] = normaliseFieldValue(def.name, field, value);
  }
  return out;
}

export function changedFieldNames(before: Sm8Record | undefined, after: Sm8Record): string[] {
  return Object.keys(after).filter(
    (name) => name !== 'edit_date' && (!before || before[name] !== after[name]),
  );
}

export function decimalOf(record: Sm8Record, field: string): bigint {
  return parseDecimal(record[field]) ?? 0n;
}
