import { entityByName, NAME_LIST } from './entities/index';
import { faults } from './errors';
import { type EntityName, type Json, asJson } from './types';

/**
 * The QBO query language (docs/quickbooks-api.md §2.4): SELECT * | COUNT(*) FROM Entity [WHERE c AND c …] [ORDERBY f [ASC|DESC]]
 * [STARTPOSITION n] [MAXRESULTS n]. Keywords, entity and property names are matched case-insensitively
 * (node-quickbooks sends "select * from customer … orderby … startposition", tap-quickbooks "Metadata.…").
 */

export type Literal = string | number | boolean;

export interface Condition {
  field: string;
  op: '=' | '<' | '>' | '<=' | '>=' | '!=' | 'IN' | 'LIKE';
  values: Literal[];
}

export interface ParsedQuery {
  entity: EntityName;
  count: boolean;
  where: Condition[];
  orderBy: Array<{ field: string; descending: boolean }>;
  startPosition: number;
  maxResults: number;
}

export const DEFAULT_MAX_RESULTS = 100;
export const MAX_MAX_RESULTS = 1000;

type TokenKind = 'word' | 'string' | 'number' | 'symbol';
interface Token {
  kind: TokenKind;
  text: string;
  value: Literal;
  column: number;
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql.charAt(i);
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const column = i + 1;
    if (ch === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= sql.length)
          throw faults.queryParse(`Lexical error at line 1, column ${column}. Unterminated string.`);
        const c = sql.charAt(i);
        if (c === '\\' && i + 1 < sql.length) {
          value += sql.charAt(i + 1);
          i += 2;
        } else if (c === "'") {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      tokens.push({ kind: 'string', text: value, value, column });
      continue;
    }
    const number = /^-?\d+(\.\d+)?/.exec(sql.slice(i));
    if (number) {
      tokens.push({ kind: 'number', text: number[0], value: Number(number[0]), column });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(sql.slice(i));
    if (word) {
      tokens.push({ kind: 'word', text: word[0], value: word[0], column });
      i += word[0].length;
      continue;
    }
    const symbol = /^(<=|>=|!=|<>|[=<>(),*])/.exec(sql.slice(i));
    if (symbol) {
      tokens.push({ kind: 'symbol', text: symbol[0], value: symbol[0], column });
      i += symbol[0].length;
      continue;
    }
    throw faults.queryParse(`Lexical error at line 1, column ${column}. Encountered: "${ch}"`);
  }
  return tokens;
}

export interface QueryLimits {
  /** Most values one IN (…) may hold; 0 = no limit (QBO publishes none: switch `queryMaxInValues`). */
  maxInValues?: number;
}

class Parser {
  private position = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly limits: QueryLimits,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private fail(token: Token | undefined): never {
    if (!token) throw faults.queryParse('Encountered "<EOF>" at line 1.');
    const kind = token.kind === 'word' ? `<${token.text.toUpperCase()}>` : `"${token.text}"`;
    throw faults.queryParse(`Encountered " ${kind} "${token.text} "" at line 1, column ${token.column}.`);
  }

  private isWord(word: string): boolean {
    const token = this.peek();
    return token?.kind === 'word' && token.text.toUpperCase() === word;
  }

  private expectWord(word: string): void {
    if (!this.isWord(word)) this.fail(this.peek());
    this.position++;
  }

  private expectSymbol(symbol: string): void {
    const token = this.peek();
    if (token?.kind !== 'symbol' || token.text !== symbol) this.fail(token);
    this.position++;
  }

  private next(): Token {
    const token = this.peek();
    if (!token) this.fail(undefined);
    this.position++;
    return token;
  }

  private literal(): Literal {
    const token = this.next();
    if (token.kind === 'string' || token.kind === 'number') return token.value;
    if (token.kind === 'word' && ['TRUE', 'FALSE'].includes(token.text.toUpperCase()))
      return token.text.toUpperCase() === 'TRUE';
    return this.fail(token);
  }

  private integer(): number {
    const token = this.next();
    if (token.kind !== 'number' || !Number.isInteger(token.value)) this.fail(token);
    return Number(token.value);
  }

  parse(): ParsedQuery {
    this.expectWord('SELECT');
    let count = false;
    if (this.isWord('COUNT')) {
      this.position++;
      this.expectSymbol('(');
      this.expectSymbol('*');
      this.expectSymbol(')');
      count = true;
    } else {
      this.expectSymbol('*');
    }
    this.expectWord('FROM');
    const entityToken = this.next();
    const entity = entityToken.kind === 'word' ? entityByName(entityToken.text) : undefined;
    if (!entity) throw faults.queryInvalid(`Unsupported entity ${entityToken.text} in query.`);
    const query: ParsedQuery = {
      entity,
      count,
      where: [],
      orderBy: [],
      startPosition: 1,
      maxResults: DEFAULT_MAX_RESULTS,
    };

    if (this.isWord('WHERE')) {
      this.position++;
      query.where.push(this.condition());
      while (this.isWord('AND')) {
        this.position++;
        query.where.push(this.condition());
      }
    }
    if (this.isWord('ORDER') || this.isWord('ORDERBY')) {
      if (this.isWord('ORDER')) {
        this.position++;
        this.expectWord('BY');
      } else {
        this.position++;
      }
      for (;;) {
        const field = this.next();
        if (field.kind !== 'word') this.fail(field);
        let descending = false;
        if (this.isWord('DESC') || this.isWord('ASC')) descending = this.next().text.toUpperCase() === 'DESC';
        query.orderBy.push({ field: field.text, descending });
        const token = this.peek();
        if (token?.kind === 'symbol' && token.text === ',') this.position++;
        else break;
      }
    }
    if (this.isWord('STARTPOSITION')) {
      this.position++;
      query.startPosition = this.integer();
    }
    if (this.isWord('MAXRESULTS')) {
      this.position++;
      query.maxResults = this.integer();
    }
    const rest = this.peek();
    if (rest) this.fail(rest);
    if (query.maxResults > MAX_MAX_RESULTS) {
      throw faults.queryInvalid(
        `value ${query.maxResults} for MAXRESULTS is too large. Max allowed value is ${MAX_MAX_RESULTS}`,
      );
    }
    if (query.maxResults < 1 || query.startPosition < 1) {
      throw faults.queryInvalid('STARTPOSITION and MAXRESULTS must be positive integers.');
    }
    return query;
  }

  private condition(): Condition {
    const field = this.next();
    if (field.kind !== 'word') this.fail(field);
    const operator = this.next();
    if (operator.kind === 'word' && operator.text.toUpperCase() === 'IN') {
      this.expectSymbol('(');
      const values = [this.literal()];
      for (;;) {
        const token = this.next();
        if (token.kind === 'symbol' && token.text === ')') break;
        if (token.kind !== 'symbol' || token.text !== ',') this.fail(token);
        values.push(this.literal());
      }
      const max = this.limits.maxInValues ?? 0;
      if (max > 0 && values.length > max) {
        throw faults.queryInvalid(`IN (…) holds ${values.length} values; at most ${max} are allowed.`);
      }
      return { field: field.text, op: 'IN', values };
    }
    if (operator.kind === 'word' && operator.text.toUpperCase() === 'LIKE') {
      const pattern = this.literal();
      if (typeof pattern !== 'string') this.fail(operator);
      return { field: field.text, op: 'LIKE', values: [pattern] };
    }
    if (operator.kind !== 'symbol' || !['=', '<', '>', '<=', '>=', '!=', '<>'].includes(operator.text))
      this.fail(operator);
    const op = (operator.text === '<>' ? '!=' : operator.text) as Condition['op'];
    return { field: field.text, op, values: [this.literal()] };
  }
}

export function parseQuery(sql: string, limits: QueryLimits = {}): ParsedQuery {
  return new Parser(tokenize(sql), limits).parse();
}

/** A dotted property path, matched case-insensitively; references compare by their `value`. */
export function fieldValue(record: Json, path: string): unknown {
  let current: unknown = record;
  for (const segment of path.split('.')) {
    const json = asJson(current);
    if (!json) return undefined;
    const key = Object.keys(json).find((candidate) => candidate.toLowerCase() === segment.toLowerCase());
    current = key === undefined ? undefined : json[key];
  }
  const ref = asJson(current);
  return ref && 'value' in ref ? ref.value : current;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T/;

function toTime(value: string): number {
  // A bare date in a query means midnight in the company's (Pacific) time, like the stamps it is compared with.
  return Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00-07:00` : value);
}

/** -1/0/1, or undefined when the two cannot be compared (the condition is then false). */
function compare(actual: unknown, literal: Literal): number | undefined {
  if (actual === undefined || actual === null) return undefined;
  if (typeof actual === 'boolean') {
    const wanted = typeof literal === 'boolean' ? literal : String(literal).toLowerCase() === 'true';
    return actual === wanted ? 0 : actual ? 1 : -1;
  }
  if (typeof actual === 'number') {
    const wanted = Number(literal);
    if (Number.isNaN(wanted)) return undefined;
    return Math.sign(actual - wanted);
  }
  if (typeof actual !== 'string') return undefined;
  const wanted = String(literal);
  if (DATE_TIME.test(actual) || DATE_TIME.test(wanted)) {
    const a = toTime(actual);
    const b = toTime(wanted);
    if (!Number.isNaN(a) && !Number.isNaN(b)) return Math.sign(a - b);
  }
  if (/^-?\d+(\.\d+)?$/.test(actual) && /^-?\d+(\.\d+)?$/.test(wanted))
    return Math.sign(Number(actual) - Number(wanted));
  const a = actual.toLowerCase();
  const b = wanted.toLowerCase();
  return a === b ? 0 : a < b ? -1 : 1;
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*');
  return new RegExp(`^${escaped}$`, 'is');
}

export function matches(record: Json, condition: Condition): boolean {
  const actual = fieldValue(record, condition.field);
  const [first] = condition.values;
  switch (condition.op) {
    case 'IN':
      return condition.values.some((value) => compare(actual, value) === 0);
    case 'LIKE':
      return actual !== undefined && actual !== null && likeToRegExp(String(first)).test(String(actual));
    default: {
      if (first === undefined) return false;
      const result = compare(actual, first);
      if (result === undefined) return false;
      switch (condition.op) {
        case '=':
          return result === 0;
        case '!=':
          return result !== 0;
        case '<':
          return result < 0;
        case '>':
          return result > 0;
        case '<=':
          return result <= 0;
        case '>=':
          return result >= 0;
      }
    }
  }
  return false;
}

function sortKey(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  const result = compare(a, b as Literal);
  return result ?? String(a).localeCompare(String(b));
}

/** Runs a parsed query over (already decorated) records and builds the QueryResponse object. */
export function executeQuery(query: ParsedQuery, records: Json[]): Json {
  const filtersActive = query.where.some((condition) => condition.field.toLowerCase() === 'active');
  let rows = records.filter((record) => query.where.every((condition) => matches(record, condition)));
  // Name lists answer only active rows unless the query mentions Active (docs/quickbooks-api.md §2.4).
  if (NAME_LIST.has(query.entity) && !filtersActive) rows = rows.filter((record) => record.Active !== false);
  if (query.count) return { totalCount: rows.length };
  const order = query.orderBy.length > 0 ? query.orderBy : [{ field: 'Id', descending: false }];
  rows.sort((a, b) => {
    for (const { field, descending } of order) {
      const result = sortKey(fieldValue(a, field), fieldValue(b, field));
      if (result !== 0) return descending ? -result : result;
    }
    return Number(a.Id) - Number(b.Id);
  });
  const page = rows.slice(query.startPosition - 1, query.startPosition - 1 + query.maxResults);
  if (page.length === 0) return {};
  return { [query.entity]: page, startPosition: query.startPosition, maxResults: page.length };
}
