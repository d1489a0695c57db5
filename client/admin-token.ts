/**
 * The admin token every API process needs (`npm start` and `npm run api` both call `resolveAdminToken`):
 * ADMIN_TOKEN, or on a loopback HOST one generated once into DATA_DIR/admin.token (mode 0600) for the CLI to
 * read. A non-loopback HOST without ADMIN_TOKEN is refused: the API never listens where strangers reach it
 * with a credential nobody chose.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ConfigError, type Config } from '../infra/config';

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, '');
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

export interface AdminToken {
  token: string;
  /** The file it was read from or written to; null when it came from ADMIN_TOKEN. */
  file: string | null;
}

export function adminTokenFile(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'admin.token');
}

/** Reads the token file if it exists (the CLI uses this; it never writes one). */
export function readAdminTokenFile(config: Pick<Config, 'dataDir'>): string | undefined {
  const file = adminTokenFile(config);
  if (!fs.existsSync(file)) return undefined;
  return fs.readFileSync(file, 'utf8').trim() || undefined;
}

export function resolveAdminToken(config: Pick<Config, 'adminToken' | 'host' | 'dataDir'>): AdminToken {
  if (config.adminToken) return { token: config.adminToken, file: null };
  if (!isLoopback(config.host))
    throw new ConfigError(
      'ADMIN_TOKEN',
      `must be set when the API listens on a non-loopback address (HOST=${config.host}); set ADMIN_TOKEN to a long random value, or leave HOST unset (127.0.0.1)`,
    );
  const file = adminTokenFile(config);
  const existing = readAdminTokenFile(config);
  if (existing) {
    // An operator may have copied it with a looser mode; the token is as secret as the admin API.
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    return { token: existing, file };
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  fs.writeFileSync(file, crypto.randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600); // an empty file left behind kept its own mode
  return { token: fs.readFileSync(file, 'utf8').trim(), file };
}
