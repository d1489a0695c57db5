/**
 * OPS-3: `npm start` refuses data it cannot open, in one line that says what to do (workers/data-check.ts):
 * tokens sealed with another key, and a demo connection without the simulators' worlds (or the reverse).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool } from '../infra/database';
import { SecretBox } from '../infra/secrets';
import { ConnectionStore } from '../store/connections';
import { checkStoredData } from '../workers/data-check';
import { testEnv } from './helpers/env';

const box = () => SecretBox.parse(`k:${crypto.randomBytes(32).toString('base64')}`);

describe('OPS-3: data npm start cannot open', () => {
  const pool = createPool(testEnv.databaseUrl, 2);
  const id = `check-${process.pid}-${Date.now()}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-check-'));
  afterAll(async () => {
    await pool.query('DELETE FROM connections WHERE id = $1', [id]);
    await pool.end();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('OPS-3: tokens sealed with another key stop the start with one line naming the key file and npm run reset', async () => {
    const writer = new ConnectionStore(pool, box());
    await writer.ensure(id, 'Check');
    await writer.saveSm8Credentials(id, { kind: 'api_key', apiKey: 'smk-secret' });
    const reader = new ConnectionStore(pool, box()); // another DATA_DIR's key
    const problem = await checkStoredData({
      store: reader,
      database: 'sm8qbo_test',
      dataDir,
      keysFromEnv: false,
      demo: { connectionId: id, simState: 'none' },
    });
    expect(problem).toMatch(
      new RegExp(
        `^The database sm8qbo_test holds connection ".+", whose stored tokens do not open with the key in ${path.join(dataDir, 'encryption.key')} \\(.+\\): restore the key it was made with, or run \`npm run reset\` to start a clean demo\\.$`,
      ),
    );
    expect(problem).not.toContain('\n');
  });

  it("OPS-3: the demo connection and the simulators' worlds must exist together", async () => {
    // Only this test's connection, in a store whose key opens it: the pairing rule alone decides.
    const sealed = box();
    const store = new ConnectionStore(pool, sealed);
    const only = { ...store, list: async () => [] } as unknown as ConnectionStore;
    Object.setPrototypeOf(only, store);
    const check = (simState: 'both' | 'none' | 'partial', connectionId: string) =>
      checkStoredData({
        store: only,
        database: 'db',
        dataDir,
        keysFromEnv: true,
        demo: { connectionId, simState },
      });
    await pool.query('UPDATE connections SET qbo_realm_id = $2 WHERE id = $1', [id, '9341']);
    expect(await check('none', id)).toMatch(
      /holds the demo connection ".+", but the simulators' saved worlds .* are gone.*npm run reset/,
    );
    expect(await check('both', id)).toBeUndefined();
    expect(await check('both', `${id}-none`)).toMatch(
      /come from an earlier demo, but the database db has no demo connection/,
    );
    expect(await check('none', `${id}-none`)).toBeUndefined();
    expect(await check('partial', id)).toMatch(/Only one of the simulators' saved worlds/);
  });
});
