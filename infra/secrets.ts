/**
 * Secrets at rest (CON-1): AES-256-GCM envelopes `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url).
 * The key id travels in the envelope so keys can be rotated: the first key of ENCRYPTION_KEYS encrypts,
 * every listed key decrypts. The additional authenticated data binds a value to its place (e.g.
 * "connection:demo:qbo"), so a ciphertext copied into another row does not decrypt.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from './config';

export class SecretBox {
  private readonly keys: Map<string, Buffer>;

  constructor(
    keys: Array<{ id: string; key: Buffer }>,
    readonly activeKeyId: string = keys[0]?.id ?? '',
  ) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    if (!this.keys.has(activeKeyId)) throw new Error(`Unknown active key id ${activeKeyId}`);
  }

  /** Parses `id:base64key[,id:base64key…]` (ENCRYPTION_KEYS). */
  static parse(spec: string, variable = 'ENCRYPTION_KEYS'): SecretBox {
    const keys = spec.split(',').map((part) => {
      const [id, b64, extra] = part.trim().split(':');
      if (!id || !b64 || extra !== undefined || !/^[\w-]{1,32}$/.test(id)) {
        throw new ConfigError(
          variable,
          'must be `id:base64key[,id:base64key…]` with ids of letters, digits, _ or -',
        );
      }
      const key = Buffer.from(b64, 'base64');
      if (key.length !== 32)
        throw new ConfigError(variable, `key "${id}" must decode to 32 bytes, got ${key.length}`);
      return { id, key };
    });
    return new SecretBox(keys);
  }

  /** ENCRYPTION_KEYS, or a key generated once into DATA_DIR/encryption.key (mode 0600) for local use. */
  static fromConfig(config: Pick<Config, 'encryptionKeys' | 'dataDir'>): SecretBox {
    if (config.encryptionKeys) return SecretBox.parse(config.encryptionKeys);
    const file = path.join(config.dataDir, 'encryption.key');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(config.dataDir, { recursive: true });
      const spec = `local:${crypto.randomBytes(32).toString('base64')}`;
      fs.writeFileSync(file, spec + '\n', { mode: 0o600, flag: 'wx' });
    }
    return SecretBox.parse(fs.readFileSync(file, 'utf8').trim(), file);
  }

  seal(plaintext: string, context: string): string {
    const key = this.keys.get(this.activeKeyId) as Buffer;
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      'v1',
      this.activeKeyId,
      iv.toString('base64url'),
      tag.toString('base64url'),
      ct.toString('base64url'),
    ].join('.');
  }

  open(envelope: string, context: string): string {
    const [version, keyId, iv, tag, ct] = envelope.split('.');
    if (version !== 'v1' || !keyId || !iv || !tag || ct === undefined) throw new Error('Not a sealed secret');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`Secret was sealed with key "${keyId}", which is not in ENCRYPTION_KEYS`);
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** True when the envelope was sealed with an older key and should be re-sealed. */
  needsRotation(envelope: string): boolean {
    return envelope.split('.')[1] !== this.activeKeyId;
  }
}
