/**
 * How the clients-and-materials activities read and write one record (issue 12, CM-2): the record cache
 * first (store/record-cache.ts: filled by the bulk read, by earlier reads and by our own writes), the API only
 * on a miss; and every write is stored as our own record write (store/own-writes.ts) and as the cached copy,
 * so neither the echo of the write nor the next sync needs a read.
 */
import type { QuickBooksClient } from '../../apis/quickbooks/client';
import type { ServiceM8Client } from '../../apis/servicem8/client';
import type { Sm8CompanyContact } from '../../domain/servicem8-types';
import { RecordCache } from '../../store/record-cache';
import { recordOwnRecordWrite } from '../../store/own-writes';
import type { ActivityDeps } from '../support/deps';

type Rec = Record<string, unknown>;
type QboRecord = { Id: string; SyncToken: string; MetaData?: { LastUpdatedTime?: string } };

const lastUpdated = (r: QboRecord): string | null => r.MetaData?.LastUpdatedTime ?? null;

/** The account's time zone (vendor.timezone_name), read once per connection and kept in the cache. */
export async function sm8AccountZone(
  deps: ActivityDeps,
  sm8: ServiceM8Client,
  onCall: () => void = () => undefined,
): Promise<string | null> {
  const cache = new RecordCache(deps.pool);
  const ref = { connectionId: sm8.connectionId, side: 'sm8' as const, object: 'vendor', recordId: 'account' };
  const hit = await cache.get<{ timezone_name?: string }>(ref);
  if (hit) return hit.record.timezone_name || null;
  const vendors = await sm8.list<{ timezone_name?: string }>('vendor');
  onCall();
  const zone = vendors[0]?.timezone_name || null;
  await cache.put(sm8.connectionId, 'sm8', [
    { object: 'vendor', recordId: 'account', record: { timezone_name: zone ?? '' } },
  ]);
  return zone;
}

/** The records of one connection, cache first; and our writes, remembered. */
export class CmRecords {
  private readonly cache: RecordCache;

  constructor(
    private readonly deps: ActivityDeps,
    readonly connectionId: string,
    readonly sm8Client: ServiceM8Client,
    private readonly qbo: QuickBooksClient | null = null,
  ) {
    this.cache = new RecordCache(deps.pool);
  }

  /** The database time now: taken before a read whose records are then cached (RecordCache.put). */
  now(): Promise<Date> {
    return this.cache.now();
  }

  private ref(side: 'sm8' | 'qbo', object: string, recordId: string) {
    return { connectionId: this.connectionId, side, object, recordId };
  }

  /** A QuickBooks Customer or Item: the cached copy, or one read (and cached). Throws the API's 404. */
  async qboRecord<T extends QboRecord>(entity: 'Customer' | 'Item', id: string): Promise<T> {
    const hit = await this.cache.get<T>(this.ref('qbo', entity, id));
    if (hit) return hit.record;
    if (!this.qbo) throw new Error('CmRecords was built without a QuickBooks client');
    const record = await this.qbo.read<T>(entity, id);
    await this.cacheQbo(entity, [record]);
    return record;
  }

  /** Keeps QuickBooks records just read (a page of onboarding, a query). */
  async cacheQbo(entity: 'Customer' | 'Item', records: QboRecord[]): Promise<void> {
    await this.cache.put(
      this.connectionId,
      'qbo',
      records.map((r) => ({
        object: entity,
        recordId: r.Id,
        record: r as unknown as Rec,
        editTime: lastUpdated(r),
      })),
    );
  }

  /** A ServiceM8 company or material: the cached copy, or one read (and cached). Throws the API's 404. */
  async sm8Record<T extends { uuid: string; edit_date?: string }>(
    object: 'company' | 'material',
    uuid: string,
  ): Promise<T> {
    const hit = await this.cache.get<T>(this.ref('sm8', object, uuid));
    if (hit) return hit.record;
    const since = await this.cache.now();
    const record = await this.sm8Client.read<T>(object, uuid);
    await this.cache.put(
      this.connectionId,
      'sm8',
      [{ object, recordId: uuid, record: record as unknown as Rec, editTime: record.edit_date ?? null }],
      since,
    );
    return record;
  }

  /**
   * ServiceM8 companies or materials just listed (onboarding's CM-7 candidates): kept, so nobody reads them
   * again; `since`: the database time before the list (RecordCache.now).
   */
  async cacheSm8(
    object: 'company' | 'material',
    records: Array<{ uuid: string; edit_date?: string }>,
    since: Date,
  ) {
    await this.cache.put(
      this.connectionId,
      'sm8',
      records.map((r) => ({
        object,
        recordId: r.uuid,
        record: r as unknown as Rec,
        editTime: r.edit_date ?? null,
      })),
      since,
    );
  }

  /**
   * The contact lists of several companies known at once: when two or more are not cached whole, every
   * contact of the account is listed in one call (paged by 5,000) instead of one list per company.
   */
  async prefetchContactsOf(companyUuids: string[]): Promise<void> {
    const missing: string[] = [];
    for (const uuid of new Set(companyUuids))
      if (!(await this.cache.contactsOf(this.connectionId, uuid))) missing.push(uuid);
    if (missing.length < 2) return;
    const since = await this.cache.now();
    const all = await this.sm8Client.list<Sm8CompanyContact>('companycontact');
    const byCompany = new Map(missing.map((uuid) => [uuid, [] as Sm8CompanyContact[]]));
    for (const c of all) byCompany.get(String(c.company_uuid ?? ''))?.push(c);
    await this.cache.putContactLists(this.connectionId, byCompany, (c) => c.edit_date ?? null, since);
  }

  /** Every contact of a ServiceM8 company: the cached list when whole, else listed (and cached). */
  async contactsOf(companyUuid: string): Promise<Sm8CompanyContact[]> {
    const hit = await this.cache.contactsOf<Sm8CompanyContact>(this.connectionId, companyUuid);
    if (hit) return hit;
    const since = await this.cache.now();
    const contacts = await this.sm8Client.list<Sm8CompanyContact>('companycontact', [
      { field: 'company_uuid', op: 'eq', value: companyUuid },
    ]);
    await this.knowContactsOf(companyUuid, contacts, since);
    return contacts;
  }

  /**
   * Keeps the whole list of a company's contacts (read, or known because we just created the company);
   * `since`: the database time before the list.
   */
  async knowContactsOf(companyUuid: string, contacts: Sm8CompanyContact[], since?: Date): Promise<void> {
    await this.cache.putContactsOf(
      this.connectionId,
      companyUuid,
      contacts,
      (c) => c.edit_date ?? null,
      since,
    );
  }

  /** A QuickBooks update we made: what we sent and QuickBooks' answer (its SyncToken, LastUpdatedTime). */
  async wroteQbo<T extends QboRecord>(entity: 'Customer' | 'Item', sent: Rec, answer: T): Promise<void> {
    await recordOwnRecordWrite(this.deps.pool, this.ref('qbo', entity, answer.Id), {
      sent,
      answer: answer as unknown as Rec,
      syncToken: answer.SyncToken,
      lastUpdated: lastUpdated(answer),
    });
    await this.cacheQbo(entity, [answer]);
  }

  /**
   * Creates or updates a ServiceM8 record of ours: known as our write before it is sent (its webhook can come
   * before its answer; taken then for someone's edit, it cost a read per record under load), then as answered.
   * Returns the record's uuid (a create's x-record-uuid).
   */
  async writeSm8(
    op: 'create' | 'update',
    object: 'company' | 'companycontact' | 'material',
    uuid: string,
    sent: Rec,
  ): Promise<string> {
    await recordOwnRecordWrite(this.deps.pool, this.ref('sm8', object, uuid), { sent, answer: null });
    let written = uuid;
    if (op === 'create') written = await this.sm8Client.create(object, uuid, sent);
    else await this.sm8Client.update(object, uuid, sent);
    await this.wroteSm8(object, written, sent);
    return written;
  }

  /**
   * A ServiceM8 create or update we made (`uuid` is the x-record-uuid of a create): the cached copy becomes
   * what it was with our fields on top (our bodies carry every mapped field).
   */
  async wroteSm8(object: 'company' | 'companycontact' | 'material', uuid: string, sent: Rec): Promise<void> {
    await recordOwnRecordWrite(this.deps.pool, this.ref('sm8', object, uuid), { sent, answer: { uuid } });
    const before = await this.cache.get<Rec>(this.ref('sm8', object, uuid));
    const record: Rec = { ...(before?.record ?? {}), ...sent, uuid };
    await this.cache.put(this.connectionId, 'sm8', [
      {
        object,
        recordId: uuid,
        record,
        editTime: before?.editTime ?? null,
        parentId: object === 'companycontact' ? String(record.company_uuid ?? '') || null : null,
      },
    ]);
  }
}
