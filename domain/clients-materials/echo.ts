/**
 * Echoes and bulk reads of clients and materials (issue 12, CM-2): how long after our own write an event about
 * the same record is taken for its echo, how long a burst of events is gathered before one bulk read, and
 * whether a record read back still holds what we wrote. Pure.
 */

/** An event about a record we wrote less than this ago is our own write coming back (both APIs report it). */
export const ECHO_WINDOW_MS = 60_000;
/** Echoes are confirmed by a bulk read at most this long after they were dropped (or sooner, with others). */
export const CONFIRM_ECHOES_AFTER_MS = 45_000;
/** A bulk read waits until no event came for this long (a burst costs one read)… */
export const DEBOUNCE_QUIET_MS = 1_000;
/** …but not longer than this after the first event. */
export const DEBOUNCE_MAX_MS = 4_000;
/**
 * ServiceM8's list is filtered by edit_date from this long before the oldest mark: an event arrives after
 * its edit (webhooks within seconds, a poll hit up to its interval later). A record the list misses is read
 * by its owner.
 */
export const EDIT_DATE_SLACK_MS = 90_000;

const scalar = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    const n = Number(v);
    return v.trim() !== '' && Number.isFinite(n) && /^-?[\d.]+$/.test(v.trim()) ? String(n) : v;
  }
  return JSON.stringify(v);
};

/** Two values as either API writes them back: numbers and numeric strings, booleans and 0/1, null and ''. */
export function sameValue(sent: unknown, read: unknown): boolean {
  if (sent && typeof sent === 'object' && !Array.isArray(sent)) {
    const r = read && typeof read === 'object' ? (read as Record<string, unknown>) : {};
    return Object.entries(sent as Record<string, unknown>).every(([k, v]) => sameValue(v, r[k]));
  }
  return scalar(sent) === scalar(read);
}

/**
 * Whether a record read back is our write's echo and nothing more: it holds every field we sent, and nothing
 * else changed — QuickBooks: its SyncToken is the one our write was answered with; ServiceM8 (no version):
 * every field of the copy we held (what we read before, with our write on top) is as it was, its edit time
 * aside. Anything else is someone's edit, and the record's owner looks.
 */
export function onlyOurEcho(
  side: 'sm8' | 'qbo',
  written: { sent: Record<string, unknown>; syncToken: string | null },
  read: Record<string, unknown>,
  copy: Record<string, unknown> | undefined,
): boolean {
  if (!holdsWhatWeWrote(written.sent, read)) return false;
  if (side === 'qbo') return written.syncToken !== null && String(read.SyncToken) === written.syncToken;
  return Object.entries(copy ?? {})
    .filter(([k]) => k !== 'edit_date')
    .every(([k, v]) => sameValue(v, read[k]));
}

/** True when the record read back holds every field we sent (ids and tokens of the body aside). */
export function holdsWhatWeWrote(sent: Record<string, unknown>, read: Record<string, unknown>): boolean {
  return Object.entries(sent)
    .filter(([k]) => !['Id', 'SyncToken', 'sparse', 'uuid'].includes(k))
    .every(([k, v]) => sameValue(v, read[k]));
}

/**
 * Whether an event about a record we wrote inside the echo window is that write coming back, judged by when
 * the event says the change was made (when it says so; without a time, inside the window is enough):
 * - QuickBooks: the change time equals the LastUpdatedTime our write was answered with (to the second);
 * - ServiceM8: the change time (UTC "YYYY-MM-DD HH:MM:SS", one-second resolution; its zone is UNCONFIRMED,
 *   docs/servicem8-api.md §4) falls between shortly before our write's answer and shortly after it.
 * An edit made after our write is therefore not taken for its echo. A wrong guess costs a bulk read, never
 * a change: an event taken for an echo is confirmed by the next bulk read.
 */
export function isEchoOfOurWrite(
  side: 'sm8' | 'qbo',
  written: { writtenAtMs: number; lastUpdated: string | null; inFlight?: boolean },
  changedAt: string | null | undefined,
): boolean {
  if (!changedAt) return true;
  // Sent, not yet answered (`writtenAtMs`: when it was sent): the webhook of a write can come before its
  // answer does (both simulators, and the real APIs, notify as they commit). Whatever changed since we sent is
  // taken for it; the confirming read tells a change made meanwhile apart.
  if (written.inFlight) {
    if (side === 'qbo') return true;
    const at = Date.parse(`${changedAt.trim().replace(' ', 'T')}Z`);
    return !Number.isFinite(at) || at >= written.writtenAtMs - SM8_ECHO_BEFORE_MS;
  }
  if (side === 'qbo') {
    const at = Date.parse(changedAt);
    const ours = written.lastUpdated ? Date.parse(written.lastUpdated) : NaN;
    if (!Number.isFinite(at) || !Number.isFinite(ours)) return true;
    return Math.abs(at - ours) < 1_000;
  }
  const at = Date.parse(`${changedAt.trim().replace(' ', 'T')}Z`);
  if (!Number.isFinite(at)) return true;
  return at >= written.writtenAtMs - SM8_ECHO_BEFORE_MS && at <= written.writtenAtMs + SM8_ECHO_AFTER_MS;
}

/** A ServiceM8 change time this long before our write's answer is still that write (the call's own time). */
export const SM8_ECHO_BEFORE_MS = 15_000;
/** …and this long after it (clocks, and the one-second resolution). */
export const SM8_ECHO_AFTER_MS = 2_000;
