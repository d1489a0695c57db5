/**
 * Issue 10: the Temporal payload codec (AES-256-GCM) and the GCM primitive it shares with SecretBox.
 * The end-to-end check (a real workflow's history holds no personal data) is test/payload-encryption.test.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { gcmOpen, gcmSeal } from '../infra/aes-gcm';
import { failureConverter } from '../infra/failure-converter';
import { ConfigError, loadConfig } from '../infra/config';
import {
  dataConverterFrom,
  ENCRYPTED_ENCODING,
  FAILURE_CONVERTER_PATH,
  isEncrypted,
  KEY_ID_METADATA,
  payloadCodecFrom,
  PayloadDecryptionError,
  PayloadEncryptionCodec,
} from '../infra/payload-codec';

const key = () => crypto.randomBytes(32).toString('base64');
const EMAIL = 'harper.quinn@billing.example';
const plain = (): Payload => defaultPayloadConverter.toPayload({ billEmail: EMAIL, name: 'Harper Quinn' });
const meta = (p: Payload, k: string) => Buffer.from(p.metadata?.[k] ?? []).toString();
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-payload-key-'));

async function encryptOne(codec: PayloadEncryptionCodec, p: Payload = plain()): Promise<Payload> {
  const [out] = await codec.encode([p]);
  return out as Payload;
}

describe('issue 10: Temporal payloads are encrypted (AES-256-GCM)', () => {
  it('round-trips a payload, and the encrypted one names its encoding and key but holds no clear text', async () => {
    const codec = PayloadEncryptionCodec.parse(`k1:${key()}`);
    const original = plain();
    const sealed = await encryptOne(codec, original);
    expect(meta(sealed, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(sealed, KEY_ID_METADATA)).toBe('k1');
    expect(Object.keys(sealed.metadata ?? {}).sort()).toEqual(['encoding', KEY_ID_METADATA]);
    expect(Buffer.from(sealed.data ?? []).includes(EMAIL)).toBe(false);
    expect(Buffer.from(sealed.data ?? []).includes('json/plain')).toBe(false);

    const [opened] = await codec.decode([sealed]);
    expect(meta(opened as Payload, 'encoding')).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(opened as Payload)).toEqual({
      billEmail: EMAIL,
      name: 'Harper Quinn',
    });
  });

  it('rotates keys: the first key encrypts, an older listed key still decrypts', async () => {
    const oldKey = key();
    const before = PayloadEncryptionCodec.parse(`old:${oldKey}`);
    const sealedBefore = await encryptOne(before);
    const after = PayloadEncryptionCodec.parse(`new:${key()},old:${oldKey}`);
    const [opened] = await after.decode([sealedBefore]);
    expect(defaultPayloadConverter.fromPayload(opened as Payload)).toMatchObject({ billEmail: EMAIL });
    expect(meta(await encryptOne(after), KEY_ID_METADATA)).toBe('new');
  });

  it('refuses a payload encrypted with a key it does not have, naming the key and the variable', async () => {
    const sealed = await encryptOne(PayloadEncryptionCodec.parse(`old:${key()}`));
    const codec = PayloadEncryptionCodec.parse(`new:${key()}`);
    await expect(codec.decode([sealed])).rejects.toThrow(PayloadDecryptionError);
    await expect(codec.decode([sealed])).rejects.toThrow(
      /encrypted with key "old", which is not in PAYLOAD_ENCRYPTION_KEYS \(it has "new"\): add that key/,
    );
  });

  it('refuses a tampered ciphertext, a truncated tag and a payload cut short', async () => {
    const codec = PayloadEncryptionCodec.parse(`k1:${key()}`);
    const sealed = await encryptOne(codec);
    const data = Buffer.from(sealed.data ?? []);

    const flipped = Buffer.from(data);
    flipped[20] = (flipped[20] as number) ^ 0x01;
    await expect(codec.decode([{ ...sealed, data: flipped }])).rejects.toThrow(
      /encrypted with key "k1" does not decrypt: it does not authenticate/,
    );
    // The last 16 bytes are the tag: 4 of them gone.
    await expect(codec.decode([{ ...sealed, data: data.subarray(0, data.length - 4) }])).rejects.toThrow(
      /does not decrypt/,
    );
    await expect(codec.decode([{ ...sealed, data: data.subarray(0, 20) }])).rejects.toThrow(
      /is 20 bytes, too short to hold its IV and its 16-byte tag/,
    );
  });

  it('tells before a replay which keys a history needs and it lacks', async () => {
    const oldKey = key();
    const sealed = await encryptOne(PayloadEncryptionCodec.parse(`old:${oldKey}`));
    const history = {
      events: [{ activityTaskCompletedEventAttributes: { result: { payloads: [sealed] } } }],
    };
    expect(() => PayloadEncryptionCodec.parse(`old:${oldKey}`).assertCanDecrypt(history)).not.toThrow();
    expect(() => PayloadEncryptionCodec.parse(`new:${key()}`).assertCanDecrypt(history)).toThrow(
      'This history is encrypted with key "old", which is not in PAYLOAD_ENCRYPTION_KEYS (it has "new")',
    );
  });

  it('passes payloads without the encrypted encoding through decode unchanged (older histories)', async () => {
    const codec = PayloadEncryptionCodec.parse(`k1:${key()}`);
    const original = plain();
    const [out] = await codec.decode([original]);
    expect(out).toBe(original);
    expect(isEncrypted(original)).toBe(false);
  });

  it('GCM refuses a tag shorter than 16 bytes, which Node would otherwise accept', () => {
    const k = crypto.randomBytes(32);
    const aad = Buffer.from('place');
    const sealed = gcmSeal(k, Buffer.from('secret'), aad);
    expect(gcmOpen(k, sealed, aad).toString()).toBe('secret');
    for (const n of [4, 8, 12, 15]) {
      expect(() => gcmOpen(k, { ...sealed, tag: sealed.tag.subarray(0, n) }, aad)).toThrow(
        `its authentication tag is ${n} bytes instead of 16`,
      );
    }
  });
});

describe('issue 10: where the payload keys come from', () => {
  it('reads PAYLOAD_ENCRYPTION_KEYS, with errors that name it', () => {
    const config = loadConfig({ PAYLOAD_ENCRYPTION_KEYS: `p1:${key()}` });
    expect(payloadCodecFrom(config).activeKeyId).toBe('p1');
    expect(() => payloadCodecFrom(loadConfig({ PAYLOAD_ENCRYPTION_KEYS: 'p1' }))).toThrow(ConfigError);
    expect(() => payloadCodecFrom(loadConfig({ PAYLOAD_ENCRYPTION_KEYS: 'p1' }))).toThrow(
      /PAYLOAD_ENCRYPTION_KEYS must be `id:base64key/,
    );
    expect(() => payloadCodecFrom(loadConfig({ PAYLOAD_ENCRYPTION_KEYS: `a:${key()},a:${key()}` }))).toThrow(
      /lists key id "a" twice/,
    );
  });

  it('generates DATA_DIR/payload.key once (mode 0600), separate from encryption.key, shared by every process', async () => {
    const dataDir = tmpDir();
    const worker = payloadCodecFrom({ dataDir, payloadEncryptionKeys: undefined });
    const cli = payloadCodecFrom({ dataDir, payloadEncryptionKeys: undefined }, { create: false });
    expect(cli.activeKeyId).toBe(worker.activeKeyId);
    expect(worker.activeKeyId).toMatch(/^local-[0-9a-f]{8}$/);
    const [opened] = await cli.decode([await encryptOne(worker)]);
    expect(defaultPayloadConverter.fromPayload(opened as Payload)).toMatchObject({ billEmail: EMAIL });
    expect(fs.statSync(path.join(dataDir, 'payload.key')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(dataDir, 'encryption.key'))).toBe(false);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the CLI does not invent a key: without one it says where it looked', async () => {
    const sealed = await encryptOne(PayloadEncryptionCodec.parse(`local-1234abcd:${key()}`));
    const dataDir = tmpDir();
    const cli = payloadCodecFrom({ dataDir, payloadEncryptionKeys: undefined }, { create: false });
    await expect(cli.decode([sealed])).rejects.toThrow(
      `which is not in PAYLOAD_ENCRYPTION_KEYS or ${path.join(dataDir, 'payload.key')} (no keys configured)`,
    );
    expect(fs.readdirSync(dataDir)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('builds one DataConverter: the codec, and the failure converter that encrypts error messages too', () => {
    const dc = dataConverterFrom({ dataDir: '', payloadEncryptionKeys: `k:${key()}` });
    expect(dc.payloadCodecs).toHaveLength(1);
    expect(dc.payloadCodecs?.[0]).toBeInstanceOf(PayloadEncryptionCodec);
    expect(dc.failureConverterPath).toBe(FAILURE_CONVERTER_PATH);
    expect(FAILURE_CONVERTER_PATH).toBe(require.resolve('../infra/failure-converter'));
    const failure = failureConverter.errorToFailure(
      new Error(`no customer ${EMAIL}`),
      defaultPayloadConverter,
    );
    expect(failure.message).toBe('Encoded failure');
    expect(JSON.stringify(failure)).not.toContain(EMAIL);
  });
});
