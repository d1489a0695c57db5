/**
 * Temporal payload encryption (issue 10): every payload the product hands to Temporal (workflow and activity
 * inputs and results, signals, queries, updates, memos, failure details and messages) is sealed with
 * AES-256-GCM before it leaves the process, so histories hold no billing emails, names or invoice bodies.
 * An encrypted payload has `encoding: binary/encrypted` and the id of its key; the first key of
 * PAYLOAD_ENCRYPTION_KEYS encrypts, every listed key decrypts (rotation). Payloads without that encoding
 * (histories recorded before this, search attributes) pass through `decode` unchanged. Search attributes are
 * never given to a codec by the SDK: they stay readable for the Web UI's lists and queries.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import {
  DecryptionError,
  IV_BYTES,
  TAG_BYTES,
  gcmOpen,
  gcmSeal,
  parseKeyList,
  readOrCreateKeyFile,
  type NamedKey,
} from './aes-gcm';
import type { Config } from './config';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const PAYLOAD_KEYS = 'PAYLOAD_ENCRYPTION_KEYS';
const PayloadMessage = temporal.api.common.v1.Payload;

/** Binds a ciphertext to its purpose and key id (a SecretBox envelope or another key's payload never opens). */
const aadFor = (keyId: string) => Buffer.from(`sm8-qbo-sync temporal payload v1 ${keyId}`);

export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

const text = (bytes: Uint8Array | null | undefined) =>
  bytes ? Buffer.from(bytes).toString('utf8') : undefined;

export function isEncrypted(payload: Payload): boolean {
  return text(payload.metadata?.encoding) === ENCRYPTED_ENCODING;
}

export class PayloadEncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  /** The id of the key that encrypts (undefined: this codec can only pass plaintext through). */
  readonly activeKeyId: string | undefined;

  /** `keys[0]` encrypts; `source` names where the keys came from, for error messages. */
  constructor(
    keys: NamedKey[],
    private readonly source: string = PAYLOAD_KEYS,
  ) {
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    this.activeKeyId = keys[0]?.id;
  }

  static parse(spec: string, source = PAYLOAD_KEYS): PayloadEncryptionCodec {
    return new PayloadEncryptionCodec(parseKeyList(spec, source), source);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncrypted(p) ? this.decrypt(p) : p));
  }

  /** Encrypts when no key is configured (the CLI's replay), never used to decrypt. */
  throwawayKey: NamedKey | undefined;

  encrypt(payload: Payload): Payload {
    const keyId = this.activeKeyId ?? this.throwawayKey?.id;
    const key = this.activeKeyId ? this.keys.get(this.activeKeyId) : this.throwawayKey?.key;
    if (keyId === undefined || key === undefined) {
      throw new PayloadDecryptionError(
        `No payload encryption key is configured (${this.source}): set PAYLOAD_ENCRYPTION_KEYS to encrypt Temporal payloads`,
      );
    }
    const plain = Buffer.from(PayloadMessage.encode(payload).finish());
    const { iv, tag, ciphertext } = gcmSeal(key, plain, aadFor(keyId));
    return {
      metadata: {
        encoding: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(keyId),
      },
      data: Buffer.concat([iv, ciphertext, tag]),
    };
  }

  /**
   * Refuses, before any replay starts, a history (or any message) with payloads of keys this codec lacks:
   * otherwise the replay fails deep inside the worker with a message about determinism.
   */
  assertCanDecrypt(root: unknown, what = 'This history'): void {
    const missing = [...keyIdsIn(root)].filter((id) => !this.keys.has(id));
    if (missing.length) throw new PayloadDecryptionError(`${what} ${this.missingKeyMessage(missing)}`);
  }

  private missingKeyMessage(missing: string[]): string {
    const known = [...this.keys.keys()];
    const list = (ids: string[]) => ids.map((k) => `"${k}"`).join(', ');
    return (
      `is encrypted with key ${list(missing)}, which is not in ${this.source} ` +
      (known.length ? `(it has ${list(known)})` : '(no keys configured)') +
      `: add that key to ${PAYLOAD_KEYS} (after the current one) to read it`
    );
  }

  decrypt(payload: Payload): Payload {
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    if (!keyId) throw new PayloadDecryptionError(`An encrypted Temporal payload has no ${KEY_ID_METADATA}`);
    const key = this.keys.get(keyId);
    if (!key) throw new PayloadDecryptionError(`A Temporal payload ${this.missingKeyMessage([keyId])}`);
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(
        `A Temporal payload encrypted with key "${keyId}" is ${data.length} bytes, too short to hold its IV and its ${TAG_BYTES}-byte tag (truncated)`,
      );
    }
    const sealed = {
      iv: data.subarray(0, IV_BYTES),
      ciphertext: data.subarray(IV_BYTES, data.length - TAG_BYTES),
      tag: data.subarray(data.length - TAG_BYTES),
    };
    try {
      return PayloadMessage.decode(gcmOpen(key, sealed, aadFor(keyId)));
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      throw new PayloadDecryptionError(
        `A Temporal payload encrypted with key "${keyId}" does not decrypt: ${err.message}`,
      );
    }
  }
}

/** The key ids of the encrypted payloads anywhere inside `root` (a history, an event, a response). */
export function keyIdsIn(root: unknown, into = new Set<string>()): Set<string> {
  if (root === null || typeof root !== 'object' || root instanceof Uint8Array) return into;
  const o = root as Record<string, unknown>;
  if (o.data instanceof Uint8Array && o.metadata !== null && typeof o.metadata === 'object') {
    const p = o as Payload;
    if (isEncrypted(p)) into.add(text(p.metadata?.[KEY_ID_METADATA]) ?? '(none)');
    return into;
  }
  for (const k of Object.keys(o)) keyIdsIn(o[k], into);
  return into;
}

/**
 * The codec of this installation: PAYLOAD_ENCRYPTION_KEYS, else DATA_DIR/payload.key, generated once (mode
 * 0600) so `npm start`'s worker, API and the CLI share it. `create: false` (the CLI) only reads the file: a
 * command run in the wrong folder must not invent a key that decrypts nothing.
 */
export function payloadCodecFrom(
  config: Pick<Config, 'payloadEncryptionKeys' | 'dataDir'>,
  opts: { create?: boolean } = {},
): PayloadEncryptionCodec {
  if (config.payloadEncryptionKeys) return PayloadEncryptionCodec.parse(config.payloadEncryptionKeys);
  const file = path.join(config.dataDir, 'payload.key');
  if (opts.create === false && !readableFile(file)) {
    // No key here: plaintext histories still replay. The replaying worker encodes its own commands, which
    // are thrown away, so it encrypts with a key that lives only in this process and decrypts nothing.
    const codec = new PayloadEncryptionCodec([], `${PAYLOAD_KEYS} or ${file}`);
    codec.throwawayKey = { id: 'throwaway', key: crypto.randomBytes(32) };
    return codec;
  }
  // A random id: a key file from another folder then fails with "unknown key", not with a forged-looking error.
  const spec = readOrCreateKeyFile(file, `local-${crypto.randomUUID().slice(0, 8)}`);
  return PayloadEncryptionCodec.parse(spec, file);
}

function readableFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The failure converter that moves messages and stack traces into (encrypted) payloads. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The DataConverter of every worker and Temporal client the product makes. */
export function dataConverterFrom(
  config: Pick<Config, 'payloadEncryptionKeys' | 'dataDir'>,
  opts: { create?: boolean } = {},
): DataConverter & { payloadCodecs: [PayloadEncryptionCodec] } {
  return { payloadCodecs: [payloadCodecFrom(config, opts)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
