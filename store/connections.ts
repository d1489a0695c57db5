/**
 * Connections in PostgreSQL (CON-1): one row per ServiceM8 account ⇄ QuickBooks company. Secrets are
 * sealed with SecretBox (AES-256-GCM) bound to their row and column; nothing here logs a secret.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../infra/database';
import type { SecretBox } from '../infra/secrets';

export type ConnectionStatus = 'active' | 'paused' | 'needs_reauth' | 'disconnected';

export interface ConnectionSummary {
  id: string;
  name: string;
  status: ConnectionStatus;
  statusReason: string | null;
  qboRealmId: string | null;
  sm8AuthKind: 'api_key' | 'oauth' | null;
  qboAccessExpiresAt: Date | null;
  qboTokenVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The token as intuit-oauth's `getToken().getToken()` gives it (createdAt in ms). */
export interface QboToken {
  access_token: string;
  refresh_token: string;
  token_type?: string;
  expires_in: number;
  x_refresh_token_expires_in?: number;
  createdAt: number;
}

export type Sm8Credentials =
  | { kind: 'api_key'; apiKey: string }
  | { kind: 'oauth'; accessToken: string; refreshToken: string; expiresAt: number; scope?: string };

type Queryable = Pool | PoolClient;

const SUMMARY_COLUMNS = `id, name, status, status_reason, qbo_realm_id, sm8_auth_kind, qbo_access_expires_at,
  qbo_token_version, created_at, updated_at`;

interface SummaryRow {
  id: string;
  name: string;
  status: ConnectionStatus;
  status_reason: string | null;
  qbo_realm_id: string | null;
  sm8_auth_kind: 'api_key' | 'oauth' | null;
  qbo_access_expires_at: Date | null;
  qbo_token_version: number;
  created_at: Date;
  updated_at: Date;
}

function toSummary(r: SummaryRow): ConnectionSummary {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    statusReason: r.status_reason,
    qboRealmId: r.qbo_realm_id,
    sm8AuthKind: r.sm8_auth_kind,
    qboAccessExpiresAt: r.qbo_access_expires_at,
    qboTokenVersion: r.qbo_token_version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Non-retryable: no retry will make a missing connection appear. */
export class ConnectionNotFound extends ApplicationFailure {
  constructor(readonly connectionId: string) {
    super(`No connection "${connectionId}"`, 'ConnectionNotFound', true);
  }
}

export const CONNECTION_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Advisory lock class of the ServiceM8 webhook set-up (see migrations for the others). */
const SM8_WEBHOOK_LOCK_CLASS = 7_283_005;

export class ConnectionStore {
  constructor(
    private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  private context(id: string, side: 'qbo' | 'sm8'): string {
    return `connection:${id}:${side}`;
  }

  /** Creates the connection if it does not exist yet; returns it either way. */
  async ensure(id: string, name: string): Promise<ConnectionSummary> {
    if (!CONNECTION_ID_PATTERN.test(id)) {
      throw new Error(`Connection id "${id}" must be lower-case letters, digits and dashes (max 63)`);
    }
    await this.pool.query('INSERT INTO connections (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
      id,
      name,
    ]);
    return this.require(id);
  }

  async get(id: string, db: Queryable = this.pool): Promise<ConnectionSummary | null> {
    const r = await db.query<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM connections WHERE id = $1`, [id]);
    return r.rows[0] ? toSummary(r.rows[0]) : null;
  }

  async require(id: string, db: Queryable = this.pool): Promise<ConnectionSummary> {
    const c = await this.get(id, db);
    if (!c) throw new ConnectionNotFound(id);
    return c;
  }

  async list(): Promise<ConnectionSummary[]> {
    const r = await this.pool.query<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM connections ORDER BY id`);
    return r.rows.map(toSummary);
  }

  async findByRealm(realmId: string): Promise<ConnectionSummary | null> {
    const r = await this.pool.query<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM connections WHERE qbo_realm_id = $1`,
      [realmId],
    );
    return r.rows[0] ? toSummary(r.rows[0]) : null;
  }

  async setStatus(id: string, status: ConnectionStatus, reason: string | null = null): Promise<void> {
    const r = await this.pool.query(
      'UPDATE connections SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1',
      [id, status, reason],
    );
    if (r.rowCount === 0) throw new ConnectionNotFound(id);
  }

  /** Stores a new QBO token set (connect callback or refresh); a reconnect makes the connection active again. */
  async saveQboTokens(
    id: string,
    realmId: string,
    token: QboToken,
    db: Queryable = this.pool,
  ): Promise<void> {
    const sealed = this.box.seal(JSON.stringify(token), this.context(id, 'qbo'));
    const accessExpires = new Date(token.createdAt + token.expires_in * 1000);
    const refreshExpires = token.x_refresh_token_expires_in
      ? new Date(token.createdAt + token.x_refresh_token_expires_in * 1000)
      : null;
    const r = await db.query(
      `UPDATE connections
          SET qbo_realm_id = $2, qbo_secret = $3, qbo_access_expires_at = $4, qbo_refresh_expires_at = $5,
              qbo_token_version = qbo_token_version + 1,
              status = CASE WHEN status IN ('needs_reauth', 'disconnected') THEN 'active' ELSE status END,
              status_reason = CASE WHEN status IN ('needs_reauth', 'disconnected') THEN NULL ELSE status_reason END,
              updated_at = now()
        WHERE id = $1`,
      [id, realmId, sealed, accessExpires, refreshExpires],
    );
    if (r.rowCount === 0) throw new ConnectionNotFound(id);
  }

  /** Reads the QBO tokens; `forUpdate` takes the row lock (caller owns the transaction). */
  async readQboTokens(
    id: string,
    db: Queryable = this.pool,
    forUpdate = false,
  ): Promise<{ realmId: string; token: QboToken; version: number; status: ConnectionStatus }> {
    const r = await db.query<{
      qbo_realm_id: string | null;
      qbo_secret: string | null;
      qbo_token_version: number;
      status: ConnectionStatus;
    }>(
      `SELECT qbo_realm_id, qbo_secret, qbo_token_version, status FROM connections WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    const row = r.rows[0];
    if (!row) throw new ConnectionNotFound(id);
    if (!row.qbo_secret || !row.qbo_realm_id)
      throw new Error(`Connection "${id}" is not connected to QuickBooks`);
    const token = JSON.parse(this.box.open(row.qbo_secret, this.context(id, 'qbo'))) as QboToken;
    return { realmId: row.qbo_realm_id, token, version: row.qbo_token_version, status: row.status };
  }

  async saveSm8Credentials(id: string, creds: Sm8Credentials, db: Queryable = this.pool): Promise<void> {
    const sealed = this.box.seal(JSON.stringify(creds), this.context(id, 'sm8'));
    const expires = creds.kind === 'oauth' ? new Date(creds.expiresAt) : null;
    const r = await db.query(
      `UPDATE connections
          SET sm8_auth_kind = $2, sm8_secret = $3, sm8_token_expires_at = $4,
              status = CASE WHEN status IN ('needs_reauth', 'disconnected') THEN 'active' ELSE status END,
              status_reason = CASE WHEN status IN ('needs_reauth', 'disconnected') THEN NULL ELSE status_reason END,
              updated_at = now()
        WHERE id = $1`,
      [id, creds.kind, sealed, expires],
    );
    if (r.rowCount === 0) throw new ConnectionNotFound(id);
  }

  async readSm8Credentials(
    id: string,
    db: Queryable = this.pool,
    forUpdate = false,
  ): Promise<Sm8Credentials> {
    const r = await db.query<{ sm8_secret: string | null }>(
      `SELECT sm8_secret FROM connections WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    const row = r.rows[0];
    if (!row) throw new ConnectionNotFound(id);
    if (!row.sm8_secret) throw new Error(`Connection "${id}" is not connected to ServiceM8`);
    return JSON.parse(this.box.open(row.sm8_secret, this.context(id, 'sm8'))) as Sm8Credentials;
  }

  /**
   * Disconnect: forget both sides' secrets; links and history stay for a later reconnect. `beforeForgetting`
   * gets the current QuickBooks token (null if none) under the row lock, which a token refresh also takes,
   * so the token it sees (e.g. to revoke it at Intuit) is the last one issued.
   */
  async disconnect(
    id: string,
    reason = 'disconnected by an administrator',
    beforeForgetting?: (qbo: QboToken | null) => Promise<void>,
  ): Promise<void> {
    await withTransaction(this.pool, async (db) => {
      const r = await db.query<{ qbo_secret: string | null }>(
        'SELECT qbo_secret FROM connections WHERE id = $1 FOR UPDATE',
        [id],
      );
      const row = r.rows[0];
      if (!row) throw new ConnectionNotFound(id);
      if (beforeForgetting) {
        const secret = row.qbo_secret;
        await beforeForgetting(
          secret ? (JSON.parse(this.box.open(secret, this.context(id, 'qbo'))) as QboToken) : null,
        );
      }
      await db.query(
        `UPDATE connections SET status = 'disconnected', status_reason = $2, qbo_secret = NULL, sm8_secret = NULL,
                qbo_access_expires_at = NULL, updated_at = now() WHERE id = $1`,
        [id, reason],
      );
    });
  }

  // ---- ServiceM8 webhook secret (TRG-3): the statements of client/webhook-routes.ts and
  // client/webhook-subscriptions.ts -------------------------------------------------------------------------

  /** The connection whose ServiceM8 webhook secret has this sha256, or null. */
  async findBySm8WebhookSecretHash(hash: string): Promise<string | null> {
    const found = await this.pool.query<{ id: string }>(
      'SELECT id FROM connections WHERE sm8_webhook_secret_hash = $1',
      [hash],
    );
    return found.rows[0]?.id ?? null;
  }

  /**
   * Runs `fn` holding the connection's advisory lock for its ServiceM8 webhook set-up (one run per connection
   * at a time: two runs could otherwise each mint a secret), with the stored secret hash and a way to store
   * a new one.
   */
  async withSm8WebhookSecret<T>(
    id: string,
    fn: (storedHash: string | null, saveHash: (hash: string) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    const lock = await this.pool.connect();
    try {
      await lock.query('SELECT pg_advisory_lock($1, hashtext($2))', [SM8_WEBHOOK_LOCK_CLASS, id]);
      const row = await lock.query<{ hash: string | null }>(
        'SELECT sm8_webhook_secret_hash AS hash FROM connections WHERE id = $1',
        [id],
      );
      if (!row.rows[0]) throw new Error(`No connection "${id}"`);
      return await fn(row.rows[0].hash, async (hash) => {
        await lock.query(
          'UPDATE connections SET sm8_webhook_secret_hash = $2, updated_at = now() WHERE id = $1',
          [id, hash],
        );
      });
    } finally {
      // A client whose unlock failed is destroyed rather than returned to the pool still holding the lock.
      const unlocked = await lock
        .query('SELECT pg_advisory_unlock($1, hashtext($2))', [SM8_WEBHOOK_LOCK_CLASS, id])
        .then(() => true)
        .catch(() => false);
      lock.release(!unlocked);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Helper A1 (issue 11): settings, and token writes the token managers make under their row lock.

  /** The connection's settings (`connections.settings`, a JSON object; {} when the connection is unknown). */
  async settings(id: string, db: Queryable = this.pool): Promise<Record<string, unknown>> {
    const r = await db.query<{ settings: Record<string, unknown> }>(
      'SELECT settings FROM connections WHERE id = $1',
      [id],
    );
    return r.rows[0]?.settings ?? {};
  }

  /**
   * QuickBooks refused the refresh token: needs_reauth, unless the tokens changed since `version` was read
   * (a sibling's refresh then stands).
   */
  async qboRefreshRefused(id: string, version: number, reason: string): Promise<void> {
    await this.pool.query(
      `UPDATE connections SET status = 'needs_reauth', status_reason = $2, updated_at = now()
        WHERE id = $1 AND qbo_token_version = $3`,
      [id, reason, version],
    );
  }

  /** needs_reauth inside the caller's transaction (e.g. under the row lock of readSm8Credentials). */
  async markNeedsReauth(id: string, reason: string, db: Queryable = this.pool): Promise<void> {
    await db.query(
      `UPDATE connections SET status = 'needs_reauth', status_reason = $2, updated_at = now() WHERE id = $1`,
      [id, reason],
    );
  }
}
