/**
 * The one way a test waits for something the system does on its own time (a workflow's pass, a relay, a
 * poll): `probe` is asked again every POLL_MS until it answers a value (anything but undefined, null or
 * false), which is returned. A probe that throws has not answered yet (a workflow between runs, a record not
 * yet written). On timeout the error says what was awaited and the last value or error seen, so a failure
 * reads as what went wrong rather than "timed out".
 */
const POLL_MS = 100;

export type Probe<T> = () => Promise<T | undefined | null | false> | T | undefined | null | false;

export async function waitFor<T>(
  what: string,
  probe: Probe<T>,
  timeoutMs = 60_000,
  /** How often to ask: shorter where a test must act within a moment (kill a worker mid-page). */
  everyMs = POLL_MS,
): Promise<T> {
  const started = Date.now();
  let last: { value: unknown } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last ${describe(last)}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until `ok` holds for the value `read` gives (a workflow's status, say); returns that value. */
export async function waitUntil<T>(
  what: string,
  read: () => Promise<T> | T,
  ok: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const found = await waitFor(
    what,
    async () => {
      const value = await read();
      if (ok(value)) return { value };
      throw new NotYet(value);
    },
    timeoutMs,
  );
  return found.value;
}

/** A value read that does not satisfy the wait yet (shown as the last value on timeout). */
class NotYet {
  constructor(readonly value: unknown) {}
}

function describe(last: { value: unknown } | { error: unknown } | undefined): string {
  if (!last) return 'probe never answered';
  if ('error' in last && last.error instanceof NotYet) return `value: ${show(last.error.value)}`;
  if ('error' in last) return `error: ${last.error instanceof Error ? last.error.message : show(last.error)}`;
  return `value: ${show(last.value)}`;
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/**
 * A connection's sync has nothing left to do: no event waiting in the inbox, no record waiting for the bulk
 * read (the echoes' confirmations included) and no new call to either simulator for `quietMs`.
 */
export async function untilSettled(
  w: {
    h: { pool: { query: (sql: string, params: unknown[]) => Promise<{ rows: Array<{ n: unknown }> }> } };
    sm8: { control: { calls: { stats: () => { total: number } } } };
    qbo: { control: { calls: () => unknown[] } };
  },
  connectionId: string,
  quietMs = 3000,
): Promise<void> {
  let last = -1;
  let since = Date.now();
  await waitFor(
    'the sync to settle',
    async () => {
      const n = w.sm8.control.calls.stats().total + w.qbo.control.calls().length;
      const pending = await w.h.pool.query(
        `SELECT (SELECT count(*) FROM webhook_inbox WHERE connection_id = $1 AND state = 'pending')
              + (SELECT count(*) FROM cm_dirty_marks WHERE connection_id = $1) AS n`,
        [connectionId],
      );
      if (n !== last || Number(pending.rows[0]?.n) > 0) {
        last = n;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= quietMs;
    },
    120_000,
  );
}
