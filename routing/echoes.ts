/**
 * Echoes of our own writes die in the router (issue 12, design principle 4, docs/design.md): an event about a job, an
 * invoice or a payment that only reports a write the sync itself made moments ago (store/own-writes.ts) is
 * dropped without waking anyone, so no owner reads the record again. What counts as "only our write":
 *
 * - ServiceM8 (webhooks name the changed fields): every changed field is one we wrote, inside the window.
 * - QuickBooks (webhooks name the operation and, in both formats, a time): a `created` of a record we
 *   created; the invoice's `updated` at the time of our payment that moved its balance (to the second).
 *   Any other update is not taken for ours (a print right after the export or a re-sync is INV-7).
 *   Delete, void, merge and emailed are never ours to drop (INV-7, INV-10, PAY-3).
 *
 * A QuickBooks poll hit (CDC) carries the record's LastUpdatedTime and SyncToken: it is dropped when both
 * are our write's.
 * An event that says nothing (a ServiceM8 poll hit, a re-sync) is never dropped: the owner looks.
 */
import type { Pool } from 'pg';
import { ownWrite, type OwnWrite, type OwnWriteSide } from '../store/own-writes';

/** How long after our write an event may still be its echo (webhooks arrive within seconds). */
export const ECHO_WINDOW_MS = 120_000;

/** What an event says about the change, when its source says anything (webhooks do, polls do not). */
export interface EventHint {
  /** ServiceM8: the changed fields. */
  changedFields?: string[];
  /** QuickBooks: the change's time (legacy `lastUpdated`, CloudEvents `time`; a poll hit's LastUpdatedTime). */
  time?: string;
  /** QuickBooks poll hit: the record's SyncToken (a change such as an email may keep the time). */
  syncToken?: string;
  /** QuickBooks invoice poll hit: whether the record shows it emailed or printed (INV-7; absent: not known). */
  sent?: boolean;
}

const OWNED: Record<string, Array<[OwnWriteSide, string]>> = {
  'sm8:job': [['sm8', 'job']],
  'sm8:jobpayment': [['sm8', 'jobpayment']],
  'qbo:invoice': [
    ['qbo', 'invoice'],
    ['qbo', 'invoice:balance'],
  ],
  'qbo:payment': [['qbo', 'payment']],
};

const ALWAYS_CHANGED = new Set(['edit_date', 'uuid']);

/** Whether an event only reports this write of ours (the rules above), at `now` (ms). */
export function isEchoOf(
  w: OwnWrite,
  ev: { operation: string | null; hint?: EventHint },
  now: number,
): boolean {
  if (w.answer === null) return false; // an intent, not a write
  const inWindow = now - w.writtenAt.getTime() <= ECHO_WINDOW_MS;
  if (w.side === 'sm8') {
    const fields = ev.hint?.changedFields;
    if (!inWindow || !fields?.length) return false;
    return fields.every((f) => ALWAYS_CHANGED.has(f) || w.fields.includes(f));
  }
  if (ev.operation === 'created') return w.entity !== 'invoice:balance';
  // A record we only created has no update of ours to echo: an update is someone else's (a print, INV-7).
  // Nor is our re-sync's echo dropped: QuickBooks' times are to the second and a print right after it must
  // be seen (its echo costs the owner one read of the invoice).
  if (ev.operation === 'updated' && (w.answer.writeOp === 'create' || w.entity === 'invoice')) return false;
  // `null`: a poll hit (CDC gives the record's LastUpdatedTime as the hint's time).
  if (ev.operation !== 'updated' && ev.operation !== null) return false;
  const time = ev.hint?.time ? Date.parse(ev.hint.time) : NaN;
  if (Number.isNaN(time)) return false; // says nothing: the owner looks
  const ours = w.lastUpdated ? Date.parse(w.lastUpdated) : NaN;
  if (ev.operation === null)
    return !Number.isNaN(ours) && Math.abs(time - ours) < 1000 && ev.hint?.syncToken === w.syncToken;
  if (!Number.isNaN(ours)) return Math.abs(time - ours) < 1000;
  // Our write whose answer has no time (the invoice's balance moved by our payment): inside the window.
  return inWindow && time >= w.writtenAt.getTime() - 5000;
}

/** True when the event only reports our own recent write (see above). */
export async function isOwnEcho(
  pool: Pool,
  ev: {
    source: string;
    entity: string;
    connectionId: string;
    entityId: string;
    operation: string | null;
    hint?: EventHint;
  },
): Promise<boolean> {
  const owned = OWNED[`${ev.source}:${ev.entity}`];
  if (!owned) return false;
  const now = Date.now();
  for (const [side, entity] of owned) {
    const w = await ownWrite(pool, ev.connectionId, side, entity, ev.entityId);
    if (w && isEchoOf(w, ev, now)) return true;
  }
  return false;
}

/** The hint of a stored webhook's payload (client/webhook-routes.ts stores ServiceM8's entry, QuickBooks' event). */
export function hintOfPayload(source: 'sm8' | 'qbo', payload: unknown): EventHint | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  const p = payload as Record<string, unknown>;
  if (source === 'sm8') {
    const fields = (p.entry as { changed_fields?: unknown } | undefined)?.changed_fields;
    return Array.isArray(fields) ? { changedFields: fields.map(String) } : undefined;
  }
  const time =
    typeof p.lastUpdated === 'string' ? p.lastUpdated : typeof p.time === 'string' ? p.time : undefined;
  return time ? { time } : undefined;
}
