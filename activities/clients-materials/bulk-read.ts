/**
 * The bulk read of clients and materials (issue 12, CM-2), the activity of `cm-read/<connection>`
 * (workflows/clients-materials-read.ts): every record an event marked dirty (routing/clients-materials.ts) is
 * read with the others of its kind in one call — QuickBooks `SELECT … WHERE Id IN (…)`
 * (docs/quickbooks-api.md §2.4), ServiceM8's list with `$filter=edit_date gt '…'` (docs/servicem8-api.md §2;
 * there is no `or`, so not by uuid) — and lands in the record cache (store/record-cache.ts), where the owners
 * find it. Then the owners of the records that changed are woken. A mark for the echo of our own write is
 * only confirmed: the record read back holds what we wrote (our own record write, store/own-writes.ts), and
 * nobody is woken.
 */
import {
  CONFIRM_ECHOES_AFTER_MS,
  EDIT_DATE_SLACK_MS,
  onlyOurEcho,
} from '../../domain/clients-materials/echo';
import { qboQuote } from '../../domain/names';
import { sm8TimeIn } from '../../domain/servicem8-time';
import type { Sm8CompanyContact } from '../../domain/servicem8-types';
import { signalClientMaterial } from '../../routing/clients-materials';
import {
  clearMarks,
  dirtyMarks,
  disarmEchoRead,
  RecordCache,
  type DirtyMark,
  type RecordSide,
} from '../../store/record-cache';
import { ownRecordWritesOf } from '../../store/own-writes';
import { QuickBooksClient } from '../../apis/quickbooks/client';
import { ServiceM8Client } from '../../apis/servicem8/client';
import type { ActivityDeps } from '../support/deps';
import { temporalClient } from '../support/temporal';
import { sm8AccountZone } from './record-reads';

export interface BulkReadResult {
  /** The connection is not usable (paused, needs re-authorisation): nothing was read. */
  blocked: string | null;
  /** API calls made. */
  calls: number;
  /** Records read, per object. */
  read: Record<string, number>;
  /** Owners woken (their records changed). */
  woken: number;
  /** Echoes of our own writes confirmed without waking anybody. */
  confirmed: number;
  /** When the next pass is due for echoes left unconfirmed (ms from now), or null when none is left. */
  nextInMs: number | null;
}

/** The marks read together: a company's contacts are listed with the companies (new contacts show up). */
type Group = 'qbo:Customer' | 'qbo:Item' | 'sm8:company' | 'sm8:companycontact' | 'sm8:material';
const groupOf = (m: Pick<DirtyMark, 'side' | 'object'>): Group => `${m.side}:${m.object}` as Group;

const KIND = { Customer: 'customer', Item: 'item', company: 'customer', material: 'item' } as const;

type Rec = Record<string, unknown> & { uuid?: string; Id?: string };

/** What one pass has read so far. */
interface Reading {
  calls: number;
  read: Record<string, number>;
  confirmed: number;
  /** `side:object:id` → the record read. */
  fetched: Map<string, Rec>;
  /** `side:object:id` → the copy the cache held before this read, for the records marked as echoes. */
  before: Map<string, Rec>;
}

const recordKey = (side: RecordSide, object: string, id: string) => `${side}:${object}:${id}`;

export function createCmBulkReadActivities(deps: ActivityDeps) {
  const cache = new RecordCache(deps.pool);

  /** The owner of a marked record, or null when nothing is linked to it any more. */
  async function ownerOf(
    connectionId: string,
    m: DirtyMark,
  ): Promise<{ kind: 'customer' | 'item'; linkId: string; qboSyncToken?: string | null } | null> {
    if (m.object === 'companycontact') {
      const linkId = await deps.links.ofContact(connectionId, m.recordId);
      return linkId ? { kind: 'customer', linkId } : null;
    }
    const kind = KIND[m.object as keyof typeof KIND];
    if (!kind) return null;
    const link =
      m.side === 'qbo'
        ? await deps.links.byQbo(connectionId, kind, m.recordId)
        : await deps.links.bySm8(connectionId, kind, m.recordId);
    return link?.state === 'linked' ? { kind, linkId: link.id, qboSyncToken: link.qboSyncToken } : null;
  }

  /** QuickBooks: the marked Customers and Items by Id, one query per entity (and per 500 ids). */
  async function readQbo(connectionId: string, taken: DirtyMark[], groups: Set<Group>, out: Reading) {
    const qbo = new QuickBooksClient(deps.qboClientDeps(), connectionId);
    for (const entity of ['Customer', 'Item'] as const) {
      if (!groups.has(`qbo:${entity}`)) continue;
      const ids = [...new Set(taken.filter((m) => groupOf(m) === `qbo:${entity}`).map((m) => m.recordId))];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = await qbo.query<typeof entity, Rec>(
          entity,
          `SELECT * FROM ${entity} WHERE Id IN (${chunk.map(qboQuote).join(', ')}) AND Active IN (true, false) MAXRESULTS 1000`,
        );
        out.calls += 1;
        out.read[entity] = (out.read[entity] ?? 0) + rows.length;
        for (const r of rows) out.fetched.set(recordKey('qbo', entity, String(r.Id)), r);
        await cache.put(
          connectionId,
          'qbo',
          rows.map((r) => ({
            object: entity,
            recordId: String(r.Id),
            record: r,
            editTime: (r.MetaData as { LastUpdatedTime?: string } | undefined)?.LastUpdatedTime ?? null,
          })),
        );
      }
    }
  }

  /**
   * ServiceM8: each marked object's records edited since shortly before the oldest mark (edit_date is the
   * account's wall time; the zone is read once per connection), one list per object.
   */
  async function readSm8(connectionId: string, taken: DirtyMark[], groups: Set<Group>, out: Reading) {
    const objects = (['company', 'companycontact', 'material'] as const).filter((o) =>
      groups.has(`sm8:${o}`),
    );
    if (!objects.length) return;
    const sm8 = new ServiceM8Client(deps.sm8ClientDeps(), connectionId);
    const zone = await sm8AccountZone(deps, sm8, () => (out.calls += 1));
    const oldest = Math.min(...taken.filter((m) => m.side === 'sm8').map((m) => m.markedAt.getTime()));
    const from = oldest - EDIT_DATE_SLACK_MS;
    // Unknown zone: the earliest zone's wall time (reads more, never less).
    const since = zone ? sm8TimeIn(new Date(from), zone) : sm8TimeIn(new Date(from - 14 * 3_600_000), 'UTC');
    for (const object of objects) {
      const rows = await sm8.list<Rec & { uuid: string; edit_date?: string }>(object, [
        { field: 'edit_date', op: 'gt', value: since },
      ]);
      out.calls += 1;
      out.read[object] = (out.read[object] ?? 0) + rows.length;
      for (const r of rows) out.fetched.set(recordKey('sm8', object, r.uuid), r);
      await cache.put(
        connectionId,
        'sm8',
        rows.map((r) => ({
          object,
          recordId: r.uuid,
          record: r,
          editTime: r.edit_date ?? null,
          parentId: object === 'companycontact' ? String(r.company_uuid ?? '') || null : null,
        })),
      );
      if (object === 'companycontact')
        await rememberNewContacts(connectionId, rows as unknown as Sm8CompanyContact[]);
    }
  }

  /** Contacts of linked companies that no event could route yet (new ones): remembered for their owner. */
  async function rememberNewContacts(connectionId: string, contacts: Sm8CompanyContact[]): Promise<void> {
    const byCompany = new Map<string, string[]>();
    for (const c of contacts) {
      if (!c.company_uuid || (await deps.links.ofContact(connectionId, c.uuid))) continue;
      byCompany.set(c.company_uuid, [...(byCompany.get(c.company_uuid) ?? []), c.uuid]);
    }
    for (const [company, uuids] of byCompany) {
      const link = await deps.links.bySm8(connectionId, 'customer', company);
      if (link?.state === 'linked') await deps.links.rememberContacts(connectionId, link.id, uuids);
    }
  }

  /**
   * The owners to wake: of a record read that is not only the echo of our own write (confirmed: it holds what
   * we sent), and of one the read missed (gone, or edited before the list's window: its copy is forgotten, so
   * its owner reads the API).
   */
  async function ownersToWake(connectionId: string, taken: DirtyMark[], out: Reading) {
    const toWake = new Map<string, { kind: 'customer' | 'item'; linkId: string }>();
    const byObject = new Map<string, DirtyMark[]>();
    for (const m of taken) byObject.set(groupOf(m), [...(byObject.get(groupOf(m)) ?? []), m]);
    for (const list of byObject.values()) {
      const { side, object } = list[0] as DirtyMark;
      const echoes = list.filter((m) => m.echo).map((m) => m.recordId);
      const written = await ownRecordWritesOf(deps.pool, connectionId, side, object, echoes);
      const missed: string[] = [];
      for (const m of list) {
        const r = out.fetched.get(recordKey(side, object, m.recordId));
        const w = written.get(m.recordId);
        if (
          r &&
          m.echo &&
          w &&
          onlyOurEcho(side, w, r, out.before.get(recordKey(side, object, m.recordId)))
        ) {
          out.confirmed += 1;
          continue;
        }
        if (!r) missed.push(m.recordId);
        const owner = await ownerOf(connectionId, m);
        // QuickBooks' record at the SyncToken its link last synced: nothing new for the owner.
        if (owner && r && side === 'qbo' && owner.qboSyncToken && String(r.SyncToken) === owner.qboSyncToken)
          continue;
        if (owner) toWake.set(`${owner.kind}/${owner.linkId}`, { kind: owner.kind, linkId: owner.linkId });
      }
      await cache.drop(connectionId, side, object, missed);
    }
    return [...toWake.values()];
  }

  return {
    /**
     * One bulk read of a connection's dirty marks: the kinds with a real mark, or an echo due for
     * confirmation, are read once each; the owners of changed records are woken on `taskQueue` (the bulk
     * read's workflow's own).
     */
    async readDirtyClientsMaterials(input: {
      connectionId: string;
      taskQueue: string;
    }): Promise<BulkReadResult> {
      const { connectionId } = input;
      const out: Reading = { calls: 0, read: {}, confirmed: 0, fetched: new Map(), before: new Map() };
      const conn = await deps.store.require(connectionId);
      if (conn.status !== 'active')
        return { blocked: conn.status, calls: 0, read: {}, woken: 0, confirmed: 0, nextInMs: null };
      // Disarmed first: an echo marked after this is not in the marks below, and wakes the read again.
      await disarmEchoRead(deps.pool, connectionId);
      const { marks, now } = await dirtyMarks(deps.pool, connectionId);
      const due = (m: DirtyMark) =>
        !m.echo || now.getTime() - m.markedAt.getTime() >= CONFIRM_ECHOES_AFTER_MS;
      const groups = new Set(marks.filter(due).map(groupOf));
      if (groups.has('sm8:company')) groups.add('sm8:companycontact'); // new contacts show up
      const taken = marks.filter((m) => groups.has(groupOf(m)));
      for (const g of groups) {
        const echoes = taken.filter((m) => m.echo && groupOf(m) === g);
        if (!echoes.length) continue;
        const { side, object } = echoes[0] as DirtyMark;
        const copies = await cache.peek(
          connectionId,
          side,
          object,
          echoes.map((m) => m.recordId),
        );
        for (const [id, copy] of copies) out.before.set(recordKey(side, object, id), copy);
      }

      await readQbo(connectionId, taken, groups, out);
      await readSm8(connectionId, taken, groups, out);
      const owners = await ownersToWake(connectionId, taken, out);
      // The owners are woken before the marks go: a wake that fails is retried with its marks still there.
      if (owners.length) {
        const temporal = temporalClient(deps, 'the bulk read of clients and materials');
        for (const o of owners)
          await signalClientMaterial(temporal, input.taskQueue, o.kind, connectionId, o.linkId);
      }
      await clearMarks(deps.pool, connectionId, taken, now);

      const left = marks.filter((m) => !groups.has(groupOf(m)));
      const first = Math.min(...left.map((m) => m.markedAt.getTime()));
      return {
        blocked: null,
        calls: out.calls,
        read: out.read,
        woken: owners.length,
        confirmed: out.confirmed,
        nextInMs: left.length ? Math.max(0, first + CONFIRM_ECHOES_AFTER_MS - now.getTime()) : null,
      };
    },
  };
}
