/**
 * OAuth states of the connect flows (CON-1, table `oauth_states`): one row per opened connect link, consumed
 * atomically by the callback so that a code is never exchanged twice. Expired states go with the inbox
 * relay's hourly clean-up (client/webhook-inbox.ts).
 */
import type { Pool } from 'pg';

export type OAuthProvider = 'qbo' | 'sm8';

/** Records the link's state; false when the link was opened before (its state exists already). */
export async function claimOAuthState(
  pool: Pool,
  provider: OAuthProvider,
  connectionId: string,
  state: string,
  ttlMinutes: number,
): Promise<boolean> {
  const r = await pool.query(
    `INSERT INTO oauth_states (state, provider, connection_id, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(mins => $4))
     ON CONFLICT (state) DO NOTHING`,
    [state, provider, connectionId, ttlMinutes],
  );
  return r.rowCount === 1;
}

/** Marks the state used; returns its connection, or null when unknown, expired or already used. */
export async function consumeOAuthState(
  pool: Pool,
  provider: OAuthProvider,
  state: string,
): Promise<string | null> {
  const r = await pool.query<{ connection_id: string }>(
    `UPDATE oauth_states SET consumed_at = now()
      WHERE state = $1 AND provider = $2 AND consumed_at IS NULL AND expires_at > now()
      RETURNING connection_id`,
    [state, provider],
  );
  return r.rows[0]?.connection_id ?? null;
}

/** A day after it expired, an OAuth state (used or not) only answers "expired" either way: it goes. */
export const OAUTH_STATE_GRACE_HOURS = 24;

export async function cleanupOAuthStates(pool: Pool, connectionIds?: readonly string[]): Promise<number> {
  const r = await pool.query(
    `DELETE FROM oauth_states WHERE expires_at < now() - make_interval(hours => $1)
        AND ($2::text[] IS NULL OR connection_id = ANY($2::text[]))`,
    [OAUTH_STATE_GRACE_HOURS, connectionIds ?? null],
  );
  return r.rowCount ?? 0;
}
