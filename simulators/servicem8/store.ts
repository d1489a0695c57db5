/**
 * In-memory tables, one per object type. Rows keep their insertion sequence, which is the stable order
 * lists and cursors use. The store knows nothing about HTTP, validation or side effects.
 */
import { OBJECT_NAMES, type ObjectName } from './schemas';

export type FieldValue = string | number;
/** A record as the API returns it: every record has `uuid`, `active` and `edit_date`. */
export type Sm8Record = Record<string, FieldValue>;

interface Row {
  seq: number;
  record: Sm8Record;
}

export interface StoreSnapshot {
  tables: Partial<Record<ObjectName, Sm8Record[]>>;
  nextJobNumber: number;
  lastEditDate: string;
}

export class Store {
  private tables = new Map<ObjectName, Map<string, Row>>();
  private seq = 0;
  /** Next `generated_job_id`; ServiceM8 numbers jobs sequentially per account. */
  nextJobNumber = 1;
  /** The latest edit_date handed out; edit dates never go backwards (see records.ts). */
  lastEditDate = '';

  constructor() {
    this.clear();
  }

  clear(): void {
    this.tables = new Map(OBJECT_NAMES.map((name) => [name, new Map<string, Row>()]));
    this.seq = 0;
    this.nextJobNumber = 1;
    this.lastEditDate = '';
  }

  private table(object: ObjectName): Map<string, Row> {
    const table = this.tables.get(object);
    if (!table) throw new Error(`no table for ${object}`);
    return table;
  }

  /** A copy of one record, or undefined. UUIDs are matched case-insensitively. */
  get(object: ObjectName, uuid: string): Sm8Record | undefined {
    const row = this.table(object).get(uuid.toLowerCase());
    return row ? { ...row.record } : undefined;
  }

  has(object: ObjectName, uuid: string): boolean {
    return this.table(object).has(uuid.toLowerCase());
  }

  /** Inserts or replaces a record; a replaced record keeps its place in list order. */
  put(object: ObjectName, record: Sm8Record): void {
    const uuid = String(record.uuid).toLowerCase();
    const table = this.table(object);
    const existing = table.get(uuid);
    table.set(uuid, { seq: existing ? existing.seq : ++this.seq, record: { ...record } });
  }

  /** Copies of all records of one object, in insertion order. */
  list(object: ObjectName): Sm8Record[] {
    return [...this.table(object).values()].sort((a, b) => a.seq - b.seq).map((row) => ({ ...row.record }));
  }

  /** Copies of the records of one object that match a predicate, in insertion order. */
  where(object: ObjectName, predicate: (record: Readonly<Sm8Record>) => boolean): Sm8Record[] {
    return [...this.table(object).values()]
      .filter((row) => predicate(row.record))
      .sort((a, b) => a.seq - b.seq)
      .map((row) => ({ ...row.record }));
  }

  count(object: ObjectName): number {
    return this.table(object).size;
  }

  snapshot(): StoreSnapshot {
    const tables: Partial<Record<ObjectName, Sm8Record[]>> = {};
    for (const name of OBJECT_NAMES) tables[name] = this.list(name);
    return { tables, nextJobNumber: this.nextJobNumber, lastEditDate: this.lastEditDate };
  }

  load(snapshot: StoreSnapshot): void {
    this.clear();
    for (const name of OBJECT_NAMES) {
      for (const record of snapshot.tables[name] ?? []) this.put(name, record);
    }
    this.nextJobNumber = snapshot.nextJobNumber;
    this.lastEditDate = snapshot.lastEditDate;
  }
}
