import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './setup/global-setup';

const run = promisify(execFile);

describe('PostgreSQL fallback', () => {
  it('starts an embedded PostgreSQL in DATA_DIR when DATABASE_URL is unset and no server answers', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm8qbo-embedded-'));
    fs.chmodSync(dataDir, 0o755); // as root, PostgreSQL runs as the postgres user and must traverse it
    const pgPort = await freePort();
    const unreachable = `postgres://postgres@127.0.0.1:${await freePort()}/sm8qbo`;
    try {
      const { stdout } = await run(
        path.resolve(__dirname, '..', 'node_modules', '.bin', 'tsx'),
        [
          path.join(__dirname, 'fixtures', 'embedded-postgres-check.ts'),
          dataDir,
          String(pgPort),
          unreachable,
        ],
        { timeout: 110_000 },
      );
      const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
      expect(result).toMatchObject({ source: 'embedded', pgVersionFile: true, connections: '0' });
      expect(result.url).toContain(`127.0.0.1:${pgPort}/sm8qbo`);
      expect(result.applied).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
