import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../infra/config';
import { SecretBox } from '../infra/secrets';

const key = () => crypto.randomBytes(32).toString('base64');

describe('CON-1: secrets are encrypted at rest (AES-256-GCM)', () => {
  it('round-trips and never contains the clear text', () => {
    const box = SecretBox.parse(`k1:${key()}`);
    const sealed = box.seal('refresh-token-abc123', 'connection:acme:qbo');
    expect(sealed).not.toContain('refresh-token-abc123');
    expect(sealed.startsWith('v1.k1.')).toBe(true);
    expect(box.open(sealed, 'connection:acme:qbo')).toBe('refresh-token-abc123');
  });

  it('binds a secret to its place: a ciphertext copied to another connection does not open', () => {
    const box = SecretBox.parse(`k1:${key()}`);
    const sealed = box.seal('secret', 'connection:acme:qbo');
    expect(() => box.open(sealed, 'connection:other:qbo')).toThrow();
  });

  it('detects tampering', () => {
    const box = SecretBox.parse(`k1:${key()}`);
    const parts = box.seal('secret', 'c').split('.');
    parts[4] = Buffer.from('forged').toString('base64url');
    expect(() => box.open(parts.join('.'), 'c')).toThrow();
  });

  it('rotates keys: the first key encrypts, older keys still decrypt', () => {
    const oldKey = key();
    const before = SecretBox.parse(`old:${oldKey}`);
    const sealed = before.seal('secret', 'c');
    const after = SecretBox.parse(`new:${key()},old:${oldKey}`);
    expect(after.open(sealed, 'c')).toBe('secret');
    expect(after.needsRotation(sealed)).toBe(true);
    expect(after.seal('x', 'c').startsWith('v1.new.')).toBe(true);
    expect(() => SecretBox.parse(`new:${key()}`).open(sealed, 'c')).toThrow(/key "old"/);
  });

  it.each([
    ['k1', /ENCRYPTION_KEYS must be/],
    [`k1:${Buffer.from('short').toString('base64')}`, /must decode to 32 bytes/],
    [`bad.id:${key()}`, /ENCRYPTION_KEYS must be/],
  ])('rejects ENCRYPTION_KEYS=%s with a clear error', (spec, message) => {
    expect(() => SecretBox.parse(spec)).toThrow(ConfigError);
    expect(() => SecretBox.parse(spec)).toThrow(message);
  });

  it('generates a local key once, readable only by its owner, when ENCRYPTION_KEYS is unset', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-keys-'));
    const a = SecretBox.fromConfig({ dataDir, encryptionKeys: undefined });
    const sealed = a.seal('secret', 'c');
    const b = SecretBox.fromConfig({ dataDir, encryptionKeys: undefined });
    expect(b.open(sealed, 'c')).toBe('secret');
    expect(fs.statSync(path.join(dataDir, 'encryption.key')).mode & 0o777).toBe(0o600);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('CON-1: the GCM tag of a sealed secret is 16 bytes, never fewer', () => {
  it('refuses a secret whose tag was truncated (Node would accept a 4-byte tag and open it)', () => {
    const box = SecretBox.parse(`k1:${key()}`);
    const parts = box.seal('refresh-token', 'connection:acme:qbo').split('.');
    for (const n of [4, 12]) {
      const truncated = [...parts];
      truncated[3] = Buffer.from(parts[3] as string, 'base64url')
        .subarray(0, n)
        .toString('base64url');
      expect(() => box.open(truncated.join('.'), 'connection:acme:qbo')).toThrow(
        `The secret stored for connection:acme:qbo does not open: its authentication tag is ${n} bytes instead of 16`,
      );
    }
  });
});
