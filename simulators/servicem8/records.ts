/**
 * The write pipeline: create, update and soft delete with validation (fields.ts), edit dates, and the
 * server-side effects of a write (effects.ts). Every write returns the record changes it caused so that
 * webhooks can be fired for them.
 */
import { randomUUID } from 'node:crypto';
import { type SimClock, formatSm8DateTime } from './clock';
import { WriteEffects } from './effects';
import { notFoundError, validationError } from './errors';
import { blankRecord, changedFieldNames, describe, isUuid, normaliseBody } from './fields';
import { type ObjectName, objectDef } from './schemas';
import { type Sm8Record, type Store } from './store';

export { isUuid } from './fields';

export interface RecordChange {
  object: ObjectName;
  uuid: string;
  /** Names of the fields whose value changed (all fields on create). */
  changedFields: string[];
  created: boolean;
  at: Date;
}

export interface WriteResult {
  uuid: string;
  record: Sm8Record;
  changes: RecordChange[];
}

export interface WriteOptions {
  /** Control-API inserts: read-only fields may be set and required fields are not enforced. */
  trusted?: boolean;
  /** Staff member acting through `x-impersonate-uuid`. */
  actorStaffUuid?: string;
}

export interface RecordServiceConfig {
  store: Store;
  clock: SimClock;
  /** Account time zone: edit_date and other stamps are account-local ("YYYY-MM-DD HH:MM:SS"). */
  timeZone: string;
  /** When true, every write gets an edit_date strictly later than the previous write's (see README). */
  uniqueEditDates: boolean;
  /** When true, API writes of jobmaterials with negative amounts are refused (see README). */
  rejectNegativeLines: boolean;
}

/** Adds one second to a "YYYY-MM-DD HH:MM:SS" string (calendar arithmetic, zone-free). */
function addOneSecond(stamp: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(stamp);
  if (!match) return stamp;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const next = new Date(Date.UTC(y, mo - 1, d, h, mi, s) + 1000);
  return next.toISOString().slice(0, 19).replace('T', ' ');
}

export class RecordService {
  private readonly effects: WriteEffects;

  constructor(private readonly config: RecordServiceConfig) {
    this.effects = new WriteEffects(config.store, config.clock, () => config.rejectNegativeLines);
  }

  private get store(): Store {
    return this.config.store;
  }

  /** Account-local "now" for stamps that are not edit dates. */
  localNow(): string {
    return formatSm8DateTime(this.config.clock.now(), this.config.timeZone);
  }

  /**
   * The edit_date for the write happening now. One-second resolution like ServiceM8, and never earlier
   * than the previous write's, even when the sim clock is moved backwards. With `uniqueEditDates` each
   * write gets a strictly later value (bumping by one second when two writes share a second).
   */
  private nextEditDate(): string {
    let stamp = this.localNow();
    const last = this.store.lastEditDate;
    if (last !== '' && stamp <= last) stamp = this.config.uniqueEditDates ? addOneSecond(last) : last;
    this.store.lastEditDate = stamp;
    return stamp;
  }

  read(object: ObjectName, uuid: string): Sm8Record {
    const record = this.store.get(object, uuid);
    if (!record) throw notFoundError();
    return record;
  }

  /**
   * Creates a record. A create carrying the uuid of an existing record of the same object is applied as an
   * update of that record (idempotent retries of a create are harmless; the job number is not re-issued).
   */
  create(object: ObjectName, body: Record<string, unknown>, options: WriteOptions = {}): WriteResult {
    const def = objectDef(object);
    const requested = body.uuid;
    if (requested !== undefined && requested !== '') {
      if (typeof requested !== 'string' || !isUuid(requested)) {
        throw validationError(`${object}.uuid: expected a UUID, got ${describe(requested)}`);
      }
      if (this.store.has(object, requested)) return this.update(object, requested, body, options);
    }
    const trusted = options.trusted === true;
    const input = normaliseBody(def, body, trusted);
    if (!trusted) {
      for (const name of def.required) {
        if (input[name] === undefined || input[name] === '') {
          throw validationError(`${object}.${name} is required`);
        }
      }
    } else if (object === 'job' && input.status === undefined) {
      input.status = 'Quote';
    }
    const uuid = typeof requested === 'string' && requested !== '' ? requested.toLowerCase() : randomUUID();
    const now = this.config.clock.now();
    const editDate = this.nextEditDate();
    const record: Sm8Record = { ...blankRecord(def), ...input, uuid, edit_date: editDate };
    const related: RecordChange[] = [];
    this.effects.applyCreate(object, record, input, options, editDate, related);
    this.store.put(object, record);
    const changes: RecordChange[] = [
      { object, uuid, changedFields: changedFieldNames(undefined, record), created: true, at: now },
    ];
    changes.push(...related, ...this.effects.afterWrite(object, undefined, record, editDate));
    return { uuid, record: this.read(object, uuid), changes };
  }

  /** Applies only the given fields; answers 404 for an unknown uuid. */
  update(
    object: ObjectName,
    uuid: string,
    body: Record<string, unknown>,
    options: WriteOptions = {},
  ): WriteResult {
    const def = objectDef(object);
    const before = this.store.get(object, uuid);
    if (!before) throw notFoundError();
    const trusted = options.trusted === true;
    const input = normaliseBody(def, body, trusted);
    for (const name of def.required) {
      if (input[name] === '') throw validationError(`${object}.${name} cannot be empty`);
    }
    const now = this.config.clock.now();
    const editDate = this.nextEditDate();
    const record: Sm8Record = { ...before, ...input, edit_date: editDate };
    const related: RecordChange[] = [];
    this.effects.applyUpdate(object, before, record, input, options, editDate, related);
    this.store.put(object, record);
    const changes: RecordChange[] = [
      {
        object,
        uuid: before.uuid as string,
        changedFields: changedFieldNames(before, record),
        created: false,
        at: now,
      },
    ];
    changes.push(...related, ...this.effects.afterWrite(object, before, record, editDate));
    return { uuid: before.uuid as string, record: this.read(object, uuid), changes };
  }

  /** Soft delete: `active = 0`; the record stays readable and listed. */
  remove(object: ObjectName, uuid: string, options: WriteOptions = {}): WriteResult {
    return this.update(object, uuid, { active: 0 }, { ...options, trusted: false });
  }
}
