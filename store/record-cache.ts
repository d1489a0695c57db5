/**
 * The record cache and the dirty marks of clients and materials (issue 12, CM-2; `cm_record_cache` and
 * `cm_dirty_marks`, migrations/014).
 *
 * The cache holds the newest copy of a customer or item record we know (from a bulk read, an owner's read,
 * or what our own write made of it), keyed by record, with its edit time. A copy is current unless an event
 * marked its record dirty after the copy was stored (a mark for the echo of our own write does not count:
 * the copy is what we wrote). Owners read it before the API.
 *
 * A dirty mark says "an event named this record": the connection's bulk read (cm-read/<connection>) reads
 * every marked record of one object at once and removes the marks it took.
 */
import type { Pool } from 'pg';

/** The side a customer or item record lives on. */
export type RecordSide = 'sm8' | 'qbo';

/** One customer or item record on one side: the key of the cache, the dirty marks and own record writes. */
export interface RecordRef {
  connectionId: string;
  side: RecordSide;
  object: string;
  recordId: string;
}

/** The pseudo-object of the version of a job its invoice pass read last (record_id = job uuid). */
const JOB_SEEN = 'job-seen';

export interface JobVersion {
  editDate: string | null;
  fingerprint: string;
}

/** The pseudo-object whose row says "every contact of this company is cached" (record_id = company uuid). */
export const COMPANY_CONTACTS = 'company-contacts';

/** The record id of a stale mark on every company's contact list (a contact of an unknown company changed). */
export const ANY_COMPANY = '*';

export interface CachedRecord<T = Record<string, unknown>> {
  record: T;
  editTime: string | null;
}

export interface CacheEntry {
  object: string;
  recordId: string;
  record: Record<string, unknown>;
  editTime?: string | null;
  /** ServiceM8 contacts: their company's uuid. */
  parentId?: string | null;
}

/**
 * A copy counts unless a real (not echo) mark is newer than it, or, for a record no link claims, an event
 * named it since (cm_stale_copies, migrations/017).
 */
const CURRENT = `NOT EXISTS (
  SELECT 1 FROM cm_dirty_marks m
   WHERE m.connection_id = c.connection_id AND m.side = c.side AND m.object = c.object
     AND m.record_id = c.record_id AND NOT m.echo AND m.marked_at > c.stored_at)
  AND NOT EXISTS (
  SELECT 1 FROM cm_stale_copies s
   WHERE s.connection_id = c.connection_id AND s.side = c.side AND s.object = c.object
     AND s.record_id IN (c.record_id, CASE WHEN c.object = '${COMPANY_CONTACTS}' THEN '${ANY_COMPANY}' END)
     AND s.marked_at > c.stored_at)`;

export class RecordCache {
  constructor(private readonly pool: Pool) {}

  /** The current copy of one record, or null (none, or a newer event made it stale). */
  async get<T>(ref: RecordRef): Promise<CachedRecord<T> | null> {
    const r = await this.pool.query<{ record: T; edit_time: string | null }>(
      `SELECT record, edit_time FROM cm_record_cache c
        WHERE connection_id = $1 AND side = $2 AND object = $3 AND record_id = $4 AND ${CURRENT}`,
      [ref.connectionId, ref.side, ref.object, ref.recordId],
    );
    const row = r.rows[0];
    return row ? { record: row.record, editTime: row.edit_time } : null;
  }

  /** The current copies of some records of one object, by record id (missing: none, or stale). */
  async getMany<T>(
    connectionId: string,
    side: RecordSide,
    object: string,
    recordIds: string[],
  ): Promise<Map<string, T>> {
    if (!recordIds.length) return new Map();
    const r = await this.pool.query<{ record_id: string; record: T }>(
      `SELECT record_id, record FROM cm_record_cache c
        WHERE connection_id = $1 AND side = $2 AND object = $3 AND record_id = ANY($4::text[]) AND ${CURRENT}`,
      [connectionId, side, object, recordIds],
    );
    return new Map(r.rows.map((x) => [x.record_id, x.record]));
  }

  /**
   * Stores copies (each replaces the one before), as of `since` when given: the database time taken before
   * the read that returned them (`now()`), so an event that came while it ran makes them stale.
   */
  async put(connectionId: string, side: RecordSide, entries: CacheEntry[], since?: Date): Promise<void> {
    await this.upsert(connectionId, side, entries, since ?? null, '');
  }

  /** The database's clock now: the `since` of copies about to be listed (`putAbsent`). */
  async now(): Promise<Date> {
    const r = await this.pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    return (r.rows[0] as { now: Date }).now;
  }

  /**
   * Stores copies of records that have none yet, or only a stale one, as of `since` (taken before the list
   * that returned them): an event marked after that makes them stale. A current copy is left alone: an owner
   * or the bulk read keeps it, and an echo's confirmation compares with it.
   */
  async putAbsent(connectionId: string, side: RecordSide, entries: CacheEntry[], since: Date): Promise<void> {
    await this.upsert(
      connectionId,
      side,
      entries,
      since,
      `WHERE c.stored_at < EXCLUDED.stored_at AND NOT (${CURRENT})`,
    );
  }

  /** One row per key, stored at `since` (else now); an existing row is replaced where `when` allows. */
  private async upsert(
    connectionId: string,
    side: RecordSide,
    entries: CacheEntry[],
    since: Date | null,
    when: string,
  ): Promise<void> {
    if (!entries.length) return;
    const rows = [...new Map(entries.map((e) => [`${e.object}\u0000${e.recordId}`, e])).values()];
    await this.pool.query(
      `INSERT INTO cm_record_cache AS c
              (connection_id, side, object, record_id, parent_id, edit_time, record, stored_at)
       SELECT $1, $2, o, id, p, t, r::jsonb, coalesce($8::timestamptz, clock_timestamp())
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(o, id, p, t, r)
       ON CONFLICT (connection_id, side, object, record_id) DO UPDATE
         SET parent_id = EXCLUDED.parent_id, edit_time = EXCLUDED.edit_time, record = EXCLUDED.record,
             stored_at = EXCLUDED.stored_at
         ${when}`,
      [
        connectionId,
        side,
        rows.map((e) => e.object),
        rows.map((e) => e.recordId),
        rows.map((e) => e.parentId ?? null),
        rows.map((e) => e.editTime ?? null),
        rows.map((e) => JSON.stringify(e.record)),
        since,
      ],
    );
  }

  /** The copies of some records of one object as they are, current or not (what a bulk read compares with). */
  async peek(
    connectionId: string,
    side: RecordSide,
    object: string,
    recordIds: string[],
  ): Promise<Map<string, Record<string, unknown>>> {
    if (!recordIds.length) return new Map();
    const r = await this.pool.query<{ record_id: string; record: Record<string, unknown> }>(
      `SELECT record_id, record FROM cm_record_cache
        WHERE connection_id = $1 AND side = $2 AND object = $3 AND record_id = ANY($4::text[])`,
      [connectionId, side, object, recordIds],
    );
    return new Map(r.rows.map((x) => [x.record_id, x.record]));
  }

  /** Forgets copies (the owner then reads the API). */
  async drop(connectionId: string, side: RecordSide, object: string, recordIds: string[]): Promise<void> {
    if (!recordIds.length) return;
    await this.pool.query(
      `DELETE FROM cm_record_cache WHERE connection_id = $1 AND side = $2 AND object = $3
          AND record_id = ANY($4::text[])`,
      [connectionId, side, object, recordIds],
    );
  }

  /**
   * Every contact of a ServiceM8 company, when the cache holds them all (their list was stored with
   * `putContactsOf` and every change since went through the cache), and each one is current; else null.
   */
  async contactsOf<T>(connectionId: string, companyUuid: string): Promise<T[] | null> {
    const r = await this.pool.query<{ object: string; record: T; current: boolean }>(
      `SELECT object, record, ${CURRENT} AS current FROM cm_record_cache c
        WHERE connection_id = $1 AND side = 'sm8'
          AND ((object = $2 AND record_id = $3) OR (object = 'companycontact' AND parent_id = $3))`,
      [connectionId, COMPANY_CONTACTS, companyUuid],
    );
    if (!r.rows.some((x) => x.object === COMPANY_CONTACTS && x.current)) return null;
    const contacts = r.rows.filter((x) => x.object !== COMPANY_CONTACTS);
    if (contacts.some((x) => !x.current)) return null;
    return contacts.map((x) => x.record);
  }

  /** Stores the whole list of a company's contacts (and that it is whole). */
  async putContactsOf<T extends { uuid: string }>(
    connectionId: string,
    companyUuid: string,
    contacts: T[],
    editTime: (c: T) => string | null = () => null,
    since?: Date,
  ): Promise<void> {
    await this.putContactLists(connectionId, new Map([[companyUuid, contacts]]), editTime, since);
  }

  /**
   * The version of a job an invoice pass read (its edit_date and fingerprint): a poll hit for that same
   * version tells its owner nothing new and wakes nobody (issue 12).
   */
  async putJobSeen(connectionId: string, jobUuid: string, version: JobVersion): Promise<void> {
    await this.put(connectionId, 'sm8', [
      { object: JOB_SEEN, recordId: jobUuid, record: { ...version }, editTime: version.editDate },
    ]);
  }

  /** The versions of these jobs their passes read last (missing: none read). */
  async jobsSeen(connectionId: string, jobUuids: string[]): Promise<Map<string, JobVersion>> {
    return this.getMany<JobVersion>(connectionId, 'sm8', JOB_SEEN, jobUuids);
  }

  /** Stores the whole contact lists of several companies at once (one statement). */
  async putContactLists<T extends { uuid: string }>(
    connectionId: string,
    byCompany: Map<string, T[]>,
    editTime: (c: T) => string | null = () => null,
    since?: Date,
  ): Promise<void> {
    await this.put(
      connectionId,
      'sm8',
      [...byCompany].flatMap(([companyUuid, contacts]) => [
        { object: COMPANY_CONTACTS, recordId: companyUuid, record: {} },
        ...contacts.map((c) => ({
          object: 'companycontact',
          recordId: c.uuid,
          record: c as unknown as Record<string, unknown>,
          parentId: companyUuid,
          editTime: editTime(c),
        })),
      ]),
      since,
    );
  }
}

/**
 * An event named a ServiceM8 record no link claims (routing/clients-materials.ts): nobody is woken, but a
 * copy of it is stale from now on (migrations/017).
 */
export async function markCopyStale(pool: Pool, ref: RecordRef): Promise<void> {
  await pool.query(
    `INSERT INTO cm_stale_copies (connection_id, side, object, record_id, marked_at)
     VALUES ($1, $2, $3, $4, clock_timestamp())
     ON CONFLICT (connection_id, side, object, record_id) DO UPDATE SET marked_at = EXCLUDED.marked_at`,
    [ref.connectionId, ref.side, ref.object, ref.recordId],
  );
}

export interface DirtyMark {
  side: RecordSide;
  object: string;
  recordId: string;
  echo: boolean;
  markedAt: Date;
}

/**
 * Marks a record dirty. A real mark stays real (an echo mark never downgrades it); its time is the newest
 * event's.
 */
export async function markDirty(pool: Pool, ref: RecordRef, echo: boolean): Promise<void> {
  await pool.query(
    `INSERT INTO cm_dirty_marks (connection_id, side, object, record_id, echo, marked_at)
     VALUES ($1, $2, $3, $4, $5, clock_timestamp())
     ON CONFLICT (connection_id, side, object, record_id) DO UPDATE
       SET echo = cm_dirty_marks.echo AND EXCLUDED.echo, marked_at = EXCLUDED.marked_at`,
    [ref.connectionId, ref.side, ref.object, ref.recordId, echo],
  );
}

/** How old an arm of the echo read may be before another router takes it (its signal may have been lost). */
export const ECHO_READ_ARM_STALE_MS = 90_000;

/**
 * Arms the connection's bulk read for echo marks (migrations/016): true when this caller armed it and must
 * wake the read; false when it is armed already (the read it woke has not taken the marks yet).
 */
export async function armEchoRead(pool: Pool, connectionId: string): Promise<boolean> {
  const r = await pool.query(
    `INSERT INTO cm_read_armed (connection_id) VALUES ($1)
     ON CONFLICT (connection_id) DO UPDATE SET armed_at = clock_timestamp()
       WHERE cm_read_armed.armed_at < clock_timestamp() - make_interval(secs => $2::double precision / 1000)
     RETURNING 1`,
    [connectionId, ECHO_READ_ARM_STALE_MS],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Disarms it (the bulk read, before it takes the marks; a router whose wake failed). */
export async function disarmEchoRead(pool: Pool, connectionId: string): Promise<void> {
  await pool.query('DELETE FROM cm_read_armed WHERE connection_id = $1', [connectionId]);
}

/** The marks of a connection, oldest first, with the database's time now (the snapshot they were taken at). */
export async function dirtyMarks(
  pool: Pool,
  connectionId: string,
): Promise<{ marks: DirtyMark[]; now: Date }> {
  const r = await pool.query<{
    side: RecordSide;
    object: string;
    record_id: string;
    echo: boolean;
    marked_at: Date;
    now: Date;
  }>(
    `SELECT side, object, record_id, echo, marked_at, clock_timestamp() AS now FROM cm_dirty_marks
      WHERE connection_id = $1 ORDER BY marked_at`,
    [connectionId],
  );
  const now =
    r.rows[0]?.now ?? (await pool.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]?.now;
  if (!now) throw new Error('PostgreSQL gave no clock');
  return {
    marks: r.rows.map((x) => ({
      side: x.side,
      object: x.object,
      recordId: x.record_id,
      echo: x.echo,
      markedAt: x.marked_at,
    })),
    now,
  };
}

/** Removes marks the bulk read took, unless an event marked the record again since `takenAt`. */
export async function clearMarks(
  pool: Pool,
  connectionId: string,
  marks: Array<Pick<DirtyMark, 'side' | 'object' | 'recordId'>>,
  takenAt: Date,
): Promise<void> {
  if (!marks.length) return;
  await pool.query(
    `DELETE FROM cm_dirty_marks d
      USING unnest($2::text[], $3::text[], $4::text[]) AS x(side, object, record_id)
      WHERE d.connection_id = $1 AND d.side = x.side AND d.object = x.object AND d.record_id = x.record_id
        AND d.marked_at <= $5`,
    [
      connectionId,
      marks.map((m) => m.side),
      marks.map((m) => m.object),
      marks.map((m) => m.recordId),
      takenAt,
    ],
  );
}
