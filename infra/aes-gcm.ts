/**
 * The one AES-256-GCM primitive of the product, shared by SecretBox (secrets at rest, infra/secrets.ts) and the
 * Temporal payload codec (infra/payload-codec.ts), with the `id:base64key[,id:base64key…]` key lists both read
 * from the environment and the local key files `npm start` generates when a list is not configured.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config';

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
/** The full GCM tag. Node accepts tags as short as 4 bytes unless told otherwise; a short tag is forgeable. */
export const TAG_BYTES = 16;

export interface NamedKey {
  id: string;
  key: Buffer;
}

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** A ciphertext that does not open: altered, truncated, sealed for another place, or with another key. */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

/** Opens a sealed value; refuses a tag or IV of the wrong length before trying (no truncated tags). */
export function gcmOpen(key: Buffer, sealed: Sealed, aad: Buffer): Buffer {
  if (sealed.tag.length !== TAG_BYTES) {
    throw new DecryptionError(
      `its authentication tag is ${sealed.tag.length} bytes instead of ${TAG_BYTES} (truncated or altered)`,
    );
  }
  if (sealed.iv.length !== IV_BYTES) {
    throw new DecryptionError(`its IV is ${sealed.iv.length} bytes instead of ${IV_BYTES} (altered)`);
  }
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    throw new DecryptionError(
      'it does not authenticate (altered, or sealed with another key or for another place)',
    );
  }
}

/** Parses `id:base64key[,id:base64key…]`; `variable` names the source in errors (an env variable or a file). */
export function parseKeyList(spec: string, variable: string): NamedKey[] {
  const keys = spec.split(',').map((part) => {
    const [id, b64, extra] = part.trim().split(':');
    if (!id || !b64 || extra !== undefined || !/^[\w-]{1,32}$/.test(id)) {
      throw new ConfigError(
        variable,
        'must be `id:base64key[,id:base64key…]` with ids of letters, digits, _ or -',
      );
    }
    const key = Buffer.from(b64, 'base64');
    if (key.length !== KEY_BYTES)
      throw new ConfigError(variable, `key "${id}" must decode to ${KEY_BYTES} bytes, got ${key.length}`);
    return { id, key };
  });
  const ids = keys.map((k) => k.id);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) throw new ConfigError(variable, `lists key id "${repeated}" twice`);
  return keys;
}

/**
 * The key list in `file`, created once (mode 0600) with one fresh key named `id` when it does not exist.
 * Processes started together (worker and API) may race: the file appears atomically, and the loser reads it.
 */
export function readOrCreateKeyFile(file: string, id: string): string {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, `${id}:${crypto.randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return fs.readFileSync(file, 'utf8').trim();
}
