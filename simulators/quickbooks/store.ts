import { type Country, type EntityName, type Json, clone } from './types';

export interface StoredRecord {
  data: Json;
  createdMs: number;
  /** Millisecond precision (MetaData shows seconds); CDC compares against this. */
  updatedMs: number;
  /** Voided transactions stay readable but refuse further edits and payments. */
  voided?: boolean;
}

export interface Tombstone {
  entity: EntityName;
  id: string;
  deletedMs: number;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** One QBO company (realm): its records, id counters, hard-delete tombstones and remembered requestids. */
export class Company {
  readonly tables = new Map<EntityName, Map<string, StoredRecord>>();
  readonly counters = new Map<EntityName, number>();
  tombstones: Tombstone[] = [];
  /** requestid → first response; kept for the life of the process (retention is UNCONFIRMED). */
  readonly requestIds = new Map<string, StoredResponse>();
  /** Auto-numbering when CustomTxnNumbers is off. */
  nextDocNumber = 1001;
  /** Multicurrency: home units per foreign unit, by ISO code, as exact decimal text. */
  readonly exchangeRates = new Map<string, string>();

  constructor(
    readonly realmId: string,
    readonly country: Country,
    public companyInfo: Json,
    public preferences: Json,
  ) {}

  table(entity: EntityName): Map<string, StoredRecord> {
    let table = this.tables.get(entity);
    if (!table) {
      table = new Map();
      this.tables.set(entity, table);
    }
    return table;
  }

  get(entity: EntityName, id: string): StoredRecord | undefined {
    return this.table(entity).get(id);
  }

  all(entity: EntityName): StoredRecord[] {
    return [...this.table(entity).values()];
  }

  /** The Id the next record of this entity will get; committed by `noteId` once the write succeeds. */
  peekId(entity: EntityName): string {
    return String((this.counters.get(entity) ?? 0) + 1);
  }

  /** Keeps counters ahead of ids inserted explicitly (seed data, snapshots). */
  noteId(entity: EntityName, id: string): void {
    const numeric = Number(id);
    if (Number.isInteger(numeric) && numeric > (this.counters.get(entity) ?? 0))
      this.counters.set(entity, numeric);
  }

  remove(entity: EntityName, id: string, atMs: number): void {
    this.table(entity).delete(id);
    this.tombstones.push({ entity, id, deletedMs: atMs });
  }
}

export interface CompanySnapshot {
  realmId: string;
  country: Country;
  companyInfo: Json;
  preferences: Json;
  tables: Partial<Record<EntityName, StoredRecord[]>>;
  counters: Partial<Record<EntityName, number>>;
  tombstones: Tombstone[];
  requestIds: Array<[string, StoredResponse]>;
  nextDocNumber: number;
  /** Absent in snapshots taken before multicurrency existed. */
  exchangeRates?: Array<[string, string]>;
}

export class Store {
  readonly companies = new Map<string, Company>();

  company(realmId: string): Company | undefined {
    return this.companies.get(realmId);
  }

  add(company: Company): Company {
    this.companies.set(company.realmId, company);
    return company;
  }

  clear(): void {
    this.companies.clear();
  }

  snapshot(): CompanySnapshot[] {
    return [...this.companies.values()].map((company) => ({
      realmId: company.realmId,
      country: company.country,
      companyInfo: clone(company.companyInfo),
      preferences: clone(company.preferences),
      tables: Object.fromEntries(
        [...company.tables].map(([name, table]) => [name, clone([...table.values()])]),
      ),
      counters: Object.fromEntries(company.counters),
      tombstones: clone(company.tombstones),
      requestIds: clone([...company.requestIds]),
      nextDocNumber: company.nextDocNumber,
      exchangeRates: [...company.exchangeRates],
    }));
  }

  load(snapshots: CompanySnapshot[]): void {
    this.clear();
    for (const snap of snapshots) {
      const company = new Company(
        snap.realmId,
        snap.country,
        clone(snap.companyInfo),
        clone(snap.preferences),
      );
      for (const [name, records] of Object.entries(snap.tables) as Array<[EntityName, StoredRecord[]]>) {
        const table = company.table(name);
        for (const record of records) table.set(String(record.data.Id), clone(record));
      }
      for (const [name, value] of Object.entries(snap.counters) as Array<[EntityName, number]>) {
        company.counters.set(name, value);
      }
      company.tombstones = clone(snap.tombstones);
      for (const [key, value] of snap.requestIds) company.requestIds.set(key, clone(value));
      company.nextDocNumber = snap.nextDocNumber;
      for (const [code, rate] of snap.exchangeRates ?? []) company.exchangeRates.set(code, rate);
      this.add(company);
    }
  }
}
