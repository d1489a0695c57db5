import { createPool } from '../infra/database';
import { migrate, readMigrations } from '../infra/migrate';
import { testEnv } from './helpers/env';

describe('database migrations', () => {
  const pool = createPool(testEnv.databaseUrl, 3);
  afterAll(() => pool.end());

  it('were applied by global setup, all of them, in order', async () => {
    const rows = await pool.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.rows.map((r) => r.version)).toEqual(readMigrations().map((m) => m.version));
  });

  it('are idempotent and safe when two processes start together', async () => {
    const [a, b] = await Promise.all([migrate(pool), migrate(pool)]);
    expect([...a, ...b]).toEqual([]);
  });

  it('created the tables the sync needs', async () => {
    const rows = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(rows.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining([
        'audit_log',
        'connections',
        'invoice_exports',
        'links',
        'payment_links',
        'watermarks',
        'webhook_events',
      ]),
    );
  });

  it('keeps one link per record and side (no duplicate SM8 uuid or QBO Id per entity type)', async () => {
    await pool.query(`INSERT INTO connections (id, name) VALUES ('mig-test', 'Migration test')`);
    await pool.query(
      `INSERT INTO links (connection_id, entity_type, sm8_uuid, qbo_id) VALUES ('mig-test', 'customer', 'u1', '1')`,
    );
    await expect(
      pool.query(
        `INSERT INTO links (connection_id, entity_type, sm8_uuid, qbo_id) VALUES ('mig-test', 'customer', 'u1', '2')`,
      ),
    ).rejects.toThrow(/duplicate key/);
    await expect(
      pool.query(
        `INSERT INTO links (connection_id, entity_type, sm8_uuid, qbo_id) VALUES ('mig-test', 'customer', 'u2', '1')`,
      ),
    ).rejects.toThrow(/duplicate key/);
    await expect(
      pool.query(`INSERT INTO connections (id, name, status) VALUES ('bad', 'x', 'sleeping')`),
    ).rejects.toThrow(/check constraint/);
    await pool.query(`DELETE FROM connections WHERE id = 'mig-test'`);
  });
});
