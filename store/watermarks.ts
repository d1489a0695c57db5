/**
 * Watermarks of the polling safety net (TRG-2, table `watermarks`): per connection and stream, the newest
 * change seen (`<stream>`) and the records of the overlap window already routed (`<stream>:seen`).
 * activities/poll.ts describes the streams.
 */
import type { Pool } from 'pg';
import { withTransaction } from '../infra/database';

export interface Watermark {
  value: string;
  /** key -> signature of the records in the overlap window already routed. */
  seen: Record<string, string>;
}

export async function readWatermark(
  pool: Pool,
  connectionId: string,
  stream: string,
): Promise<Watermark | null> {
  const r = await pool.query<{ stream: string; value: string }>(
    'SELECT stream, value FROM watermarks WHERE connection_id = $1 AND stream IN ($2, $3)',
    [connectionId, stream, `${stream}:seen`],
  );
  const main = r.rows.find((x) => x.stream === stream);
  if (!main) return null;
  const seenRow = r.rows.find((x) => x.stream === `${stream}:seen`);
  let seen: Record<string, string> = {};
  try {
    seen = seenRow ? (JSON.parse(seenRow.value) as Record<string, string>) : {};
  } catch {
    seen = {}; // a damaged de-duplication set only costs a wasted look
  }
  return { value: main.value, seen };
}

/**
 * Compare-and-set: stores `next` only if the watermark is still `expected` (null = none yet). False when
 * another pass moved it meanwhile (its value stands; what we routed was routed, which is harmless).
 */
export async function writeWatermark(
  pool: Pool,
  connectionId: string,
  stream: string,
  expected: string | null,
  next: Watermark,
): Promise<boolean> {
  return withTransaction(pool, async (db) => {
    const cur = await db.query<{ value: string }>(
      'SELECT value FROM watermarks WHERE connection_id = $1 AND stream = $2 FOR UPDATE',
      [connectionId, stream],
    );
    const current = cur.rows[0]?.value ?? null;
    if (current !== expected) return false;
    if (current === null) {
      const ins = await db.query(
        `INSERT INTO watermarks (connection_id, stream, value) VALUES ($1, $2, $3)
         ON CONFLICT (connection_id, stream) DO NOTHING`,
        [connectionId, stream, next.value],
      );
      if (!ins.rowCount) return false;
    } else {
      await db.query(
        'UPDATE watermarks SET value = $3, updated_at = now() WHERE connection_id = $1 AND stream = $2',
        [connectionId, stream, next.value],
      );
    }
    await db.query(
      `INSERT INTO watermarks (connection_id, stream, value) VALUES ($1, $2, $3)
       ON CONFLICT (connection_id, stream) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [connectionId, `${stream}:seen`, JSON.stringify(next.seen)],
    );
    return true;
  });
}
