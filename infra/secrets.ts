/**
 * Secrets at rest (CON-1): AES-256-GCM envelopes `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url).
 * The key id travels in the envelope so keys can be rotated: the first key of ENCRYPTION_KEYS encrypts,
 * every listed key decrypts. The additional authenticated data binds a value to its place (e.g.
 * "connection:demo:qbo"), so a ciphertext copied into another row does not decrypt.
 */
import path from 'node:path';
import type { Config } from './config';
import {
  DecryptionError,
  gcmOpen,
  gcmSeal,
  parseKeyList,
  readOrCreateKeyFile,
  type NamedKey,
} from './aes-gcm';

export class SecretBox {
  private readonly keys: Map<string, Buffer>;

  constructor(
    keys: NamedKey[],
    readonly activeKeyId: string = keys[0]?.id ?? '',
  ) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    if (!this.keys.has(activeKeyId)) throw new Error(`Unknown active key id ${activeKeyId}`);
  }

  /** Parses `id:base64key[,id:base64key…]` (ENCRYPTION_KEYS). */
  static parse(spec: string, variable = 'ENCRYPTION_KEYS'): SecretBox {
    return new SecretBox(parseKeyList(spec, variable));
  }

  /** ENCRYPTION_KEYS, or a key generated once into DATA_DIR/encryption.key (mode 0600) for local use. */
  static fromConfig(config: Pick<Config, 'encryptionKeys' | 'dataDir'>): SecretBox {
    if (config.encryptionKeys) return SecretBox.parse(config.encryptionKeys);
    const file = path.join(config.dataDir, 'encryption.key');
    return SecretBox.parse(readOrCreateKeyFile(file, 'local'), file);
  }

  seal(plaintext: string, context: string): string {
    const key = this.keys.get(this.activeKeyId) as Buffer;
    const { iv, tag, ciphertext } = gcmSeal(key, Buffer.from(plaintext, 'utf8'), Buffer.from(context));
    return [
      'v1',
      this.activeKeyId,
      iv.toString('base64url'),
      tag.toString('base64url'),
      ciphertext.toString('base64url'),
    ].join('.');
  }

  open(envelope: string, context: string): string {
    const [version, keyId, iv, tag, ct] = envelope.split('.');
    if (version !== 'v1' || !keyId || !iv || !tag || ct === undefined) throw new Error('Not a sealed secret');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`Secret was sealed with key "${keyId}", which is not in ENCRYPTION_KEYS`);
    const sealed = {
      iv: Buffer.from(iv, 'base64url'),
      tag: Buffer.from(tag, 'base64url'),
      ciphertext: Buffer.from(ct, 'base64url'),
    };
    try {
      return gcmOpen(key, sealed, Buffer.from(context)).toString('utf8');
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      throw new DecryptionError(`The secret stored for ${context} does not open: ${err.message}`);
    }
  }

  /** True when the envelope was sealed with an older key and should be re-sealed. */
  needsRotation(envelope: string): boolean {
    return envelope.split('.')[1] !== this.activeKeyId;
  }
}
